"""The standard set of PNG figures for a fitted model (used by demo, train and evaluate)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import plots


def write_figures(model, X: np.ndarray, y: np.ndarray | None, out: str | Path, seed: int = 0) -> dict[str, Path]:
    """Write reconstructions, latent scatter, latent grid, samples, interpolation and loss curves.

    Returns the paths by name.
    """
    out = Path(out)
    cond = model.config.n_classes > 0
    yy = y if cond else None
    Z = model.encode(X, yy)
    R = model.reconstruct(X[:10], None if yy is None else yy[:10])
    family = model.family
    paths = {
        "reconstructions": plots.save(
            plots.reconstructions(X, R, title=f"{family}: {min(10, len(X))} inputs and their reconstructions"),
            out / "reconstructions.png",
        ),
        "latent_scatter": plots.save(plots.latent_scatter(Z, y, title=f"{family} latent space"),
                                     out / "latent_scatter.png"),
    }
    if not cond:
        paths["latent_grid"] = plots.save(plots.latent_grid(model, Z=Z), out / "latent_grid.png")
        S = model.sample(32, seed=seed)
        path = model.interpolate(X[0], X[1], steps=10, method="linear")
        sample_title, col_titles = f"{family}: 32 samples decoded from the prior (seed {seed})", None
        between = "two inputs"
    else:
        classes = np.repeat(np.arange(min(model.config.n_classes, 10)), 3)[:30]
        S = model.sample(30, y=classes, seed=seed)
        path = model.interpolate(X[0], X[1], steps=10, y=int(y[0]))
        sample_title, col_titles = f"{family}: 3 samples of each class from the prior (seed {seed})", None
        col_titles = [f"class {k}" for k in classes]
        between = f"two inputs, both decoded as class {int(y[0])}"
    paths["samples"] = plots.save(plots.samples(S, title=sample_title, titles=col_titles), out / "samples.png")
    paths["interpolation"] = plots.save(
        plots.interpolation(path, title=f"{family}: linear interpolation between the codes of {between}"),
        out / "interpolation.png",
    )
    if model.history:
        paths["loss_curves"] = plots.save(plots.loss_curves(model.history, model), out / "loss_curves.png")
    return paths
