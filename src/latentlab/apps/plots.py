"""Plots: latent scatter, reconstructions, samples, interpolations, loss curves.

Each function takes arrays (or a fitted model), draws on a new matplotlib
figure and returns it; :func:`save` writes a PNG and closes it.

Every figure has a title. Image grids share one grey scale across all their
tiles (so a faint reconstruction looks faint), keep square pixels, and carry a
colour bar of the pixel values; sequences are drawn as lines instead.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._files import atomic_write_bytes  # noqa: E402
from ..training.callbacks import gaussian_nll_constant  # noqa: E402
from .projection import LatentProjection, fit_projection, plane_codes  # noqa: E402

_CMAP = "gray_r"  # ink is dark: 0 white, high values black


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


def _value_range(*arrays: np.ndarray) -> tuple[float, float]:
    """One (vmin, vmax) for every tile, so that equal values look equal everywhere."""
    finite = [a[np.isfinite(a)] for a in arrays if np.size(a)]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _bare(ax) -> None:
    """No ticks; a thin light frame that separates neighbouring tiles."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("0.8")
        spine.set_linewidth(0.6)


def _colorbar(fig, mappable, axes, label: str = "pixel value") -> None:
    bar = fig.colorbar(mappable, ax=axes, fraction=0.025, pad=0.02, aspect=25)
    bar.set_label(label, fontsize=7)
    bar.ax.tick_params(labelsize=6)


def _rows_of_images(rows: list[tuple[str, np.ndarray]], title: str, col_titles: list[str] | None = None,
                    scale: float = 0.9):
    """A figure with one labelled row per ``(label, images)`` pair, a gap between rows and a colour bar."""
    rows = [(label, _as_images(imgs)) for label, imgs in rows]
    ncols = max(len(imgs) for _, imgs in rows)
    vmin, vmax = _value_range(*[imgs for _, imgs in rows])
    h, w = rows[0][1].shape[1:3]
    tile_h = scale * h / w
    fig, axes = plt.subplots(
        len(rows), ncols, figsize=(1.6 + ncols * scale, 0.7 + len(rows) * (tile_h + 0.3)), squeeze=False,
        layout="constrained",
    )
    fig.get_layout_engine().set(hspace=0.06, wspace=0.01)  # a visible gap between the rows
    mappable = None
    for r, (label, imgs) in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            _bare(ax)
            if c >= len(imgs):
                ax.set_visible(False)
                continue
            gray = imgs[c].ndim == 2
            im = ax.imshow(imgs[c], cmap=_CMAP if gray else None, vmin=vmin, vmax=vmax, interpolation="nearest")
            mappable = im if gray else mappable
            if r == 0 and col_titles:
                ax.set_title(col_titles[c], fontsize=7)
        axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center", labelpad=6)
    fig.suptitle(title, fontsize=10)
    if mappable is not None:
        _colorbar(fig, mappable, axes.ravel().tolist())
    return fig


def image_grid(images: np.ndarray, ncols: int, titles: list[str] | None = None, scale: float = 1.0,
               title: str | None = None):
    """A figure of images in a grid with ``ncols`` columns, on one shared grey scale with a colour bar.

    Examples
    --------
    >>> fig = image_grid(np.random.default_rng(0).random((6, 16)), ncols=3, title="six 4x4 images")
    >>> fig._suptitle.get_text(), len([a for a in fig.axes if a.images])
    ('six 4x4 images', 6)
    >>> plt.close(fig)
    """
    imgs = _as_images(images)
    n = len(imgs)
    nrows = int(np.ceil(n / ncols))
    vmin, vmax = _value_range(imgs)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.2 + ncols * scale, 0.5 + nrows * scale), squeeze=False, layout="constrained"
    )
    fig.get_layout_engine().set(hspace=0.01, wspace=0.01)
    mappable = None
    for i, ax in enumerate(axes.flat):
        _bare(ax)
        if i >= n:
            ax.set_visible(False)
            continue
        gray = imgs[i].ndim == 2
        im = ax.imshow(imgs[i], cmap=_CMAP if gray else None, vmin=vmin, vmax=vmax, interpolation="nearest")
        mappable = im if gray else mappable
        if titles:
            ax.set_title(titles[i], fontsize=6)
    fig.suptitle(title or f"{n} images", fontsize=10)
    if mappable is not None:
        _colorbar(fig, mappable, axes.ravel().tolist())
    return fig


