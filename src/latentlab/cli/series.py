"""``latentlab detect-series``: per-step anomaly scores and labels of a series in a CSV, and a figure."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes
from ..data.validation import input_file
from ..errors import DataError

PLOT_FORMATS = (".png", ".svg", ".pdf")  # the figure is written in the format its suffix names


def register(sub, command: str | None = None) -> None:
    """Add ``detect-series`` (its estimator options only when it is the command: they import scikit-learn)."""
    p = sub.add_parser(
        "detect-series",
        help="score every step of a long series in a CSV and write scores, labels and a PNG",
        description="Fit a SeriesAnomalyDetector on the first --train-fraction of the series (assumed mostly "
        "normal), score every step, and write OUT.csv (time, values, score, anomaly) and OUT.png.",
    )
    p.add_argument("input", help="CSV with a header row")
    p.add_argument("--column", action="append", default=None, metavar="NAME",
                   help="column to score (repeat for several channels; default: every numeric column)")
    p.add_argument("--time-column", default=None, metavar="T", help="column of timestamps (kept in the outputs)")
    p.add_argument("--out", default="series_scores.csv", help="CSV to write (default series_scores.csv)")
    p.add_argument("--plot", default=None,
                   help="figure to write, .png, .svg or .pdf (default: OUT with .png); 'none' for no figure")
    p.add_argument("--train-fraction", type=float, default=1.0,
                   help="fit on this leading fraction of the series (default 1.0: all of it, and then the "
                   "steps flagged are the top --contamination share of the series' own scores, as PyOD's labels_; "
                   "below 1.0 the detector's threshold_, set on windows held out from its fit, flags the rest)")
    if command == "detect-series":  # the options come from the estimator, which imports scikit-learn
        from ..estimators import SeriesAnomalyDetector
        from .jobs import _add_estimator_options

        helps = {
            "window": "window length, an integer >= 2 (default: the dominant period)",
            "recurrent_epochs": "epochs of the recurrent member (default: at least 30 and 1,000 updates)",
            "normalisation": "windows of the PCA member: raw (keeps the level), centre (removes each window's "
            "mean), standard (also divides by its spread), heldout (fits autoencoders on raw and centre windows "
            "of the first 75% of the training windows and keeps the one with fewer false alarms on the last "
            "25%) or auto (default: centre when an augmented Dickey-Fuller test, p > 0.1, finds a channel's "
            "level drifting, else raw)",
        }
        _add_estimator_options(p, SeriesAnomalyDetector, helps)
    p.set_defaults(handler=cmd_detect_series)


def read_series(path: str, columns: list[str] | None, time_column: str | None):
    """The chosen columns of a CSV as a DataFrame, indexed by ``time_column`` when given."""
    import pandas as pd

    src = input_file(path, "a CSV file with a header row")
    try:
        df = pd.read_csv(src)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{src} is not a readable CSV ({exc}).") from None
    for name in [*(columns or []), *([time_column] if time_column else [])]:
        if name not in df.columns:
            raise DataError(f"{src} has no column {name!r}; its columns are {list(df.columns)[:10]}.")
    if time_column:
        stamps = pd.to_datetime(df[time_column], errors="coerce")
        if stamps.isna().any():  # not dates: numbers, or give up
            stamps = pd.to_numeric(df[time_column], errors="coerce")
        if stamps.isna().any():
            raise DataError(f"column {time_column!r} holds values that are neither dates nor numbers.")
        df = df.drop(columns=[time_column]).set_index(pd.Index(stamps, name=time_column))
    chosen = columns or [c for c in df.columns if df[c].dtype.kind in "iufb"]
    bad = [c for c in chosen if df[c].dtype.kind not in "iufb"]
    if bad or not chosen:
        raise DataError(f"column(s) {bad or list(df.columns)[:5]} are not numeric; pick numeric ones with --column.")
    return df[chosen].astype(np.float64)


def cmd_detect_series(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..apps.series_plot import save_series_figure
    from ..estimators import SeriesAnomalyDetector
    from .jobs import _estimator

    if args.plot and args.plot.lower() != "none" and Path(args.plot).suffix.lower() not in PLOT_FORMATS:
        raise DataError(f"--plot {args.plot}: a figure is written as {', '.join(PLOT_FORMATS)} (by its suffix); "
                        "name the file with one of them, or pass --plot none.")  # before any work
    df = read_series(args.input, args.column, args.time_column)
    if not 0 < args.train_fraction <= 1:
        raise DataError(f"--train-fraction {args.train_fraction} must be in (0, 1].")
    det = _estimator(SeriesAnomalyDetector, args)  # its options were checked as they were parsed
    n_fit = max(2, int(round(len(df) * args.train_fraction)))
    det.fit(df.iloc[:n_fit])
    scores = det.anomaly_score(df)
    if n_fit >= len(df):  # scored where it was fitted: in-sample scores sit below threshold_ (set out of sample)
        threshold = float(np.nanquantile(scores, 1.0 - float(det.contamination)))
        flags = (np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf) > threshold).astype(int)
    else:
        threshold, flags = det.threshold_, det.predict(df)
    out = pd.DataFrame({**{c: df[c] for c in df.columns}, "score": scores, "anomaly": flags}, index=df.index)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, out.to_csv(index=args.time_column is not None).encode())
    wrote = [str(path)]
    if (args.plot or "").lower() != "none":
        png = Path(args.plot) if args.plot else path.with_suffix(".png")
        figure = (df.to_numpy(), np.asarray(scores), np.asarray(flags), threshold)
        how = dict(index=df.index if args.time_column else None, names=list(df.columns), title=Path(args.input).name)
        save_series_figure(png, *figure, **how)
        wrote.append(str(png))
    n_flag = int(np.asarray(flags).sum())
    print(f"scored {len(df)} steps x {df.shape[1]} channel(s) with window {det.window_} "
          f"({det.normalisation_} windows); {n_flag} above the threshold {threshold:.4g}; wrote {', '.join(wrote)}")
    return 0
