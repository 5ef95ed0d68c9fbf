"""One framing for every blob format: magic, version, fixed header fields, payload, CRC-32.

Layout (little-endian)::

    magic (4 bytes) | version u8 | header fields (a struct) | payload | CRC-32 of everything before it, u32

A :class:`Frame` names one format. :meth:`Frame.read` checks, in order, the
type, the magic and minimum length, the version, the fields (by the codec's
own check), the total length the fields declare, then the checksum, so a
blob is refused with the first thing wrong with it, before anything is
allocated for its contents. Codecs only describe their fields and payload.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..storage import state_crc


def as_blob(data) -> bytes:
    """``data`` as bytes, or a :class:`DataError` naming what was passed instead."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DataError(f"compressed data must be bytes, got {type(data).__name__}.")
    return bytes(data)


def model_id(model) -> int:
    """CRC-32 of a model's weights: identifies the model a blob was made with.

    The id covers the fitted scaler too. A model loaded from a file of
    0.1.0 keeps the id that version gave it (weights only, as that version
    named them), as long as they are unchanged, so its blobs still decode
    and its new blobs are the same bytes.
    """
    current = state_crc(model.state_dict())
    compat = getattr(model, "compat_ids", None)
    if compat is not None and compat[0] == current:
        return compat[1]
    scaler = getattr(model, "scaler", None)
    if scaler is None or getattr(scaler, "offset_", None) is None:
        return current
    # The scaler is part of the model: the same networks fitted on data in other units decode to other units.
    crc = zlib.crc32(np.ascontiguousarray(scaler.offset_, np.float32).tobytes(), current)
    return zlib.crc32(np.ascontiguousarray(scaler.scale_, np.float32).tobytes(), crc)


@dataclass(frozen=True)
class Frame:
    """A blob format: ``magic``, ``version``, its header fields, and what it is called in messages."""

    magic: bytes
    version: int
    fields: struct.Struct  # the header after magic and version
    what: str  # e.g. "latentlab compressed data"

    @property
    def header_size(self) -> int:
        return 5 + self.fields.size

    def is_mine(self, data) -> bool:
        return isinstance(data, (bytes, bytearray, memoryview)) and bytes(data[:4]) == self.magic

    def write(self, fields: tuple, payload: bytes) -> bytes:
        body = self.magic + struct.pack("<B", self.version) + self.fields.pack(*fields) + payload
        return body + struct.pack("<I", zlib.crc32(body))

    def read(
        self, data, payload_size: Callable[[tuple], int], check: Callable[[tuple], None] | None = None
    ) -> tuple[tuple, bytes]:
        """Validate ``data`` and return its header fields and payload.

        ``payload_size(fields)`` is the payload length the fields declare;
        ``check(fields)`` raises on fields that make no sense.
        """
        data = as_blob(data)
        if len(data) < self.header_size + 4 or data[:4] != self.magic:
            raise DataError(f"these bytes are not {self.what} (bad magic or too short).")
        version = data[4]
        if version != self.version:
            raise DataError(f"compressed data has format version {version}; this latentlab reads version {self.version}.")
        fields = self.fields.unpack_from(data, 5)
        if check is not None:
            check(fields)
        expected = self.header_size + payload_size(fields) + 4
        if len(data) != expected:
            raise DataError(
                f"compressed data is {len(data)} bytes but its header declares {expected}; it is truncated or corrupt."
            )
        (crc,) = struct.unpack("<I", data[-4:])
        if zlib.crc32(data[:-4]) != crc:
            raise DataError("compressed data failed its checksum; the bytes are corrupt.")
        return fields, data[self.header_size : -4]


__all__ = ["Frame", "as_blob", "model_id"]
