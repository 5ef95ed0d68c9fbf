"""A figure of a scored series: its channels, the step scores with the threshold, flagged spans shaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .timeseries import events


def series_figure(values: np.ndarray, scores: np.ndarray, flagged: np.ndarray, threshold: float,
                  index=None, names: list[str] | None = None, title: str = "anomaly scores"):
    """Two panels sharing the time axis: the series (one line a channel) and its scores.

    ``values`` is ``(T, F)``; ``scores`` and ``flagged`` (0/1) are ``(T,)``;
    ``index`` (timestamps or numbers) labels the time axis.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.asarray(values, dtype=np.float64).reshape(len(scores), -1)
    t = np.arange(len(scores)) if index is None else np.asarray(index)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 5), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for j in range(values.shape[1]):
        ax.plot(t, values[:, j], lw=0.8, label=None if names is None else str(names[j]))
    if names is not None and values.shape[1] > 1:
        ax.legend(loc="upper left", fontsize=8)
    bx.plot(t, scores, lw=0.8, color="black", label="score")
    bx.axhline(threshold, color="tab:red", ls="--", lw=0.8, label="threshold")
    bx.legend(loc="upper left", fontsize=8)
    for s, e in events(flagged):
        for a in (ax, bx):
            a.axvspan(t[s], t[min(e, len(t) - 1)], color="tab:red", alpha=0.2, lw=0)
    ax.set_title(f"{title}: {int(np.sum(flagged))} of {len(scores)} steps flagged, {len(events(flagged))} span(s)")
    ax.set_ylabel("value")
    bx.set_ylabel("score")
    bx.set_xlabel("time" if index is not None else "step")
    fig.tight_layout()
    return fig


def save_series_figure(path: str | Path, *args, **kwargs) -> Path:
    """:func:`series_figure` written to ``path`` (atomically): SVG or PDF where the suffix names one, else PNG."""
    from .plots import save

    return save(series_figure(*args, **kwargs), path)
