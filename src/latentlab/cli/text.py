"""Text models on the command line: training on a text file, printing samples and interpolations.

Used by ``train``, ``evaluate``, ``sample`` and ``interpolate`` (in :mod:`latentlab.cli.core`
and :mod:`latentlab.cli.jobs`) when the model is a text model (``model.is_text``);
this module adds no command of its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EMBEDDED = ("pydoc",)  # the embedded sentences' name as --data
TEXT_OUT = ".txt"  # the one file format texts are written to (one text a line)


def train_text(args: argparse.Namespace, model, train_opts: dict, callbacks: dict) -> int:
    """``latentlab train --family text_vae --data texts.txt``: fit, save, and print a summary."""
    import numpy as np

    from latentlab.apps.text_evaluation import split_texts, text_split_record
    from latentlab.errors import ConfigError

    if args.stream:
        raise ConfigError("--stream does not apply to text; give a text file (or --data pydoc).")
    texts, y, spec = read_texts(args.data, args.label_column)
    record = text_split_record(spec, texts, args.test_fraction)
    if args.test_fraction:  # held out for `latentlab evaluate`, which finds the same part again
        texts, y, held, _ = split_texts(texts, y, args.test_fraction)
        print(f"holding out {len(held)} texts for `latentlab evaluate`", file=sys.stderr)
    model.fit(texts, y, **train_opts, **callbacks)
    model.attach_view(texts[:2000], y if y is None else y[:2000])  # the explorer's map of training sentences
    exact = float(np.mean([a == b for a, b in zip(model.reconstruct(texts, y), texts)]))
    out = Path(args.out)
    model.save(out, metrics={"train_exact_match": exact, "epochs_run": len(model.history), "data_split": record})
    print(f"trained {args.family} on {len(texts)} texts for {len(model.history)} epochs; "
          f"{exact:.1%} reconstructed exactly; saved to {out}")
    return 0


def read_texts(data: str, label_column: str | None):
    """``(texts, labels or None, spec)`` of ``--data``: the embedded corpus ('pydoc') or a file.

    'digits' (the default --data of the array families) and the other named image and series data sets
    are refused: a text model reads texts, and it must not quietly read the embedded corpus instead.
    """
    from latentlab.data.loaders import LOADERS
    from latentlab.data.sequences import SERIES
    from latentlab.data.text import load_text_corpus, load_texts
    from latentlab.errors import ConfigError

    if data == "digits" or data in LOADERS or data in SERIES:
        raise ConfigError(
            f"--data {data} is an array data set (digits is also the default --data), not texts: give a text model "
            "a .txt file (one text a line), a .csv file with a text column, or --data pydoc for the embedded "
            "sentences."
        )
    if data in EMBEDDED:
        texts, y = load_text_corpus()
        print(f"the embedded corpus: {len(texts)} sentences of Python's documentation", file=sys.stderr)
        # the corpus's topic labels condition the model only when asked for (--label-column topic)
        return texts, (y if label_column is not None else None), "pydoc"
    texts, y = load_texts(data, label_column=label_column)
    return texts, y, str(data)


def evaluate_text(model, args: argparse.Namespace) -> int:
    """``latentlab evaluate RUN --data texts.txt`` for a text model: NLL per token, bits per character, KL, active units."""
    import json

    from latentlab.apps.text_evaluation import evaluate_text_run, text_evaluation_data
    from latentlab.errors import ConfigError

    if args.anomaly_labels or getattr(args, "factors", None):
        raise ConfigError("--anomaly-labels and --factors apply to arrays, not to text models.")
    texts, y, spec = read_texts(args.data, args.label_column)
    if model.config.n_classes and y is None:
        raise ConfigError("this text model is conditioned on labels: give --label-column (topic for --data pydoc).")
    record = model.metrics.get("data_split") if isinstance(model.metrics, dict) else None
    texts, y, split, description = text_evaluation_data(
        record, spec, texts, y, on_training_data=args.on_training_data, run=args.run_dir
    )
    metrics = evaluate_text_run(
        model, texts, y, Path(args.out or args.run_dir), k=args.k, beam=getattr(args, "beam", 1),
        data={"split": split, "description": description, "n_samples": len(texts)},
    )
    print(f"scored {description}", file=sys.stderr)
    print(json.dumps({"split": split, **metrics}, indent=2))
    return 0


#: The decoding options of the text commands: (flag, type, metavar, help). Their defaults are the library's
#: (:class:`latentlab.models.text_decoding.Decoding`): an option left out is not passed on.
DECODING_OPTIONS = (
    ("--temperature", float, "T", "text models: 0 decodes greedily (default); > 0 samples each token"),
    ("--top-p", float, "P", "text models, with --temperature > 0: sample among the smallest set of most probable "
                            "tokens whose probability reaches P (default 1: all)"),
    ("--beam", int, "K", "text models: beam search of this width (default 1: none)"),
    ("--guidance", float, "W", "text models with labels: lean the texts to --label (default 0: none)"),
    ("--no-repeat-ngram", int, "N", "text models: never repeat an N-gram of tokens within a text "
                                    "(default 4; 0: no block)"),
    ("--repetition-penalty", float, "R", "text models: lower the scores of tokens already written by R "
                                         "(default 1: none; 1.2 is CTRL's)"),
)


def add_decoding_options(p: argparse.ArgumentParser, seed: bool = False) -> None:
    """Add the text decoding options (and ``--seed``, where the command has none) to a command's parser."""
    for flag, kind, metavar, text in DECODING_OPTIONS:
        p.add_argument(flag, type=kind, default=None, metavar=metavar, help=text)
    if seed:
        p.add_argument("--seed", type=int, default=0, help="text models: seed of sampled decoding (default 0)")


