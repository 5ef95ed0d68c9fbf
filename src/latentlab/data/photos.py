"""Photographs of any size: reading and checking (random training patches are in :mod:`.patches`).

Every photo becomes a float32 array ``(C, H, W)`` in [0, 1] with C = 1 (grey)
or 3 (RGB). The conversions are fixed and documented (``docs/photos.md``):

- **alpha** (RGBA, LA, a palette with transparency, 2- or 4-channel arrays):
  the alpha channel is dropped; the colour values are kept as stored.
- **16-bit** grey files (``I;16``) and ``uint16`` arrays are divided by 65535,
  keeping their precision; 32-bit integer files (``I``) are read as 16-bit
  values and refused above 65535. Pillow reads 16-bit RGB files as 8-bit.
- **palette** (``P``), CMYK, YCbCr, LAB, HSV and bilevel files become RGB
  (or grey for bilevel); float files (``F``) must hold values in [0, 1].
- ``uint8`` arrays are divided by 255, ``bool`` arrays give 0 and 1, float
  arrays are taken as already in [0, 1] (a float array with values far
  outside it, such as 0..255, is refused), other integer types are refused.
- **layout**: 2-D arrays are one grey image; 3-D arrays are channels-first
  ``(C, H, W)`` when C is 1..4, channels-last ``(H, W, C)`` when the last axis
  is 1..4 and the first is not; a shape where both readings are possible
  (``(3, 64, 3)``) is refused unless ``layout='chw'`` or ``'hwc'`` says which.
- **colour**: ``mode='L'`` turns RGB into grey with the ITU-R 601 luma
  weights (Pillow's), ``mode='RGB'`` repeats a grey channel three times;
  ``mode=None`` keeps grey when every image is grey, else gives RGB.
- NaN or inf pixels are refused.

:class:`~latentlab.data.patches.PatchSampler` draws the training patches
from these photos; they are kept in their stored precision (``uint8`` stays
one byte a value).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, DataTypeError
from .imagefile import MAX_PIXELS, open_image

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MODES = ("L", "RGB")
LAYOUTS = ("auto", "chw", "hwc")
# The scikit-image photographs the project trains, tunes and tests on; no other one is used.
SKIMAGE_PHOTOS = (
    "rocket", "coins", "moon", "page", "text", "brick", "grass", "gravel", "clock", "cell",
    "immunohistochemistry", "stereo_motorcycle", "hubble_deep_field", "retina",
)
_LUMA = np.array([299, 587, 114], dtype=np.float32) / 1000.0


# ------------------------------------------------------------------------- reading one photo
def _decode_file(path: Path) -> tuple[np.ndarray, float]:
    """A file's pixels as a ``(C, H, W)`` array in its stored dtype, and the value that means white.

    Read through :func:`~latentlab.data.imagefile.open_image`: a folder, a missing file, a header of
    more than :data:`MAX_PIXELS` pixels, and a truncated or corrupt file are refused by name.
    """
    with open_image(path, MAX_PIXELS) as im:
        mode = im.mode
        if mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif mode == "PA":
            im = im.convert("RGBA")
        elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
            im = im.convert("RGB")
        elif mode == "La":
            im = im.convert("LA")
        elif mode == "1":
            im = im.convert("L")
        im.load()  # decoding errors are raised here, inside open_image, which names them
        arr = np.asarray(im)
        mode = im.mode
    if mode in ("RGBA", "LA"):
        arr = arr[..., :-1]  # alpha dropped
    if mode.startswith("I;16"):
        arr, white = arr.astype(np.uint16), 65535.0
    elif mode == "I":
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise DataError(f"{path} holds 32-bit integers outside 0..65535; save it as 8- or 16-bit.")
        arr, white = arr.astype(np.uint16), 65535.0
    elif mode == "F":
        arr, white = arr.astype(np.float32), 1.0
        check_pixels(arr, str(path))
    else:
        white = 255.0
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr), white


def _decode_array(image, name: str, layout: str) -> tuple[np.ndarray, float]:
    """An array's pixels as ``(C, H, W)`` in its own dtype, and the value that means white."""
    if layout not in LAYOUTS:
        raise DataError(f"layout={layout!r} is not one of {list(LAYOUTS)}.")
    if hasattr(image, "detach") and hasattr(image, "cpu"):
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.dtype.kind in "OUSVMmc":
        raise DataTypeError(f"{name} has dtype {arr.dtype}; pass real pixel values (uint8, uint16 or floats in [0, 1]).")
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3:
        first, last = arr.shape[0] <= 4, arr.shape[-1] <= 4
        if layout == "hwc" or (layout == "auto" and last and not first):
            arr = arr.transpose(2, 0, 1)
        elif layout == "auto" and first and last:
            raise DataError(
                f"{name} has shape {arr.shape}: both channels-first and channels-last are possible; "
                "pass layout='chw' or layout='hwc'."
            )
        elif layout == "auto" and not first:
            raise DataError(
                f"{name} has shape {arr.shape}: neither the first nor the last axis is a channel axis (1 to 4); "
                "pass a grey (H, W), a (C, H, W) or an (H, W, C) image."
            )
    else:
        raise DataError(f"{name} has shape {arr.shape}; a photo is (H, W), (C, H, W) or (H, W, C).")
    if arr.shape[0] not in (1, 2, 3, 4):
        raise DataError(f"{name} has {arr.shape[0]} channels; pass grey (1), grey+alpha (2), RGB (3) or RGBA (4).")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise DataError(f"{name} is empty (shape {arr.shape}).")
    if arr.shape[0] in (2, 4):
        arr = arr[:-1]  # alpha dropped
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.uint8), 1.0
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr), 255.0
    if arr.dtype == np.uint16:
        return np.ascontiguousarray(arr), 65535.0
    if kind in "iu":
        raise DataTypeError(
            f"{name} has dtype {arr.dtype}; pass uint8 (0..255), uint16 (0..65535) or floats in [0, 1] "
            "(for example image.astype(np.uint8) or image / 255.0)."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    check_pixels(arr, name)
    return arr, 1.0


def check_pixels(arr: np.ndarray, name: str = "image", low: float = -1.0, high: float = 2.0) -> None:
    """Refuse NaN or inf pixels, and float pixels far outside [0, 1] (a 0..255 image given as floats).

    Noisy photos leave [0, 1] a little, so [-1, 2] is accepted.
    """
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)[0].tolist()
        raise DataError(f"{name} has {int((~finite).sum())} NaN or inf pixel(s) (the first at {bad}); fill or drop them.")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < low or hi > high:
        raise DataError(
            f"{name} has float values in [{lo:.3g}, {hi:.3g}]; float photos are read as [0, 1]: "
            "divide 0..255 values by 255 (or pass them as uint8)."
        )


