"""Static export: one self-contained HTML page that runs with no server and no network.

The decoder (and, when it can be, the encoder) runs in the page as plain
JavaScript over the exported weights of the MLP. That keeps the page a
single file with no runtime to bundle (about 2 MB for the demo's two digits
models, most of it the training codes of the map and the weights); an ONNX
export would need a multi-megabyte WebAssembly runtime for networks of a
few thousand weights. Every export is checked before it is written: a NumPy
replay of the exported networks must agree with ``model.decode`` (and
``model.encode``), so a model whose networks are not plain MLPs is refused
rather than exported wrong.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from torch import nn

from .._files import atomic_write_bytes
from ..errors import ConfigError
from .runs import make_entry, training_data

STATIC = Path(__file__).parent / "static"
SAMPLE_BANK = 64
TOLERANCE = 1e-4

_ACT_NAMES = {nn.ReLU: "relu", nn.ELU: "elu", nn.GELU: "gelu", nn.SiLU: "silu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}


def _activation(module: nn.Module) -> str | None:
    if isinstance(module, nn.LeakyReLU):
        return "leaky_relu" if module.negative_slope == 0.2 else None
    if isinstance(module, nn.ELU) and module.alpha != 1.0:
        return None
    if isinstance(module, nn.GELU) and module.approximate != "none":
        return None
    return _ACT_NAMES.get(type(module))


def mlp_layers(network: nn.Module, output: str) -> dict | None:
    """Linear layers and the one hidden activation of ``network``, or None if it is not a plain MLP."""
    linears, acts = [], set()
    for m in network.modules():
        if isinstance(m, nn.Linear):
            w = m.weight.detach().cpu().double().numpy()
            b = np.zeros(w.shape[0]) if m.bias is None else m.bias.detach().cpu().double().numpy()
            linears.append({"n_in": w.shape[1], "n_out": w.shape[0], "W": w.ravel().tolist(), "b": b.tolist()})
        elif not list(m.children()):
            name = _activation(m)
            if name is None:
                return None
            acts.add(name)
    if not linears or len(acts) > 1:
        return None
    return {"layers": linears, "activation": acts.pop() if acts else "relu", "output": output}


def run_mlp(net: dict, h: np.ndarray) -> np.ndarray:
    """NumPy replay of the page's ``runMLP`` (the check that the export is right)."""
    import torch

    fns = {
        "relu": lambda v: np.maximum(v, 0),
        "leaky_relu": lambda v: np.where(v > 0, v, 0.2 * v),
        "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
        "gelu": lambda v: torch.nn.functional.gelu(torch.from_numpy(v)).numpy(),
        "silu": lambda v: v / (1 + np.exp(-v)),
        "tanh": np.tanh,
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "identity": lambda v: v,
    }
    for i, layer in enumerate(net["layers"]):
        W = np.asarray(layer["W"]).reshape(layer["n_out"], layer["n_in"])
        h = h @ W.T + np.asarray(layer["b"])
        h = fns[net["activation"] if i < len(net["layers"]) - 1 else net["output"]](h)
    return h


def _one_hot(y: np.ndarray | None, k: int, n: int) -> np.ndarray:
    if k == 0:
        return np.zeros((n, 0))
    return np.eye(k)[y]


