"""The fitted state of :class:`~latentlab.AutoencoderOutlierDetector` as a saved folder holds it (see ``_persist``).

- scalars: the sizes used, the threshold and offset, each part's median and
  spread, the probability range, the isolation forest's seed, the number of
  rows the parts were fitted on (``fit_rows``; all of them up to
  ``MAX_FIT_ROWS``), and the column transform's parameters and fitted scalars;
- arrays: the training scores, each model's error weights and training codes
  (the latent k-NN part), the transformed training rows (the classical
  parts: the k-NN index and the isolation forest are fitted on the same rows),
  and the column transform's fitted arrays;
- models: ``model``, ``model_1``, ... for the seed ensemble.

The k-d trees and the isolation forest are grown again from the saved rows
(and seed) on load, which gives the same scores as the fitted detector.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._outlier_parts import Forest, KnnDistance, make_preprocessor, standardise
from ._persist import check_model_inputs, fit_probe, number, numbers, restore_sklearn_state, sklearn_state, take

PREFIX = "preprocessor."
SIZES = ("latent_dim", "hidden", "epochs", "n_models")


def _model_names(n: int) -> list[str]:
    return ["model"] + [f"model_{i}" for i in range(1, n)]


def saved_state(det) -> tuple[dict, dict, dict]:
    """``(scalars, arrays, models)`` of a fitted detector."""
    pre_scalars, arrays = sklearn_state(det.preprocessor_, PREFIX)
    forest = det.classical_ if isinstance(det.classical_, Forest) else getattr(det, "isolation_", None)
    scalars = {
        "sizes": dict(det.sizes_),
        "threshold": det.threshold_,
        "offset": det.offset_,
        "part_stats": {name: list(stats) for name, stats in det.part_stats_.items()},
        "proba_range": list(det._proba_range),
        "forest_seed": None if forest is None else forest.seed,
        "fit_rows": int(det.n_fit_rows_),
        "preprocessor": {"params": det.preprocessor_.get_params(deep=False), "state": pre_scalars},
    }
    arrays["decision_scores"] = np.asarray(det.decision_scores_, np.float64)
    for i, weights in enumerate(det.error_weights_):
        arrays[f"error_weights_{i}"] = np.asarray(weights, np.float64)
    for i, index in enumerate(det.latent_index_):
        arrays[f"latent_codes_{i}"] = index.rows
    if det.classical_ is not None:
        arrays["classical_rows"] = det.classical_.rows
    return scalars, arrays, dict(zip(_model_names(len(det.models_)), det.models_))


def restore_state(det, scalars: dict, arrays: dict, models: dict) -> None:
    """Put back what :func:`saved_state` returned, checking each value (``ValueError`` names the first bad one)."""
    d = det.n_features_in_
    sizes = scalars["sizes"]
    if not isinstance(sizes, dict) or set(sizes) != set(SIZES):
        raise ValueError(f"sizes must name {list(SIZES)}")
    det.sizes_ = {k: (numbers(sizes[k], None, "sizes.hidden", int, 1) if k == "hidden" else number(sizes, k, int, 1))
                  for k in SIZES}
    names = _model_names(det.sizes_["n_models"])
    if sorted(models) != sorted(names):
        raise ValueError(f"it holds the models {sorted(models)}; sizes.n_models={det.sizes_['n_models']} means {names}")
    for name in names:
        check_model_inputs(models[name], d, name)
    det.models_ = [models[name] for name in names]
    det.model_ = det.models_[0]
    det.history_ = list(det.model_.history)

    pre = scalars["preprocessor"]
    if not isinstance(pre, dict) or not isinstance(pre.get("params"), dict) or not isinstance(pre.get("state"), dict):
        raise ValueError("preprocessor must hold params and state")
    probe = make_preprocessor(det.preprocessing, 2, det.random_state).set_params(**pre["params"])
    det.preprocessor_ = restore_sklearn_state(fit_probe(probe, d), pre["state"], arrays, PREFIX)

    scores = take(arrays, "decision_scores", (None,), np.float64)
    n = len(scores)
    if n < 2:
        raise ValueError(f"decision_scores holds {n} training scores; a fitted detector has at least 2")
    det.decision_scores_ = scores
    fit_n = number(scalars, "fit_rows", int, low=2) if "fit_rows" in scalars else n  # older folders: every row
    if fit_n > n:
        raise ValueError(f"fit_rows is {fit_n}, more than the {n} training scores")
    det.n_fit_rows_ = fit_n
    det.error_weights_ = [take(arrays, f"error_weights_{i}", (d,), np.float64) for i in range(len(names))]
    det.latent_index_ = []
    if det.scoring != "reconstruction":
        det.latent_index_ = [KnnDistance(take(arrays, f"latent_codes_{i}", (fit_n, m.config.latent_dim)), det.n_neighbors)
                             for i, m in enumerate(det.models_)]
    det.classical_ = det.isolation_ = None  # a folder of classical='knn' (the default before 'knn+iforest') loads as it was
    if det.classical != "none":
        rows = take(arrays, "classical_rows", (fit_n, d))
        if det.classical in ("knn", "knn+iforest"):
            det.classical_ = KnnDistance(rows, det.n_neighbors)
        else:
            det.classical_ = Forest(rows, number(scalars, "forest_seed", int, low=0))
        if det.classical == "knn+iforest":
            det.isolation_ = Forest(rows, number(scalars, "forest_seed", int, low=0))

    parts = {"reconstruction"} if det.scoring != "latent" else set()
    parts |= {"latent"} if det.scoring != "reconstruction" else set()
    parts |= {"classical"} if det.classical != "none" else set()
    parts |= {"isolation"} if det.classical == "knn+iforest" else set()
    stats = scalars["part_stats"]
    if not isinstance(stats, dict) or set(stats) != parts:
        raise ValueError(f"part_stats must name the parts {sorted(parts)}")
    det.part_stats_ = {}
    for name in sorted(parts):
        med, spread = numbers(stats[name], 2, f"part_stats.{name}")
        if spread <= 0:
            raise ValueError(f"part_stats.{name} has a spread of {spread}, not > 0")
        det.part_stats_[name] = (med, spread)

    det.threshold_, det.offset_ = number(scalars, "threshold"), number(scalars, "offset")
    if det.offset_ != -det.threshold_:
        raise ValueError(f"offset {det.offset_} is not minus the threshold {det.threshold_}")
    det.labels_ = (det.decision_scores_ > det.threshold_).astype(int)
    lo, hi = numbers(scalars["proba_range"], 2, "proba_range")
    if not hi > lo:
        raise ValueError(f"proba_range ({lo}, {hi}) is empty")
    det._proba_range = (lo, hi)
    forest, part = (det.isolation_, "isolation") if det.isolation_ is not None else (det.classical_, "classical")
    if isinstance(forest, Forest) and fit_n == n and standardise(forest(forest.rows)) != det.part_stats_[part]:
        warnings.warn("the isolation forest grown again from the saved rows and seed scores differently from the one "
                      "that was fitted (another scikit-learn version?); scores will differ slightly. Refit the "
                      "detector to get its exact scores.", UserWarning, stacklevel=4)


__all__ = ["saved_state", "restore_state"]
