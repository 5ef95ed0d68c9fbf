"""`latentlab train --help` shows the defaults of the family named by --family (vae when none is)."""

from __future__ import annotations

import dataclasses
import re

import pytest

import latentlab
from latentlab.cli import main


def _help(capsys, *argv):
    assert main(["train", *argv]) == 0
    return capsys.readouterr().out


def _shown(text, flag):
    match = re.search(rf"^  {re.escape(flag)}\b.*?\((.*?)\)", text, flags=re.M | re.S)
    assert match, f"{flag} missing from the help"
    return match.group(1)


@pytest.mark.parametrize("argv", [["--family", "vae", "--help"], ["--help", "--family", "vae"], ["--help"]])
def test_vae_help_shows_the_vae_defaults(capsys, argv):
    text = _help(capsys, *argv)
    vae = latentlab.VAE.config_class()
    ae = latentlab.Autoencoder.config_class()
    assert vae.hidden != ae.hidden  # the families differ, so the test can tell them apart
    assert _shown(text, "--hidden") == "default for vae: " + " ".join(map(str, vae.hidden))
    assert _shown(text, "--activation") == f"default for vae: {vae.activation}"
    assert _shown(text, "--beta") == f"default for vae: {vae.beta}"
    assert "not used by vae; used by vqvae" in _shown(text, "--codebook-size")


def test_each_family_help_shows_its_own_defaults(capsys):
    for family in latentlab.families():
        text = _help(capsys, "--family", family, "--help")
        config = latentlab.get_family(family).config_class()
        for field in ("hidden", "activation", "noise", "latent_dim"):
            value = getattr(config, field)
            shown = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
            flag = "--" + field.replace("_", "-")
            assert _shown(text, flag) == f"default for {family}: {shown}", (family, field)
    assert {f.name for f in dataclasses.fields(latentlab.Autoencoder.config_class)} >= {"hidden", "noise"}


def test_help_does_not_train(capsys, tmp_path):
    out = tmp_path / "run"
    _help(capsys, "--family", "ae", "--out", str(out), "--help")
    assert not out.exists()
