"""The overlay figure of an image anomaly map: the image, the map as a heat layer, the mask's contour, the score."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes


def overlay_png(image: np.ndarray, amap: np.ndarray, score: float, path, *, threshold: float | None = None,
                mask: np.ndarray | None = None, title: str = "") -> Path:
    """Write a PNG of ``image`` ``(C, H, W)`` in [0, 1] with ``amap`` ``(H, W)`` over it, atomically; returns the path.

    The heat layer is scaled from the map's median to ``threshold`` (or its
    maximum); the mask, when given, is drawn as a contour.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    img = np.clip(np.asarray(image, np.float32), 0, 1)
    h, w = img.shape[1:]
    fig = Figure(figsize=(max(3.0, 4.0 * w / max(h, w)) + 0.6, max(3.0, 4.0 * h / max(h, w)) + 0.6), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
    top = threshold if threshold is not None and threshold > np.median(amap) else float(amap.max())
    ax.imshow(amap, cmap="jet", alpha=0.4, vmin=float(np.median(amap)), vmax=max(top, float(np.median(amap)) + 1e-9))
    if mask is not None and mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors="white", linewidths=1.0)
    ax.set_title(f"{title} score {score:.3g}".strip(), fontsize=9)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


__all__ = ["overlay_png"]
