"""Folders of defect images: the MVTec AD layout, the magnetic-tile layout and a plain one.

Three layouts are read by :func:`load_defect_folders`:

- **MVTec AD**: ``train/good/*`` (normal), ``test/<kind>/*`` (``good`` is
  normal) and ``ground_truth/<kind>/<stem>_mask.png``.
- **magnetic tiles** (and any ``<kind>`` + ``<kind>_masks`` pairs):
  ``MT_Free/`` (or ``good/``) holds normal images, every other folder
  ``<kind>/`` defective ones, with masks ``<kind>_masks/<stem>.png``.
- **plain**: pass ``normal=`` a folder of normal images and ``test=`` a folder
  of test images with optional same-named masks in ``masks=``.

A mask is a grey image of the same size as its image; pixels above half its
range are the defect. A mask of another size is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .photos import EXTENSIONS, as_photo

NORMAL_NAMES = ("MT_Free", "good", "normal", "ok")


@dataclass
class DefectItem:
    """One test image: its file, its kind (``'good'`` for normal) and its mask file, if any."""

    image: Path
    kind: str
    mask: Path | None = None

    @property
    def defective(self) -> bool:
        return self.kind != "good"


@dataclass
class DefectSet:
    """Normal images (``normal``, for fitting) and labelled test images (``test``)."""

    normal: list[Path] = field(default_factory=list)
    test: list[DefectItem] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return sorted({t.kind for t in self.test})


def _images(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)


def _mask_for(folder: Path | None, image: Path, suffixes=("", "_mask")) -> Path | None:
    if folder is None or not folder.is_dir():
        return None
    for suffix in suffixes:
        for ext in (".png", image.suffix):
            p = folder / f"{image.stem}{suffix}{ext}"
            if p.is_file():
                return p
    return None


def load_defect_folders(root=None, *, normal=None, test=None, masks=None) -> DefectSet:
    """The normal and test images of an MVTec AD, magnetic-tile or plain layout (see the module notes).

    Raises
    ------
    DataError
        A missing folder, a layout with no normal images, or an empty one.
    """
    if root is None:
        if normal is None:
            raise DataError("pass root= (an MVTec AD or magnetic-tile folder) or normal= (a folder of normal images).")
        out = DefectSet(normal=_checked(Path(normal)))
        if test is not None:
            mdir = None if masks is None else Path(masks)
            for f in _checked(Path(test)):
                m = _mask_for(mdir, f)
                out.test.append(DefectItem(f, "defect" if m is not None else "good", m))
        return out
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; pass the folder that holds the images.")
    if (root / "train" / "good").is_dir():  # MVTec AD
        out = DefectSet(normal=_checked(root / "train" / "good"))
        if (root / "test").is_dir():
            for kind_dir in sorted(d for d in (root / "test").iterdir() if d.is_dir()):
                gt = root / "ground_truth" / kind_dir.name
                for f in _images(kind_dir):
                    mask = None if kind_dir.name == "good" else _mask_for(gt, f, ("_mask", ""))
                    out.test.append(DefectItem(f, kind_dir.name, mask))
        return out
    folders = {d.name: d for d in root.iterdir() if d.is_dir()}
    normal_name = next((n for n in NORMAL_NAMES if n in folders), None)
    if normal_name is None:
        raise DataError(f"{root} has no folder of normal images (train/good, or one of {', '.join(NORMAL_NAMES)}); "
                        "pass normal= and test= for a plain layout.")
    out = DefectSet(normal=_checked(folders[normal_name]))
    for name in sorted(folders):
        if name == normal_name or name.endswith("_masks"):
            continue
        mdir = folders.get(f"{name}_masks")
        for f in _images(folders[name]):
            out.test.append(DefectItem(f, name, _mask_for(mdir, f)))
    return out


def _checked(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of images.")
    files = _images(folder)
    if not files:
        raise DataError(f"{folder} holds no images ({', '.join(EXTENSIONS)}).")
    return files


def read_mask(path, shape: tuple[int, int]) -> np.ndarray:
    """The boolean ``(H, W)`` mask in ``path`` (pixels above half range); ``shape`` is its image's ``(H, W)``."""
    m = as_photo(path, mode="L", name=str(path))[0]
    if m.shape != tuple(shape):
        raise DataError(f"the mask {path} is {m.shape[0]}x{m.shape[1]} pixels but its image is {shape[0]}x{shape[1]}; "
                        "a mask must have its image's size (check that the file names pair the right files).")
    return m > 0.5


__all__ = ["DefectItem", "DefectSet", "load_defect_folders", "read_mask"]
