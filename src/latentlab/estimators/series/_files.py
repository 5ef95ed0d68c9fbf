"""The fitted state of :class:`~latentlab.estimators.series.SeriesAnomalyDetector` as a saved folder holds it.

The folder is every estimator's (see ``estimators/_persist.py``):
``config.json``, ``arrays.safetensors`` and a model folder for each network
of a member (``model/`` for the autoencoder, ``recurrent/``). The state in
``config.json`` lists the members in their order, each with its name, the
scorer's ``center`` and ``scale`` of it and its own ``config``; its arrays
are named ``<member>.<array>``, with its ``<member>.position_scale``.

Two earlier layouts load too. Folders written before the members were
objects kept parallel lists (``member_center``, ``member_scale``,
``position_scale_<k>`` in the members' order, ``pca_mean``, ...):
:func:`upgrade_lists` rewrites them. Folders of latentlab 0.1 named their
document ``detector.json`` and kept its fields at the top level:
:func:`upgrade_document` moves them.
"""

from __future__ import annotations

import numpy as np

from ...apps import timeseries as ts
from .._persist import FORMAT_VERSION, number, numbers, take
from .member import MemberState, weight
from .members import member_class
from .scorer import Entry, Scorer

FORMAT = "latentlab-series-detector"
_TOP = {"format", "params", "n_features", "feature_names"}  # the fields of a 0.1 document that are not state
#: Parameters a folder may lack, with the values it was written under: the PCA and recurrent members were on by
#: default until the Mahalanobis and polynomial members came, and a folder without those had neither.
_EARLIER_PARAMS = {"pca_weight": 1.0, "recurrent_weight": 1.0, "mahalanobis_weight": 0.0, "poly_weight": 0.0}
_LEGACY_ARRAYS = {"pca_mean": "pca.mean", "pca_components": "pca.components", "spread_mean": "spread.mean",
                  "spread_scale": "spread.scale"}


def saved_state(det) -> tuple[dict, dict, dict]:
    """``(scalars, arrays, models)`` of the fitted detector ``det``."""
    members, arrays, models = [], {}, {}
    for entry in det.scorer_.entries:
        name = entry.member.name
        state = entry.member.state()
        members.append({"name": name, "center": entry.center, "scale": entry.scale, "config": state.config})
        arrays[f"{name}.position_scale"] = np.ascontiguousarray(entry.position_scale)
        arrays.update({f"{name}.{key}": np.ascontiguousarray(a) for key, a in state.arrays.items()})
        clash = set(models) & set(state.models)
        if clash:
            raise RuntimeError(f"the members name the same model folder {sorted(clash)}")
        models.update(state.models)
    scalars = {
        "window": det.window_, "normalisation": det.normalisation_, "ae_normalisation": det.ae_normalisation_,
        "threshold": det.threshold_, "center": det.center_.tolist(), "scale": det.scale_.tolist(),
        "members": members,
    }
    return scalars, arrays, models


def upgrade_document(doc: dict) -> dict:
    """A 0.1 ``detector.json`` (fields at the top level) as ``config.json`` holds them now; parameters an
    earlier folder does not name take the values it was written under (``_EARLIER_PARAMS``)."""
    if isinstance(doc.get("params"), dict):
        doc = {**doc, "params": {**_EARLIER_PARAMS, **doc["params"]}}
    if "state" in doc:
        return doc
    models = {"model": None, **({"recurrent": None} if doc.get("recurrent") is True else {})}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "params": doc.get("params"),
            "n_features_in": doc.get("n_features"), "feature_names_in": doc.get("feature_names") or None,
            "state": {k: v for k, v in doc.items() if k not in _TOP}, "models": models}


