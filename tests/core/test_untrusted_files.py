"""Untrusted model files: nothing is unpickled, and every malformed or hostile file gets a clear error."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import latentlab
from latentlab import storage
from latentlab.errors import ModelFileError
from latentlab.models import io
from latentlab.training.checkpoint import CHECKPOINT_NAME, Checkpoint, load_checkpoint


class Payload:
    """Unpickling this creates the folder ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def pickle_bytes(marker, protocol: int) -> bytes:
    return pickle.dumps(Payload(marker), protocol=protocol)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small trained model folder with a checkpoint beside it."""
    X = np.random.default_rng(0).random((128, 6)).astype(np.float32)
    run = tmp_path_factory.mktemp("run")
    model = latentlab.VAE(latent_dim=2, hidden=(8,))
    model.fit(X, epochs=2, batch_size=32, verbose=False, callbacks=[Checkpoint(run / CHECKPOINT_NAME)])
    model.save(run)
    return run, X


@pytest.fixture
def run(saved, tmp_path):
    """A fresh copy of the saved folder that a test may tamper with."""
    dst = tmp_path / "copy"
    shutil.copytree(saved[0], dst)
    return dst


def test_payload_control(tmp_path):
    """The payload really runs code when unpickled, so its absence below means nothing was unpickled."""
    marker = tmp_path / "control"
    pickle.loads(pickle_bytes(marker, 4))
    assert marker.exists()


@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_pickle_renamed_to_safetensors_is_refused_and_never_run(run, tmp_path, protocol):
    marker = tmp_path / "pwned"
    (run / "model.safetensors").write_bytes(pickle_bytes(marker, protocol))
    with pytest.raises(ModelFileError, match="never unpickles|not a safetensors"):
        latentlab.load(run)
    assert not marker.exists()


def test_torch_save_zip_renamed_is_refused(run, tmp_path):
    marker = tmp_path / "pwned"
    buf = tmp_path / "w.pt"
    with zipfile.ZipFile(buf, "w") as zf:  # the layout torch.save writes: a zip holding data.pkl
        zf.writestr("archive/data.pkl", pickle_bytes(marker, 2))
    shutil.copy(buf, run / "model.safetensors")
    with pytest.raises(ModelFileError, match="zip archive.*never unpickles"):
        latentlab.load(run)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.pt", "model.pkl", "pytorch_model.bin"])
def test_planted_pickle_beside_config_is_never_loaded(run, tmp_path, name):
    marker = tmp_path / "pwned"
    (run / "model.safetensors").unlink()
    (run / name).write_bytes(pickle_bytes(marker, 4))
    with pytest.raises(ModelFileError, match=f"{name}.*pickle"):
        latentlab.load(run)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pt", ".pkl"])
def test_loading_a_pickle_file_directly_is_refused(tmp_path, suffix):
    marker = tmp_path / "pwned"
    f = tmp_path / f"model{suffix}"
    f.write_bytes(pickle_bytes(marker, 4))
    with pytest.raises(ModelFileError, match="pickle"):
        latentlab.load(f)
    assert not marker.exists()


def test_pickle_as_checkpoint_is_refused_everywhere(run, saved, tmp_path):
    marker = tmp_path / "pwned"
    (run / CHECKPOINT_NAME).write_bytes(pickle_bytes(marker, 4))
    with pytest.raises(ModelFileError, match="never unpickles"):
        load_checkpoint(run / CHECKPOINT_NAME)
    with pytest.raises(ModelFileError):
        latentlab.VAE(latent_dim=2, hidden=(8,)).fit(saved[1], epochs=3, verbose=False, resume=run / CHECKPOINT_NAME)
    from latentlab.cli import main

    np.save(tmp_path / "x.npy", saved[1])
    argv = ["train", "--family", "vae", "--data", str(tmp_path / "x.npy"), "--out", str(run), "--resume"]
    assert main(argv + ["--latent-dim", "2", "--hidden", "8", "--epochs", "3", "--verbose", "false"]) == 2
    assert not marker.exists()


def test_loading_never_calls_an_unpickler(saved, monkeypatch):
    """Load a good model and checkpoint with every unpickling entry point booby-trapped."""

    def trap(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, trap)
    monkeypatch.setattr(torch, "load", trap)
    monkeypatch.setattr(np, "load", trap)
    model = latentlab.load(saved[0])
    assert model.encode(saved[1][:3]).shape == (3, 2)
    assert load_checkpoint(saved[0] / CHECKPOINT_NAME).epoch == 2


# ------------------------------------------------------------- config.json
def edit_config(run, change):
    doc = json.loads((run / "config.json").read_text())
    change(doc)
    (run / "config.json").write_text(json.dumps(doc))


BAD_CONFIGS = {
    "unknown family": (lambda d: d["config"].update(family="gan"), "unknown family 'gan'"),
    "unknown field": (lambda d: d["config"].update(layers=3), r"unknown config field\(s\) \['layers'\]"),
    "wide layers": (lambda d: d["config"].update(hidden=[1_000_000, 1_000_000]), "refusing to build"),
    "huge input": (lambda d: d["config"].update(input_shape=[3000, 3000], hidden=[64]), "refusing to build"),
    "huge latent": (lambda d: d["config"].update(latent_dim=10**12), "latent_dim"),
    "negative size": (lambda d: d["config"].update(hidden=[8, -4]), r"hidden\[1\]"),
    "zero latent": (lambda d: d["config"].update(latent_dim=0), "latent_dim"),
    "string size": (lambda d: d["config"].update(latent_dim="2"), "latent_dim"),
    "bool size": (lambda d: d["config"].update(latent_dim=True), "latent_dim"),
    "float in shape": (lambda d: d["config"].update(input_shape=[6.5]), "input_shape"),
    "nan sigma": (lambda d: d["config"].update(sigma=float("nan")), "sigma"),
    "bad choice": (lambda d: d["config"].update(activation="exec"), "activation"),
    "no family": (lambda d: d["config"].pop("family"), "config.family"),
    "config not object": (lambda d: d.update(config=[1, 2]), "config.family"),
    "no format": (lambda d: d.pop("format"), "not a latentlab model file"),
    "future version": (lambda d: d.update(format_version=99), "format version 99"),
    "unfitted": (lambda d: d["config"].update(input_shape=None), "never fitted"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_refused(run, case):
    change, message = BAD_CONFIGS[case]
    edit_config(run, change)
    with pytest.raises(ModelFileError, match=message):
        latentlab.load(run)


@pytest.mark.parametrize(
    "text",
    ["", "{", "not json", "[" * 100_000 + "]" * 100_000, '{"format": "latentlab-model", "config": 1e999}', "\xff\xfe"],
)
def test_corrupt_config_json(run, text):
    (run / "config.json").write_text(text, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(ModelFileError):
        latentlab.load(run)


def test_oversized_json_is_not_read(run, monkeypatch):
    monkeypatch.setattr(storage, "MAX_JSON_BYTES", 100)
    with pytest.raises(ModelFileError, match="implausibly large"):
        latentlab.load(run)


def test_memory_bomb_is_refused_for_every_family():
    """A config describing ~10^12 values is refused after counting on the meta device (no allocation)."""
    for name in latentlab.families():
        cls = latentlab.get_family(name)
        base = cls.config_class()
        shape = (10, 3) if base.architecture == "seq" else (1, 16, 16) if base.architecture == "fcn" else (16,)
        hidden = (1_000_000,) if base.architecture == "text" else (1_000_000, 1_000_000)  # text: one LSTM width
        cfg = base.replace(input_shape=shape, hidden=hidden)
        with pytest.raises(ModelFileError, match="refusing to build"):
            io.build_checked(cls, cfg, name)


def test_meta_count_is_exact_for_every_family():
    """The guard counts what would really be built (no family falls back to the rough estimate)."""
    for name in latentlab.families():
        cls = latentlab.get_family(name)
        base = cls.config_class()
        shape = (10, 3) if base.architecture == "seq" else (1, 16, 16) if base.architecture == "fcn" else (16,)
        cfg = base.replace(input_shape=shape, hidden=(8,))
        real = sum(t.numel() for t in cls(cfg).state_dict().values())
        assert io.count_values(cls, cfg) == real, name


# --------------------------------------------------------- model.safetensors
def rewrite_weights(run, change):
    tensors = load_file(run / "model.safetensors")
    change(tensors)
    save_file(tensors, run / "model.safetensors")


BAD_WEIGHTS = {
    "transposed": (lambda t: t.update({k: t[k].T.contiguous() for k in [sorted(t)[3]]}), "has shape"),
    "missing": (lambda t: t.pop(sorted(t)[2]), "missing"),
    "extra": (lambda t: t.update(evil=torch.zeros(3)), "unexpected"),
    "float64": (lambda t: t.update({k: t[k].double() for k in [sorted(t)[3]]}), "dtype"),
    "nan": (lambda t: t[sorted(t)[3]].view(-1).__setitem__(0, float("nan")), "NaN or inf"),
}


@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
def test_weights_that_disagree_with_config(run, case):
    change, message = BAD_WEIGHTS[case]
    rewrite_weights(run, change)
    with pytest.raises(ModelFileError, match=message):
        latentlab.load(run)


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.01, 0.5, 0.99])
def test_truncated_weights(run, fraction):
    f = run / "model.safetensors"
    data = f.read_bytes()
    f.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelFileError, match="truncated|corrupt"):
        latentlab.load(run)


@pytest.mark.parametrize("cut", [0, 7, 9, 200, -1])
def test_truncated_checkpoint(run, cut):
    f = run / CHECKPOINT_NAME
    data = f.read_bytes()
    f.write_bytes(data[:cut])
    with pytest.raises(ModelFileError):
        load_checkpoint(f)


def test_garbage_weights(run):
    (run / "model.safetensors").write_bytes(os.urandom(4096))
    with pytest.raises(ModelFileError):
        latentlab.load(run)


def test_missing_files(run):
    (run / "scaler.json").unlink()
    with pytest.raises(ModelFileError, match="scaler.json is missing"):
        latentlab.load(run)
    shutil.rmtree(run)
    with pytest.raises(ModelFileError, match="not a folder"):
        latentlab.load(run)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(shape=[7]),
        lambda s: s.update(scale=[-1.0] * len(s["scale"])),
        lambda s: s.update(offset=["x"] * len(s["offset"])),
        lambda s: s.pop("kind"),
    ],
)
def test_bad_scaler(run, change):
    doc = json.loads((run / "scaler.json").read_text())
    change(doc)
    (run / "scaler.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError):
        latentlab.load(run)


def test_checkpoint_with_tampered_config(run):
    """The checkpoint's own config is validated like config.json."""
    from safetensors import safe_open

    f = run / CHECKPOINT_NAME
    with safe_open(str(f), framework="pt") as fh:
        meta, tensors = fh.metadata(), {k: fh.get_tensor(k) for k in fh.keys()}
    doc = json.loads(meta["state"])
    doc["config"]["hidden"] = [1_000_000, 1_000_000]
    save_file(tensors, f, metadata={**meta, "state": json.dumps(doc)})
    from latentlab.models.resume import read_resume

    with pytest.raises(ModelFileError, match="refusing to build"):
        read_resume(f)


@pytest.mark.parametrize("name", ["config.json", "scaler.json", "metrics.json"])
def test_an_integer_beyond_pythons_digit_limit_is_a_model_file_error(run, name):
    doc = json.loads((run / name).read_text())
    doc["huge"] = 0
    (run / name).write_text(json.dumps(doc).replace('"huge": 0', '"huge": ' + "9" * 5000))
    with pytest.raises(ModelFileError, match="cannot be read"):
        latentlab.load(run)
