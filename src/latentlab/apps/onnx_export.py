"""ONNX export of a fitted model's encoder and decoder, for production runtimes.

The graphs speak the user's units: the fitted input scaling
(``model.scaler``, an affine map per feature) is part of the graph, so the
encoder takes raw inputs exactly as :meth:`~latentlab.models.api.ModelAPI.encode`
does and the decoder returns what :meth:`~latentlab.models.api.ModelAPI.decode`
returns. The batch axis is dynamic.

=========  ==================================================  ==========================================
part       inputs                                              output
=========  ==================================================  ==========================================
encoder    ``x`` float32 ``(batch, *input_shape)``             ``z`` float32 ``(batch, latent_dim)``: the
                                                               posterior mean (a VQ-VAE's quantised code)
decoder    ``z`` float32 ``(batch, latent_dim)``               ``x`` float32 ``(batch, *input_shape)``: the
                                                               decoder mean
=========  ==================================================  ==========================================

A conditional model's graphs take a second input ``y``, int64 labels of
shape ``(batch,)``. What the graphs leave out: the checks ``encode`` makes
(shape, NaN, range), sampling from the prior (feed the decoder codes you drew),
and the encoders of the sequence families (``seq_ae``, ``seq_vae``), which
pack each batch by length, something ``torch.onnx`` cannot trace; their
decoders export. Asking for a part that cannot be exported raises
:class:`~latentlab.errors.ConfigError`.

An ONNX graph cannot raise, so what PyTorch refuses at run time must be
refused at export: a model whose fitted scaling sends decoder outputs within
``±ONNX_RANGE`` (1000) of the model's scaled units outside float32 (a scale
or offset near 3.4e38: ``model.decode`` refuses such outputs with a
:class:`~latentlab.errors.DataError`, where the graph would return inf) is
not exported (:class:`~latentlab.errors.ConfigError`, naming the feature).
Only a latentlab model family exports: an estimator exports its fitted
``model_``; the image codec, the photo denoiser and the text models do not.

Needs the ``onnx`` extra (``pip install 'latentlab[onnx]'``: onnx, onnxscript
and onnxruntime).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .._files import atomic_write_bytes
from ..errors import ConfigError, DataTypeError, NotFittedError
from ..models.base import LatentModel

PARTS = ("encoder", "decoder", "both")
#: Architectures whose encoder packs sequences by length: torch.onnx cannot trace it.
NO_ONNX_ENCODER = ("seq",)
#: Decoder outputs (in the model's scaled units) whose user-unit values must stay within float32 for a
#: model to be exported: the graph cannot refuse an overflow at run time as ``model.decode`` does.
ONNX_RANGE = 1000.0


class _Affine(nn.Module):
    """The scaler's map as buffers: ``(x - offset) / scale`` forward, its inverse back."""

    def __init__(self, model):
        super().__init__()
        self.register_buffer("offset", torch.as_tensor(model.scaler.offset_).float().clone())
        self.register_buffer("scale", torch.as_tensor(model.scaler.scale_).float().clone())


class OnnxEncoder(_Affine):
    """User-unit inputs to posterior means, as ``model.encode`` computes them."""

    def __init__(self, model):
        super().__init__(model)
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = (x - self.offset) / self.scale  # (B, *input_shape) in the model's space
        return self.model.posterior(x, y).mean  # (B, latent_dim)


class OnnxDecoder(_Affine):
    """Codes to decoder means in the user's units, as ``model.decode`` computes them."""

    def __init__(self, model):
        super().__init__(model)
        self.model = model

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.decode_mean(z, y) * self.scale + self.offset  # (B, *input_shape)


def _require_onnx() -> None:
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(
            f"ONNX export needs {' and '.join(missing)}: pip install 'latentlab[onnx]' "
            "(onnx, onnxscript and onnxruntime)."
        )


def _check_part(model, part: str) -> tuple[str, ...]:
    if part not in PARTS:
        raise ConfigError(f"part={part!r} is not one of {list(PARTS)}.")
    if not getattr(model, "built", False) or getattr(model, "scaler", None) is None:
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet; fit or load it before exporting.")
    parts = ("encoder", "decoder") if part == "both" else (part,)
    if "encoder" in parts and model.config.architecture in NO_ONNX_ENCODER:
        raise ConfigError(
            f"the {model.family} encoder packs sequences by length, which torch.onnx cannot export; "
            "export part='decoder' (its decoder exports), or run the encoder in PyTorch."
        )
    return parts


