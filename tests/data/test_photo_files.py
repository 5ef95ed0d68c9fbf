"""Image files that are cut, lie about their size, or are not files: refused by name, never padded with zeros."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from latentlab.data.imagefile import MAX_PIXELS, open_image
from latentlab.data.images import load_image_folder
from latentlab.data.photos import as_photo, load_photos
from latentlab.errors import DataError


def png_bytes(arr: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", **save)
    return buf.getvalue()


def lying_png(arr: np.ndarray, height: int, width: int | None = None) -> bytes:
    """A valid PNG of ``arr`` whose IHDR declares ``height`` rows (and ``width``), its CRC fixed."""
    d = bytearray(png_bytes(arr))
    assert d[12:16] == b"IHDR"
    if width is not None:
        d[16:20] = struct.pack(">I", width)
    d[20:24] = struct.pack(">I", height)
    d[29:33] = struct.pack(">I", zlib.crc32(bytes(d[12:29])) & 0xFFFFFFFF)
    return bytes(d)


@pytest.fixture
def photo(rng):
    return (rng.random((24, 32)) * 255).astype(np.uint8)


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any pixel decoding fail loudly: what is refused from its header must be refused before it."""

    def load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_png_whose_header_lies_about_its_rows_is_refused_before_decoding(tmp_path, no_decoding):
    path = tmp_path / "lie.png"
    path.write_bytes(lying_png(np.full((1, 12000), 128, np.uint8), 12000))  # 144 Mpixels declared, 1 row held
    with pytest.raises(DataError, match=r"lie\.png is truncated or corrupt: its header declares 12000 rows"):
        load_photos(path)


def test_a_truncated_png_is_an_error_naming_the_file(tmp_path, photo):
    data = png_bytes(photo)
    for cut in (len(data) // 2, len(data) - 30):
        path = tmp_path / f"cut{cut}.png"
        path.write_bytes(data[:cut])
        with pytest.raises(DataError, match=rf"cut{cut}\.png is truncated or corrupt"):
            as_photo(path)


def test_a_truncated_jpeg_is_an_error_naming_the_file(tmp_path, photo):
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    with pytest.raises(DataError, match=r"cut\.jpg is truncated or corrupt"):
        as_photo(tmp_path / "cut.jpg")


def test_a_callers_load_truncated_images_is_overridden_while_reading_and_put_back(tmp_path, photo, monkeypatch):
    data = png_bytes(photo)
    (tmp_path / "cut.png").write_bytes(data[: len(data) - 30])  # the zlib stream cut mid-way
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(DataError, match="truncated or corrupt"):
        as_photo(tmp_path / "cut.png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_absurd_pixel_counts_are_refused_from_the_header(tmp_path, no_decoding):
    side = int(MAX_PIXELS**0.5) + 10  # over the project's limit; Pillow's own bomb limit is lower still
    (tmp_path / "big.png").write_bytes(lying_png(np.zeros((1, 10), np.uint8), side, side))
    with pytest.raises(DataError, match=r"big\.png declares too many pixels"):
        as_photo(tmp_path / "big.png")
    (tmp_path / "wide.png").write_bytes(lying_png(np.zeros((1, 10), np.uint8), 200, 1000))
    with pytest.raises(DataError, match=r"wide\.png is 1000x200, more than 1000 pixels"):
        with open_image(tmp_path / "wide.png", max_pixels=1000):
            pass


def test_a_folder_given_as_an_image_file_is_named_a_folder(tmp_path):
    (tmp_path / "pics.png").mkdir()
    with pytest.raises(DataError, match=r"pics\.png is a folder; pass one image file"):
        as_photo(tmp_path / "pics.png")


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "I;16"])
def test_complete_pngs_of_every_mode_still_read(tmp_path, rng, mode):
    for h, w in ((1, 1), (7, 13), (33, 17)):
        if mode == "I;16":
            img = Image.fromarray((rng.random((h, w)) * 65535).astype(np.uint16))
        else:
            img = Image.fromarray((rng.random((h, w, 4)) * 255).astype(np.uint8)).convert(mode)
        img.save(tmp_path / "x.png")
        assert as_photo(tmp_path / "x.png").shape[1:] == (h, w)


def test_image_folders_refuse_cut_and_lying_files_by_name(tmp_path, photo):
    good = png_bytes(photo)
    for name, bad in (("cut", good[: len(good) // 2]), ("lie", lying_png(np.zeros((1, 32), np.uint8), 5000))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "a.png").write_bytes(good)
        (folder / "b.png").write_bytes(bad)
        with pytest.raises(DataError, match=r"b\.png is truncated or corrupt"):
            load_image_folder(folder)


def test_cli_denoise_of_a_lying_png_fails_and_writes_nothing(tmp_path, capsys):
    import latentlab
    from latentlab.cli import main

    den = latentlab.ImageDenoiser(hidden=(4,), depth=1)
    den.fit([np.random.default_rng(0).random((20, 20)).astype(np.float32)], noise_level=0.1, patch_size=8,
            patches_per_epoch=16, epochs=1, verbose=False)
    den.save(tmp_path / "den")
    (tmp_path / "lie.png").write_bytes(lying_png(np.full((1, 12000), 128, np.uint8), 12000))
    assert main(["denoise", str(tmp_path / "lie.png"), str(tmp_path / "out.png"), "--model", str(tmp_path / "den")]) == 2
    assert "truncated or corrupt" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()
