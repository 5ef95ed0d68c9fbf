"""Job commands: detect, impute, generate, compress, decompress, interpolate.

Options of ``detect`` and ``impute`` are generated from the estimators' own
parameter declarations (``param_specs``), so there is no second list to keep
in sync and a bad value gets the estimator's message.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes
from ..data.validation import input_file
from ..errors import DataError
from .options import add_param_options
from .text import add_decoding_options


def _add_estimator_options(parser, cls, helps: dict[str, str] | None = None) -> None:
    """``--param-name`` for each scalar parameter of estimator class ``cls``, from its ``param_specs``.

    The values are parsed and checked by the same :class:`~latentlab.config.Param` declarations that the
    estimator's ``fit`` checks, so a bad value gets the estimator's message, before any data is read.
    """
    group = parser.add_argument_group(f"{cls.__name__} parameters")
    add_param_options(group, cls.param_specs, cls().get_params(), helps)


def _estimator(cls, args):
    return cls(**{k: getattr(args, k) for k in cls().get_params() if hasattr(args, k)})


def read_vector(path: str, n: int, what: str) -> np.ndarray:
    """One number per sample from a ``.npy`` or one-column text/CSV file."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{what}: {p} does not exist.")
    try:
        v = np.load(p, allow_pickle=False) if p.suffix == ".npy" else np.loadtxt(p, delimiter=",", ndmin=1)
    except ValueError as exc:
        raise DataError(f"{what}: {p} is not a plain column of numbers ({exc}).") from None
    v = np.asarray(v).ravel()
    if v.shape[0] != n:
        raise DataError(f"{what}: {p} has {v.shape[0]} values but the data has {n} samples; give one per sample.")
    return v


ARRAY_SUFFIXES = (".png", ".csv", ".npy")


def _check_array_out(out: Path) -> None:
    """Refuse an output name whose format is unknown, before any work is done."""
    if out.suffix.lower() not in ARRAY_SUFFIXES:
        raise DataError(f"--out {out}: give a file ending in {', '.join(ARRAY_SUFFIXES)} (the format follows it).")
    if out.is_dir():
        raise DataError(f"--out {out} is a folder; give a file name ending in {', '.join(ARRAY_SUFFIXES)}.")


def _save_array(arr: np.ndarray, out: Path, ncols: int = 8) -> Path:
    """Write ``arr`` to ``out`` (PNG grid, CSV rows or .npy), atomically; return the path written."""
    import io

    _check_array_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        from ..apps import plots

        return plots.save(plots.image_grid(arr, ncols=ncols), out)
    buf = io.BytesIO()
    if out.suffix.lower() == ".csv":
        np.savetxt(buf, arr.reshape(len(arr), -1), delimiter=",")
    else:
        np.save(buf, arr, allow_pickle=False)
    atomic_write_bytes(out, buf.getvalue())
    return out


def register(sub, command: str | None = None) -> None:
    """Add this group's sub-commands to the parser (``command``: see :func:`latentlab.cli.build_parser`)."""
    estimator_options = command in ("detect", "impute")  # they import scikit-learn: only when needed
    if estimator_options:
        from ..estimators import AutoencoderImputer, AutoencoderOutlierDetector

    p = sub.add_parser("detect", help="fit an outlier detector (or score with a saved run) and write a scores CSV")
    p.add_argument("data", help="data to score: 'digits', .npy or .csv")
    p.add_argument("--fit", default=None, help="data to fit on (default: the scored data itself)")
    p.add_argument("--run", default=None, help="score with this saved run's reconstruction error instead of fitting")
    p.add_argument("--label-column", default=None, help="CSV column to leave out of the features")
    p.add_argument("--out", default="scores.csv", help="CSV to write: index, score (large = abnormal), outlier")
    if estimator_options:
        _add_estimator_options(p, AutoencoderOutlierDetector)
    p.set_defaults(handler=cmd_detect)

    p = sub.add_parser("impute", help="fill the empty cells of a CSV with an autoencoder")
    p.add_argument("input", help="CSV with a header row; empty cells or NaN are missing")
    p.add_argument("output", help="CSV to write")
    if estimator_options:
        _add_estimator_options(p, AutoencoderImputer)
    p.set_defaults(handler=cmd_impute)

    p = sub.add_parser("generate", help="decode prior samples (or a latent grid) of a saved run")
    p.add_argument("run_dir")
    p.add_argument("-n", "--n", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None, help="class to sample (conditional models)")
    p.add_argument("--grid", type=int, default=None, help="decode an N x N grid over the first two latent dims")
    p.add_argument("--out", default="samples.npy", help=".npy, .csv or .png to write")
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("compress", help="compress data to quantised codes with a saved run")
    p.add_argument("run_dir")
    p.add_argument("data")
    p.add_argument("out", help="file to write the compressed bytes to")
    p.add_argument(
        "--bits", type=int, default=None,
        help="bits per latent value (1..16, default 8); not for a VQ-VAE, whose indices are entropy-coded",
    )
    p.add_argument("--label-column", default=None)
    p.set_defaults(handler=cmd_compress)

    p = sub.add_parser("decompress", help="decode bytes written by `latentlab compress`")
    p.add_argument("run_dir")
    p.add_argument("input")
    p.add_argument("out", help=".npy or .csv to write")
    p.set_defaults(handler=cmd_decompress)

    p = sub.add_parser("interpolate", help="decode the path between the codes of two samples")
    p.add_argument("run_dir")
    p.add_argument("data", nargs="?", default=None, help="the data holding samples --a and --b (not for text models)")
    p.add_argument("--from", dest="from_text", default=None, help="text models: the first text")
    p.add_argument("--to", dest="to_text", default=None, help="text models: the last text")
    p.add_argument("--label", type=int, default=None, help="text models conditioned on labels: the label")
    add_decoding_options(p, seed=True)  # text models: --temperature, --top-p, --beam, the repetition guard...
    p.add_argument("--a", type=int, default=0, help="index of the first sample")
    p.add_argument("--b", type=int, default=1, help="index of the second sample")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--method", choices=("linear", "slerp"), default="linear")
    p.add_argument("--out", default=None,
                   help=".npy, .csv or .png to write (default interpolation.npy); text models: a .txt file "
                        "(default: print the texts)")
    p.set_defaults(handler=cmd_interpolate)