def _is_sequence(X: np.ndarray) -> bool:
    """(N, T, F) data that are not images: drawn as lines."""
    return np.ndim(X) == 3


def _sequence_rows(rows: list[tuple[str, np.ndarray]], title: str, ncols: int | None = None,
                   panel_titles: list[str] | None = None):
    """Each sample as its features over time; rows overlaid in one panel per sample (solid, then dashed)."""
    n = len(rows[0][1])
    ncols = ncols or min(n, 5)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.4 * ncols, 1.9 * nrows + 0.6), squeeze=False,
                             layout="constrained", sharey=True)
    styles = ["-", "--", ":"]
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_visible(False)
            continue
        for (label, arr), style in zip(rows, styles):
            seq = np.asarray(arr[i])
            seq = seq[:, None] if seq.ndim == 1 else seq
            for f in range(seq.shape[1]):
                ax.plot(seq[:, f], style, color=f"C{f}", lw=1, label=f"{label}" if f == 0 else None)
        ax.tick_params(labelsize=6)
        if panel_titles:
            ax.set_title(panel_titles[i], fontsize=7)
        if i % ncols == 0:
            ax.set_ylabel("value", fontsize=7)
        if i >= (nrows - 1) * ncols:
            ax.set_xlabel("time step", fontsize=7)
    if len(rows) > 1:
        axes[0, 0].legend(fontsize=6, loc="best")
    fig.suptitle(title + " (colour: feature)", fontsize=10)
    return fig


def reconstructions(X: np.ndarray, R: np.ndarray, n: int = 10, title: str | None = None):
    """Inputs (top row, labelled 'input') over their reconstructions ('reconstruction'), a gap between.

    Examples
    --------
    >>> X = np.random.default_rng(0).random((4, 64))
    >>> fig = reconstructions(X, X * 0.5)
    >>> [a.get_ylabel() for a in fig.axes if a.get_ylabel()][:2]
    ['input', 'reconstruction']
    >>> plt.close(fig)
    """
    n = min(n, len(X))
    title = title or f"Reconstructions of {n} inputs"
    R = np.asarray(R).reshape(np.shape(X[:n]))
    if _is_sequence(X):
        return _sequence_rows([("input", X[:n]), ("reconstruction", R[:n])], title)
    return _rows_of_images([("input", X[:n]), ("reconstruction", R[:n])], title)


def latent_scatter(Z: np.ndarray, y: np.ndarray | None = None, title: str = "latent space",
                   projection: str | LatentProjection = "pca"):
    """2-D scatter of codes coloured by label; codes of more than two dimensions are projected.

    ``projection`` is 'pca' (the default: the codes' first two principal components, scikit-learn),
    'umap' (where ``umap-learn`` is installed), 'none' (the first two dimensions) or a fitted
    :class:`~latentlab.apps.projection.LatentProjection`; the axes and the title say which.
    """
    fig, ax = plt.subplots(figsize=(5.2, 4.6), layout="constrained")
    dims = np.asarray(Z).shape[1]
    proj = projection if isinstance(projection, LatentProjection) else fit_projection(Z, projection)
    z = proj.transform(Z)
    if y is not None:
        labels = np.asarray(y)
        classes = np.unique(labels)
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, k in enumerate(classes):
            pick = labels == k
            ax.scatter(z[pick, 0], z[pick, 1], color=cmap(i % cmap.N), s=6, alpha=0.8, label=str(k))
        ax.legend(title="label", fontsize=6, title_fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5),
                  markerscale=2, frameon=False)
    else:
        ax.scatter(z[:, 0], z[:, 1], color="tab:blue", s=6, alpha=0.8)
    xlabel, ylabel = proj.axis_labels()
    ax.set_xlabel(xlabel if dims > 1 or proj.method != "none" else "z1 (first latent dimension)")
    ax.set_ylabel(ylabel if dims > 1 else "(one latent dimension: spread along z1 only)")
    note = proj.describe(dims)
    ax.set_title(f"{title}: {len(z)} codes" + (f" ({note})" if note else ""), fontsize=10)
    ax.grid(alpha=0.25)
    return fig