def upgrade_lists(det, scalars: dict, arrays: dict) -> tuple[dict, dict]:
    """A state of parallel member lists as the member entries hold it now (unchanged when it has entries).

    Those members were the autoencoder, PCA when ``n_components > 0``, and the recurrent and spread
    members when their flags say so; folders from before those members have no flag, and their weight
    parameters are set to 0.
    """
    if "members" in scalars:
        return scalars, arrays
    used = {}
    for name in ("recurrent", "spread"):
        used[name] = scalars.get(name, False)
        if not isinstance(used[name], bool):
            raise TypeError(f"{name} is not true or false")
        if not used[name]:
            setattr(det, f"{name}_weight", 0.0)
    n_components = number(scalars, "n_components", int, low=0)
    names = ["autoencoder", *(["pca"] if n_components > 0 else []), *(n for n in ("recurrent", "spread") if used[n])]
    centers = numbers(scalars["member_center"], len(names), "member_center")
    scales = numbers(scalars["member_scale"], len(names), "member_scale")
    if min(centers) < 0 or min(scales) <= 0:  # means and spreads of squared errors
        raise ValueError("member_center holds a value < 0 or member_scale a value <= 0")
    layout = "sequence" if det.architecture == "seq" or det.family.startswith("seq") else "flat"
    configs = {"autoencoder": {"normalisation": scalars["ae_normalisation"], "layout": layout},
               "pca": {"normalisation": scalars["normalisation"], "n_components": n_components},
               "recurrent": {"normalisation": scalars["ae_normalisation"]}, "spread": {}}
    new = {k: v for k, v in scalars.items() if k not in {"member_center", "member_scale", "n_components"}}
    new["members"] = [{"name": n, "center": c, "scale": s, "config": configs[n]}
                      for n, c, s in zip(names, centers, scales)]
    moved = {_LEGACY_ARRAYS.get(k, k): a for k, a in arrays.items()}
    for k, name in enumerate(names):
        if f"position_scale_{k}" in moved:
            moved[f"{name}.position_scale"] = moved.pop(f"position_scale_{k}")
    return new, moved


def restore_state(det, scalars: dict, arrays: dict, models: dict) -> None:
    """Put back on ``det`` what :func:`saved_state` returned, each value checked (``KeyError``, ``TypeError``
    or ``ValueError`` naming the problem)."""
    scalars, arrays = upgrade_lists(det, scalars, arrays)
    F = det.n_features_in_
    det.window_ = number(scalars, "window", int, low=2)
    det.threshold_ = number(scalars, "threshold")
    for name in ("normalisation", "ae_normalisation"):
        if scalars[name] not in ts.NORMALISATIONS:
            raise ValueError(f"{name} is {scalars[name]!r}, not one of {ts.NORMALISATIONS}")
    det.normalisation_, det.ae_normalisation_ = scalars["normalisation"], scalars["ae_normalisation"]
    det.center_ = np.asarray(numbers(scalars["center"], F, "center"), dtype=np.float64)
    det.scale_ = np.asarray(numbers(scalars["scale"], F, "scale"), dtype=np.float64)
    if not np.all(det.scale_ > 0):
        raise ValueError("scale holds a value <= 0")
    listed = scalars["members"]
    if not isinstance(listed, list) or not listed:
        raise ValueError("members is not a list of the detector's members")
    entries, used = [], set()
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
            raise TypeError("a member is not a JSON object with a config")
        cls = member_class(item["name"])
        if cls.name in used:
            raise ValueError(f"it lists the member {cls.name!r} twice")
        used.add(cls.name)
        prefix = f"{cls.name}."
        own = {k[len(prefix) :]: a for k, a in arrays.items() if k.startswith(prefix)}
        try:
            member = cls.restore(MemberState(item["config"], own, models), det)
            center = number(item, "center", low=0)  # a mean of mixed squared errors
            scale = number(item, "scale")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the {cls.name} member: {exc}") from None
        if scale <= 0:
            raise ValueError(f"the {cls.name} member's scale is {scale!r}, not > 0")
        shape = (det.window_, F)
        ref = take(arrays, f"{cls.name}.position_scale", shape, np.float64)
        if not np.all(ref > 0):
            raise ValueError(f"the position scales are not positive arrays of shape {shape}")
        wt = weight(cls, det)
        if wt <= 0:
            raise ValueError(f"it holds the {cls.name} member, which its parameters leave out (weight {wt})")
        entries.append(Entry(member, wt, ref, center, scale))
    owned = {name for entry in entries for name in entry.member.state().models}
    if set(models) != owned:
        raise ValueError(f"it holds the models {sorted(models)}, which are not its members' {sorted(owned)}")
    det.scorer_ = Scorer(entries)
    # The training scores are a weighted sum of members standardised to mean 0 and standard deviation 1, so
    # their standard deviation is at most the sum of the weights, and so (Cantelli) is the distance of their
    # median from 0; the threshold is a quantile above the median (contamination < 0.5).
    lowest = -sum(det.scorer_.weights) * (1 + 1e-9)
    if det.threshold_ < lowest:
        raise ValueError(f"threshold is {det.threshold_!r}, below {lowest:.4g}, which no fitted detector "
                         "gives (a quantile above the median of its training scores); it would flag most steps")
    auto = det.scorer_.member("autoencoder")
    det.model_ = None if auto is None else auto.model
    det.history_ = [] if auto is None else list(auto.model.history)
    det.reset_stream()
