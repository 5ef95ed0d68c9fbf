"""The fitted state of :class:`~latentlab.estimators.series.SeriesAnomalyDetector` as a saved folder holds it.

The folder is every estimator's (see ``_persist``): ``config.json``,
``arrays.safetensors``, the autoencoder's folder ``model/`` and the
recurrent member's ``recurrent/`` when it is used. Folders of latentlab 0.1
named their document ``detector.json`` and kept its fields at the top
level; they load too (:meth:`SeriesFilesMixin._upgrade_document`).
"""

from __future__ import annotations

import numpy as np

from ..apps import timeseries as ts
from ._persist import FORMAT_VERSION, check_model_inputs, number, numbers, take

FORMAT = "latentlab-series-detector"
_TOP = {"format", "params", "n_features", "feature_names"}  # the fields of a 0.1 document that are not state


class SeriesFilesMixin:
    """The detector's fitted state for ``save`` and ``load`` (which the estimators share)."""

    saved_format = FORMAT

    def _saved_state(self) -> tuple[dict, dict, dict]:
        scalars = {
            "window": self.window_, "normalisation": self.normalisation_, "threshold": self.threshold_,
            "ae_normalisation": self.ae_normalisation_, "n_components": self.n_components_,
            "recurrent": self.recurrent_ is not None, "spread": self.spread_mean_ is not None,
            "member_center": list(self.member_center_), "member_scale": list(self.member_scale_),
            "center": self.center_.tolist(), "scale": self.scale_.tolist(),
        }
        arrays = {f"position_scale_{k}": np.ascontiguousarray(p) for k, p in enumerate(self.position_scale_)}
        if self.n_components_ > 0:
            arrays.update(pca_mean=self.pca_mean_, pca_components=np.ascontiguousarray(self.pca_components_))
        if self.spread_mean_ is not None:
            arrays.update(spread_mean=self.spread_mean_, spread_scale=self.spread_scale_)
        models = {"model": self.model_}
        if self.recurrent_ is not None:
            models["recurrent"] = self.recurrent_
        return scalars, arrays, models

    @classmethod
    def _upgrade_document(cls, doc: dict) -> dict:
        """A 0.1 ``detector.json`` (fields at the top level) as ``config.json`` holds them now."""
        if "state" in doc:
            return doc
        models = {"model": None, **({"recurrent": None} if doc.get("recurrent") is True else {})}
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "params": doc.get("params"),
                "n_features_in": doc.get("n_features"), "feature_names_in": doc.get("feature_names") or None,
                "state": {k: v for k, v in doc.items() if k not in _TOP}, "models": models}

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        used = {}
        for member in ("recurrent", "spread"):  # folders from before these members have no flag: left out
            used[member] = scalars.get(member, False)
            if not isinstance(used[member], bool):
                raise TypeError(f"{member} is not true or false")
            if not used[member]:
                setattr(self, f"{member}_weight", 0.0)
        recurrent, spread = used["recurrent"], used["spread"]
        if set(models) != {"model", *(["recurrent"] if recurrent else [])}:
            raise ValueError(f"it holds the models {sorted(models)}, which do not match its recurrent flag")
        F = self.n_features_in_
        self.window_ = number(scalars, "window", int, low=2)
        self.threshold_ = number(scalars, "threshold")
        for name in ("normalisation", "ae_normalisation"):
            if scalars[name] not in ts.NORMALISATIONS:
                raise ValueError(f"{name} is {scalars[name]!r}, not one of {ts.NORMALISATIONS}")
        self.normalisation_, self.ae_normalisation_ = scalars["normalisation"], scalars["ae_normalisation"]
        self.n_components_ = number(scalars, "n_components", int, low=0)
        self.center_ = np.asarray(numbers(scalars["center"], F, "center"), dtype=np.float64)
        self.scale_ = np.asarray(numbers(scalars["scale"], F, "scale"), dtype=np.float64)
        if not np.all(self.scale_ > 0):
            raise ValueError("scale holds a value <= 0")
        n_members = 1 + (self.n_components_ > 0) + recurrent + spread
        self.member_center_ = list(numbers(scalars["member_center"], n_members, "member_center"))
        self.member_scale_ = list(numbers(scalars["member_scale"], n_members, "member_scale"))
        if min(self.member_center_) < 0 or min(self.member_scale_) <= 0:  # means and spreads of squared errors
            raise ValueError("member_center holds a value < 0 or member_scale a value <= 0")
        shape = (self.window_, F)
        self.position_scale_ = [take(arrays, f"position_scale_{k}", shape, np.float64) for k in range(n_members)]
        if any(not np.all(p > 0) for p in self.position_scale_):
            raise ValueError(f"the position scales are not positive arrays of shape {shape}")
        if self.n_components_ > 0:
            width = self.window_ * F
            self.pca_mean_ = take(arrays, "pca_mean", (width,), np.float64)
            self.pca_components_ = take(arrays, "pca_components", (self.n_components_, width), np.float64)
        self.spread_mean_ = self.spread_scale_ = None
        if spread:
            self.spread_mean_ = take(arrays, "spread_mean", (F,), np.float64)
            self.spread_scale_ = take(arrays, "spread_scale", (F,), np.float64)
            if not np.all(self.spread_scale_ > 0):
                raise ValueError(f"the spread arrays are not finite arrays of shape {(F,)} with a positive scale")
        for name, model in models.items():
            check_model_inputs(model, self.window_ * F, name)
        self.model_, self.recurrent_ = models["model"], models.get("recurrent")
        # The training scores are a weighted sum of members standardised to mean 0 and standard deviation 1, so
        # their standard deviation is at most the sum of the weights, and so (Cantelli) is the distance of their
        # median from 0; the threshold is a quantile above the median (contamination < 0.5).
        weights = self._member_weights()  # the members are all restored now
        lowest = -sum(weights) * (1 + 1e-9)
        if self.threshold_ < lowest:
            raise ValueError(f"threshold is {self.threshold_!r}, below {lowest:.4g}, which no fitted detector "
                             "gives (a quantile above the median of its training scores); it would flag most steps")
        self.history_ = list(self.model_.history)
        self.reset_stream()