def _check_kind(model) -> None:
    """Refuse, in words, what is not a latentlab model family (before any attribute of it is read)."""
    if isinstance(model, LatentModel):
        return
    if hasattr(model, "get_params") and hasattr(model, "fit"):  # a scikit-learn style estimator
        raise DataTypeError(
            f"this {type(model).__name__} is an estimator; export the model it fitted: export_onnx(estimator.model_, path)."
        )
    what = type(model).__name__
    hint = " (an image codec's entropy coder runs in Python: use compress and decompress)" if "Codec" in what else ""
    raise DataTypeError(f"export_onnx exports a fitted latentlab model family (an Autoencoder, a VAE...); "
                        f"got an object of type {what}{hint}.")


def _check_range(model) -> None:
    """Refuse a model whose decoder outputs within ±ONNX_RANGE overflow float32 once scaled back (see the notes)."""
    import numpy as np

    offset = np.abs(np.asarray(model.scaler.offset_, np.float64)).ravel()
    scale = np.abs(np.asarray(model.scaler.scale_, np.float64)).ravel()
    reach = offset + ONNX_RANGE * scale
    bad = np.flatnonzero(~(reach <= np.finfo(np.float32).max))
    if bad.size:
        i = int(bad[0])
        raise ConfigError(
            f"this model's fitted scaling overflows float32 for {bad.size} feature(s) (the first: index {i}, offset "
            f"{offset[i]:.3g}, scale {scale[i]:.3g}): decoder outputs within ±{ONNX_RANGE:g} of its scaled units "
            "become inf in your units. PyTorch's decode refuses them, but an ONNX graph cannot raise and would "
            "return inf, so it is not exported. Refit on data in sensible units (e.g. divided by 1e30)."
        )


def _example(model, part: str, batch: int = 2) -> tuple[torch.Tensor, ...]:
    dev = model.device
    if part == "encoder":
        x = torch.as_tensor(model.scaler.inverse_transform(torch.zeros(batch, *model.config.input_shape).numpy()))
        first = x.to(dev)
    else:
        first = torch.zeros(batch, model.config.latent_dim, device=dev)
    if model.config.n_classes > 0:
        return first, torch.zeros(batch, dtype=torch.int64, device=dev)
    return (first,)


def _to_proto(module: nn.Module, example: tuple[torch.Tensor, ...], names: tuple[list[str], list[str]], part: str,
              dynamic: tuple | None = None):
    if dynamic is None:  # the batch axis
        batch = torch.export.Dim("batch")
        dynamic = tuple({0: batch} for _ in example)
    quiet = logging.getLogger("torch.onnx")  # it logs each torchvision op it skips
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporter's own deprecation and tracing notes
        try:
            program = torch.onnx.export(
                module, example, dynamo=True, verbose=False, input_names=names[0], output_names=names[1],
                dynamic_shapes=dynamic, optimize=True,
            )
        except Exception as exc:  # torch raises many kinds; say which model part failed
            first = (str(exc).splitlines() or [""])[0][:300]
            raise ConfigError(f"torch.onnx could not export the {part} ({type(exc).__name__}: {first}).") from exc
        finally:
            quiet.setLevel(level)
    return program.model_proto


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("latentlab")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "unknown"


