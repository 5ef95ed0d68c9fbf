"""``latentlab compress-image [RUN] IN.png OUT.llc [--quality Q]`` and ``latentlab decompress-image [RUN] IN.llc OUT.png``.

With no RUN, both use the codec shipped in the package (:meth:`latentlab.ImageCodec.pretrained`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub, command: str | None = None) -> None:
    """Add this group's sub-commands to the parser (``command``: see :func:`latentlab.cli.build_parser`)."""
    p = sub.add_parser(
        "compress-image",
        help="code a photograph into bytes with the shipped ImageCodec or a trained one",
        description="Code IN (PNG, JPEG, ... grey or colour) with the ImageCodec saved in RUN (with no RUN: the codec "
        "shipped in the package) and write the bytes to OUT. Prints the size and the bits per pixel (header included).",
    )
    p.add_argument("run_dir", metavar="RUN", nargs="?", default=None,
                   help="a saved ImageCodec folder (default: the shipped codec, latentlab.ImageCodec.pretrained())")
    p.add_argument("image", metavar="IN")
    p.add_argument("out", metavar="OUT")
    p.add_argument("--quality", type=int, default=None,
                   help="1 (lowest rate) to the model's number of qualities (default: the middle one, 4 of the "
                   "shipped codec's 7)")
    p.set_defaults(handler=cmd_compress_image)
    p = sub.add_parser(
        "decompress-image",
        help="decode bytes written by compress-image into an image file",
        description="Decode IN, written by compress-image with the same RUN (with no RUN: the shipped codec), and save "
        "the photo to OUT (PNG is lossless).",
    )
    p.add_argument("run_dir", metavar="RUN", nargs="?", default=None,
                   help="the ImageCodec folder that wrote IN (default: the shipped codec)")
    p.add_argument("data", metavar="IN")
    p.add_argument("out", metavar="OUT")
    p.add_argument("--max-pixels", type=int, default=None, help="refuse bytes declaring more pixels (default 2^25)")
    p.set_defaults(handler=cmd_decompress_image)


def _read(path: str) -> bytes:
    from latentlab.data.validation import input_file

    return input_file(path, "the compressed file itself").read_bytes()


def _codec(run_dir: str | None):
    from latentlab import ImageCodec

    return ImageCodec.pretrained() if run_dir is None else ImageCodec.load(run_dir)


def cmd_compress_image(args: argparse.Namespace) -> int:
    from latentlab._files import atomic_write_bytes

    codec = _codec(args.run_dir)
    quality = (codec.config.qualities + 1) // 2 if args.quality is None else args.quality
    blob = codec.compress(args.image, quality=quality)
    atomic_write_bytes(args.out, blob)
    hd = codec.read_header(blob)
    print(f"{args.out}: {len(blob)} bytes, {hd['width']}x{hd['height']}, {codec.bits_per_pixel(blob):.4f} bits per pixel "
          f"at quality {quality} of {codec.config.qualities}" + (" (the shipped codec)" if args.run_dir is None else ""))
    return 0


def cmd_decompress_image(args: argparse.Namespace) -> int:
    import io

    from PIL import Image

    from latentlab._files import atomic_write_bytes
    from latentlab.apps.image_codec import MAX_PIXELS
    from latentlab.errors import DataError

    codec = _codec(args.run_dir)
    img = codec.decompress(_read(args.data), max_pixels=args.max_pixels or MAX_PIXELS)
    buf = io.BytesIO()
    fmt = Image.registered_extensions().get(Path(args.out).suffix.lower())
    if fmt is None:
        raise DataError(f"{args.out}: unknown image extension; use .png (lossless), .tif or .bmp.")
    Image.fromarray(img).save(buf, format=fmt)
    atomic_write_bytes(args.out, buf.getvalue())
    print(f"{args.out}: {img.shape[1]}x{img.shape[0]}, {'colour' if img.ndim == 3 else 'grey'}")
    return 0
