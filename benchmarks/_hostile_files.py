"""The files and small trained models that ``benchmarks/hostile.py`` attacks, written once into a folder.

Tiny models (a second or two of training each) and hostile files: cut and
lying images, a folder where a file is expected, dSprites archives with bad
factors, a denoiser folder whose ``config.json`` asks for a million layers.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np

TEXTS = ["the cat sat on the mat.", "a dog ran in the park.", "the dog sat.", "a cat ran.", "see the bird fly."] * 8


def png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def lying_png(arr: np.ndarray, height: int, width: int | None = None) -> bytes:
    """A valid PNG of ``arr`` whose IHDR (CRC fixed) declares ``height`` rows (and ``width``)."""
    d = bytearray(png_bytes(arr))
    assert d[12:16] == b"IHDR"
    if width is not None:
        d[16:20] = struct.pack(">I", width)
    d[20:24] = struct.pack(">I", height)
    d[29:33] = struct.pack(">I", zlib.crc32(bytes(d[12:29])) & 0xFFFFFFFF)
    return bytes(d)


def _images(d: Path) -> None:
    rng = np.random.default_rng(0)
    grey = (rng.random((24, 32)) * 255).astype(np.uint8)
    good = png_bytes(grey)
    (d / "img.png").write_bytes(good)
    (d / "rgb.png").write_bytes(png_bytes((rng.random((24, 32, 3)) * 255).astype(np.uint8)))
    (d / "rgba.png").write_bytes(png_bytes((rng.random((24, 32, 4)) * 255).astype(np.uint8)))
    (d / "deep.png").write_bytes(png_bytes((rng.random((24, 32)) * 65535).astype(np.uint16)))
    (d / "trunc.png").write_bytes(good[: len(good) // 2])
    (d / "lie.png").write_bytes(lying_png(np.full((1, 12000), 128, np.uint8), 12000))
    (d / "huge.png").write_bytes(lying_png(np.full((1, 100), 9, np.uint8), 100_000, 100_000))
    (d / "notimg.png").write_text("this is not an image\n")
    (d / "empty.png").write_bytes(b"")
    (d / "dir.png").mkdir()
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="JPEG")
    (d / "trunc.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    for name, data in (("folder_trunc", good[: len(good) // 2]), ("folder_lie", (d / "lie.png").read_bytes())):
        (d / name).mkdir()
        (d / name / "a.png").write_bytes(good)
        (d / name / "b.png").write_bytes(data)
    (d / "folder_empty").mkdir()


def _dsprites(d: Path) -> None:
    n = 6
    cls = np.zeros((n, 6), np.int64)
    cls[:, 1] = [0, 1, 2, 0, 1, 2]
    imgs = np.zeros((n, 64, 64), np.uint8)
    np.savez(d / "ds_ok.npz", imgs=imgs, latents_classes=cls, latents_values=cls.astype(float))
    neg = cls.copy()
    neg[:, 2] = -5
    np.savez(d / "ds_neg.npz", imgs=imgs, latents_classes=neg, latents_values=neg.astype(float))
    vals = cls.astype(float)
    vals[0, 3] = np.nan
    np.savez(d / "ds_nan.npz", imgs=imgs, latents_classes=cls, latents_values=vals)
    np.savez(d / "ds_float.npz", imgs=imgs, latents_classes=cls.astype(float), latents_values=vals)
    np.savez(d / "ds_shape.npz", imgs=imgs, latents_classes=cls[:, :4], latents_values=cls[:, :4].astype(float))
    np.savez(d / "ds_obj.npz", imgs=np.array([None] * n, dtype=object), latents_classes=cls, latents_values=vals)
    np.savez(d / "ds_empty.npz", imgs=imgs[:0], latents_classes=cls[:0], latents_values=vals[:0])
    (d / "ds_text.npz").write_text("not an archive")
    (d / "ds_dir.npz").mkdir()


def _tables(d: Path) -> None:
    import latentlab

    X, _ = latentlab.load_digits()
    np.save(d / "X.npy", X)
    np.save(d / "empty.npy", np.zeros((0, 64), np.float32))
    np.save(d / "complex.npy", np.ones((5, 3), np.complex64))
    np.save(d / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "empty.csv").write_text("")
    (d / "strings.csv").write_text("a,b\nx,1\ny,2\n")
    (d / "texts.txt").write_text("\n".join(TEXTS) + "\n")
    (d / "blank.txt").write_text("\n\n  \n")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (d / "nocol.csv").write_text("a,b\nx,y\n")
    (d / "dir.txt").mkdir()
    (d / "dir.npy").mkdir()


def _models(d: Path) -> None:
    import latentlab

    X, _ = latentlab.load_digits()
    latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X[:400], epochs=1, verbose=False).save(d / "ae")
    latentlab.VAE(latent_dim=2, hidden=(16,)).fit(X[:400], epochs=1, verbose=False).save(d / "vae")
    tv = latentlab.TextVAE(latent_dim=4, hidden=(16,), embed_dim=8, vocab_size=270)
    tv.fit(TEXTS, epochs=1, verbose=False).save(d / "text")
    photo = np.random.default_rng(0).random((48, 40)).astype("float32")
    den = latentlab.ImageDenoiser(hidden=(8, 16), depth=1)
    den.fit([photo], noise_level=0.1, patch_size=16, patches_per_epoch=32, epochs=1, verbose=False).save(d / "den")
    for name, change in (("den_deep", {"depth": 1_000_000}), ("den_stages", {"hidden": [8] * 40}),
                         ("den_wide", {"hidden": [8, 1_000_000]})):
        shutil.copytree(d / "den", d / name)
        cfg = json.loads((d / name / "config.json").read_text())
        cfg["config"].update(change)
        (d / name / "config.json").write_text(json.dumps(cfg))
    codec = latentlab.ImageCodec(channels=8, latent_channels=8, stages=2, lambdas=(0.01, 0.05))
    codec.fitted = True  # untrained weights code and decode just as exactly
    codec.save(d / "codec")
    (d / "blob.llc").write_bytes(codec.compress((d / "img.png"), quality=1))
    rng = np.random.default_rng(0)
    big = rng.random((64, 4)).astype(np.float32)
    big[:, 0] = 3.3e38 + rng.random(64).astype(np.float32) * 1e37  # a fitted scale near float32's limit
    latentlab.Autoencoder(latent_dim=2, hidden=(8,), scaling="minmax").fit(big, epochs=1, verbose=False).save(d / "big")
    np.save(d / "big.npy", big)


def build(d: Path) -> None:
    """Write every fixture into folder ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    _images(d)
    _dsprites(d)
    _tables(d)
    _models(d)