def _to_mode(arr: np.ndarray, mode: str) -> np.ndarray:
    """Grey to RGB (repeat) or RGB to grey (ITU-R 601 luma), as float32."""
    c = arr.shape[0]
    if mode == "L" and c == 3:
        return np.tensordot(_LUMA, arr.astype(np.float32), axes=1)[None]
    if mode == "RGB" and c == 1:
        return np.repeat(arr, 3, axis=0)
    return arr


class Photo:
    """One photo in its stored precision: ``pixels`` ``(C, H, W)`` and ``white`` (255, 65535 or 1)."""

    __slots__ = ("pixels", "white", "name")

    def __init__(self, pixels: np.ndarray, white: float, name: str):
        if pixels.shape[1] * pixels.shape[2] > MAX_PIXELS:
            raise DataError(f"{name} has {pixels.shape[1]}x{pixels.shape[2]} pixels, more than {MAX_PIXELS}.")
        self.pixels, self.white, self.name = pixels, white, name

    @property
    def channels(self) -> int:
        return self.pixels.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[2]

    def as_mode(self, mode: str) -> Photo:
        if (mode == "L") == (self.channels == 1):
            return self
        if mode == "RGB":
            return Photo(np.repeat(self.pixels, 3, axis=0), self.white, self.name)
        grey = _to_mode(self.pixels, "L")
        if self.white != 1.0:  # keep the stored precision: round the luma back to the integer type
            grey = np.clip(np.rint(grey), 0, self.white).astype(self.pixels.dtype)
        return Photo(grey, self.white, self.name)

    def crop(self, top: int, left: int, size: int) -> np.ndarray:
        """A ``(C, size, size)`` float32 patch in [0, 1]."""
        p = self.pixels[:, top : top + size, left : left + size]
        return p.astype(np.float32) * np.float32(1.0 / self.white)

    def to_float(self) -> np.ndarray:
        out = self.pixels.astype(np.float32)  # one float copy, scaled in place (photos can be large)
        if self.white != 1.0:
            out *= np.float32(1.0 / self.white)
        return out


def _open_one(item, name: str, layout: str) -> Photo:
    if isinstance(item, (str, Path)):
        pixels, white = _decode_file(Path(item))
        return Photo(pixels, white, str(item))
    pixels, white = _decode_array(item, name, layout)
    return Photo(pixels, white, name)


def _items(images) -> list:
    """The photos named by a folder, a file, one array, a 4-D stack, or a list of any of those."""
    if isinstance(images, (str, Path)):
        p = Path(images)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)
            if not files:
                raise DataError(f"{p} holds no images ({', '.join(EXTENSIONS)}).")
            return files
        return [p]
    if isinstance(images, np.ndarray) or (hasattr(images, "detach") and hasattr(images, "shape")):
        if images.ndim == 4:
            return list(images)
        return [images]
    if isinstance(images, dict):
        return list(images.values())
    if isinstance(images, Sequence) and not isinstance(images, (bytes, bytearray)):
        if len(images) == 0:
            raise DataError("no images given; pass a folder, file paths or a list of arrays.")
        return list(images)
    raise DataTypeError(
        f"cannot read photos from a {type(images).__name__}; pass a folder, a file path, an array or a list of them."
    )


