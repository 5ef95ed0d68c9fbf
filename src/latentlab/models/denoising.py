"""Denoising a photo without torch: what every denoiser shares, and the shipped one run by onnxruntime.

:func:`denoise_photo` is the half of :meth:`ImageDenoiser.denoise <latentlab.models.denoiser.ImageDenoiser.denoise>`
that needs no network: reading the photo, the noise-level check, colour photos through a grey model (the
opponent channels one at a time, :mod:`latentlab.nn.colour`), clipping and the layout given back. The network
runs through ``planes``, a map from a ``(C, H, W)`` float32 array to the denoised one.

:class:`OnnxDenoiser` runs the shipped blind grey denoiser (``latentlab/pretrained/denoiser-grey``) with
onnxruntime: the same network, tiles, ensembles and colour handling as
``ImageDenoiser.pretrained()``, equal to float rounding, but without importing torch (about a second and a half
of the command line's three). The package holds one copy of the weights: the folder's ``denoiser.onnx`` is the
network's graph without them (written by :func:`latentlab.apps.onnx_export.export_denoiser_graph`), and the weights
are read from its ``model.safetensors`` (with NumPy) and given to onnxruntime when the session opens.
``latentlab denoise`` uses it when no ``--model`` is given.
"""

from __future__ import annotations

import json
import os
import warnings
from types import SimpleNamespace

import numpy as np

from ..config import check_positive_int
from ..data.photos import as_photo, estimate_noise_level
from ..errors import DataError, DataWarning, ModelFileError
from ..nn.colour import from_opponent, to_opponent
from ..nn.dihedral import averaged_over_turns, check_ensemble
from ..nn.tiling import tiled_apply

# Inference tiles: 512x512 pixels keep the activations of the default network near 150 MB.
TILE = 512
NOISE_CHECK = (0.5, 1.5)  # a photo whose estimated noise is outside these multiples of the trained level gets a warning
BLIND_MARGIN = 1.15  # a blind model warns when the estimate is above this multiple of its highest level
#: What the shipped graph names as the place of its weights: no file; they are given when the session opens.
WEIGHTS_GIVEN_AT_LOAD = "given-at-load-from-model.safetensors"
#: The prefix of the network's tensors in a saved denoiser's model.safetensors.
NET_PREFIX = "net."


def denoise_tiles(run, x, *, radius: int, factor: int, tile: int = TILE, batch: int = 1, ensemble: int = 1):
    """``run`` over ``x (C, H, W)`` (a tensor or an array) in tiles of a network of receptive radius ``radius``
    and ``factor = 2^k``, averaged over ``ensemble`` turns; the result equals whole-image inference."""
    check_positive_int("batch", batch)  # tiles denoised at once
    check_positive_int("tile", tile)  # pixels a side
    overlap = 2 * radius + factor  # blending zone of factor pixels beyond the two margins
    tile = max(tile, overlap + 2 * factor)
    return averaged_over_turns(lambda t: tiled_apply(run, t, tile=tile, overlap=overlap, margin=radius,
                                                     multiple=factor, batch=batch), x, ensemble)


def check_noise_level(x: np.ndarray, noise_level: float, max_noise_level: float, stacklevel: int = 4) -> None:
    """Warn (:class:`~latentlab.errors.DataWarning`) when the photo's estimated noise does not suit the model."""
    found = estimate_noise_level(x)
    if found is None or (max_noise_level > 0 and found <= BLIND_MARGIN * max_noise_level):
        return  # blind: anything up to its range
    if max_noise_level > 0:
        warnings.warn(
            f"this photo's noise level reads about {255 * found:.1f}/255, above the {255 * max_noise_level:.0f}/255 "
            f"this blind denoiser was trained for; noise will remain. Fine-tune it: fit(photos, init='pretrained', "
            f"noise_level={found:.3g}), or pass check_noise=False.", DataWarning, stacklevel=stacklevel)
        return
    if NOISE_CHECK[0] * noise_level <= found <= NOISE_CHECK[1] * noise_level:
        return
    warnings.warn(
        f"this photo's noise level reads about {255 * found:.1f}/255 but the denoiser was trained for "
        f"{255 * noise_level:.1f}/255; {'noise will remain' if found > noise_level else 'it will be over-smoothed'}. "
        f"Train one with noise_level={found:.3g} (--sigma {255 * found:.0f}), or pass check_noise=False.",
        DataWarning,
        stacklevel=stacklevel,
    )


def denoise_photo(image, planes, *, channels: int, noise_level: float, max_noise_level: float,
                  layout: str = "auto", check_noise: bool = True) -> np.ndarray:
    """The denoised photo in the layout given (see ``ImageDenoiser.denoise``); ``planes`` runs the network.

    ``planes`` maps a ``(channels, H, W)`` float32 array to its denoised values (not clipped). A colour photo
    through a grey model goes through it one opponent channel at a time.
    """
    raw = image
    x = as_photo(image, layout=layout, name="image")  # (C, H, W) float32, NaN and channel axes checked
    if channels == 1 and x.shape[0] == 3:  # colour through a grey model: the opponent channels one at a time
        if check_noise:
            check_noise_level(x, noise_level, max_noise_level)
        opp = to_opponent(x)
        del x
        for i in range(3):
            opp[i] = planes(opp[i : i + 1])[0]
        out = np.clip(from_opponent(opp), 0.0, 1.0)
        if isinstance(raw, np.ndarray) and raw.ndim == 3 and raw.shape[-1] == 3 and raw.shape[0] != 3:
            return out.transpose(1, 2, 0)
        return out
    if x.shape[0] != channels:
        want = "grey (latentlab.data.photos.as_photo(image, mode='L'))" if channels == 1 else "RGB (mode='RGB')"
        raise DataError(
            f"the image has {x.shape[0]} channel(s) but this denoiser was trained on {channels}; "
            f"convert it to {want} or train a denoiser for it."
        )
    if check_noise:
        check_noise_level(x, noise_level, max_noise_level)
    out = planes(x)
    del x
    np.clip(out, 0.0, 1.0, out=out)  # in place: no second copy of a large photo
    if isinstance(raw, np.ndarray) and raw.ndim == 2:
        return out[0]
    if isinstance(raw, np.ndarray) and raw.ndim == 3 and raw.shape[-1] == channels and raw.shape[0] != channels:
        return out.transpose(1, 2, 0)  # the layout given, as a view
    return out


