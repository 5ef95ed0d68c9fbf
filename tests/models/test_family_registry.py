"""Every family: reachable by name, trainable with noise, saved and loaded, and trained from the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import latentlab
from latentlab.cli import main

NEW = ["sparse", "contractive", "cvae", "wae", "vqvae", "seq_ae", "seq_vae"]
SEQUENCE = {"seq_ae", "seq_vae"}


def data_for(family, digits):
    if family in SEQUENCE:
        return latentlab.make_sequences(96, length=8, n_features=2, min_length=4, seed=0), None
    return digits[0][:200], digits[2][:200]


def test_every_family_is_registered():
    assert set(NEW) <= set(latentlab.families())
    for name in NEW:
        cls = latentlab.get_family(name)
        assert cls.config_class.family == name
        assert isinstance(latentlab.create(name), cls)


def test_a_second_class_under_a_taken_family_name_is_refused():
    import importlib.util

    import latentlab.models.vae as vae_module
    from latentlab.config import register
    from latentlab.errors import ConfigError

    VAE = vae_module.VAE

    class Impostor(VAE):  # another class claiming the name "vae"
        pass

    with pytest.raises(ConfigError, match="'vae' registered twice"):
        register(Impostor)
    # The same file executed again as a second module object (as doctest runners do) is accepted quietly.
    spec = importlib.util.spec_from_file_location("latentlab.models.vae", vae_module.__file__)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert latentlab.get_family("vae") is VAE


@pytest.mark.slow
@pytest.mark.parametrize("family", NEW)
@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_pepper"])
def test_every_family_trains_as_a_denoiser(family, noise, digits):
    X, y = data_for(family, digits)
    opts = dict(latent_dim=4, hidden=(16,), noise=noise, noise_level=0.2)
    model = latentlab.create(family, **opts).fit(X, y, epochs=2, batch_size=32, verbose=False, seed=0)
    assert np.isfinite(model.history[-1]["loss"])
    out = model.denoise(X[:5], None if y is None else y[:5])
    assert out.shape == X[:5].shape
    # the corruption is active in training mode only
    model.train()
    x = model.to_model_space(X[:16])
    assert not torch.equal(torch.nan_to_num(model.corrupt(x)), torch.nan_to_num(x))
    model.eval()
    assert torch.equal(torch.nan_to_num(model.corrupt(x)), torch.nan_to_num(x))


CLI_OPTIONS = {
    "sparse": ["--sparsity", "l1", "--code-activation", "relu", "--sparsity-weight", "0.01"],
    "contractive": ["--jacobian", "exact", "--contractive-weight", "0.05"],
    "cvae": ["--beta", "0.5"],
    "wae": ["--kernel", "rbf", "--mmd-weight", "5"],
    "vqvae": ["--codebook-size", "16", "--code-dim", "2"],
    "seq_ae": ["--cell", "lstm", "--data", "sunspots"],
    "seq_vae": ["--cell", "gru", "--data", "macro"],
}


@pytest.mark.slow
@pytest.mark.parametrize("family", NEW)
def test_cli_trains_every_family(family, tmp_path, capsys):
    out = tmp_path / family
    args = ["train", "--family", family, "--out", str(out), "--epochs", "2", "--latent-dim", "4"]
    args += ["--hidden", "16", "--verbose", "false", *CLI_OPTIONS[family]]
    assert main(args) == 0
    assert f"trained {family}" in capsys.readouterr().out
    saved = json.loads((out / "config.json").read_text())["config"]
    assert saved["family"] == family
    flags = CLI_OPTIONS[family]
    for flag, value in zip(flags[::2], flags[1::2]):
        if flag != "--data":
            assert str(saved[flag[2:].replace("-", "_")]) in (value, str(float(value)) if value[0].isdigit() else value)
    model = latentlab.load(out)
    assert model.family == family


def test_cli_refuses_an_option_of_another_family(tmp_path, capsys):
    assert main(["train", "--family", "ae", "--kernel", "rbf", "--out", str(tmp_path / "x"), "--epochs", "1"]) == 2
    assert "--kernel" in capsys.readouterr().err
