"""``latentlab export-onnx RUN OUT_DIR``: a run's encoder and decoder as ONNX files."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub, command: str | None = None) -> None:
    """Add this group's sub-commands to the parser (``command``: see :func:`latentlab.cli.build_parser`)."""
    p = sub.add_parser(
        "export-onnx",
        help="write a run's encoder and decoder as ONNX files (the onnx extra)",
        description="Write OUT_DIR/encoder.onnx and OUT_DIR/decoder.onnx for a saved run. The graphs include the "
        "fitted input scaling, so they take and return data in your own units, with a dynamic batch axis. "
        "The sequence families' encoders cannot be exported: use --part decoder for them.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--part", default="both", choices=["encoder", "decoder", "both"], help="what to export (default both)")
    p.set_defaults(handler=cmd_export_onnx)


def cmd_export_onnx(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab.apps.onnx_export import export_onnx
    from latentlab.errors import ConfigError

    model = latentlab.LatentModel.load(args.run_dir)
    try:
        paths = export_onnx(model, Path(args.out_dir), part=args.part)
    except ImportError as exc:
        raise ConfigError(str(exc)) from None
    cond = " and int64 labels y (batch,)" if model.config.n_classes else ""
    shape = ", ".join(str(s) for s in model.config.input_shape)
    for part, path in paths.items():
        io = f"x (batch, {shape}){cond} -> z (batch, {model.config.latent_dim})" if part == "encoder" else \
            f"z (batch, {model.config.latent_dim}){cond} -> x (batch, {shape})"
        print(f"{part:8s} {path}  {io}")
    print("inputs and outputs are in the data's own units (the fitted scaling is in the graphs)")
    return 0
