"""Photographs to bytes and back with a learned transform codec (:class:`ImageCodec`).

A grey photo is one plane; a colour photo is coded as JPEG codes it, in
YCbCr (ITU-R 601, full range) with the chroma planes at half size in each
side (4:2:0). Each plane is padded to a multiple of ``2^stages`` (reflecting
its border), run through the analysis transform, multiplied by the quality's
gains and rounded; every latent channel is entropy-coded with its own table
of the learned factorised density, by ``constriction``'s ANS coder. Values
outside a table's range (about 1e-6 of the mass on each side) are coded as an
escape symbol and stored raw. The tables depend on the weights only, never
on the image, so decoding the symbols is exact.

Layout of the bytes (little-endian)::

    magic 'LLI1' | version u8 | height u32 | width u32 | channels u8 | quality u8
    | model id u32 | escapes u32 | words u32                           (27 bytes)
    | the ANS stream: ``words`` u32 | the escaped values: ``escapes`` i32
    | CRC-32 of everything before it, u32

A codec with the scale hyperprior (``entropy='hyperprior'``) writes version 2
of this layout, which adds a CRC-32 of the symbols to the header (see
:mod:`latentlab.apps._codec_hyper`); version 1 bytes still decode with the
factorised codec that wrote them.

Bits per pixel are ``8 * len(bytes) / (height * width)``, header included.
Large photos are transformed in horizontal strips with overlap, so memory
grows with the width of the photo, not its area.
"""

from __future__ import annotations

import copy
import struct

import numpy as np
import torch
import torch.nn.functional as F

from ..data.photos import as_photo
from ..errors import ConfigError, DataError
from ..models.image_codec import ImageCodecModel
from ..nn.tiling import pad_to_multiple
from . import _codec_hyper as hyper
from .framing import Frame, as_blob, model_id

MAGIC = b"LLI1"
VERSION = 1
# height, width, channels, quality, model id, escapes, words
FRAME = Frame(MAGIC, VERSION, struct.Struct("<IIBBIII"), "latentlab image codec data")
#: Decoding refuses more pixels than this unless ``max_pixels`` is raised (a few bytes can declare any size).
MAX_PIXELS = 1 << 25
STRIP_ROWS = 16  # latent rows a strip of the transforms produces
STRIP_OVERLAP = 4  # latent rows of context on each side of a strip (the transforms see about 2)
_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
_FOREIGN = {b"LLZ1": "quantised codes", b"LLQ1": "VQ-VAE codes"}


def _coder():
    try:
        import constriction
    except ImportError:  # pragma: no cover
        raise ConfigError("coding images needs constriction: pip install constriction") from None
    return constriction.stream.stack.AnsCoder, constriction.stream.model.Categorical


def to_planes(img: np.ndarray) -> list[np.ndarray]:
    """Grey ``(1, H, W)`` -> its plane; RGB ``(3, H, W)`` -> Y at full size, Cb and Cr at half size (4:2:0)."""
    if img.shape[0] == 1:
        return [img[0]]
    ycc = np.tensordot(_YCC, img, axes=1)  # (3, H, W)
    ycc[1:] += 0.5
    chroma = torch.from_numpy(np.ascontiguousarray(ycc[1:]))[None]  # (1, 2, H, W)
    h, w = img.shape[1:]
    chroma = F.pad(chroma, (0, w % 2, 0, h % 2), mode="replicate")
    half = F.avg_pool2d(chroma, 2)[0].numpy()  # (2, ceil(H/2), ceil(W/2))
    return [ycc[0], half[0], half[1]]


def plane_sizes(h: int, w: int, channels: int) -> list[tuple[int, int]]:
    if channels == 1:
        return [(h, w)]
    half = ((h + 1) // 2, (w + 1) // 2)
    return [(h, w), half, half]


def from_planes(planes: list[torch.Tensor], h: int, w: int) -> np.ndarray:
    """Inverse of :func:`to_planes`: uint8 ``(H, W)`` or ``(H, W, 3)``."""
    if len(planes) == 1:
        out = planes[0].numpy()
    else:
        chroma = torch.stack(planes[1:])[None]  # (1, 2, h2, w2)
        up = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)[0, :, :h, :w]
        ycc = torch.cat([planes[0][None], up - 0.5]).numpy()
        out = np.tensordot(np.linalg.inv(_YCC.astype(np.float64)).astype(np.float32), ycc, axes=1).transpose(1, 2, 0)
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


