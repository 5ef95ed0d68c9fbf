"""The fitted state of :class:`~latentlab.AutoencoderImputer` as a saved folder holds it (see ``_persist``).

- scalars: the refinement passes, the sizes used, the components and the
  partners' seed;
- arrays: the column means and observed ranges, the stacking weights, and the
  rows the partners were fitted on (their values, NaN stored as 0, and a mask
  of the cells they saw) with a checksum of the partners' fills;
- models: ``model``, the autoencoder.

The partners (scikit-learn's imputers) are fitted again from the saved rows
and seed on load, which gives the same fills as the fitted imputer. A folder
saved before the partners existed (its parameters have no ``partners``) loads
as the autoencoder alone, without the range clip, as it was fitted; one saved
with ``partners='auto'`` before the trees partner joined it loads with the
partners it was fitted with (``LEGACY_AUTO``); so does one of more than 100 columns saved when
'auto' meant the k-NN partner alone there.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._impute_parts import Partner, legacy_auto, partner_names
from ._persist import check_model_inputs, number, numbers, take

#: "No bound": the range of a folder saved before fills were clipped (finite, so it can be saved again).
UNBOUNDED = float(np.finfo(np.float64).max)
CHECK_ROWS = 20


def _checksum(partners, rows: np.ndarray) -> np.ndarray:
    """Each partner's fills of the first rows, summed: a loaded partner must give the same."""
    head = rows[:CHECK_ROWS]
    return np.array([float(p(head).sum()) for p in partners], dtype=np.float64)


def upgrade_document(doc: dict) -> dict:
    """A folder written before the partners existed loads as the autoencoder alone (``partners='none'``)."""
    params = doc.get("params")
    if isinstance(params, dict) and "partners" not in params:
        doc = {**doc, "params": {**params, "partners": "none"}}
    return doc


def saved_state(imp) -> tuple[dict, dict, dict]:
    """``(scalars, arrays, models)`` of a fitted imputer."""
    scalars = {"n_iter": imp.n_iter_, "sizes": dict(imp.sizes_), "components": list(imp.components_)}
    arrays = {"statistics": imp.statistics_, "data_min": imp.data_min_, "data_max": imp.data_max_,
              "weights": imp.weights_}
    if imp.partners_:
        rows = imp.partners_[0].rows
        scalars["partner_seed"] = imp.partners_[0].seed
        arrays["partner_rows"] = np.nan_to_num(rows, nan=0.0)
        arrays["partner_seen"] = (~np.isnan(rows)).astype(np.uint8)
        arrays["partner_check"] = _checksum(imp.partners_, rows)
    return scalars, arrays, {"model": imp.model_}


def restore_state(imp, scalars: dict, arrays: dict, models: dict) -> None:
    """Put back what :func:`saved_state` returned, checking each value (``ValueError`` names the first bad one)."""
    d = imp.n_features_in_
    model = models["model"]
    check_model_inputs(model, d)
    imp.model_ = model
    imp.history_ = list(model.history)
    imp.n_iter_ = number(scalars, "n_iter", int, low=1)
    imp.statistics_ = take(arrays, "statistics", (d,), np.float64)
    names = partner_names(imp.partners, d)
    if "weights" not in arrays:  # saved before the partners and the range clip
        if names:
            raise ValueError("it has no stacking weights, so its partners cannot be restored")
        imp.sizes_ = {"latent_dim": int(model.config.latent_dim), "hidden": tuple(model.config.hidden),
                      "epochs": len(imp.history_)}
        imp.data_min_, imp.data_max_ = np.full(d, -UNBOUNDED), np.full(d, UNBOUNDED)
        imp.components_, imp.weights_, imp.partners_ = ("autoencoder",), np.ones(1), []
        return
    sizes = scalars["sizes"]
    if not isinstance(sizes, dict) or set(sizes) != {"latent_dim", "hidden", "epochs"}:
        raise ValueError("sizes must name latent_dim, hidden and epochs")
    imp.sizes_ = {"latent_dim": number(sizes, "latent_dim", int, 1),
                  "hidden": numbers(sizes["hidden"], None, "sizes.hidden", int, 1), "epochs": number(sizes, "epochs", int, 1)}
    saved = scalars["components"]
    if imp.partners == "auto" and isinstance(saved, list) and tuple(saved[1:]) in legacy_auto(d) and saved[:1] == [
            "autoencoder"]:
        names = tuple(saved[1:])  # saved when 'auto' meant fewer partners: load it as it was fitted
    components = ("autoencoder", *names)
    if saved != list(components):
        raise ValueError(f"components are {scalars['components']!r}; partners={imp.partners!r} means "
                         f"{list(components)}")
    imp.components_ = components
    imp.data_min_ = take(arrays, "data_min", (d,), np.float64)
    imp.data_max_ = take(arrays, "data_max", (d,), np.float64)
    if (imp.data_min_ > imp.data_max_).any():
        raise ValueError("data_min is above data_max in some column")
    weights = take(arrays, "weights", (len(components),), np.float64)
    if (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
        raise ValueError("weights must be non-negative and sum to 1")
    imp.weights_ = weights
    imp.partners_ = []
    if names:
        values = take(arrays, "partner_rows", (None, d), np.float64)
        seen = take(arrays, "partner_seen", values.shape).astype(bool)
        rows = np.where(seen, values, np.nan)
        seed = number(scalars, "partner_seed", int, low=0)
        imp.partners_ = [Partner(name, rows, seed) for name in names]
        check = take(arrays, "partner_check", (len(names),), np.float64)
        if not np.allclose(_checksum(imp.partners_, rows), check, rtol=1e-9, atol=1e-9):
            warnings.warn("the imputers fitted again from the saved rows and seed fill differently from the ones "
                          "that were fitted (another scikit-learn version?); fills will differ slightly. Fit the "
                          "imputer again to get its exact fills.", UserWarning, stacklevel=4)


__all__ = ["saved_state", "restore_state", "upgrade_document"]
