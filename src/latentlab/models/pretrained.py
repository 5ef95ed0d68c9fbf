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
    "denoiser-grey": {
        "config.json": "ff5fee59d82af71bc2d63de79858c48f092644def49da959770acffaefb74115",
        "model.safetensors": "14d8783c3d3a380e72f4a43cc24b4243221415776e4ebe2ab1fe3f9ce4a6c793",
        "scaler.json": "a3f5ce3f4f576349132dc16f418ddd4a86fd5939b55736e96c43c4553bb074cc",
        "metrics.json": "6344bcc56fece45c2629d93dba3b4cd79a06c33342af9227db91bb0e901e8b99",
    },
    "codec-grey": {  # the 7-quality stage of benchmarks/recipes/codec.py, from an unfinished run of the first recipe
        "config.json": "811bfb3b91db04e40fead773b1c6de69935db1b0f771f986e106f82a5412a75a",
        "model.safetensors": "554a4dd5593688b134bf4bdff33ac0a5d40b80e02f81bed4f40bfeb4efdde487",
        "metrics.json": "461e302cffe85dfe569626fd26d51af1909c041d3aadce3749f293f83b8973f4",
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