def decoding_options(args: argparse.Namespace) -> dict:
    """The decoding options given on the command line, by the names the text models' methods take."""
    names = (flag[2:].replace("-", "_") for flag, *_ in DECODING_OPTIONS)
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def print_samples(model, args: argparse.Namespace) -> int:
    """``latentlab sample RUN -n 10``: one sampled text per line, printed, or written to ``--out FILE.txt``."""
    out = text_out(args.out)
    texts = model.sample(args.n, y=args.label, seed=args.seed, **decoding_options(args))
    return emit(texts, out, "sampled texts")


def print_interpolation(model, args: argparse.Namespace) -> int:
    """``latentlab interpolate RUN --from "..." --to "..."``: the decoded path, one text per line (or ``--out``)."""
    from latentlab.errors import ConfigError

    if args.from_text is None or args.to_text is None:
        raise ConfigError('a text model interpolates between two texts: pass --from "..." --to "...".')
    out = text_out(args.out)
    texts = model.interpolate(args.from_text, args.to_text, steps=args.steps, method=args.method, y=args.label,
                              seed=getattr(args, "seed", 0), **decoding_options(args))
    return emit(texts, out, f"interpolation steps ({args.method})")


def text_out(out: str | None) -> Path | None:
    """``--out`` of a text model's samples: None (print them) or a ``.txt`` file; anything else is refused
    before any work is done (texts are not an image or an array)."""
    from latentlab.errors import ConfigError

    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() != TEXT_OUT or path.is_dir():
        raise ConfigError(
            f"--out {out}: a text model's output is texts, written one a line to a {TEXT_OUT} file; give a name "
            f"ending in {TEXT_OUT}, or leave --out out to print them."
        )
    return path


def emit(texts: list[str], out: Path | None, what: str) -> int:
    """Print the texts one a line, or write them so (atomically) to ``out`` and say so."""
    lines = [one_line(t) for t in texts]
    if out is None:
        for line in lines:
            print(line)
        return 0
    from latentlab._files import atomic_write_bytes

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, "".join(line + "\n" for line in lines).encode("utf-8"))
    print(f"wrote {len(lines)} {what} to {out}, one a line")
    return 0


def one_line(text: str) -> str:
    """A text on one line: line breaks (which a barely trained model may emit) become spaces."""
    return " ".join(text.splitlines())