def _strips(fn, x: torch.Tensor, rows: int, overlap: int, up: int, down: int) -> torch.Tensor:
    """``fn`` over horizontal strips of ``x (1, C, H, W)`` whose output has ``H * up / down`` rows.

    Each strip gets ``overlap`` rows of context on both sides, cropped from its output.
    """
    h = x.shape[2]
    if h <= rows + 2 * overlap:
        return fn(x)
    outs = []
    for a in range(0, h, rows):
        b = min(a + rows, h)
        lo, hi = max(a - overlap, 0), min(b + overlap, h)
        y = fn(x[:, :, lo:hi])
        outs.append(y[:, :, (a - lo) * up // down : (b - lo) * up // down])
    return torch.cat(outs, dim=2)


class ImageCodec(ImageCodecModel):
    """A learned transform codec for photographs; beats JPEG at equal bits per pixel once trained.

    Train with :meth:`fit` on grey patches (a :class:`~latentlab.data.patches.PatchSampler`
    of photos), save with :meth:`save`, then code photos at quality
    ``1 .. len(lambdas)`` (1 is the lowest rate). See ``docs/image_codec.md``.

    Examples
    --------
    >>> import numpy as np
    >>> codec = ImageCodec(channels=8, latent_channels=8, stages=2, lambdas=(0.01, 0.05))
    >>> codec.fitted = True  # untrained weights code and decode just as exactly
    >>> img = (np.arange(30 * 20) % 256).astype(np.uint8).reshape(30, 20)
    >>> blob = codec.compress(img, quality=2)
    >>> codec.decompress(blob).shape, codec.bits_per_pixel(blob) == 8 * len(blob) / img.size
    ((30, 20), True)
    """

    _tables: dict | None = None

    @classmethod
    def pretrained(cls, name: str = "codec-grey") -> ImageCodec:
        """The shipped grey codec (7 qualities, 1 the lowest rate): no training needed.

        The weights are package data, trained by ``benchmarks/recipes/codec.py`` on the grey photos of
        "Train400" (its first recipe, then the stage that adds the lowest quality); their SHA-256 is checked before
        they are read. ``codec.metrics["finished"]`` says whether both had reached their last step, and
        ``codec.metrics["parent"]`` where the first recipe's run had got to (the model card is ``docs/pretrained.md``).
        """
        from ..models.pretrained import pretrained_folder

        return cls.load(pretrained_folder(name))

    # --------------------------------------------------------------- tables
    def _model_id(self) -> int:
        return model_id(self)

    def tables(self, quality: int):
        """``(lo, pmfs, models)`` of each latent channel at ``quality`` (1-based), cached per weights."""
        mid = self._model_id()
        if self._tables is None or self._tables.get("id") != mid:
            self._tables = {"id": mid}
        if quality not in self._tables:
            m = self.coded_channels
            lo, pmfs = copy.deepcopy(self.density).double().pmf_tables((quality - 1) * m, m)
            _, Categorical = _coder()
            self._tables[quality] = (lo, pmfs, [Categorical(p, perfect=False) for p in pmfs])
        return self._tables[quality]

    def _check_quality(self, quality) -> int:
        q = self.config.qualities
        if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= q:
            raise ConfigError(f"quality={quality!r} must be an integer from 1 (lowest rate) to {q}.")
        return int(quality)

    # --------------------------------------------------------------- transforms
    def _symbols(self, plane: np.ndarray, quality: int):
        """Rounded gained latent ``(M, h, w)`` of one plane; with the hyperprior, ``(z, y)`` rounded."""
        x, _ = pad_to_multiple(torch.from_numpy(np.ascontiguousarray(plane, np.float32))[None, None], self.config.multiple)
        q = torch.tensor([quality - 1])
        s = self.config.stages
        y = _strips(lambda t: self.latent(t, q), x, STRIP_ROWS * 2**s, STRIP_OVERLAP * 2**s, 1, 2**s)
        if self.config.hyper:
            return hyper.plane_symbols(self, y[0])
        return torch.round(y[0]).clamp_(-(2**30), 2**30).to(torch.int64)

    def _plane(self, symbols: torch.Tensor, quality: int, h: int, w: int) -> torch.Tensor:
        q = torch.tensor([quality - 1])
        k = 2**self.config.stages
        fn = lambda t: self.reconstruct_from(t, q)  # noqa: E731
        out = _strips(fn, symbols[None].float(), STRIP_ROWS, STRIP_OVERLAP, k, 1)
        return out[0, 0, :h, :w]

    # --------------------------------------------------------------- coding
    def _encode_symbols(self, all_symbols: list, quality: int):
        """ANS words, escaped values, the ideal bits of the symbols of every plane (and the hyperprior's CRC)."""
        if self.config.hyper:
            return hyper.encode(self, all_symbols, quality)
        AnsCoder, _ = _coder()
        lo, pmfs, models = self.tables(quality)
        jobs, escapes, ideal = [], [], 0.0
        for sym in all_symbols:
            for c in range(sym.shape[0]):
                v = sym[c].reshape(-1).numpy()
                k = len(pmfs[c])
                idx = v - lo[c] + 1
                out = (idx < 1) | (idx > k - 2)
                idx = np.where(idx < 1, 0, np.where(idx > k - 2, k - 1, idx)).astype(np.int32)
                escapes.append(v[out])
                ideal += float(-np.log2(pmfs[c][idx]).sum()) + 32 * int(out.sum())
                jobs.append((idx, models[c]))
        coder = AnsCoder()
        for idx, model in reversed(jobs):  # a stack: the last pushed is the first popped
            coder.encode_reverse(idx, model)
        words = np.asarray(coder.get_compressed(), dtype="<u4")
        esc = np.concatenate(escapes).astype("<i4") if escapes else np.zeros(0, "<i4")
        return words, esc, ideal, None

    def compress(self, image, quality: int, layout: str = "auto") -> bytes:
        """Code a photo (a path, or an array: ``(H, W)``, ``(H, W, 3)``, ``(3, H, W)``; uint8, uint16 or floats in
        [0, 1]) at ``quality`` into bytes. Colour photos are coded in colour, grey ones in grey. ``layout``
        (``'chw'`` or ``'hwc'``) settles an array whose first and last axes could both be channels.
        """
        self.check_fitted()
        quality = self._check_quality(quality)
        img = as_photo(image, layout=layout, name="image")  # (C, H, W) float32 in [0, 1]
        c, h, w = img.shape
        if h * w > MAX_PIXELS:
            raise DataError(f"the image has {h}x{w} pixels, more than {MAX_PIXELS}; shrink it or split it first.")
        img = np.clip(img, 0.0, 1.0)
        self.eval()
        with torch.inference_mode():
            symbols = [self._symbols(p, quality) for p in to_planes(img)]
        words, esc, _, crc = self._encode_symbols(symbols, quality)
        fields = (h, w, c, quality, self._model_id(), len(esc), len(words))
        frame, fields = (hyper.FRAME, (*fields, crc)) if self.config.hyper else (FRAME, fields)
        return frame.write(fields, words.tobytes() + esc.tobytes())

    def ideal_bits(self, image, quality: int, layout: str = "auto") -> float:
        """The entropy model's information content of a photo's symbols at ``quality`` (escapes at 32 bits each),
        which the coded stream matches to within a few bits."""
        self.check_fitted()
        quality = self._check_quality(quality)
        img = np.clip(as_photo(image, layout=layout, name="image"), 0.0, 1.0)
        self.eval()
        with torch.inference_mode():
            symbols = [self._symbols(p, quality) for p in to_planes(img)]
        return self._encode_symbols(symbols, quality)[2]

    def read_header(self, data, max_pixels: int = MAX_PIXELS) -> dict:
        """The header fields of ``data``, after every check (magic, version, sizes, length, CRC, model)."""
        data = as_blob(data)
        kind = _FOREIGN.get(data[:4])
        if kind is not None:
            raise DataError(f"these bytes hold latentlab {kind}, not an image; decompress them with latentlab.decompress.")

        def check(f):
            h, w, ch, q = f[:4]
            if h < 1 or w < 1 or ch not in (1, 3) or not 1 <= q <= 255:
                raise DataError(f"the header declares a {h}x{w} image of {ch} channels at quality {q}; the bytes are corrupt.")
            if h * w > max_pixels:
                raise DataError(
                    f"the header declares a {h}x{w} image, more than max_pixels={max_pixels}; the bytes are corrupt or "
                    "hostile. Raise max_pixels only for bytes you trust."
                )

        if data[:4] == MAGIC and len(data) > 4 and data[4] not in (VERSION, hyper.VERSION):
            raise DataError(f"these image codec bytes have format version {data[4]}; this latentlab reads versions "
                            f"{VERSION} (factorised) and {hyper.VERSION} (hyperprior).")
        frame = hyper.FRAME if data[4:5] == bytes([hyper.VERSION]) else FRAME
        fields, payload = frame.read(data, lambda f: 4 * f[6] + 4 * f[5], check)
        h, w, ch, q, mid, n_esc, n_words = fields[:7]
        if mid != self._model_id():
            raise DataError("these bytes were compressed with a different model; decompress them with the model that made them.")
        if q > self.config.qualities:
            raise DataError(f"the header declares quality {q} but this model has {self.config.qualities}; the bytes are corrupt.")
        if (frame is hyper.FRAME) != self.config.hyper:  # pragma: no cover (the model id differs first)
            raise DataError("these bytes were compressed with a different model; decompress them with the model that made them.")
        sizes = self._latent_sizes(h, w, ch)
        n_sym = sum(a * b for a, b in sizes) * self.config.latent_channels
        if self.config.hyper:
            n_sym += sum(a * b // 16 for a, b in sizes) * self.config.hyper_channels
        if n_esc > n_sym:
            raise DataError(f"the header declares {n_esc} escaped values, more than the image has symbols; corrupt.")
        return {"height": h, "width": w, "channels": ch, "quality": q, "escapes": n_esc, "words": n_words,
                "payload": payload, "bytes": len(data), "symbols_crc": fields[7] if len(fields) > 7 else None}

    def _latent_sizes(self, h: int, w: int, ch: int) -> list[tuple[int, int]]:
        """``(h, w)`` of the latent ``y`` of every plane of an ``h x w`` photo of ``ch`` channels."""
        k, s = self.config.multiple, 2**self.config.stages
        return [(-(-a // k) * k // s, -(-b // k) * k // s) for a, b in plane_sizes(h, w, ch)]

    def decompress(self, data, max_pixels: int = MAX_PIXELS) -> np.ndarray:
        """The photo in ``data``, as uint8 ``(H, W)`` (grey) or ``(H, W, 3)`` (colour)."""
        self.check_fitted()
        hd = self.read_header(data, max_pixels)
        h, w, ch, quality = hd["height"], hd["width"], hd["channels"], hd["quality"]
        payload = hd["payload"]
        words = np.frombuffer(payload, dtype="<u4", count=hd["words"]).astype(np.uint32)
        esc = np.frombuffer(payload, dtype="<i4", offset=4 * hd["words"]).astype(np.int64)
        self.eval()
        if self.config.hyper:
            _coder()
            ys = hyper.decode(self, words, esc, self._latent_sizes(h, w, ch), quality, hd["symbols_crc"])
            with torch.inference_mode():
                planes = [self._plane(y, quality, ph, pw) for y, (ph, pw) in zip(ys, plane_sizes(h, w, ch))]
            return from_planes(planes, h, w)
        _coder()
        lo, pmfs, models = self.tables(quality)
        coder = hyper.open_stream(words)
        k = self.config.multiple
        planes, used = [], 0
        for ph, pw in plane_sizes(h, w, ch):
            lh, lw = -(-ph // k), -(-pw // k)
            sym = np.empty((self.config.latent_channels, lh * lw), np.int64)
            for c in range(self.config.latent_channels):
                idx = np.asarray(coder.decode(models[c], lh * lw), dtype=np.int64)
                out = (idx == 0) | (idx == len(pmfs[c]) - 1)
                n_out = int(out.sum())
                if used + n_out > len(esc):
                    raise DataError("the bytes hold fewer escaped values than their symbols need; they are corrupt.")
                sym[c] = idx + lo[c] - 1
                sym[c][out] = esc[used : used + n_out]
                used += n_out
            with torch.inference_mode():
                planes.append(self._plane(torch.from_numpy(sym.reshape(-1, lh, lw)), quality, ph, pw))
        if used != len(esc) or not coder.is_empty():
            raise DataError("the coded stream does not end where its header says; the bytes are corrupt.")
        return from_planes(planes, h, w)

    def bits_per_pixel(self, data) -> float:
        """``8 * len(data) / pixels``: what the bytes cost per pixel, header and checksum included."""
        hd = self.read_header(data)
        return 8 * hd["bytes"] / (hd["height"] * hd["width"])


def stream_bits(data: bytes) -> int:
    """Bits of the ANS stream and escaped values in ``data`` (the header and the checksum left out)."""
    return 8 * (len(as_blob(data)) - FRAME.header_size - 4)


__all__ = ["ImageCodec", "MAGIC", "MAX_PIXELS", "FRAME", "stream_bits", "to_planes", "from_planes"]