def export_model(name: str, model) -> dict:
    """Weights, scaler, map points and sample bank of one model, verified against the Python API."""
    c = model.config
    d, L, k = math.prod(c.input_shape), c.latent_dim, c.n_classes
    output = "sigmoid" if c.likelihood == "bernoulli" else "identity"
    decoder = getattr(model, "decoder", None)
    dec = mlp_layers(decoder, output) if isinstance(decoder, nn.Module) else None
    offset = model.scaler.offset_.astype(np.float64).ravel()
    scale = model.scaler.scale_.astype(np.float64).ravel()
    rng = np.random.default_rng(0)
    z = rng.normal(size=(32, L))
    y = rng.integers(0, k, 32) if k else None
    if dec is None or dec["layers"][0]["n_in"] != L + k or dec["layers"][-1]["n_out"] != d:
        raise ConfigError(f"model {name!r}: its decoder is not a plain MLP, so it cannot run in a static page.")
    ours = run_mlp(dec, np.hstack([z, _one_hot(y, k, 32)])) * scale + offset
    theirs = model.decode(z.astype(np.float32), y).reshape(32, d)
    if not np.allclose(ours, theirs, atol=TOLERANCE):
        raise ConfigError(f"model {name!r}: the exported decoder disagrees with model.decode; it cannot be exported.")
    _, X, _, ytr = training_data(model)  # held-out examples the run saved
    enc = mlp_layers(model.encoder, "identity") if isinstance(getattr(model, "encoder", None), nn.Module) else None
    if enc is not None and len(X):
        xs = (X[:64].reshape(-1, d) - offset) / scale
        lab = ytr[:64] if k else None
        mine = run_mlp(enc, np.hstack([xs, _one_hot(lab, k, len(xs))]))[:, :L]
        if not np.allclose(mine, model.encode(X[:64], lab), atol=TOLERANCE):
            enc = None  # the code is not the encoder's first L outputs: grid panel off in the export
    entry = make_entry(name, model)
    classes = [None] if k == 0 else list(range(k))
    bank = {
        "" if cl is None else str(cl): model.sample(SAMPLE_BANK, y=cl, seed=0).reshape(SAMPLE_BANK, d) for cl in classes
    }
    return {
        "info": entry.info.model_dump(),
        "latents": {"model": name, "points": entry.points.tolist(), "labels": entry.labels.tolist(),
                    "clusters": [] if entry.clusters is None else entry.clusters.tolist(),
                    "plane": entry.plane.tolist()},
        "net": {"decoder": dec, "encoder": enc, "offset": offset.tolist(), "scale": scale.tolist()},
        "samples": {key: v.astype(np.float64).tolist() for key, v in bank.items()},
    }


def export_page(models: dict[str, object]) -> str:
    """The self-contained HTML of the explorer for ``models`` (name -> fitted model)."""
    parts = {name: export_model(name, m) for name, m in models.items()}
    first = next(iter(models.values()))
    _, X_test, _, y_test = training_data(first)
    data = {
        "models": [p["info"] for p in parts.values()],
        "latents": {n: p["latents"] for n, p in parts.items()},
        "nets": {n: p["net"] for n, p in parts.items()},
        "samples": {n: p["samples"] for n, p in parts.items()},
        "digits": {"x": X_test[:100].tolist(), "labels": y_test[:100].tolist()},
    }
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    css = (STATIC / "explorer.css").read_text(encoding="utf-8")
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    scripts = f"<script>window.LATENTLAB_EXPORT = {blob};</script>\n"
    for js in ("backend.js", "explorer.js"):
        text = (STATIC / js).read_text(encoding="utf-8")
        if js == "explorer.js":  # the page's panels are one script: the slider panel builds on explorer.js's state
            text += "\n" + (STATIC / "sliders.js").read_text(encoding="utf-8")
        scripts += f"<script>\n{text}\n</script>\n"
    html = html.replace('<link rel="stylesheet" href="static/explorer.css">', f"<style>\n{css}</style>")
    html = html.replace('<script src="static/backend.js"></script>\n<script src="static/explorer.js"></script>\n', "")
    html = html.replace('<script src="static/sliders.js"></script>\n', "")
    html = html.replace('<script src="static/text.js"></script>\n', "")  # text models are served, not exported
    return html.replace("</body>", scripts + "</body>")


def export_explorer(run_dirs: list[str], out_dir: str | Path) -> Path:
    """Write ``OUT_DIR/index.html``: the explorer for the given runs, as one offline file.

    Parameters
    ----------
    run_dirs : list of str
        ``RUN_DIR`` or ``NAME=RUN_DIR`` specs, as for ``latentlab serve``.
    out_dir : path
        Folder to write; created if missing.

    Returns
    -------
    Path
        The written ``index.html``.
    """
    from .. import load
    from .runs import parse_run

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"OUT_DIR {out} is a file; give a folder (index.html is written inside it).")
    models = {}
    for spec in run_dirs:
        name, path = parse_run(spec)
        models[name] = load(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"OUT_DIR {out} cannot be made ({exc.strerror}); choose a writable folder.") from None
    page = out / "index.html"
    atomic_write_bytes(page, export_page(models).encode("utf-8"))  # the umask's mode, like any file
    return page
