"""Folders of image files, read through Pillow.

``root/<class>/<image>`` gives labels from the sub-folder names (sorted);
image files directly in ``root`` give no labels. Each image becomes a
float32 array ``(C, H, W)`` in [0, 1], C = 1 (grey) or 3 (RGB). Files are
opened by :func:`~latentlab.data.imagefile.open_image`: a truncated, lying
or corrupt file is an error naming it, never an image padded with zeros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .imagefile import open_image

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def list_images(root: str | Path) -> tuple[list[Path], np.ndarray | None, list[str]]:
    """``(files, labels or None, class names)`` of an image folder, in a stable sorted order."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; pass a folder of images or of class sub-folders.")
    flat = sorted(p for p in root.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if flat and classes:
        raise DataError(f"{root} mixes image files and class sub-folders; keep one layout.")
    if flat:
        return flat, None, []
    files, labels = [], []
    for k, c in enumerate(classes):
        found = sorted(p for p in (root / c).rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
        files += found
        labels += [k] * len(found)
    if not files:
        raise DataError(f"{root} holds no images ({', '.join(EXTENSIONS)}).")
    return files, np.asarray(labels, dtype=np.int64), classes


def read_image(path: Path, mode: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image as float32 ``(C, H, W)`` in [0, 1]; ``mode`` is 'L' or 'RGB', ``size`` is (H, W)."""
    from PIL import Image

    with open_image(path) as im:  # a cut, lying or corrupt file is refused by name
        im = im.convert(mode)
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.BILINEAR)
        arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def probe(files: list[Path], mode: str | None, size: tuple[int, int] | None) -> tuple[str, tuple[int, int]]:
    """The colour mode and (H, W) to use, from the first image when not given."""
    with open_image(files[0]) as im:
        if mode is None:
            mode = "L" if im.mode in ("1", "L", "I", "I;16", "F") else "RGB"
        if size is None:
            size = (im.size[1], im.size[0])
    if mode not in ("L", "RGB"):
        raise DataError(f"mode={mode!r}; use 'L' (grey) or 'RGB'.")
    return mode, (int(size[0]), int(size[1]))


def load_image_folder(
    root: str | Path, size: tuple[int, int] | None = None, mode: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Read a whole image folder into memory: ``(X (N, C, H, W), labels or None, classes)``.

    Images of other sizes than the first are refused unless ``size=(H, W)``
    asks for resizing. For folders bigger than memory use
    :class:`latentlab.data.streaming.ImageFolderSource`.
    """
    files, labels, classes = list_images(root)
    mode, hw = probe(files, mode, size)
    out = []
    for f in files:
        img = read_image(f, mode, size)
        if img.shape[1:] != hw:
            raise DataError(f"{f} is {img.shape[2]}x{img.shape[1]} but the first image is {hw[1]}x{hw[0]}; pass size=(H, W).")
        out.append(img)
    return np.stack(out), labels, classes
