"""The explorer's model table: run folders loaded once, addressed by name.

A run is given as ``RUN_DIR`` (named after the folder) or ``NAME=RUN_DIR``.
With no run at all, :func:`default_runs` trains (or reuses) the demo's two
2-D digits models, an autoencoder and a VAE, so one command gives a page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..apps.projection import LatentProjection, fit_projection
from ..errors import ConfigError, DataError
from .schemas import NAME_PATTERN, ModelInfo, Plane

SCATTER_POINTS = 1347
"""At most this many training samples are drawn on the map (all of the digits training split)."""


def map_plane(points: np.ndarray) -> LatentProjection | None:
    """The PCA plane of the map's codes ``(N, L)`` when ``L > 2`` (None for two dimensions or fewer, fewer
    than three codes, or codes with no spread to fit a plane to): the map is drawn in it and its points
    decode through :meth:`~latentlab.apps.projection.LatentProjection.codes`."""
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] <= 2 or len(points) < 3 or not np.isfinite(points).all():
        return None
    projection = fit_projection(points, "pca")
    if projection.method != "pca" or not np.isfinite(projection.explained).all():
        return None
    return projection


@dataclass
class Entry:
    """One served model with what its panels need, computed once at start-up.

    A model of more than two latent dimensions is drawn in the PCA plane of its map's codes
    (``projection``, and ``plane``: each code's place in it); otherwise the map shows the first
    two coordinates and ``projection`` is None.
    """

    name: str
    model: object
    points: np.ndarray  # (N, L) codes of the training samples (may be empty)
    labels: np.ndarray  # (N,)
    clusters: np.ndarray | None = None  # (N,) k-means clusters of the codes, for colouring the map
    projection: LatentProjection | None = field(init=False)
    plane: np.ndarray = field(init=False)  # (N, 2) the codes in the projection's plane; (0, 2) without one
    info: ModelInfo = field(init=False)

    def __post_init__(self) -> None:
        c = self.model.config
        d = math.prod(c.input_shape)
        shape = image_shape(self.model)
        side = shape[-1] if shape is not None and shape[-1] == shape[-2] and math.prod(shape[-2:]) == d else None
        self.projection = map_plane(self.points)
        self.plane = np.zeros((0, 2)) if self.projection is None else self.projection.transform(self.points)
        shown = self.points[:, :2] if self.projection is None else self.plane  # (N, 2) what the map draws
        if len(self.points):
            lo, hi = shown.min(0), shown.max(0)
            mean = self.points.mean(0)
        else:
            lo, hi, mean = -np.full(2, 3.0), np.full(2, 3.0), np.zeros(c.latent_dim)
        if c.latent_dim == 1:
            lo, hi = np.array([lo[0], -1.0]), np.array([hi[0], 1.0])
        pad = 0.08 * np.maximum(hi - lo, 1e-3)
        self.info = ModelInfo(
            name=self.name,
            family=c.family,
            latent_dim=c.latent_dim,
            input_dim=d,
            image_side=side,
            n_classes=c.n_classes,
            likelihood=c.likelihood,
            extent=[float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])],
            code_mean=[float(v) for v in mean],
            text=bool(getattr(self.model, "is_text", False)),
            plane=None if self.projection is None else _plane_info(self.projection, c.latent_dim),
        )


def _plane_info(projection: LatentProjection, dims: int) -> Plane:
    return Plane(
        method=projection.method,
        description=projection.describe(dims),
        axes=list(projection.axis_labels()),
        mean=[float(v) for v in projection.mean],
        components=[[float(v) for v in row] for row in projection.components],
        explained=[float(v) for v in projection.explained],
    )


def parse_run(spec: str) -> tuple[str, Path]:
    """Split ``NAME=RUN_DIR`` (or a bare ``RUN_DIR``) into a valid name and a path.

    Examples
    --------
    >>> parse_run("vae=runs/demo")
    ('vae', PosixPath('runs/demo'))
    >>> parse_run("runs/my run")[0]
    'my-run'
    """
    name, sep, path = spec.partition("=")
    if not sep or not re.fullmatch(NAME_PATTERN, name):
        name, path = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(spec).name).strip("-.") or "model", spec
    return name[:64], Path(path)


def image_shape(model) -> tuple[int, ...] | None:
    """The image shape the run recorded (``model.view``), or the conv model's own; None for other data."""
    view = getattr(model, "view", None)
    if view is not None and view.image_shape is not None:
        return tuple(view.image_shape)
    return None if model.config.image_shape is None else tuple(model.config.image_shape)


def training_data(model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(map codes, example inputs, map labels, example labels)`` the run saved; empty arrays without a view."""
    view = getattr(model, "view", None)
    if view is None:
        d = math.prod(model.config.input_shape)
        empty = np.zeros((0, d), np.float32)
        return np.zeros((0, model.config.latent_dim), np.float32), empty, np.zeros(0, np.int64), np.zeros(0, np.int64)
    return view.points, view.examples, view.labels, view.example_labels


def make_entry(name: str, model) -> Entry:
    """The map of a model: the training codes its run saved (no encoding at start-up)."""
    points, _, labels, _ = training_data(model)
    points, labels = points[:SCATTER_POINTS], labels[:SCATTER_POINTS]
    return Entry(name, model, np.asarray(points, np.float32), np.asarray(labels, np.int64),
                 map_clusters(points, labels))


def map_clusters(points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """k-means clusters of the map's codes (all coordinates), k = the number of labels seen (10 without
    labels), from :func:`latentlab.apps.clustering.cluster`; empty for an empty map."""
    from ..apps.clustering import cluster

    points = np.asarray(points, np.float32)
    if len(points) < 2:
        return np.zeros(len(points), np.int64)
    k = len(np.unique(labels)) if len(labels) and len(np.unique(labels)) > 1 else 10
    return np.asarray(cluster(points, min(k, len(points)), seed=0).labels, np.int64)


def load_runs(specs: list[str]) -> dict[str, Entry]:
    """Load each ``[NAME=]RUN_DIR`` with ``LatentModel.load`` (a model; an estimator's or a codec's folder is
    refused by name); names must be unique."""
    from .. import LatentModel

    entries: dict[str, Entry] = {}
    for spec in specs:
        name, path = parse_run(spec)
        if name in entries:
            raise ConfigError(f"two runs are named {name!r}; name them apart with NAME=RUN_DIR.")
        entries[name] = make_entry(name, LatentModel.load(path))
    if not entries:
        raise DataError("no runs to serve; pass RUN_DIR arguments or none at all for the demo models.")
    return entries


def default_runs(root: str | Path = "runs", epochs: int | None = None, verbose: bool = True) -> list[str]:
    """Train, or reuse, the demo's 2-D digits VAE (``root/demo``) and AE (``root/demo-ae``).

    Returns the ``NAME=RUN_DIR`` specs to pass to :func:`load_runs`.
    """
    from .. import load
    from ..apps.demo import run_demo
    from ..data.datasets import load_digits
    from ..models.ae import Autoencoder

    root = Path(root)
    vae_dir, ae_dir = root / "demo", root / "demo-ae"
    if not (vae_dir / "config.json").is_file():
        run_demo(vae_dir, epochs=epochs, verbose=verbose)
    if not (ae_dir / "config.json").is_file():
        vae = load(vae_dir)
        X_train, X_test, y_train, y_test = load_digits(split=True)
        opts = {} if epochs is None else {"epochs": epochs}
        ae = Autoencoder(latent_dim=2, hidden=vae.config.hidden).fit(X_train, seed=0, verbose=verbose, **opts)
        ae.attach_view(X_train[:SCATTER_POINTS], y_train[:SCATTER_POINTS], image_shape=(8, 8),
                       examples=X_test[:100], example_labels=y_test[:100])
        ae.save(ae_dir, metrics={"test_mse": float(np.mean((ae.reconstruct(X_test) - X_test) ** 2))})
        if verbose:
            print(f"AE (latent 2) trained on digits; saved to {ae_dir}")
    return [f"vae={vae_dir}", f"ae={ae_dir}"]
