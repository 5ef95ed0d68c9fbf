"""Core commands: train, evaluate, sample, info, demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .options import add_model_options, add_train_options, model_options_for, pick
from .text import add_decoding_options


def register(sub, command: str | None = None) -> None:
    """Add this group's sub-commands to the parser (``command``: see :func:`latentlab.cli.build_parser`)."""
    p = sub.add_parser(
        "train",
        help="train a model and save it to a run folder",
        description="Train a model and save it to a run folder. The model options' defaults shown are those of "
        "the --family given (vae when none is): `latentlab train --family ae --help` lists the AE's.",
        add_help=False,
    )
    p.add_argument(
        "-h", "--help", action=_HelpForFamily, nargs=0, help="show this help (with --family F: F's defaults) and exit"
    )
    p.add_argument("--family", default="vae", help="model family (see `latentlab info`); default vae")
    p.add_argument(
        "--data",
        default="digits",
        help="'digits' (embedded), 'mnist', 'fashion-mnist', 'kmnist' or 'cifar10' (from $LATENTLAB_DATA), "
        "a .npy / .csv / .parquet file, or an image folder",
    )
    p.add_argument("--label-column", default=None, help="CSV column holding labels (kept out of the features)")
    p.add_argument("--out", default="runs/latest", help="run folder to write (default runs/latest)")
    p.add_argument("--figures", action="store_true", help="also write the PNG figures")
    p.add_argument(
        "--stream",
        action="store_true",
        help="read --data in chunks (data bigger than memory): a .npy, .csv or .parquet file or an image folder",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="write OUT/checkpoint.safetensors every N epochs (and after the last)",
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=None,
        metavar="S",
        help="also write the checkpoint whenever S seconds have passed since the last one",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.safetensors if it exists (else start afresh)",
    )
    p.add_argument(
        "--log-dir",
        default=None,
        metavar="DIR",
        help="write TensorBoard scalars (each loss part, lr, time) and reconstructions to DIR (needs tensorboard)",
    )
    p.add_argument("--csv-log", default=None, metavar="FILE", help="write one CSV row per epoch (every logged value)")
    p.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        metavar="F",
        help="share of --data held out from training, for `evaluate` (default: 0.25 of digits, the official test "
        "set of mnist & co., none of a file); recorded in OUT/metrics.json",
    )
    if command == "train":  # the options come from the model and training configs, which import torch
        add_model_options(p)
        add_train_options(p)
    p.set_defaults(handler=cmd_train, train_parser=p)

    p = sub.add_parser(
        "evaluate",
        help="reconstruction metrics of a saved run on data it did not train on",
        description="Score a saved run and write report.md. On the data the run was trained on (as recorded by "
        "`train`) only the held-out part is scored, unless --on-training-data is given; the report says which.",
    )
    p.add_argument("run_dir")
    p.add_argument("--data", default="digits", help="'digits', or a .npy / .csv file")
    p.add_argument("--label-column", default=None)
    p.add_argument("--out", default=None, help="folder for report.md and figures (default: RUN_DIR)")
    p.add_argument("--k", type=int, default=100, help="importance samples of the NLL estimate (VAEs; default 100)")
    p.add_argument("--anomaly-labels", default=None, help=".npy or one-column .csv of 0/1 (1 = anomaly) per sample")
    p.add_argument(
        "--on-training-data",
        action="store_true",
        help="score the rows the run trained on (optimistic); by default evaluate scores only data it did not see",
    )
    p.add_argument(
        "--factors", default=None,
        help=".npy of integer ground-truth factors, one row per scored sample: adds MIG, DCI, FactorVAE score, SAP",
    )
    p.add_argument("--beam", type=int, default=1, help="text models: beam width of the reconstructions (1: greedy)")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("sample", help="decode samples from the prior of a saved run")
    p.add_argument("run_dir")
    p.add_argument("-n", "--n", type=int, default=16, help="number of samples (default 16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None, help="class to sample (conditional models)")
    p.add_argument("--out", default=None, help=".npy file to write (default RUN_DIR/samples.npy)")
    add_decoding_options(p)  # --temperature, --top-p, --beam, --guidance, the repetition guard
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("info", help="version, device and available families")
    p.add_argument("run_dir", nargs="?", default=None, help="optionally, a run folder to describe")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("demo", help="train a 2-D VAE on digits and write figures to runs/demo")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_demo)