def _graph(model, part: str):
    cond = model.config.n_classes > 0
    if part == "encoder":
        module, names = OnnxEncoder(model), (["x", "y"] if cond else ["x"], ["z"])
    else:
        module, names = OnnxDecoder(model), (["z", "y"] if cond else ["z"], ["x"])
    proto = _to_proto(module, _example(model, part), names, part)
    meta = {
        "latentlab_version": _version(),
        "family": model.family,
        "part": part,
        "latent_dim": str(model.config.latent_dim),
        "input_shape": "x".join(str(s) for s in model.config.input_shape),
        "input_scaling": f"{model.scaler.kind}; included in the graph (inputs and outputs are in the user's units)",
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto


def export_onnx(model, path: str | os.PathLike, part: str = "both") -> dict[str, Path]:
    """Write a fitted model's encoder and/or decoder as ONNX files.

    Parameters
    ----------
    model : LatentModel
        A fitted (or loaded) model of any family.
    path : path
        A ``.onnx`` file for one part, or a folder, which receives
        ``encoder.onnx`` and/or ``decoder.onnx``.
    part : {'encoder', 'decoder', 'both'}

    Returns
    -------
    dict
        The path written for each part.

    Raises
    ------
    ConfigError
        For an unknown part, one that cannot be exported (a sequence
        family's encoder), a model whose fitted scaling overflows float32
        (see :data:`ONNX_RANGE`), or a ``path`` that is a file not ending in ``.onnx``.
    DataTypeError
        For what is not a latentlab model family (an estimator: export its ``model_``).

    Examples
    --------
    >>> import tempfile, numpy as np, onnxruntime, latentlab
    >>> from latentlab.apps.onnx_export import export_onnx
    >>> X, _ = latentlab.load_digits()
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X[:200], epochs=1, verbose=False)
    >>> paths = export_onnx(ae, tempfile.mkdtemp())
    >>> sorted(paths)
    ['decoder', 'encoder']
    >>> enc = onnxruntime.InferenceSession(str(paths["encoder"]))
    >>> z = enc.run(None, {"x": X[:5]})[0]
    >>> bool(np.allclose(z, ae.encode(X[:5]), atol=1e-5))
    True
    """
    _check_kind(model)
    model.check_fitted()
    if model.config.architecture == "text":
        raise ConfigError(
            "text models cannot be exported to ONNX: the encoder reads token ids through the tokenizer and the "
            "decoder generates a token at a time; serve them with `latentlab serve` or the Python API."
        )
    if getattr(model, "decoder", None) is None:
        raise ConfigError(f"this {type(model).__name__} has no encoder and decoder of a code to export.")
    parts = _check_part(model, part)
    _check_range(model)
    _require_onnx()
    path = Path(path)
    if path.is_file() and path.suffix != ".onnx":
        raise ConfigError(f"{path} is a file; give a folder (for encoder.onnx and decoder.onnx) or, for one part, "
                          "a name ending in .onnx.")
    single = len(parts) == 1 and path.suffix == ".onnx"
    was_training = model.training
    model.eval()
    written: dict[str, Path] = {}
    try:
        for p in parts:
            target = path if single else path / f"{p}.onnx"
            atomic_write_bytes(target, _graph(model, p).SerializeToString())
            written[p] = target
    finally:
        model.train(was_training)
    return written


def export_denoiser_graph(den, path: str | os.PathLike) -> Path:
    """Write a fitted :class:`~latentlab.models.denoiser.ImageDenoiser`'s network as an ONNX graph without weights.

    The graph takes ``x`` float32 ``(batch, C, H, W)`` (``H`` and ``W`` multiples of ``2^k``, as the tiles are) and
    gives the denoised tiles. Its weights are marked as external data at
    :data:`~latentlab.models.denoising.WEIGHTS_GIVEN_AT_LOAD`, a place that does not exist:
    :class:`~latentlab.models.denoising.OnnxDenoiser` gives them to onnxruntime from the folder's
    ``model.safetensors``, so a shipped model holds one copy of its weights. The metadata names the network's
    receptive radius and ``2^k`` (``radius``, ``factor``), which the tiling needs.
    """
    import copy

    from onnx import TensorProto

    from ..models.denoiser import ImageDenoiser
    from ..models.denoising import NET_PREFIX, WEIGHTS_GIVEN_AT_LOAD

    if not isinstance(den, ImageDenoiser):
        raise DataTypeError(f"export_denoiser_graph writes an ImageDenoiser's network; got {type(den).__name__}.")
    den.check_fitted()
    _require_onnx()
    net = copy.deepcopy(den.net).float().cpu().eval().to(memory_format=torch.contiguous_format)
    f = net.factor
    example = (torch.rand(1, den.channels, 16 * f, 16 * f, generator=torch.Generator().manual_seed(0)),)
    dims = ({0: torch.export.Dim("batch"), 2: torch.export.Dim("height"), 3: torch.export.Dim("width")},)
    with torch.no_grad():
        proto = _to_proto(net, example, (["x"], ["y"]), "denoiser", dynamic=dims)
    weights = set(net.state_dict())
    found = set()
    for init in proto.graph.initializer:
        if init.name in weights:
            init.ClearField("raw_data")
            init.data_location = TensorProto.EXTERNAL
            del init.external_data[:]
            entry = init.external_data.add()
            entry.key, entry.value = "location", WEIGHTS_GIVEN_AT_LOAD
            found.add(init.name)
    if found != weights:
        raise ConfigError(f"the exported graph does not name the network's weights {sorted(weights - found)[:3]} as "
                          "its own; torch.onnx renamed them, so the graph cannot take them from model.safetensors.")
    meta = {"latentlab_version": _version(), "family": "image_denoiser", "part": "network",
            "radius": str(net.radius), "factor": str(f), "channels": str(den.channels),
            "weights": f"model.safetensors beside this file, tensors named {NET_PREFIX}<initializer>, as float32"}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    path = Path(path)
    atomic_write_bytes(path, proto.SerializeToString())
    return path


__all__ = ["export_onnx", "export_denoiser_graph", "OnnxEncoder", "OnnxDecoder", "PARTS", "NO_ONNX_ENCODER", "ONNX_RANGE"]
