"""The cases of ``benchmarks/hostile.py``: one hostile call each, with the words a clear error names.

``C(surface, name, fn, words, ok=..., bad=...)``: ``fn(ctx)`` makes the call;
an error is clear when its message holds one of ``words`` and none of
``bad`` (words that would mislead, such as an option the function does not
have); ``ok(result, warnings)`` says whether a normal return is right (no
``ok``: every normal return is a silent wrong result).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _hostile_series
import numpy as np
from _hostile_files import TEXTS


@dataclass
class Case:
    surface: str
    name: str
    fn: Callable
    words: tuple[str, ...]
    ok: Callable | None
    bad: tuple[str, ...]


class CliFailure(Exception):
    """The command line exited with a non-zero status (its stderr is the message)."""


class Context:
    """The fixtures folder, and the saved models it holds (each loaded once per worker)."""

    def __init__(self, root: Path):
        self.root = root
        self._models: dict[str, Any] = {}

    def f(self, name: str) -> str:
        return str(self.root / name)

    def model(self, name: str):
        if name not in self._models:
            import latentlab

            self._models[name] = latentlab.load(self.root / name)
        return self._models[name]

    def digits(self) -> np.ndarray:
        return np.load(self.root / "X.npy")


def cli(*argv: str) -> tuple[str, str]:
    """Run ``latentlab ARGV`` in-process: its (stdout, stderr), or CliFailure carrying stderr."""
    from latentlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(list(argv))
    except SystemExit as exc:  # argparse
        rc = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:  # escaped main(): the user sees a traceback
        raise RuntimeError(f"traceback from the command line: {type(exc).__name__}: {exc}") from None
    if rc:
        raise CliFailure(f"exit {rc}: {err.getvalue().strip()[-300:]}")
    return out.getvalue(), err.getvalue()


CASES: list[Case] = []


def C(surface: str, name: str, fn: Callable, words=(), ok: Callable | None = None, bad=()) -> None:
    CASES.append(Case(surface, name, fn, tuple(w.lower() for w in words), ok, tuple(b.lower() for b in bad)))


def shape_is(*shape):
    return lambda r, w: tuple(np.shape(r)) == shape


def warns(*words):
    return lambda r, w: any(x in w for x in words)


def _photos():
    from latentlab.data.photos import as_photo, load_photos

    grey = np.random.default_rng(0).random((24, 32)).astype(np.float32)
    P = "photos"
    C(P, "truncated PNG", lambda c: load_photos(c.f("trunc.png")), ("truncated",))
    C(P, "PNG header says 12000x12000, holds one row", lambda c: load_photos(c.f("lie.png")), ("truncated",))
    C(P, "PNG header says 10^10 pixels", lambda c: load_photos(c.f("huge.png")), ("pixels",))
    C(P, "truncated JPEG", lambda c: load_photos(c.f("trunc.jpg")), ("truncated",))
    C(P, "text file named .png", lambda c: load_photos(c.f("notimg.png")), ("image",))
    C(P, "empty file named .png", lambda c: load_photos(c.f("empty.png")), ("image", "empty"))
    C(P, "folder given to as_photo", lambda c: as_photo(c.f("dir.png")), ("folder", "directory"), bad=("exist",))
    C(P, "missing file", lambda c: as_photo(c.f("nope.png")), ("does not exist",))
    C(P, "folder with no images", lambda c: load_photos(c.f("folder_empty")), ("no images",))
    C(P, "empty list", lambda c: load_photos([]), ("no images",))
    C(P, "NaN pixels", lambda c: as_photo(np.full((5, 5), np.nan)), ("nan",))
    C(P, "inf pixels", lambda c: as_photo(np.full((5, 5), np.inf)), ("inf",))
    C(P, "zero-height array", lambda c: as_photo(np.zeros((0, 5))), ("empty",))
    C(P, "complex array", lambda c: as_photo(np.ones((5, 5), complex)), ("dtype",))
    C(P, "string array", lambda c: as_photo(np.array([["a"]])), ("dtype",))
    C(P, "int64 array", lambda c: as_photo(np.ones((5, 5), np.int64)), ("dtype",))
    C(P, "float 0..255 array", lambda c: as_photo(np.full((5, 5), 200.0)), ("255",))
    C(P, "ambiguous 3x5x3 array", lambda c: as_photo(np.zeros((3, 5, 3))), ("layout",))
    C(P, "5-D array", lambda c: as_photo(np.zeros((1, 1, 2, 3, 3))), ("shape",))
    C(P, "a number", lambda c: as_photo(42), ("shape",))
    C(P, "mode CMYK", lambda c: load_photos(c.f("img.png"), mode="CMYK"), ("mode",))
    C(P, "16-bit PNG", lambda c: as_photo(c.f("deep.png")), ok=lambda r, w: r.shape == (1, 24, 32) and r.max() <= 1)
    C(P, "RGBA PNG", lambda c: as_photo(c.f("rgba.png")), ok=shape_is(3, 24, 32))
    C(P, "denoise batch=-1", lambda c: c.model("den").denoise(grey, batch=-1), ("batch",))
    C(P, "denoise batch=0", lambda c: c.model("den").denoise(grey, batch=0), ("batch",))
    C(P, "denoise tile=-5", lambda c: c.model("den").denoise(grey, tile=-5, check_noise=False), ("tile",),
      ok=shape_is(24, 32))
    C(P, "denoise lying PNG", lambda c: c.model("den").denoise(c.f("lie.png")), ("truncated",))
    C(P, "denoise RGB with a grey model", lambda c: c.model("den").denoise(c.f("rgb.png")), ("channel",))
    C(P, "denoise bool array", lambda c: c.model("den").denoise(grey > 0.5, check_noise=False), ok=shape_is(24, 32))
    C(P, "denoise layout='xyz'", lambda c: c.model("den").denoise(grey, layout="xyz"), ("layout",))
    C(P, "fit on no photos", lambda c: _den().fit([], noise_level=0.1), ("no images",))
    C(P, "fit patch_size=0", lambda c: _den().fit([grey], noise_level=0.1, patch_size=0), ("patch_size",))
    C(P, "fit patch larger than the photo", lambda c: _den().fit([grey], noise_level=0.1, patch_size=64),
      ("patch",))
    C(P, "fit noise_level=NaN", lambda c: _den().fit([grey], noise_level=float("nan")), ("noise_level",))
    C(P, "cli denoise lying PNG", lambda c: cli("denoise", c.f("lie.png"), "o.png", "--model", c.f("den")),
      ("truncated",))
    C(P, "cli denoise a folder", lambda c: cli("denoise", c.f("dir.png"), "o.png", "--model", c.f("den")),
      ("folder", "directory"), bad=("exist",))
    C(P, "cli denoise to .xyz", lambda c: cli("denoise", c.f("img.png"), "o.xyz", "--model", c.f("den")),
      ("xyz", ".png"))


def _den():
    import latentlab

    return latentlab.ImageDenoiser(hidden=(8,), depth=1)


def _images():
    from latentlab.data.images import load_image_folder
    from latentlab.data.streaming import ImageFolderSource

    S = "images"
    C(S, "folder with a truncated PNG", lambda c: load_image_folder(c.f("folder_trunc")), ("truncated",))
    C(S, "folder with a lying PNG", lambda c: load_image_folder(c.f("folder_lie")), ("truncated", "pixels"))
    C(S, "file instead of folder", lambda c: load_image_folder(c.f("img.png")), ("folder",))
    C(S, "empty folder", lambda c: load_image_folder(c.f("folder_empty")), ("no images",))
    C(S, "stream a lying PNG", lambda c: ImageFolderSource(c.f("folder_lie")).read(0, 2), ("truncated", "pixels"))


def _codec():
    S = "codec"
    img = (np.random.default_rng(0).random((24, 32)) * 255).astype(np.uint8)
    blob = lambda c: Path(c.f("blob.llc")).read_bytes()  # noqa: E731
    C(S, "compress a 3x5x3 array", lambda c: c.model("codec").compress(np.zeros((3, 5, 3), np.uint8), 1),
      ("3, 5, 3", "layout="))
    C(S, "quality 0", lambda c: c.model("codec").compress(img, 0), ("quality",))
    C(S, "quality 1.5", lambda c: c.model("codec").compress(img, 1.5), ("quality",))
    C(S, "NaN image", lambda c: c.model("codec").compress(np.full((8, 8), np.nan), 1), ("nan",))
    C(S, "compress a lying PNG", lambda c: c.model("codec").compress(c.f("lie.png"), 1), ("truncated",))
    C(S, "decompress empty bytes", lambda c: c.model("codec").decompress(b""), ("bytes", "short", "empty"))
    C(S, "decompress random bytes", lambda c: c.model("codec").decompress(bytes(range(200))),
      ("not", "corrupt", "magic"))
    C(S, "decompress cut bytes", lambda c: c.model("codec").decompress(blob(c)[:-5]), ("corrupt", "length", "short"))
    C(S, "decompress a flipped byte", lambda c: c.model("codec").decompress(_flip(blob(c))), ("corrupt", "crc"))
    C(S, "decompress a string", lambda c: c.model("codec").decompress("abc"), ("bytes",))
    C(S, "max_pixels=0", lambda c: c.model("codec").decompress(blob(c), max_pixels=0), ("max_pixels",))
    C(S, "cli compress-image a folder", lambda c: cli("compress-image", c.f("codec"), c.f("dir.png"), "o.llc",
                                                      "--quality", "1"), ("folder", "directory"), bad=("exist",))
    C(S, "cli decompress-image a folder", lambda c: cli("decompress-image", c.f("codec"), c.f("dir.png"), "o.png"),
      ("folder", "directory"), bad=("exist",))
    C(S, "cli decompress-image to .xyz", lambda c: cli("decompress-image", c.f("codec"), c.f("blob.llc"), "o.xyz"),
      ("extension",))


def _flip(data: bytes) -> bytes:
    b = bytearray(data)
    b[len(b) // 2] ^= 0xFF
    return bytes(b)


def _text():
    S = "text"
    a, b = TEXTS[0], TEXTS[1]

    def round_trip(text):
        return lambda c: c.model("text").tokenizer.decode(c.model("text").tokenizer.encode([text])[0])

    for t in ("see [EOS] here", "a [PAD] b", "[BOS][UNK] x", "[eos] <s> </s>"):
        C(S, f"round trip {t!r}", round_trip(t), ok=lambda r, w, t=t: r == t)
    C(S, "sample(10**9)", lambda c: c.model("text").sample(10**9), ("more than", "batches"))
    C(S, "sample(0)", lambda c: c.model("text").sample(0), ("n=0",))
    C(S, "sample(2.5)", lambda c: c.model("text").sample(2.5), ("n=2.5",))
    C(S, "sample temperature=-1", lambda c: c.model("text").sample(2, temperature=-1), ("temperature",))
    C(S, "sample temperature=NaN", lambda c: c.model("text").sample(2, temperature=float("nan")), ("temperature",))
    C(S, "sample beam=0", lambda c: c.model("text").sample(2, beam=0), ("beam",))
    C(S, "interpolate steps=10**7", lambda c: c.model("text").interpolate(a, b, steps=10**7), ("steps",))
    C(S, "interpolate steps=1", lambda c: c.model("text").interpolate(a, b, steps=1), ("steps",))
    C(S, "interpolate a list", lambda c: c.model("text").interpolate([a], b), ("string", "text"))
    C(S, "log_likelihood k=10**7", lambda c: c.model("text").log_likelihood([a], k=10**7), ("k=",))
    C(S, "log_likelihood k=0", lambda c: c.model("text").log_likelihood([a], k=0), ("k=",))
    C(S, "decode NaN codes", lambda c: c.model("text").decode(np.full((2, 4), np.nan)), ("finite",))
    C(S, "decode 10**7 codes", lambda c: c.model("text").decode(np.zeros((10**7, 4), np.float32)),
      ("more than", "batches"))
    C(S, "encode a 100,000-character text", lambda c: c.model("text").encode(["x" * 100_000]), ok=shape_is(1, 4))
    C(S, "encode bytes", lambda c: c.model("text").encode([b"bytes"]), ("string",))
    C(S, "fit on []", lambda c: _tv().fit([]), ("at least",))
    C(S, "fit with an empty text", lambda c: _tv().fit(["", "a b"]), ("empty",))
    C(S, "fit on numbers", lambda c: _tv().fit([1, 2]), ("string",))
    C(S, "fit on one string", lambda c: _tv().fit("one string"), ("one string",))
    C(S, "tokenizer from garbage", lambda c: _tok(b"garbage"), ("tokenizer",))
    C(S, "tokenizer cut in half", lambda c: _tok(_tok_bytes(c)[: len(_tok_bytes(c)) // 2]), ("tokenizer",))
    C(S, "load_texts a folder", lambda c: _load_texts(c.f("dir.txt")), ("folder", "directory"), bad=("exist",))
    C(S, "load_texts binary", lambda c: _load_texts(c.f("binary.txt")), ("utf-8",))
    C(S, "load_texts blank", lambda c: _load_texts(c.f("blank.txt")), ("no text",))
    C(S, "load_texts csv without text column", lambda c: _load_texts(c.f("nocol.csv")), ("column",))
    T = "text-cli"
    C(T, "train --data digits", lambda c: cli("train", "--family", "text_vae", "--data", "digits", "--epochs", "1",
                                              "--out", "r"), ("digits",))
    C(T, "evaluate --data digits", lambda c: cli("evaluate", c.f("text"), "--data", "digits", "--out", "e"),
      ("digits",))
    C(T, "sample --out s.png", lambda c: cli("sample", c.f("text"), "-n", "3", "--out", "s.png"), (".txt", "png"),
      ok=lambda r, w: Path("s.png").is_file())
    C(T, "sample --out s.txt", lambda c: cli("sample", c.f("text"), "-n", "3", "--out", "s.txt"),
      ok=lambda r, w: Path("s.txt").is_file() and len(Path("s.txt").read_text().splitlines()) == 3)
    C(T, "sample -n 0", lambda c: cli("sample", c.f("text"), "-n", "0"), ("n=0",))
    C(T, "sample -n 10**9", lambda c: cli("sample", c.f("text"), "-n", str(10**9)), ("more than",))
    C(T, "generate with a text model", lambda c: cli("generate", c.f("text"), "-n", "3", "--out", "g.npy"),
      ("text",))
    C(T, "interpolate --steps 10**7", lambda c: cli("interpolate", c.f("text"), "--from", a, "--to", b, "--steps",
                                                    str(10**7)), ("steps",))
    C(T, "interpolate without --from", lambda c: cli("interpolate", c.f("text")), ("--from",))
    C(T, "interpolate --out i.png", lambda c: cli("interpolate", c.f("text"), "--from", a, "--to", b, "--out",
                                                  "i.png"), (".txt", "png"), ok=lambda r, w: Path("i.png").is_file())


def _tv():
    import latentlab

    return latentlab.TextVAE(latent_dim=2, hidden=(8,), embed_dim=4, vocab_size=270)


def _tok(data: bytes):
    from latentlab.data.text import TextTokenizer

    return TextTokenizer.from_bytes(data, "bpe")


def _tok_bytes(c) -> bytes:
    return (Path(c.f("text")) / "tokenizer.json").read_bytes()


def _load_texts(path):
    from latentlab.data.text import load_texts

    return load_texts(path)


def _onnx():
    from latentlab.apps.onnx_export import export_onnx

    S = "onnx"

    def overflow(c):
        import onnxruntime

        big = c.model("big")
        z = big.encode(np.load(c.f("big.npy"))[:4]) * 1000
        paths = export_onnx(big, "out", part="decoder")
        return onnxruntime.InferenceSession(str(paths["decoder"])).run(None, {"z": z.astype(np.float32)})[0]

    C(S, "decoder whose scaler overflows", overflow, ("overflow",), ok=lambda r, w: bool(np.isfinite(r).all()))
    C(S, "export the codec", lambda c: export_onnx(c.model("codec"), "out"), ("codec", "imagecodec"))
    C(S, "export the denoiser", lambda c: export_onnx(c.model("den"), "out"), ("imagedenoiser", "denoiser"))
    C(S, "export a text model", lambda c: export_onnx(c.model("text"), "out"), ("text",))
    C(S, "export a transformer", lambda c: export_onnx(_transformer(c), "out"), ("model_", "estimator"))
    C(S, "export a string", lambda c: export_onnx("model", "out"), ("str",))
    C(S, "part='middle'", lambda c: export_onnx(c.model("ae"), "out", part="middle"), ("part",))
    C(S, "unfitted model", lambda c: export_onnx(_ae(), "out"), ("fitted", "fit"))
    C(S, "path is a file", lambda c: export_onnx(c.model("ae"), _file("x.bin")), ("x.bin",))


def _transformer(c):
    import latentlab

    return latentlab.AutoencoderTransformer(hidden=(8,), epochs=1).fit(c.digits()[:200])


def _ae():
    import latentlab

    return latentlab.Autoencoder(latent_dim=2, hidden=(8,))


def _file(name: str) -> str:
    Path(name).write_text("x")
    return name


def _loggers():
    from latentlab.training.logs import CSVLogger, TensorBoardLogger

    S = "loggers"

    def fit(c, logger, X=None, **kw):
        X = c.digits()[:200] if X is None else X
        return _ae().fit(X, epochs=1, verbose=False, callbacks=[logger], **kw)

    C(S, "images of the wrong width", lambda c: fit(c, TensorBoardLogger("tb", images=c.digits()[:4, :63])),
      ("63", "shape"))
    C(S, "table images (no picture)", lambda c: fit(c, TensorBoardLogger("tb", images=np.ones((4, 5))),
                                                     X=np.random.default_rng(0).random((64, 5))),
      ok=warns("picture", "image"))
    C(S, "NaN images", lambda c: fit(c, TensorBoardLogger("tb", images=np.full((4, 64), np.nan))), ("nan",))
    C(S, "string images", lambda c: TensorBoardLogger("tb", images=[["a"] * 64]), ("images",))
    C(S, "image_every=0", lambda c: TensorBoardLogger("tb", image_every=0), ("image_every",))
    C(S, "log_dir is a file", lambda c: TensorBoardLogger(_file("tb.txt")), ("tb.txt",))
    C(S, "CSV path is a folder", lambda c: CSVLogger(c.f("dir.png")), ("folder", "directory"))
    C(S, "CSV path under a file", lambda c: CSVLogger(Path(_file("f.txt")) / "log.csv"), ("f.txt",))
    C(S, "conditional model, images without labels", lambda c: _cvae_fit(c, TensorBoardLogger("tb",
                                                                                              images=c.digits()[:4])),
      ("labels",), ok=warns("labels"))


def _cvae_fit(c, logger):
    import latentlab

    X = c.digits()[:200]
    return latentlab.ConditionalVAE(latent_dim=2, hidden=(8,)).fit(X, np.arange(200) % 3, epochs=1, verbose=False,
                                                                   callbacks=[logger])


def _loaders():
    from latentlab.data.datasets import load_data
    from latentlab.data.shapes import load_dsprites, load_shapes
    from latentlab.data.streaming import open_source

    S = "loaders"
    C(S, "dSprites negative classes", lambda c: load_dsprites(c.f("ds_neg.npz")), ("negative",))
    C(S, "dSprites a folder", lambda c: load_dsprites(c.f("ds_dir.npz")), ("folder", "directory"), bad=("exist",))
    C(S, "dSprites NaN values", lambda c: load_dsprites(c.f("ds_nan.npz")), ("nan", "finite"))
    C(S, "dSprites float classes", lambda c: load_dsprites(c.f("ds_float.npz")), ("integer",))
    C(S, "dSprites 4 latent columns", lambda c: load_dsprites(c.f("ds_shape.npz")), ("expected",))
    C(S, "dSprites object arrays", lambda c: load_dsprites(c.f("ds_obj.npz")), ("object",))
    C(S, "dSprites empty", lambda c: load_dsprites(c.f("ds_empty.npz")), ("expected", "empty"))
    C(S, "dSprites not an archive", lambda c: load_dsprites(c.f("ds_text.npz")), ("npz", "archive"))
    C(S, "dSprites missing", lambda c: load_dsprites(c.f("nope.npz")), ("does not exist",))
    C(S, "dSprites n_samples=0", lambda c: load_dsprites(c.f("ds_ok.npz"), n_samples=0), ("n_samples",))
    C(S, "dSprites n_samples=-1", lambda c: load_dsprites(c.f("ds_ok.npz"), n_samples=-1), ("n_samples",))
    C(S, "dSprites counts", lambda c: load_dsprites(c.f("ds_ok.npz")).counts, ok=lambda r, w: r == (3, 1, 1, 1, 1))
    C(S, "shapes n_samples=0", lambda c: load_shapes(0), ("n_samples",))
    C(S, "shapes size=4", lambda c: load_shapes(10, size=4), ("size",))
    C(S, "shapes 4 shapes", lambda c: load_shapes(10, counts=(4, 6, 40, 32, 32)), ("shapes",))
    C(S, "load_data missing", lambda c: load_data("nope.npy"), ("does not exist",))
    C(S, "load_data a folder", lambda c: load_data(c.f("dir.npy")), ("folder", "directory"), bad=("exist",))
    C(S, "load_data empty .npy", lambda c: load_data(c.f("empty.npy")), ("empty", "no rows", "0 samples"),
      ok=lambda r, w: r[0].shape == (0, 64))
    C(S, "load_data complex .npy", lambda c: load_data(c.f("complex.npy")), ("complex",))
    C(S, "load_data pickled .npy", lambda c: load_data(c.f("obj.npy")), ("object",))
    C(S, "load_data empty .csv", lambda c: load_data(c.f("empty.csv")), ("empty", "no columns", "csv"))
    C(S, "load_data string column", lambda c: load_data(c.f("strings.csv")), ("non-numeric",))
    C(S, "open_source unknown suffix", lambda c: open_source(c.f("img.png")), ("stream",))
    C(S, "open_source folder of junk", lambda c: open_source(c.f("folder_empty")), ("no images",))


def _bounds():
    from latentlab.models.interpolation import interpolate_codes

    S = "bounds"
    X = lambda c: c.digits()  # noqa: E731
    C(S, "VAE log_likelihood k=10**7", lambda c: c.model("vae").log_likelihood(X(c)[:1], k=10**7), ("k=",))
    C(S, "VAE log_likelihood k=-1", lambda c: c.model("vae").log_likelihood(X(c)[:1], k=-1), ("k=",))
    C(S, "VAE elbo n_samples=10**7", lambda c: c.model("vae").elbo(X(c)[:1], n_samples=10**7), ("k=", "n_samples"))
    C(S, "VAE log_likelihood k=20000", lambda c: c.model("vae").log_likelihood(X(c)[:2], k=20000),
      ok=lambda r, w: r.shape == (2,) and np.isfinite(r).all())
    C(S, "AE sample(10**9)", lambda c: c.model("ae").sample(10**9), ("more than",))
    C(S, "AE sample(-3)", lambda c: c.model("ae").sample(-3), ("n=-3",))
    C(S, "AE interpolate steps=10**7", lambda c: c.model("ae").interpolate(X(c)[0], X(c)[1], steps=10**7),
      ("steps",))
    C(S, "interpolate_codes steps=10**9", lambda c: interpolate_codes(np.zeros(2), np.ones(2), 10**9), ("steps",))
    C(S, "interpolate_codes steps=2.5", lambda c: interpolate_codes(np.zeros(2), np.ones(2), 2.5), ("steps",))
    C(S, "denoiser config depth 10**6", lambda c: _load(c.f("den_deep")), ("depth",))
    C(S, "denoiser config of 40 stages", lambda c: _load(c.f("den_stages")), ("stages", "hidden"))
    C(S, "denoiser config 10**6 channels", lambda c: _load(c.f("den_wide")), ("values", "hidden"))
    C(S, "ImageDenoiser(depth=10**6)", lambda c: __import__("latentlab").ImageDenoiser(depth=10**6), ("depth",))
    C(S, "cli generate -n 10**9", lambda c: cli("generate", c.f("ae"), "-n", str(10**9), "--out", "g.npy"),
      ("more than",))
    C(S, "cli interpolate --steps 10**7", lambda c: cli("interpolate", c.f("ae"), "digits", "--steps", str(10**7)),
      ("steps",))
    C(S, "cli evaluate --k 10**7", lambda c: cli("evaluate", c.f("vae"), "--data", c.f("X.npy"), "--k", str(10**7),
                                                 "--out", "e"), ("k=",))


def _load(path):
    import latentlab

    return latentlab.load(path)


for _group in (_photos, _images, _codec, _text, _onnx, _loggers, _loaders, _bounds):
    _group()
_hostile_series.register(C, cli)  # the "series" and "estimators" surfaces

__all__ = ["CASES", "Case", "Context", "CliFailure", "cli"]
