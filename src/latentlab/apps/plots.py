"""Plots: latent scatter, reconstructions, samples, interpolations, loss curves.

Each function takes arrays (or a fitted model), draws on a new matplotlib
figure and returns it; :func:`save` writes a PNG and closes it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _as_images(X: np.ndarray) -> np.ndarray:
    """(N, ...) -> (N, H, W) or (N, H, W, 3) for imshow; flat squares become images."""
    X = np.asarray(X)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        if side * side == X.shape[1]:
            return X.reshape(-1, side, side)
        return X[:, None, :]  # a 1-pixel-high strip per sample
    if X.ndim == 4:
        return X[:, 0] if X.shape[1] == 1 else np.moveaxis(X[:, :3], 1, -1).clip(0, 1)
    return X


def image_grid(images: np.ndarray, ncols: int, titles: list[str] | None = None, scale: float = 1.0):
    """A figure of images in a grid with ``ncols`` columns."""
    imgs = _as_images(images)
    n = len(imgs)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap="gray_r" if imgs[i].ndim == 2 else None, interpolation="nearest")
            if titles:
                ax.set_title(titles[i], fontsize=6)
    fig.tight_layout(pad=0.1)
    return fig


def reconstructions(X: np.ndarray, R: np.ndarray, n: int = 10):
    """Inputs (top row) beside their reconstructions (bottom row)."""
    n = min(n, len(X))
    return image_grid(np.concatenate([X[:n], R[:n]]), ncols=n)


def latent_scatter(Z: np.ndarray, y: np.ndarray | None = None, title: str = "latent space"):
    """2-D scatter of codes coloured by label (first two dims of wider codes)."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    z = np.asarray(Z)
    if z.shape[1] == 1:
        z = np.concatenate([z, np.zeros_like(z)], axis=1)
    sc = ax.scatter(z[:, 0], z[:, 1], c=y if y is not None else "tab:blue", cmap="tab10", s=6, alpha=0.8)
    if y is not None:
        ax.legend(*sc.legend_elements(), title="label", fontsize=6, loc="best", markerscale=0.7)
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def latent_grid(model, n: int = 15, span: tuple[float, float] | None = None, Z: np.ndarray | None = None):
    """Images decoded over a regular ``n x n`` grid of the 2-D latent plane."""
    if span is None:
        if Z is not None:
            lo, hi = np.percentile(Z[:, :2], [2, 98])
            span = (float(lo), float(hi))
        else:
            span = (-2.5, 2.5)
    from .generation import latent_plane

    codes = latent_plane(model, n, span)
    return image_grid(model.decode(codes), ncols=n, scale=0.5)


def samples(S: np.ndarray, ncols: int = 8):
    """A grid of generated samples."""
    return image_grid(S, ncols=ncols)


def interpolation(path: np.ndarray):
    """One strip of decoded interpolation steps."""
    return image_grid(path, ncols=len(path))


def loss_curves(history: list[dict]):
    """Training (and validation) loss, and each loss part, per epoch."""
    keys = [k for k in history[0] if k not in ("epoch", "lr", "time") and not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    epochs = [h["epoch"] for h in history]
    for ax, k in zip(axes[0], keys):
        ax.plot(epochs, [h[k] for h in history], label="train")
        if f"val_{k}" in history[0]:
            ax.plot(epochs, [h.get(f"val_{k}", np.nan) for h in history], label="validation")
        ax.set_title(k)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` as PNG and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