def cmd_detect(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..data.datasets import load_data
    from ..estimators import AutoencoderOutlierDetector

    X, _ = load_data(args.data, args.label_column)
    X_fit = X if args.fit is None else load_data(args.fit, args.label_column)[0]
    if args.run:
        import latentlab
        from latentlab.apps.anomaly import ScoreModel

        scorer = ScoreModel(latentlab.LatentModel.load(args.run), "reconstruction").fit(X_fit)
        fit_scores, scores = scorer.score(X_fit), scorer.score(X)
        threshold = float(np.quantile(fit_scores, 1 - args.contamination))
    else:
        det = _estimator(AutoencoderOutlierDetector, args).fit(X_fit)
        scores, threshold = -det.score_samples(X), det.threshold_
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"index": np.arange(len(X)), "score": scores, "outlier": (scores > threshold).astype(int)}).to_csv(
        out, index=False
    )
    print(
        f"scored {len(X)} samples; {int((scores > threshold).sum())} above the threshold {threshold:.4g}; wrote {out}"
    )
    return 0


def cmd_impute(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..estimators import AutoencoderImputer

    src = Path(args.input)
    if not src.is_file():
        raise DataError(f"{src} does not exist; pass a CSV file with a header row.")
    df = pd.read_csv(src)
    bad = [c for c in df.columns if df[c].dtype.kind not in "iufb"]
    if bad:
        raise DataError(f"{src} has non-numeric column(s) {bad[:5]}; drop them before imputing.")
    X = df.to_numpy(dtype=np.float64)
    n_missing = int(np.isnan(X).sum())
    filled = _estimator(AutoencoderImputer, args).fit_transform(X)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(filled, columns=df.columns).to_csv(args.output, index=False)
    print(f"filled {n_missing} missing value(s) in {X.shape[0]} rows; wrote {args.output}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab.apps.generation import decode_grid, sample_prior

    if args.out is not None:
        _check_array_out(Path(args.out))
    model = latentlab.LatentModel.load(args.run_dir)
    k = model.config.n_classes
    if getattr(model, "is_text", False):  # its decoder's output is token ids: the texts come from `sample`
        from latentlab.errors import ConfigError

        raise ConfigError(f"{args.run_dir} is a text model: its samples are texts; use `latentlab sample "
                          f"{args.run_dir} -n {args.n}` (printed, or --out FILE.txt).")
    if k and args.label is None:
        from latentlab.errors import ConfigError

        raise ConfigError(f"this run is conditional: give --label K to pick the class (0..{k - 1}).")
    if args.grid is not None:
        arr, ncols = decode_grid(model, n=args.grid), args.grid
    else:
        arr, ncols = sample_prior(model, args.n, seed=args.seed, label=args.label), 8
    out = _save_array(arr, Path(args.out), ncols)
    print(f"wrote {len(arr)} decoded samples to {out}")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab.apps.compression import describe_rate
    from latentlab.data.datasets import load_data

    model = latentlab.LatentModel.load(args.run_dir)
    X, _ = load_data(args.data, args.label_column)
    blob = latentlab.compress(model, X, bits=args.bits)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, blob)
    raw = X.astype(np.float32).nbytes
    rate = describe_rate(model, blob, len(X), args.bits)
    print(f"compressed {len(X)} samples to {len(blob)} bytes ({rate}, ratio {raw / len(blob):.1f} against float32); wrote {out}")
    return 0


def cmd_decompress(args: argparse.Namespace) -> int:
    import latentlab

    src = input_file(args.input, "the file written by `latentlab compress`")
    model = latentlab.LatentModel.load(args.run_dir)
    X = latentlab.decompress(model, src.read_bytes())
    out = _save_array(X, Path(args.out))
    print(f"decompressed {len(X)} samples; wrote {out}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab.data.datasets import load_data

    model = latentlab.LatentModel.load(args.run_dir)
    if getattr(model, "is_text", False):
        from .text import print_interpolation

        return print_interpolation(model, args)
    if args.data is None:
        raise DataError("pass the data holding the samples to interpolate between (and --a, --b).")
    X, _ = load_data(args.data)
    for name in ("a", "b"):
        i = getattr(args, name)
        if not 0 <= i < len(X):
            raise DataError(f"--{name} {i} is out of range; the data has {len(X)} samples.")
    path = model.interpolate(X[args.a], X[args.b], steps=args.steps, method=args.method)
    out = _save_array(path, Path(args.out or "interpolation.npy"), ncols=len(path))
    print(f"wrote {len(path)} interpolation steps ({args.method}) to {out}")
    return 0
