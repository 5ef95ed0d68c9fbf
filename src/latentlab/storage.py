"""Reading untrusted files: JSON with size and nesting limits, safetensors with a sniff for pickles.

Everything that reads a model folder, a checkpoint or a blob header goes
through these helpers, so each check is written once: nothing is ever
unpickled, oversized or deeply nested JSON is refused, and a weights file
that is a pickle or a zip archive is named as such before it is opened.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from .errors import ModelFileError

MAX_JSON_BYTES = 64 * 1024 * 1024
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt", ".joblib")
# Pickle opcodes a protocol 0/1 pickle starts with: GLOBAL, MARK, EMPTY_LIST/DICT/TUPLE, PROTO.
_PICKLE_START = (b"c", b"(", b"]", b"}", b")", b"\x80")


def parse_json(text: str | bytes, where: str) -> Any:
    """``json.loads`` that turns every failure (bad syntax, nesting bombs) into :class:`ModelFileError`."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{where} is not valid JSON ({exc}); the file is corrupt.") from None
    except RecursionError:
        raise ModelFileError(f"{where} is nested absurdly deep; refusing to read it.") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise ModelFileError(f"{where} holds a value that cannot be read ({exc}); the file is corrupt.") from None


def read_json(file: Path) -> Any:
    """A JSON file of at most :data:`MAX_JSON_BYTES`, or :class:`ModelFileError` naming the problem."""
    if not file.is_file():
        raise ModelFileError(f"{file} is missing; is this a folder written by model.save()?")
    if file.stat().st_size > MAX_JSON_BYTES:
        raise ModelFileError(f"{file} is implausibly large ({file.stat().st_size} bytes); refusing to read it.")
    return parse_json(file.read_bytes(), str(file))


def check_finite_state(state: dict[str, torch.Tensor], *, what: str = "model") -> None:
    """Refuse to write weights that hold NaN or inf.

    Examples
    --------
    >>> check_finite_state({"w": torch.ones(2)})
    >>> check_finite_state({"w": torch.tensor([1.0, float("nan")])})
    Traceback (most recent call last):
    ...
    latentlab.errors.ModelFileError: the model's tensor 'w' holds NaN or inf; refusing to save corrupt weights. ...
    """
    for k, v in state.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ModelFileError(
                f"the {what}'s tensor {k!r} holds NaN or inf; refusing to save corrupt weights. "
                "Training diverged: lower lr, set grad_clip, or check the data scale, then retrain."
            )


def sniff_weights(file: Path) -> None:
    """Refuse anything that is not plausibly a safetensors file, naming what it looks like."""
    if not file.is_file():
        hint = ""
        if file.parent.is_dir():
            foreign = sorted(p.name for p in file.parent.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
            if foreign:
                hint = (
                    f" The folder holds {foreign[:3]}: pickle-based formats that latentlab never loads, "
                    "because unpickling runs code. Convert trusted weights with safetensors.torch.save_file."
                )
        raise ModelFileError(f"{file} is missing; the model folder is incomplete.{hint}")
    size = file.stat().st_size
    with open(file, "rb") as fh:
        head = fh.read(9)
    n_header = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
    if 2 <= n_header <= min(size - 8, 100_000_000) and head[8:9] == b"{":
        return  # a safetensors header: length, then a JSON object
    if head.startswith(b"PK\x03\x04") or head[:1] in _PICKLE_START:
        kind = "torch.save zip archive" if head.startswith(b"PK") else "pickle"
        raise ModelFileError(
            f"{file} is a {kind}, not safetensors; latentlab never unpickles files, because unpickling runs code. "
            "Convert trusted weights with safetensors.torch.save_file."
        )
    raise ModelFileError(
        f"{file} is not a safetensors file, or it is truncated ({size} bytes); the weights are corrupt. "
        "Save the model again with model.save()."
    )


def read_safetensors(file: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the metadata of a safetensors ``file``, or :class:`ModelFileError`."""
    sniff_weights(file)
    try:
        with safe_open(str(file), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            return {k: fh.get_tensor(k) for k in fh.keys()}, meta
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise ModelFileError(
            f"{file} is not a readable safetensors file ({exc}); it may be truncated or corrupt."
        ) from None


def check_tensors(
    expected: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor], where: str, optional: tuple[str, ...] = ()
) -> None:
    """Names, dtypes and shapes of ``tensors`` must be those of ``expected``; values must be finite.

    Names in ``optional`` may be missing (statistics that files from earlier versions do not hold).
    """
    missing = sorted(set(expected) - set(tensors) - set(optional))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelFileError(f"{where} does not match config.json: missing {missing[:5]}, unexpected {extra[:5]}.")
    for k, t in tensors.items():
        want = expected[k]
        if tuple(t.shape) != tuple(want.shape):
            raise ModelFileError(
                f"{where}: tensor {k!r} has shape {tuple(t.shape)} but config.json implies {tuple(want.shape)}."
            )
        if t.dtype != want.dtype:
            raise ModelFileError(f"{where}: tensor {k!r} has dtype {t.dtype}, expected {want.dtype}.")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ModelFileError(f"{where}: tensor {k!r} holds NaN or inf; the weights are corrupt.")


def state_crc(state: dict[str, torch.Tensor]) -> int:
    """CRC-32 of a state dict's names and float32 values, in name order: what identifies a model's weights."""
    crc = 0
    for name, t in sorted(state.items()):
        crc = zlib.crc32(name.encode(), crc)
        crc = zlib.crc32(t.detach().cpu().float().contiguous().numpy().tobytes(), crc)
    return crc
