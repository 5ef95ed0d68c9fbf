"""Saving and loading :class:`~latentlab.estimators.series.SeriesAnomalyDetector`: JSON and safetensors, nothing pickled."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import atomic_folder, atomic_write_bytes, atomic_write_json
from ..errors import ModelFileError
from ..storage import read_json, read_safetensors

FORMAT = "latentlab-series-detector"
ARRAYS = "arrays.safetensors"


class SeriesFilesMixin:
    """``save`` and ``load`` of a fitted detector."""

    def save(self, path) -> Path:
        """Write the detector to folder ``path``: ``detector.json``, the model's folder ``model/`` and the
        recurrent member's ``recurrent/`` (when it is used)."""
        self._check_fitted()
        doc = {
            "format": FORMAT,
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()},
            "window": self.window_, "normalisation": self.normalisation_, "threshold": self.threshold_,
            "ae_normalisation": self.ae_normalisation_, "n_components": self.n_components_,
            "recurrent": self.recurrent_ is not None, "spread": self.spread_mean_ is not None,
            "member_center": list(self.member_center_), "member_scale": list(self.member_scale_),
            "center": self.center_.tolist(), "scale": self.scale_.tolist(), "n_features": self.n_features_in_,
            "feature_names": None if not hasattr(self, "feature_names_in_") else list(self.feature_names_in_),
        }

        from safetensors.numpy import save as save_arrays

        arrays = {f"position_scale_{k}": np.ascontiguousarray(p) for k, p in enumerate(self.position_scale_)}
        if self.n_components_ > 0:
            arrays.update(pca_mean=self.pca_mean_, pca_components=np.ascontiguousarray(self.pca_components_))
        if self.spread_mean_ is not None:
            arrays.update(spread_mean=self.spread_mean_, spread_scale=self.spread_scale_)

        def write(folder: Path) -> None:
            self.model_.save(folder / "model")
            if self.recurrent_ is not None:
                self.recurrent_.save(folder / "recurrent")
            atomic_write_bytes(folder / ARRAYS, save_arrays(arrays))
            atomic_write_json(folder / "detector.json", doc)

        return atomic_folder(path, write, {"detector.json", "model", "recurrent", ARRAYS})

    @classmethod
    def load(cls, path) -> SeriesFilesMixin:
        """Read a detector written by :meth:`save` (nothing is unpickled)."""
        import latentlab

        path = Path(path)
        file = path / "detector.json"
        if not file.is_file():
            raise ModelFileError(f"{path} holds no detector.json; pass a folder written by SeriesAnomalyDetector.save.")
        doc = read_json(file)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ModelFileError(f"{file} is not a latentlab series detector (no format={FORMAT!r}).")
        try:
            params = {k: (tuple(v) if k == "hidden" else v) for k, v in doc["params"].items()}
            used = {}
            for member in ("recurrent", "spread"):  # folders from before these members have no flag: left out
                used[member] = doc.get(member, False)
                if not isinstance(used[member], bool):
                    raise TypeError(f"{member} is not true or false")
                if not used[member]:
                    params[f"{member}_weight"] = 0.0
            recurrent, spread = used["recurrent"], used["spread"]
            det = cls(**params)
            det.window_, det.normalisation_ = int(doc["window"]), str(doc["normalisation"])
            det.threshold_, det.n_features_in_ = float(doc["threshold"]), int(doc["n_features"])
            det.center_ = np.asarray(doc["center"], dtype=np.float64)
            det.scale_ = np.asarray(doc["scale"], dtype=np.float64)
            if det.center_.shape != (det.n_features_in_,) or det.scale_.shape != (det.n_features_in_,):
                raise ValueError("center and scale do not match n_features")
            det.ae_normalisation_, det.n_components_ = str(doc["ae_normalisation"]), int(doc["n_components"])
            det.member_center_ = [float(v) for v in doc["member_center"]]
            det.member_scale_ = [float(v) for v in doc["member_scale"]]
            n_members = 1 + (det.n_components_ > 0) + recurrent + spread
            if len(det.member_center_) != n_members or len(det.member_scale_) != n_members:
                raise ValueError("member_center and member_scale do not match the members")
            if not (path / ARRAYS).is_file():
                raise ValueError(f"{ARRAYS} is missing")
            tensors, _ = read_safetensors(path / ARRAYS)
            arrays = {k: np.ascontiguousarray(v.numpy(), dtype=np.float64) for k, v in tensors.items()}
            shape = (det.window_, det.n_features_in_)
            det.position_scale_ = [arrays[f"position_scale_{k}"] for k in range(n_members)]
            if any(p.shape != shape or not np.all(np.isfinite(p) & (p > 0)) for p in det.position_scale_):
                raise ValueError(f"the position scales are not positive arrays of shape {shape}")
            if det.n_components_ > 0:
                det.pca_mean_, det.pca_components_ = arrays["pca_mean"], arrays["pca_components"]
                width = det.window_ * det.n_features_in_
                if det.pca_mean_.shape != (width,) or det.pca_components_.shape != (det.n_components_, width):
                    raise ValueError("the PCA arrays do not match the window and channels")
            det.spread_mean_ = det.spread_scale_ = None
            if spread:
                det.spread_mean_, det.spread_scale_ = arrays["spread_mean"], arrays["spread_scale"]
                channels = (det.n_features_in_,)
                if det.spread_mean_.shape != channels or det.spread_scale_.shape != channels or not (
                    np.all(np.isfinite(det.spread_mean_)) and np.all(det.spread_scale_ > 0)
                ):
                    raise ValueError(f"the spread arrays are not finite arrays of shape {channels}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{file} is damaged ({exc}); save the detector again.") from None
        if doc.get("feature_names"):
            det.feature_names_in_ = np.asarray(doc["feature_names"], dtype=object)
        det.model_ = latentlab.load(path / "model")
        det.model_.row_invariant = True
        det.recurrent_ = None
        if recurrent:
            det.recurrent_ = latentlab.load(path / "recurrent")
            det.recurrent_.row_invariant = True
        det.history_ = list(det.model_.history)
        det.reset_stream()
        return det
