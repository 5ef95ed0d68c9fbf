"""``latentlab denoise IN OUT --model RUN`` and ``latentlab train-denoiser PHOTOS --out RUN``: photos of any size."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub, command: str | None = None) -> None:
    """Add this group's sub-commands to the parser (``command``: see :func:`latentlab.cli.build_parser`)."""
    p = sub.add_parser(
        "denoise",
        help="remove Gaussian noise from a photo (the shipped denoiser, or one you trained)",
        description="Denoise IN (PNG, JPEG, ... of any size; grey or RGB) into OUT. "
        "An alpha channel is dropped from the input and put back unchanged on the output; 16-bit inputs give "
        "16-bit PNG outputs when grey.",
    )
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--model", default=None, metavar="RUN",
                   help="folder written by ImageDenoiser.save or train-denoiser (default: the shipped blind grey "
                        "denoiser, noise levels 0-55; colour photos go through it in an opponent colour space)")
    p.add_argument("--tile", type=int, default=512, help="tile side in pixels; memory grows with it (default 512)")
    p.add_argument("--ensemble", type=int, default=1, choices=(1, 2, 4, 8),
                   help="average this many flipped and transposed copies (about 0.1 dB more PSNR at 8, 8 times the "
                        "time; default 1)")
    p.add_argument("--runtime", default="auto", choices=("auto", "onnxruntime", "torch"),
                   help="what runs the shipped denoiser: onnxruntime (the same pixels to float rounding, without "
                        "torch's second of imports) or torch; auto (default): onnxruntime where it is installed. A "
                        "--model folder always runs in torch")
    p.set_defaults(handler=cmd_denoise)

    t = sub.add_parser(
        "train-denoiser",
        help="train an ImageDenoiser on random patches of a folder of photos",
        description="Train a denoiser for Gaussian noise of standard deviation --sigma (in 8-bit levels) on "
        "random patches of the photos in PHOTOS (a folder or files), and save it to --out.",
    )
    t.add_argument("photos", metavar="PHOTOS", nargs="+")
    t.add_argument("--out", required=True, metavar="RUN")
    t.add_argument("--sigma", type=float, required=True, help="noise standard deviation on 0..255 (e.g. 25)")
    t.add_argument("--mode", choices=["L", "RGB"], default=None, help="grey or colour (default: what the photos are)")
    t.add_argument("--epochs", type=int, default=30, metavar="N", help="passes of --patches-per-epoch patches (default 30)")
    t.add_argument("--patch-size", type=int, default=48, metavar="PX",
                   help="side of the square training patches in pixels (default 48)")
    t.add_argument("--patches-per-epoch", type=int, default=2048, metavar="N",
                   help="random patches cut from the photos for each epoch (default 2048)")
    t.add_argument("--amp", action="store_true", help="bf16 autocast (faster where the CPU has bf16 units)")
    t.add_argument("--seed", type=int, default=0, help="random seed of the training run (default 0)")
    t.set_defaults(handler=cmd_train_denoiser)


def cmd_denoise(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from latentlab._files import atomic_write_bytes
    from latentlab.errors import DataError

    den = _denoiser(args)
    src = Path(args.input)
    alpha = None
    deep = False
    out = den.denoise(src, tile=args.tile, ensemble=args.ensemble)  # (C, H, W) in [0, 1]; checks the file before anything is decoded
    try:
        with Image.open(src) as im:
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                alpha = np.asarray(im.convert("RGBA"))[..., 3]
            deep = im.mode.startswith("I;16") or im.mode == "I"
    except (OSError, ValueError):
        pass  # denoise above read the same file, so this cannot fail in a way it did not report
    if deep and out.shape[0] == 1:
        img = Image.fromarray(np.rint(out[0] * 65535).astype(np.uint16))
    else:
        u8 = np.rint(out * 255).astype(np.uint8)
        planes = [u8[0]] if u8.shape[0] == 1 else list(u8)
        mode = "L" if len(planes) == 1 else "RGB"
        if alpha is not None:
            planes, mode = planes + [alpha], mode + "A"
        img = Image.fromarray(np.stack(planes, -1) if len(planes) > 1 else planes[0], mode)
    import io

    fmt = (Path(args.output).suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG")
    if fmt == "JPEG" and img.mode in ("LA", "RGBA"):
        img = img.convert(img.mode[:-1])
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(f"cannot write {args.output} ({exc}); use a .png, .jpg or .tif name.") from None
    atomic_write_bytes(Path(args.output), buf.getvalue())
    print(f"{args.output}: {out.shape[2]}x{out.shape[1]}, {'grey' if out.shape[0] == 1 else 'RGB'}, "
          + (f"denoised blind (noise levels 0-{den.config.max_noise_level * 255:.0f}/255)" if den.config.max_noise_level
             else f"denoised for sigma {den.config.noise_level * 255:.1f}/255"))
    return 0


def _denoiser(args: argparse.Namespace):
    """The shipped denoiser in onnxruntime (no torch import) or torch, or the --model folder (torch)."""
    import importlib.util

    from latentlab.errors import ConfigError

    if args.model is not None:
        if args.runtime == "onnxruntime":
            raise ConfigError("--runtime onnxruntime runs the shipped denoiser only; a --model folder runs in torch "
                              "(leave --runtime out).")
        import latentlab

        return latentlab.ImageDenoiser.load(args.model)
    if args.runtime == "onnxruntime" or (args.runtime == "auto" and importlib.util.find_spec("onnxruntime")):
        from latentlab.models.denoising import OnnxDenoiser

        return OnnxDenoiser.pretrained()
    import latentlab

    return latentlab.ImageDenoiser.pretrained()


def cmd_train_denoiser(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab.errors import DataError

    if not 0 < args.sigma < 255:
        raise DataError(f"--sigma {args.sigma} must be in (0, 255): the noise's standard deviation on 0..255.")
    photos = args.photos[0] if len(args.photos) == 1 else args.photos
    den = latentlab.ImageDenoiser()
    den.fit(photos, noise_level=args.sigma / 255, mode=args.mode, patch_size=args.patch_size,
            patches_per_epoch=args.patches_per_epoch, epochs=args.epochs, amp=args.amp, seed=args.seed)
    den.save(args.out)
    print(f"saved to {args.out} (val_mse {den.history[-1].get('val_mse', float('nan')):.3g})")
    return 0