class _HelpForFamily(argparse.Action):
    """``-h``: noted, and printed once the whole line is read, so ``--help --family ae`` shows the AE's defaults."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        namespace.show_help = True


def _check_writable(out: Path) -> None:
    """Refuse an --out that cannot be written, before any training time is spent."""
    import tempfile

    from latentlab.errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the run.")
    probe_at = out if out.is_dir() else next((p for p in out.parents if p.exists()), Path("."))
    try:
        with tempfile.NamedTemporaryFile(dir=probe_at, prefix=".latentlab-write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--out {out} cannot be written ({exc.strerror}); choose a writable folder.") from None


def cmd_train(args: argparse.Namespace) -> int:
    if getattr(args, "show_help", False):
        from .options import show_family_defaults

        show_family_defaults(args.train_parser, args.family)
        args.train_parser.print_help()
        return 0
    import latentlab
    from latentlab.training import distributed
    from latentlab.training.trainer import TrainConfig

    model = latentlab.create(args.family, **model_options_for(args, args.family))
    train_opts = pick(args, TrainConfig)
    if distributed.is_main_process():
        _check_writable(Path(args.out))  # before training, not after it
    if getattr(model, "is_text", False):
        from .text import train_text

        return train_text(args, model, train_opts, _fit_callbacks(args, None))
    X_test = y_test = None
    if args.stream or Path(args.data).is_dir() or args.data.endswith((".parquet", ".pq")):
        from latentlab.apps.datasplit import streamed_record
        from latentlab.data.streaming import open_source

        if args.test_fraction:
            from latentlab.errors import ConfigError

            raise ConfigError("--test-fraction does not apply to streamed data; hold out a file of your own.")
        source = open_source(args.data, args.label_column)
        model.fit_source(source, **train_opts, **_fit_callbacks(args, None))
        X, y = next(source.stream(4096))  # metrics and figures on the first rows only
        record = streamed_record(args.data)
    else:
        from latentlab.apps.datasplit import training_split

        split = training_split(args.data, args.label_column, args.test_fraction)
        X, y, X_test, y_test, record = split.X, split.y, split.X_test, split.y_test, split.record
        model.fit(X, y, **train_opts, **_fit_callbacks(args, X, y))
    world = distributed.world_size()
    if not distributed.is_main_process():  # under torchrun only rank 0 writes files and prints
        distributed.barrier()
        distributed.cleanup()
        return 0
    out = Path(args.out)
    mse = _mse(model, X, y)
    metrics = {"train_mse": mse, "epochs_run": len(model.history), "world_size": world, "data_split": record}
    held = ""
    if X_test is not None:
        metrics["test_mse"] = _mse(model, X_test, y_test)
        held = f"; held-out MSE {metrics['test_mse']:.5f} ({len(X_test)} samples)"
    model.save(out, metrics=metrics)
    if args.figures:
        from latentlab.apps.figures import write_figures

        write_figures(model, X, y, out)
    print(f"trained {args.family} for {len(model.history)} epochs; train MSE {mse:.5f}{held}; saved to {out}")
    distributed.barrier()  # the other ranks wait until the files are written
    distributed.cleanup()
    return 0


def _mse(model, X, y) -> float:
    rec = model.reconstruct(X, y if model.config.n_classes else None)
    return float(np.nanmean((rec - X.reshape(rec.shape)) ** 2))


def _fit_callbacks(args: argparse.Namespace, X, y=None) -> dict:
    """``callbacks`` (and ``resume``) for ``fit``: checkpoints, then the --csv-log and --log-dir loggers."""
    opts = _checkpointing(args)
    callbacks = list(opts.get("callbacks", []))
    if args.csv_log or args.log_dir:
        from latentlab.training.logs import CSVLogger, TensorBoardLogger

        if args.csv_log:
            callbacks.append(CSVLogger(args.csv_log))
        if args.log_dir:
            try:
                callbacks.append(TensorBoardLogger(args.log_dir, images=None if X is None else X[:8], labels=y))
            except ImportError as exc:
                from latentlab.errors import ConfigError

                raise ConfigError(f"--log-dir: {exc}") from None
    if callbacks:
        opts["callbacks"] = callbacks
    return opts


def _checkpointing(args: argparse.Namespace) -> dict:
    """``callbacks`` and ``resume`` for ``fit`` from --checkpoint-every/--checkpoint-seconds/--resume."""
    from latentlab.training.checkpoint import CHECKPOINT_NAME, Checkpoint

    every, seconds = args.checkpoint_every, args.checkpoint_seconds
    if every is None and seconds is None and not args.resume:
        return {}
    path = Path(args.out) / CHECKPOINT_NAME
    opts: dict = {"callbacks": [Checkpoint(path, every if every is not None or seconds else 1, seconds)]}
    if args.resume and path.is_file():
        print(f"resuming from {path}", file=sys.stderr)
        opts["resume"] = path
    elif args.resume:
        print(f"no checkpoint at {path} yet; starting afresh", file=sys.stderr)
    return opts


def cmd_evaluate(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab.apps.datasplit import evaluation_data
    from latentlab.apps.evaluation import evaluate_run

    model = latentlab.LatentModel.load(args.run_dir)
    if getattr(model, "is_text", False):  # texts: NLL per token, bits per character, KL, active units
        from .text import evaluate_text

        return evaluate_text(model, args)
    record = model.metrics.get("data_split") if isinstance(model.metrics, dict) else None
    X, y, split, description = evaluation_data(
        record, args.data, args.label_column, on_training_data=args.on_training_data, run=args.run_dir
    )
    anomalies = None
    if args.anomaly_labels:
        from latentlab.cli.jobs import read_vector

        anomalies = read_vector(args.anomaly_labels, len(X), "--anomaly-labels")
    factors = None
    if getattr(args, "factors", None):
        from latentlab.data.datasets import read_table

        factors = read_table(args.factors)[0].astype(np.int64)
    metrics = evaluate_run(
        model, X, y, Path(args.out or args.run_dir), anomaly_labels=anomalies, k=args.k,
        data={"split": split, "description": description, "n_samples": int(len(X))}, factors=factors,
    )
    print(f"scored {description}", file=sys.stderr)
    print(json.dumps(metrics, indent=2))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import latentlab
    from latentlab.errors import ConfigError

    from .._files import atomic_write_bytes

    model = latentlab.LatentModel.load(args.run_dir)
    k = model.config.n_classes
    if k and args.label is None:
        raise ConfigError(f"this run is conditional: give --label K to pick the class (0..{k - 1}).")
    if not k and args.label is not None:
        raise ConfigError("--label needs a conditional run (a cvae); this one is unconditional.")
    if getattr(model, "is_text", False):  # texts are printed, one a line
        from .text import print_samples

        return print_samples(model, args)
    samples = model.sample(args.n, y=args.label, seed=args.seed)
    out = Path(args.out or Path(args.run_dir) / "samples.npy")
    import io

    buf = io.BytesIO()
    np.save(buf, samples, allow_pickle=False)
    atomic_write_bytes(out, buf.getvalue())
    print(f"wrote {args.n} samples of shape {samples.shape[1:]} to {out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import torch

    import latentlab
    from latentlab.training.device import resolve_device

    if args.run_dir:
        from latentlab.models.io import read_config

        _, config, doc = read_config(args.run_dir)
        print(json.dumps(doc, indent=2))
        return 0
    print(f"latentlab {latentlab.__version__}  torch {torch.__version__}  device {resolve_device('auto')}")
    print("families: " + ", ".join(latentlab.families()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from latentlab.apps.demo import run_demo

    run_demo(args.out, epochs=args.epochs, verbose=not args.quiet)
    return 0
