"""Text models on the command line: training on a text file, printing samples and interpolations.

Used by ``train``, ``sample`` and ``interpolate`` (in :mod:`latentlab.cli.core`
and :mod:`latentlab.cli.jobs`) when the model is a text model (``model.is_text``);
this module adds no command of its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EMBEDDED = ("digits", "pydoc")  # the default --data, and the corpus's own name: the embedded sentences


def train_text(args: argparse.Namespace, model, train_opts: dict, callbacks: dict) -> int:
    """``latentlab train --family text_vae --data texts.txt``: fit, save, and print a summary."""
    import numpy as np

    from latentlab.data.text import load_text_corpus, load_texts
    from latentlab.errors import ConfigError

    if args.stream or args.test_fraction:
        raise ConfigError("--stream and --test-fraction do not apply to text; hold out a text file of your own.")
    if args.data in EMBEDDED:
        texts, y = load_text_corpus()
        print(f"training on the embedded corpus: {len(texts)} sentences of Python's documentation", file=sys.stderr)
        record = {"data": "pydoc"}
    else:
        texts, y = load_texts(args.data, label_column=args.label_column)
        record = {"data": str(args.data)}
    if args.data in EMBEDDED and args.label_column is None:
        y = None  # the corpus's topic labels condition the model only when asked for (--label-column topic)
    model.fit(texts, y, **train_opts, **callbacks)
    model.attach_view(texts[:2000], y if y is None else y[:2000])  # the explorer's map of training sentences
    exact = float(np.mean([a == b for a, b in zip(model.reconstruct(texts, y), texts)]))
    out = Path(args.out)
    model.save(out, metrics={"train_exact_match": exact, "epochs_run": len(model.history), "data_split": record})
    print(f"trained {args.family} on {len(texts)} texts for {len(model.history)} epochs; "
          f"{exact:.1%} reconstructed exactly; saved to {out}")
    return 0


def print_samples(model, args: argparse.Namespace) -> int:
    """``latentlab sample RUN -n 10``: one sampled text per line."""
    for text in model.sample(args.n, y=args.label, seed=args.seed, temperature=args.temperature):
        print(one_line(text))
    return 0


def print_interpolation(model, args: argparse.Namespace) -> int:
    """``latentlab interpolate RUN --from "..." --to "..."``: the decoded path, one text per line."""
    from latentlab.errors import ConfigError

    if args.from_text is None or args.to_text is None:
        raise ConfigError('a text model interpolates between two texts: pass --from "..." --to "...".')
    for text in model.interpolate(args.from_text, args.to_text, steps=args.steps, method=args.method, y=args.label):
        print(one_line(text))
    return 0


def one_line(text: str) -> str:
    """A text on one line: line breaks (which a barely trained model may emit) become spaces."""
    return " ".join(text.splitlines())