def latent_grid(model, n: int = 15, span: tuple[float, float] | None = None, Z: np.ndarray | None = None,
                projection: str = "pca"):
    """Images decoded over a regular ``n x n`` grid of a latent plane, with its axes.

    For codes of one or two dimensions (or ``projection='none'``, or without ``Z``) the plane is that of
    z1 and z2: the tile centred at ``(z1, z2)`` is ``decode([z1, z2, 0, ...])``. For wider codes with
    ``Z`` given, it is the plane of the codes' first two principal components: the tile at ``(p1, p2)``
    is ``decode(mean + p1 * c1 + p2 * c2)`` (:mod:`latentlab.apps.projection`). The span covers the 2nd
    to 98th percentile of the codes' coordinates in the plane when ``Z`` is given.
    """
    dims = model.config.latent_dim
    method = "none" if Z is None or projection == "umap" else projection  # UMAP has no inverse to decode
    proj = fit_projection(Z if Z is not None else np.zeros((1, dims)), method)
    if span is None:
        if Z is not None:
            lo, hi = np.percentile(proj.transform(Z), [2, 98])
            span = (float(lo), float(hi))
        else:
            span = (-2.5, 2.5)
    from .generation import latent_plane

    codes = latent_plane(model, n, span) if proj.method == "none" else plane_codes(proj, n, span)
    a, b = ("z1", "z2") if proj.method == "none" else ("PC1", "PC2")
    rest = f"; z3..z{dims} = 0" if dims > 2 and proj.method == "none" else ""
    title = f"Decoded latent grid: the tile at ({a}, {b}) is decode({a}, {b}){rest}" if proj.method == "none" else (
        f"Decoded latent grid over the PCA plane of {len(Z)} codes ({sum(proj.explained):.0%} of their variance):"
        "\nthe tile at (PC1, PC2) is decode(mean + PC1·c1 + PC2·c2)")
    if _is_sequence(np.zeros((1, *model.config.input_shape))):  # sequences: a coarser grid of line plots
        k = min(n, 5)
        codes = latent_plane(model, k, span) if proj.method == "none" else plane_codes(proj, k, span)
        where = [f"{a}, {b} = ({p:.2g}, {q:.2g})" for p, q in proj.transform(codes)]
        return _sequence_rows([("decoded", model.decode(codes))], title, ncols=k,
                              panel_titles=where)
    decoded = model.decode(codes)
    imgs = _as_images(decoded)
    if imgs.ndim != 3:  # colour images: a plain grid
        return image_grid(decoded, ncols=n, scale=0.5,
                          title=f"{title} (over [{span[0]:.2g}, {span[1]:.2g}]²)")
    fig, ax = plt.subplots(figsize=(6.4, 5.9), layout="constrained")
    h, w = imgs.shape[1:]
    mosaic = np.full((n * (h + 1) - 1, n * (w + 1) - 1), np.nan, dtype=np.float32)  # 1-pixel gaps
    for i, img in enumerate(imgs):
        r, c = divmod(i, n)
        mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = img
    step = (span[1] - span[0]) / max(n - 1, 1)
    extent = (span[0] - step / 2, span[1] + step / 2, span[0] - step / 2, span[1] + step / 2)
    cmap = plt.get_cmap(_CMAP).with_extremes(bad="white")  # the gaps between tiles
    vmin, vmax = _value_range(imgs)
    im = ax.imshow(mosaic, cmap=cmap, vmin=vmin, vmax=vmax, extent=extent, interpolation="nearest", aspect="equal")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)
    _colorbar(fig, im, ax)
    return fig


def samples(S: np.ndarray, ncols: int = 8, title: str | None = None, titles: list[str] | None = None):
    """A grid of generated samples."""
    title = title or f"{len(S)} samples decoded from the prior"
    if _is_sequence(S):
        return _sequence_rows([("sample", S)], title, ncols=min(ncols, 4))
    return image_grid(S, ncols=ncols, title=title, titles=titles)