def _threads() -> int:
    """onnxruntime's intra-op threads: ``OMP_NUM_THREADS`` where set (as torch reads it), else its default."""
    try:
        return max(int(os.environ.get("OMP_NUM_THREADS", "0")), 0)
    except ValueError:
        return 0


class OnnxDenoiser:
    """The shipped blind grey denoiser run by onnxruntime: no torch import.

    ``denoise`` takes and gives what :meth:`ImageDenoiser.denoise <latentlab.models.denoiser.ImageDenoiser.denoise>`
    does, and its pixels equal ``ImageDenoiser.pretrained()``'s to float rounding (a test checks it).

    Examples
    --------
    >>> import numpy as np
    >>> from latentlab.models.denoising import OnnxDenoiser
    >>> den = OnnxDenoiser.pretrained()
    >>> den.denoise(np.full((40, 30), 0.5, np.float32)).shape
    (40, 30)
    """

    def __init__(self, session, config: dict, radius: int, factor: int):
        self.session, self.radius, self.factor = session, radius, factor
        self.config = SimpleNamespace(**config)

    @classmethod
    def pretrained(cls, name: str = "denoiser-grey") -> OnnxDenoiser:
        """The shipped denoiser ``name`` (every file's SHA-256 checked first); needs onnxruntime."""
        from .pretrained import pretrained_folder

        return cls.load(pretrained_folder(name))

    @classmethod
    def load(cls, folder) -> OnnxDenoiser:
        """A saved denoiser folder that holds ``denoiser.onnx`` (:func:`~latentlab.apps.onnx_export.export_denoiser_graph`)."""
        from pathlib import Path

        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelFileError("OnnxDenoiser needs onnxruntime: pip install onnxruntime (or use "
                                 "latentlab.ImageDenoiser.pretrained(), which runs in torch).") from None
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(folder)
        graph = folder / "denoiser.onnx"
        if not graph.is_file():
            raise ModelFileError(f"{folder} has no denoiser.onnx; write it with latentlab.apps.onnx_export."
                                 "export_denoiser_graph(denoiser, folder / 'denoiser.onnx'), or load the folder with "
                                 "ImageDenoiser.load (torch).")
        try:
            config = json.loads((folder / "config.json").read_text())["config"]
            weights = {k[len(NET_PREFIX):]: np.ascontiguousarray(v, np.float32)
                       for k, v in load_file(folder / "model.safetensors").items() if k.startswith(NET_PREFIX)}
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
            raise ModelFileError(f"{folder} is not a saved denoiser ({type(exc).__name__}: {str(exc)[:200]}); "
                                 "save it again with ImageDenoiser.save.") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.log_severity_level = 3  # errors only
        names = sorted(weights)
        options.add_external_initializers(names, [ort.OrtValue.ortvalue_from_numpy(weights[n]) for n in names])
        try:
            session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            meta = session.get_modelmeta().custom_metadata_map
            radius, factor = int(meta["radius"]), int(meta["factor"])
        except Exception as exc:  # onnxruntime raises its own kinds; say which files do not fit
            raise ModelFileError(f"onnxruntime could not open {graph} with the weights of model.safetensors "
                                 f"({type(exc).__name__}: {str(exc)[:200]}); export the graph again from the same "
                                 "model, or reinstall latentlab for the shipped one.") from None
        return cls(session, config, radius=radius, factor=factor)

    @property
    def channels(self) -> int:
        return int(self.config.input_shape[0])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"x": np.ascontiguousarray(batch, np.float32)})[0]

    def denoise_planes(self, x: np.ndarray, *, tile: int = TILE, batch: int = 1, ensemble: int = 1) -> np.ndarray:
        """Denoise one ``(C, H, W)`` float32 array tile by tile (no clipping); ``ensemble``: see :meth:`denoise`."""
        out = denoise_tiles(self._run, x, radius=self.radius, factor=self.factor, tile=tile, batch=batch,
                            ensemble=ensemble)
        if not np.isfinite(out).all():
            raise DataError("the denoiser produced NaN or inf (corrupt weights?); reinstall latentlab.")
        return out

    def denoise(self, image, *, tile: int = TILE, batch: int = 1, layout: str = "auto", check_noise: bool = True,
                ensemble: int = 1) -> np.ndarray:
        """The denoised photo, as :meth:`ImageDenoiser.denoise <latentlab.models.denoiser.ImageDenoiser.denoise>`
        gives it: ``(H, W)``, ``(C, H, W)`` or ``(H, W, C)``, float32 in [0, 1]."""
        check_ensemble(ensemble)
        return denoise_photo(image, lambda x: self.denoise_planes(x, tile=tile, batch=batch, ensemble=ensemble),
                             channels=self.channels, noise_level=self.config.noise_level,
                             max_noise_level=self.config.max_noise_level, layout=layout, check_noise=check_noise)


__all__ = ["OnnxDenoiser", "denoise_photo", "denoise_tiles", "check_noise_level", "TILE", "NOISE_CHECK",
           "BLIND_MARGIN", "WEIGHTS_GIVEN_AT_LOAD", "NET_PREFIX"]
