"""A plane to look at codes of more than two dimensions through: PCA by default, UMAP where it is installed.

The latent scatter draws the codes' coordinates in this plane, and the decoded grid decodes points of it:
for PCA, the point ``(p1, p2)`` of the plane is the code ``mean + p1 * c1 + p2 * c2`` (``c1``, ``c2`` the
first two principal axes), so the grid shows what the decoder makes of the plane in which the codes
spread most. UMAP (the optional ``umap-learn`` package) gives a map of the codes' neighbourhoods with no
such inverse, so it is offered for the scatter only. Codes of one or two dimensions are drawn as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

METHODS = ("pca", "umap", "none")


@dataclass(frozen=True)
class LatentProjection:
    """A fitted map from codes ``(n, L)`` to a plane ``(n, 2)``.

    ``method`` is 'pca', 'umap' or 'none' (the first two coordinates); ``mean`` ``(L,)`` and
    ``components`` ``(2, L)`` define the PCA plane (for 'none': zero and the first two unit axes);
    ``explained`` is the share of the codes' variance along each axis (PCA only).

    Examples
    --------
    >>> Z = np.random.default_rng(0).normal(size=(100, 4)) * [3.0, 1.0, 0.1, 0.1]
    >>> proj = fit_projection(Z)
    >>> proj.method, proj.transform(Z).shape, proj.codes(np.zeros((1, 2))).shape
    ('pca', (100, 2), (1, 4))
    """

    method: str
    mean: np.ndarray
    components: np.ndarray
    explained: tuple[float, ...] = ()
    reducer: object | None = None  # the fitted scikit-learn PCA or UMAP

    @property
    def invertible(self) -> bool:
        """Whether points of the plane map back to codes (PCA and 'none'; not UMAP)."""
        return self.method != "umap"

    def transform(self, Z: np.ndarray) -> np.ndarray:
        """Coordinates ``(n, 2)`` of codes ``Z`` in the plane."""
        Z = np.asarray(Z, dtype=np.float64)
        if self.method == "none":
            return Z[:, :2] if Z.shape[1] > 1 else np.concatenate([Z, np.zeros_like(Z)], axis=1)
        return np.asarray(self.reducer.transform(Z), dtype=np.float64)

    def codes(self, P: np.ndarray) -> np.ndarray:
        """The codes ``(n, L)`` of plane points ``P`` ``(n, 2)``: ``mean + P @ components``."""
        if not self.invertible:
            raise ConfigError("a UMAP map has no inverse to decode; decode over the PCA plane (method='pca').")
        return (self.mean + np.asarray(P, dtype=np.float64) @ self.components).astype(np.float32)

    def axis_labels(self) -> tuple[str, str]:
        if self.method == "pca":
            return tuple(f"PC{k + 1} ({v:.0%} of the codes' variance)" for k, v in enumerate(self.explained))
        if self.method == "umap":
            return "UMAP 1", "UMAP 2"
        return "z1", "z2"

    def describe(self, dims: int) -> str:
        """What the plane is, for a figure's title."""
        if self.method == "pca":
            return f"PCA of {dims} dimensions, {sum(self.explained):.0%} of the variance"
        if self.method == "umap":
            return f"UMAP of {dims} dimensions"
        return f"first 2 of {dims} dimensions" if dims > 2 else ""


def fit_projection(Z: np.ndarray, method: str = "pca", seed: int = 0) -> LatentProjection:
    """Fit the plane of codes ``Z`` ``(n, L)``: 'pca' (scikit-learn, the default), 'umap' (needs
    ``umap-learn``) or 'none' (the first two coordinates). Codes of at most two dimensions, or fewer
    than three codes, are not projected ('none')."""
    if method not in METHODS:
        raise ConfigError(f"projection={method!r} is not one of {METHODS}; 'pca' is the default.")
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or not np.isfinite(Z).all():
        raise ConfigError(f"codes of shape {Z.shape} must be finite and shaped (n, latent_dim) to project.")
    dims = Z.shape[1]
    if method == "none" or dims <= 2 or len(Z) < 3:
        axes = np.eye(2, dims)
        return LatentProjection("none", np.zeros(dims), axes)
    if method == "umap":
        try:
            import umap  # optional: never a requirement of latentlab
        except ImportError:
            raise ConfigError("projection='umap' needs the umap-learn package (pip install umap-learn); "
                              "or use projection='pca'.") from None
        reducer = umap.UMAP(n_components=2, random_state=seed).fit(Z)
        return LatentProjection("umap", Z.mean(0), np.zeros((2, dims)), (), reducer)
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=seed).fit(Z)
    return LatentProjection("pca", pca.mean_, pca.components_, tuple(float(v) for v in pca.explained_variance_ratio_),
                            pca)


def plane_codes(projection: LatentProjection, n: int, span: tuple[float, float]) -> np.ndarray:
    """``n*n`` codes on a grid of the plane over ``span`` in both axes, rows from high to low second
    coordinate and columns from low to high first (as :func:`latentlab.apps.generation.latent_plane`)."""
    lin = np.linspace(span[0], span[1], n)
    p1, p2 = np.meshgrid(lin, lin[::-1])
    return projection.codes(np.stack([p1.ravel(), p2.ravel()], axis=1))


__all__ = ["LatentProjection", "fit_projection", "plane_codes", "METHODS"]
