"""Weights shipped in the package: where they are, and the SHA-256 each file must have.

A shipped model is a saved folder like any other (``config.json`` +
``model.safetensors`` + ``metrics.json``, and ``scaler.json`` where the model has one) under
``latentlab/pretrained/NAME/``, written by the recipe named in its model card
(``docs/pretrained.md``). Before it is opened, every file's SHA-256 is
compared with :data:`SHIPPED`, so a damaged or altered install is refused
with a message instead of giving wrong pixels. It is then read through the
same safe path as every model file (JSON + safetensors, nothing unpickled).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from ..errors import ModelFileError

#: name -> {file: SHA-256}; the recipe's ``--export`` prints these lines.
SHIPPED: dict[str, dict[str, str]] = {
    "denoiser-grey": {  # benchmarks/recipes/denoiser.py, recipe denoiser-grey-blind-v2-128, --weights float16
        "config.json": "9ebb52bee2cea75c7fc4a43836cede13200145dcab5d6f3d0586d88c3214f1c7",
        "model.safetensors": "76d81d4217e9a35024267bfbce5d8962fcc8d5849d9114a2e65dfb27d89a940e",
        "scaler.json": "49103b2910b57fc88fe3b0181f493e418664585b034ab7ed39bd7f21ab70e93e",
        "metrics.json": "f08ec68f21986900fe7db6c3b4d7e4ad05a922f1a81de95981a3a3de09c2cd43",
        # the network's graph without its weights, for onnxruntime (latentlab.models.denoising.OnnxDenoiser)
        "denoiser.onnx": "c41779fbcdec0c8509e5fbad62e595bfe9d3a3aa0affcd2b439b218048bf483f",
    },
    "codec-grey": {  # the 7-quality stage of benchmarks/recipes/codec.py, from the first recipe's finished run
        "config.json": "811bfb3b91db04e40fead773b1c6de69935db1b0f771f986e106f82a5412a75a",
        "model.safetensors": "dde60ed1cbf177d7a736a64c7ccde76fc5be2435f8d2f07850de57b9975da7ac",
        "metrics.json": "bad71a615070db73434a79ac7963eeebad6a29cc461ffae51243ce2e40391d93",
    },
}


def pretrained_folder(name: str) -> Path:
    """The checked folder of shipped model ``name`` (every file's SHA-256 verified).

    Examples
    --------
    >>> sorted(SHIPPED) == sorted(p.name for p in shipped_root().iterdir() if p.is_dir())
    True
    """
    if name not in SHIPPED:
        raise ModelFileError(f"no shipped model named {name!r}; the package ships {sorted(SHIPPED)}.")
    folder = shipped_root() / name
    for file, want in SHIPPED[name].items():
        path = folder / file
        if not path.is_file():
            raise ModelFileError(f"{path} is missing: the latentlab install is incomplete; reinstall latentlab.")
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != want:
            raise ModelFileError(f"{path} has SHA-256 {got[:16]}..., not the shipped {want[:16]}...: the file was "
                                 "damaged or altered; reinstall latentlab.")
    return folder


def shipped_root() -> Path:
    """The package folder that holds the shipped models."""
    return Path(str(resources.files("latentlab"))) / "pretrained"


__all__ = ["SHIPPED", "pretrained_folder", "shipped_root"]