def open_photos(images, mode: str | None = None, layout: str = "auto") -> list[Photo]:
    """The photos of ``images`` in one colour mode, in stored precision (see the module notes)."""
    if mode is not None and mode not in MODES:
        raise DataError(f"mode={mode!r}; use 'L' (grey), 'RGB' or None (grey if every image is grey).")
    photos = [_open_one(item, f"image {i}", layout) for i, item in enumerate(_items(images))]
    if mode is None:
        mode = "L" if all(p.channels == 1 for p in photos) else "RGB"
    return [p.as_mode(mode) for p in photos]


def load_photos(images, mode: str | None = None, layout: str = "auto") -> list[np.ndarray]:
    """Read photos as float32 ``(C, H, W)`` arrays in [0, 1].

    Parameters
    ----------
    images : folder, file path, array, 4-D stack, or a list of paths and arrays (sizes may differ)
    mode : {'L', 'RGB'} or None
        Grey, RGB, or None: grey when every image is grey, else RGB.
    layout : {'auto', 'chw', 'hwc'}
        How to read 3-D arrays (see the module notes).

    Examples
    --------
    >>> imgs = load_photos([np.zeros((5, 7), np.uint8), np.ones((6, 4, 3))])
    >>> [im.shape for im in imgs]
    [(3, 5, 7), (3, 6, 4)]
    """
    return [p.to_float() for p in open_photos(images, mode, layout)]


def as_photo(image, mode: str | None = None, layout: str = "auto", name: str = "image") -> np.ndarray:
    """One photo (a path or an array) as float32 ``(C, H, W)``; floats are range-checked but not clipped.

    Examples
    --------
    >>> as_photo(np.full((8, 6, 3), 255, np.uint8), mode="L").shape
    (1, 8, 6)
    """
    if mode is not None and mode not in MODES:
        raise DataError(f"mode={mode!r}; use 'L', 'RGB' or None.")
    p = _open_one(image, name, layout)
    return (p.as_mode(mode) if mode else p).to_float()


def skimage_photos(names: Sequence[str] | None = None, mode: str | None = "L") -> dict[str, np.ndarray]:
    """The project's scikit-image photographs by name, as float32 ``(C, H, W)`` arrays.

    Only the names in :data:`SKIMAGE_PHOTOS` are allowed; ``stereo_motorcycle``
    is its left view.
    """
    try:
        from skimage import data as skdata
    except ImportError:  # pragma: no cover
        raise DataError("scikit-image is needed for its sample photos: pip install scikit-image.") from None
    names = list(SKIMAGE_PHOTOS if names is None else names)
    out = {}
    for n in names:
        if n not in SKIMAGE_PHOTOS:
            raise DataError(f"{n!r} is not one of the project's photos {list(SKIMAGE_PHOTOS)}.")
        img = getattr(skdata, n)()
        if n == "stereo_motorcycle":
            img = img[0]
        out[n] = as_photo(img, mode=mode, layout="hwc" if img.ndim == 3 else "auto", name=n)
    return out


#: The 75th percentile of the standard normal distribution: a median absolute deviation over it is a standard deviation.
NORMAL_Q75 = 0.6744897501960817


def estimate_noise_level(image, crop: int = 512) -> float | None:
    """The standard deviation of Gaussian noise in a photo, on [0, 1] pixels (``sigma / 255`` for 8-bit).

    scikit-image's wavelet estimate (``skimage.restoration.estimate_sigma``:
    Donoho's median absolute deviation of the finest diagonal detail
    coefficients of PyWavelets' ``db2`` transform, zeros left out), computed
    with PyWavelets directly, because importing scikit-image's restoration
    module takes about 0.9 s (it imports ``scipy.stats``), longer than the
    pretrained denoiser needs for a 512 x 512 photo; a test checks it against
    ``estimate_sigma``. Averaged over the channels, on the central ``crop`` x
    ``crop`` pixels, so that the cost and memory stay small on any photo. On
    the project's photos with Gaussian noise of sigma 10, 25 and 50 (on
    0..255) it reads 10-16, 25-28 and 50-52; heavy fine texture (grass) reads
    as noise of about 10 when there is none. ``None`` when PyWavelets (the
    ``photos`` extra) is not installed or the photo is smaller than 16 pixels
    a side; 0 for a channel without any detail.

    ``image`` is a float ``(C, H, W)`` array as :func:`as_photo` returns.
    """
    try:
        import pywt
    except ImportError:  # the photos extra is not installed
        return None
    x = np.asarray(image)
    h, w = x.shape[-2:]
    if min(h, w) < 16:
        return None
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    part = x[..., top : top + crop, left : left + crop].astype(np.float64)
    part = part.reshape(-1, *part.shape[-2:])  # (C, h, w)

    def one(channel: np.ndarray) -> float:
        detail = pywt.dwtn(np.nan_to_num(channel), "db2")["dd"]
        detail = detail[np.nonzero(detail)]
        return float(np.median(np.abs(detail)) / NORMAL_Q75) if detail.size else 0.0

    return float(np.mean([one(c) for c in part]))


__all__ = [
    "Photo",
    "SKIMAGE_PHOTOS",
    "as_photo",
    "check_pixels",
    "estimate_noise_level",
    "load_photos",
    "open_photos",
    "skimage_photos",
]
