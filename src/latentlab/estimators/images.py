"""``ImageAnomalyDetector``: defects in images, found and located by an autoencoder fitted on normal parts only."""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from ..config import SIZE, Param, check_params
from ..errors import ConfigError, DataError
from ._base import EstimatorNotFittedError
from ._image_maps import RESIDUALS, resize, standardise, working_size

MIN_SIDE = 8
PAD = 8  # pixels reflected at each side before the network, in training and in scoring


class ImageAnomalyDetector(BaseEstimator):
    """Image anomaly detection with per-pixel maps, trained on images of normal parts only.

    Each image is shrunk so its longer side is at most ``max_side`` and
    standardised by its own median and spread. A fully convolutional
    autoencoder (:class:`~latentlab.nn.fcn.FCNEncoder` /
    :class:`~latentlab.nn.fcn.FCNDecoder`, no skips) is trained on random
    ``patch x patch`` crops of the normal images; on a ``synthetic`` share of
    them a synthetic defect (a blob, a scratch or a piece of other texture)
    is pasted on the input while the target stays clean (DRAEM's
    reconstructive part), so real defects are not reconstructed. An image's
    map is the residual (``residual``: squared error, ``1 - SSIM``, or their
    mean), smoothed with a Gaussian of ``sigma`` pixels and brought back to
    the image's own size; its score is the ``score_quantile`` quantile of the
    map (1.0: the maximum). A ``holdout`` share of the normal images is kept
    out of training: ``threshold_`` is the ``1 - contamination`` quantile of
    their scores. Large images run in tiles (memory bounded by ``tile``).
    With ``head=True`` the map is instead a segmentation head's probability
    of a defect (DRAEM's discriminative part). The defaults were chosen on
    the tuning part of
    ``benchmarks/image_anomalies.py`` (see docs/image_anomalies.md).

    Parameters
    ----------
    max_side : int or None, default=256
        Longer side images are scored at (None: their own size).
    patch : int, default=64
        Side of the training patches.
    channels : tuple of int, default=(16, 32, 32)
        Widths of the encoder's stride-2 stages.
    latent : int, default=4
        Channels of the code map.
    steps, batch_size, lr : int, int, float
        Adam updates, patches per update and the learning rate.
    synthetic : float in [0, 1], default=0.8
        Share of training patches given a synthetic defect (0: a plain autoencoder).
    residual : {'l2', 'ssim', 'mix'}, default='l2'
        The map: squared error, ``1 - SSIM``, or their mean.
    loss : {'l1+ssim', 'l2'}, default='l1+ssim'
        Training loss: absolute error plus ``1 - SSIM``, or squared error.
    sigma : float >= 0, default=1.0
        Smoothing of the map, in pixels of the working size.
    score_quantile : float in (0, 1], default=0.999
    border : float in [0, 0.4], default=0.1
        Share of each side left out of the image score (edges of a part are
        often unlike its inside); the map still covers them.
    relative : bool, default=True
        Divide the image score by the median of the image's map (a busy
        texture raises both).
    holdout : float in (0, 1), default=0.2
    contamination : float in (0, 0.5), default=0.01
    tile : int, default=512
    mode : {'L', 'RGB'} or None, default=None
        Colour of the images (None: grey when every fitting image is grey).
    random_state : int or None, default=0
    verbose : bool, default=False
    head : bool, default=False
        Also train DRAEM's discriminative part, a small U-Net that reads an
        image and its reconstruction and gives the probability of a defect
        at each pixel, trained on the masks of the synthetic defects (focal
        loss); the map is then that probability, smoothed by ``sigma``. On
        the tuning part it scored below the residual map within the CPU
        budget (see docs/image_anomalies.md), hence off by default.
    head_channels : tuple of int, default=(16, 32, 64)
        Widths of the head's stride-2 stages (``patch`` must be a multiple
        of 2 to their number).

    Attributes
    ----------
    threshold_ : float
    decision_scores_ : ndarray
        Scores of the held-out normal images that set the threshold.
    n_features_in_ : int
        Channels (1 grey, 3 colour).
    fit_seconds_ : float
        CPU seconds of the fit.
    """

    saved_format: ClassVar[str] = "latentlab-image-detector"

    def __init__(self, max_side: int | None = 256, patch: int = 64, channels: tuple = (16, 32, 32), latent: int = 4,
                 steps: int = 600, batch_size: int = 16, lr: float = 1e-3, synthetic: float = 0.8,
                 residual: str = "l2", sigma: float = 1.0, score_quantile: float = 0.999, holdout: float = 0.2,
                 contamination: float = 0.01, loss: str = "l1+ssim", border: float = 0.1, relative: bool = True,
                 tile: int = 512, mode: str | None = None, random_state: int | None = 0, verbose: bool = False,
                 head: bool = False, head_channels: tuple = (16, 32, 64)):
        self.max_side, self.patch, self.channels, self.latent = max_side, patch, channels, latent
        self.steps, self.batch_size, self.lr, self.synthetic = steps, batch_size, lr, synthetic
        self.residual, self.sigma, self.score_quantile, self.holdout = residual, sigma, score_quantile, holdout
        self.contamination, self.loss, self.border, self.relative = contamination, loss, border, relative
        self.tile, self.mode, self.head, self.head_channels = tile, mode, head, head_channels
        self.random_state, self.verbose = random_state, verbose

    # ---------------------------------------------------------------------------- checks
    param_specs: ClassVar[dict[str, Param]] = {
        "max_side": Param(int, low=MIN_SIDE, high=SIZE.high, also=(None,)),
        "patch": SIZE,
        "channels": Param(tuple, low=1, high=SIZE.high),
        "latent": SIZE,
        "steps": SIZE,
        "batch_size": SIZE,
        "lr": Param(float, low=0, high=10, closed="right"),
        "synthetic": Param(float, low=0, high=1),
        "residual": Param(str, choices=RESIDUALS),
        "sigma": Param(float, low=0, high=64),
        "score_quantile": Param(float, low=0, high=1, closed="right"),
        "holdout": Param(float, low=0, high=1, closed="neither"),
        "contamination": Param(float, low=0, high=0.5, closed="right"),
        "loss": Param(str, choices=("l1+ssim", "l2")),
        "border": Param(float, low=0, high=0.4),
        "relative": Param(bool),
        "tile": SIZE,
        "mode": Param(str, choices=("L", "RGB"), also=(None,)),
        "random_state": Param(int, low=0, also=(None,)),
        "verbose": Param(bool),
        "head": Param(bool),
        "head_channels": Param(tuple, low=1, high=SIZE.high),
    }

    def _check_params(self) -> None:
        """Each parameter against ``param_specs`` (:func:`latentlab.config.check_params`), then ``patch`` against
        the stages of ``channels``; :class:`~latentlab.ConfigError` names the first bad one."""
        check_params(self.get_params(deep=False), self.param_specs)
        for name in ("channels", "head_channels") if self.head else ("channels",):
            stages = tuple(getattr(self, name))
            if self.patch % (2 ** len(stages)):
                raise ConfigError(f"patch={self.patch} must be a multiple of {2 ** len(stages)} "
                                  f"(2 to the number of stages in {name}={stages}).")

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise EstimatorNotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                          "a folder of normal images first.")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    def _read(self, images, fitting: bool) -> list[np.ndarray]:
        from ..data.photos import load_photos

        photos = load_photos(images, mode=self.mode if fitting else None)
        for i, p in enumerate(photos):
            if min(p.shape[1:]) < MIN_SIDE:
                raise DataError(f"image {i} is {p.shape[1]}x{p.shape[2]} pixels; images need at least {MIN_SIDE} "
                                "pixels a side.")
        if fitting:
            return photos
        want = self.n_features_in_
        out = []
        for i, p in enumerate(photos):
            if p.shape[0] != want:
                if want == 1:
                    raise DataError(f"image {i} is in colour but the detector was fitted on grey images; convert "
                                    "them first, e.g. latentlab.load_photos(images, mode='L'), or fit on colour.")
                p = np.repeat(p, 3, axis=0)  # a grey image given to a colour model: its channel repeated (documented)
            out.append(p)
        return out

    # ---------------------------------------------------------------------------- fitting
    def fit(self, images, y=None):
        """Fit on normal images: a folder, file paths, or arrays of any sizes (grey or colour)."""
        import torch

        from ._image_maps import Pipeline
        from ._image_train import train as train_networks

        self._check_params()
        cpu0 = time.process_time()
        photos = self._read(images, fitting=True)
        if len(photos) < 2:
            raise DataError(f"fit needs at least 2 normal images (some to train on, some to set the threshold); "
                            f"got {len(photos)}.")
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(len(photos))
        n_hold = min(max(1, round(self.holdout * len(photos))), len(photos) - 1)
        hold, train = [photos[i] for i in order[:n_hold]], [photos[i] for i in order[n_hold:]]
        self.n_features_in_ = photos[0].shape[0]
        torch.manual_seed(0 if self.random_state is None else int(self.random_state))
        work = [self._prepare(p)[0] for p in train]
        work = [np.pad(w, ((0, 0), (e, e), (e, e)), mode="reflect")  # the border inference sees, too
                for w, e in ((w, min(PAD, w.shape[1] - 1, w.shape[2] - 1)) for w in work)]
        s = self.patch
        work = [np.pad(w, ((0, 0), (0, max(0, s - w.shape[1])), (0, max(0, s - w.shape[2]))), mode="edge")
                for w in work]
        self.net_ = Pipeline(*train_networks(self, work, rng))
        self.decision_scores_ = self._scores(hold)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1 - self.contamination))
        self.fit_seconds_ = time.process_time() - cpu0
        return self

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        size = working_size(image.shape[1:], self.max_side)
        return standardise(resize(image, size, "area")), size

    # ---------------------------------------------------------------------------- scoring
    def _work_map(self, image: np.ndarray) -> np.ndarray:
        """The smoothed residual map at the working size, ``(h, w)`` float32."""
        import torch

        from ..nn.tiling import tiled_apply
        from ._image_maps import gaussian_blur, residual_map

        x, _ = self._prepare(image)
        net = self.net_
        pad = min(PAD, x.shape[1] - 1, x.shape[2] - 1)
        xt = torch.from_numpy(x)[None]
        xp = torch.nn.functional.pad(xt, (pad, pad, pad, pad), mode="reflect") if pad > 0 else xt
        with torch.no_grad():
            if max(xp.shape[2:]) <= self.tile:
                from ..nn.tiling import pad_to_multiple

                padded, (h, w) = pad_to_multiple(xp, net.factor)
                recon = net(padded)[..., :h, :w]
            else:
                recon = tiled_apply(net, xp[0], tile=self.tile, overlap=2 * net.radius, margin=net.radius,
                                    multiple=net.factor)[None]
            out = recon[..., pad:pad + x.shape[1], pad:pad + x.shape[2]]
            c = x.shape[0]
            if self.head:  # the head's probability of a defect, smoothed
                return gaussian_blur(torch.sigmoid(out[:, c:]), float(self.sigma))[0, 0].numpy()
            return residual_map(xt, out[:, :c], self.residual, float(self.sigma)).numpy()

    def _score_of(self, m: np.ndarray) -> float:
        h, w = m.shape
        a, b = int(h * self.border), int(w * self.border)
        inner = m[a:h - a, b:w - b] if h - 2 * a >= 1 and w - 2 * b >= 1 else m
        top = inner.max() if self.score_quantile >= 1 else np.quantile(inner, self.score_quantile)
        return float(top / max(float(np.median(m)), 1e-6) if self.relative else top)

    def anomaly_maps(self, images) -> list[np.ndarray]:
        """One ``(H, W)`` float32 map per image, at the image's own size (higher: more anomalous)."""
        self._check_fitted()
        out = []
        for im in self._read(images, fitting=False):
            m = self._work_map(im)
            out.append(resize(m[None], im.shape[1:], "bilinear")[0])
        return out

    def score_images(self, images) -> np.ndarray:
        """One score per image: the ``score_quantile`` quantile of its map (higher: more anomalous)."""
        self._check_fitted()
        return self._scores(self._read(images, fitting=False))

    def _scores(self, photos: list[np.ndarray]) -> np.ndarray:
        return np.array([self._score_of(self._work_map(p)) for p in photos], dtype=np.float64)

    def score_samples(self, images) -> np.ndarray:
        """scikit-learn's sign: higher is more normal (``-score_images``)."""
        return -self.score_images(images)

    def predict(self, images) -> np.ndarray:
        """1 for an image whose score is above ``threshold_`` (a defect), else 0."""
        return (self.score_images(images) > self.threshold_).astype(np.int64)

    # ---------------------------------------------------------------------------- files
    def save(self, path):
        """Write the fitted detector to folder ``path`` (config.json + arrays.safetensors) in one atomic step."""
        from ._persist import save_estimator

        return save_estimator(self, path)

    @classmethod
    def load(cls, path):
        """Rebuild a detector that :meth:`save` wrote, checking every file first (nothing is unpickled)."""
        from ._persist import load_estimator

        return load_estimator(cls, path)

    @classmethod
    def _upgrade_document(cls, doc: dict) -> dict:
        params = doc.get("params")
        if isinstance(params, dict) and "head" not in params:  # saved before the head existed: maps are residuals
            doc = {**doc, "params": {**params, "head": False}}
        return doc

    def _saved_state(self):
        arrays = {f"net.{k}": v.detach().numpy().copy() for k, v in self.net_.ae.state_dict().items()}
        if self.net_.head is not None:
            arrays.update({f"head.{k}": v.detach().numpy().copy() for k, v in self.net_.head.state_dict().items()})
        arrays["decision_scores"] = np.asarray(self.decision_scores_, np.float64)
        return {"threshold": self.threshold_, "fit_seconds": self.fit_seconds_}, arrays, {}

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        import torch

        from ._image_maps import PatchAutoencoder, Pipeline, SegmentationHead
        from ._persist import number, take

        c = self.n_features_in_
        nets = {"net": PatchAutoencoder(c, tuple(self.channels), self.latent)}
        if self.head:
            nets["head"] = SegmentationHead(c, tuple(self.head_channels))
        for prefix, net in nets.items():
            state = net.state_dict()
            for k, v in state.items():
                state[k] = torch.from_numpy(take(arrays, f"{prefix}.{k}", tuple(v.shape), np.float32).copy())
            net.load_state_dict(state)
            net.eval()
        self.net_ = Pipeline(nets["net"], nets.get("head"))
        self.decision_scores_ = take(arrays, "decision_scores", (None,), np.float64)
        self.threshold_ = number(scalars, "threshold")
        self.fit_seconds_ = number(scalars, "fit_seconds", low=0)


__all__ = ["ImageAnomalyDetector"]
