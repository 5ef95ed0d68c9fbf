"""Opening one image file with Pillow, refusing what would be read wrong.

Every reader of image files in latentlab (:mod:`.photos`, :mod:`.images`,
the streamed image folders) opens them through :func:`open_image`, which

- names a folder given as a file, and a missing file, as such;
- refuses a header declaring more than :data:`MAX_PIXELS` pixels (or more
  than Pillow's own decompression-bomb limit, ``PIL.Image.MAX_IMAGE_PIXELS``
  times 2) before any pixel is decoded;
- refuses a PNG whose compressed data ends before the rows its header
  declares (Pillow fills the missing rows with zeros without a word), before
  any pixel is decoded;
- decodes with ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` False, whatever the
  caller set it to (a caller's True is put back after each image), so a cut
  file is an error rather than an image padded with grey or black;
- turns every decoding error into a :class:`~latentlab.errors.DataError`
  that names the file and says it is truncated or corrupt.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ..errors import DataError, LatentlabError
from .validation import input_file

# A decoded image larger than this many pixels is refused from its header (decompression bombs).
MAX_PIXELS = 400_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples a pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_INFLATE_STEP = 1 << 20  # bytes inflated at a time when counting a PNG's rows (nothing is kept)
_STRICT = threading.Lock()  # held while a reader overrides a caller's LOAD_TRUNCATED_IMAGES=True


def _png_row_bytes(width: int, height: int, depth: int, colour: int, interlaced: bool) -> int:
    """Bytes of filtered scanlines a complete PNG of this header inflates to."""
    bits = depth * _PNG_CHANNELS[colour]
    line = lambda w: 1 + (w * bits + 7) // 8  # noqa: E731  (one filter byte a row)
    if not interlaced:
        return height * line(width)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        pw, ph = max(0, -(-(width - x0) // dx)), max(0, -(-(height - y0) // dy))
        if pw and ph:
            total += ph * line(pw)
    return total


def check_png_rows(path: Path) -> None:
    """Refuse a PNG whose image data inflates to fewer bytes than its header's rows need.

    The data are inflated in steps and counted, not kept, so the check costs
    one decompression and no memory; it stops as soon as enough bytes came.
    """
    with open(path, "rb") as fh:
        if fh.read(8) != _PNG_SIGNATURE:
            return  # not a PNG after all: Pillow names what it is
        need, got = None, 0
        inflate = zlib.decompressobj()
        while True:
            head = fh.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IHDR" and length >= 13:
                w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", fh.read(13))
                if colour not in _PNG_CHANNELS:
                    return  # Pillow refuses it in its own words
                need = _png_row_bytes(w, h, depth, colour, bool(interlace))
                fh.seek(length - 13 + 4, 1)
            elif kind == b"IDAT" and need is not None:
                left = length
                while left and got < need and not inflate.eof:
                    piece = fh.read(min(left, _INFLATE_STEP))
                    if not piece:
                        break
                    left -= len(piece)
                    try:
                        while piece and got < need:
                            got += len(inflate.decompress(piece, _INFLATE_STEP))
                            piece = inflate.unconsumed_tail
                    except zlib.error as exc:
                        raise DataError(f"{path} is truncated or corrupt (its image data: {exc}); "
                                        "remove or replace it.") from None
                fh.seek(left + 4, 1)
            elif kind == b"IEND":
                break
            else:
                fh.seek(length + 4, 1)
            if need is not None and (got >= need or inflate.eof):
                break
        if need is not None and got < need:
            try:
                got += len(inflate.flush())
            except zlib.error:
                pass
        if need is not None and got < need:
            raise DataError(
                f"{path} is truncated or corrupt: its header declares {h} rows of {w} pixels but its image data "
                f"hold {100 * got / max(need, 1):.2g}% of them; remove or replace it."
            )


@contextmanager
def open_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Iterator:
    """A checked, opened ``PIL.Image`` of ``path``; decode it inside the ``with`` block.

    Raises
    ------
    DataError
        A folder, a missing file, a file that is not an image, a header
        declaring more than ``max_pixels`` pixels, or a file that is
        truncated or corrupt (named with the file, before or while decoding).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from PIL import Image
    >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 40), dtype=np.uint8)).save(p)
    >>> with open_image(p) as im:
    ...     np.asarray(im).shape
    (30, 40)
    >>> data = open(p, "rb").read()
    >>> _ = open(p, "wb").write(data[: len(data) // 2])
    >>> with open_image(p) as im:
    ...     np.asarray(im)
    Traceback (most recent call last):
    ...
    latentlab.errors.DataError: ... is truncated or corrupt...
    """
    from PIL import Image, ImageFile, UnidentifiedImageError

    path = input_file(path, "one image file (PNG, JPEG, ...) here")
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        raise DataError(f"{path} could not be read as an image: it is not a format Pillow reads (PNG, JPEG, TIFF, "
                        "...), or it is truncated or corrupt; remove or replace it.") from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"{path} declares too many pixels for Pillow ({exc}); shrink it first, or raise "
                        "PIL.Image.MAX_IMAGE_PIXELS for a file you trust.") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise DataError(f"{path} is truncated or corrupt ({exc}); remove or replace it.") from None
    with im:
        w, h = im.size
        if w * h > max_pixels:
            raise DataError(f"{path} is {w}x{h}, more than {max_pixels} pixels; shrink it or cut it into parts first.")
        if im.format == "PNG":
            check_png_rows(path)
        with _strict_decoding() if ImageFile.LOAD_TRUNCATED_IMAGES else nullcontext():
            try:
                yield im
            except LatentlabError:
                raise
            except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
                raise DataError(f"{path} is truncated or corrupt ({exc}); remove or replace it.") from None


@contextmanager
def _strict_decoding() -> Iterator[None]:
    """``LOAD_TRUNCATED_IMAGES`` False while one image decodes (only when a caller had set it True)."""
    from PIL import ImageFile

    with _STRICT:
        lenient = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = lenient


__all__ = ["MAX_PIXELS", "check_png_rows", "open_image"]