def interpolation(path: np.ndarray, title: str | None = None):
    """One strip of decoded interpolation steps, labelled from the first input's code (0) to the second's (1)."""
    steps = len(path)
    title = title or f"Interpolation in latent space: {steps} decoded steps between the codes of two inputs"
    if _is_sequence(path):
        return _sequence_rows([("step", path)], title, ncols=min(steps, 5))
    ts = np.linspace(0, 1, steps)
    return _rows_of_images([("decoded", path)], title, col_titles=[f"t={t:.2g}" for t in ts])


# ------------------------------------------------------------------ loss curves
_UNITS = {
    "loss": "objective (per sample)",
    "reconstruction": "negative log-likelihood (nats per sample)",
    "kl": "KL(q(z|x) || p(z)) (nats per sample)",
    "mmd": "MMD² to the prior",
    "sparsity": "sparsity penalty",
    "activation": "mean |code|",
    "jacobian": "||J||²_F (encoder Jacobian)",
    "codebook": "codebook loss (squared distance)",
    "commitment": "commitment loss (squared distance)",
    "perplexity": "codes in use (perplexity)",
}


def loss_curves(history: list[dict], model=None):
    """Training (and validation) loss and each loss part per epoch, one panel each, with units.

    A part equal to the loss at every epoch (a plain AE's reconstruction) is
    not drawn twice. Given the ``model``, a fixed-variance Gaussian
    reconstruction term is shown as the mean squared error per feature (in
    the model's scaled units) instead of a negative log-likelihood whose
    constant (``D/2 log 2 pi sigma²`` nats, 58.8 for 64 pixels) hides the
    error; the same constant is taken off the total loss.
    """
    keys = [k for k in history[0] if k not in ("epoch", "lr", "time") and not k.startswith("val_")]
    keys = [k for k in keys if all(isinstance(h.get(k), (int, float)) for h in history)]

    def same_as_loss(k: str) -> bool:
        return k != "loss" and all(math.isclose(h[k], h["loss"], rel_tol=1e-9, abs_tol=1e-12) for h in history)

    duplicate = [k for k in keys if same_as_loss(k)]
    keys = [k for k in keys if k not in duplicate]
    gauss = gaussian_nll_constant(model)
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.0), squeeze=False, layout="constrained")
    for ax, k in zip(axes[0], keys):
        train = np.array([h[k] for h in history], dtype=float)
        val = np.array([h.get(f"val_{k}", np.nan) for h in history], dtype=float) if f"val_{k}" in history[0] else None
        title, ylabel = k, _UNITS.get(k, k)
        if k == "reconstruction" and getattr(getattr(model, "config", None), "likelihood", None) == "bernoulli":
            ylabel = "Bernoulli NLL = BCE (nats per sample)"
        as_mse = gauss is not None and (k == "reconstruction" or (k == "loss" and "reconstruction" in duplicate))
        if as_mse:
            const, sigma, d = gauss
            train, val = [None if v is None else 2 * sigma**2 * (v - const) / d for v in (train, val)]
            title, ylabel = "reconstruction error", "MSE per feature (scaled data)"
            if k == "loss":
                title = "loss = reconstruction error"
        elif gauss is not None and k == "loss":
            const = gauss[0]
            train, val = [None if v is None else v - const for v in (train, val)]
            ylabel = f"objective − {const:.1f} nats constant (per sample)"
        elif k == "loss" and duplicate:
            title = f"loss = {' = '.join(duplicate)}"
        if k == "loss" and not as_mse and gauss is None and set(keys) | set(duplicate) <= {"loss", "reconstruction", "kl"}:
            ylabel = "objective (nats per sample)"  # a negative log-likelihood, plus beta * KL
        ax.plot(epochs, train, label="train")
        if val is not None:
            ax.plot(epochs, val, label="validation")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=7)
    fig.suptitle("Training curves", fontsize=10)
    return fig


VECTOR_FORMATS = {".svg": "svg", ".pdf": "pdf"}


def save(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` (atomically) and close it: SVG or PDF where the suffix names one, else PNG."""
    import io

    path = Path(path)
    buf = io.BytesIO()
    fmt = VECTOR_FORMATS.get(path.suffix.lower(), "png")
    fig.savefig(buf, dpi=dpi, format=fmt, bbox_inches="tight", pad_inches=0.12)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path
