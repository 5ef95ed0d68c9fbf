"""A family from another package: declared in its metadata (entry-point group ``latentlab.families``), found by
name, trained, saved and loaded, with nothing in latentlab changed.

The plug-in is written into a temporary folder as a package and the
``.dist-info`` folder an installer would write beside it (``importlib.metadata``
finds it on ``sys.path``); the test puts ``sys.path`` and the registry back.
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

import latentlab
from latentlab import registry

PLUGIN = '''
"""A small family built on latentlab's public base classes: an autoencoder whose codes pay an L2 price."""

from dataclasses import dataclass

from latentlab.config import ModelConfig
from latentlab.models import LatentModel
from latentlab.training.options import LossOutput


@dataclass(frozen=True)
class ShrinkConfig(ModelConfig):
    family = "shrink_ae"
    hidden: tuple = (16,)
    scaling: str = "standard"
    code_weight: float = 0.01


class ShrinkAutoencoder(LatentModel):
    config_class = ShrinkConfig

    def loss(self, batch):
        z = self.posterior(batch.x).mean  # (B, L)
        rec = self.decoded_nll(z, batch).mean()
        shrink = self.config.code_weight * z.pow(2).sum(1).mean()
        return LossOutput(rec + shrink, {"reconstruction": rec, "shrink": shrink})
'''


@pytest.fixture
def plugin(tmp_path):
    """The plug-in ``shrink_plugin`` "installed" on ``sys.path`` for one test."""
    (tmp_path / "shrink_plugin").mkdir()
    (tmp_path / "shrink_plugin" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "shrink_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shrink-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[latentlab.families]\nshrink_ae = shrink_plugin:ShrinkAutoencoder\n")
    sys.path.insert(0, str(tmp_path))
    registry.refresh()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shrink_plugin", None)
        registry._REGISTRY.pop("shrink_ae", None)
        registry.refresh()


@pytest.mark.slow
def test_a_plugin_family_is_found_trained_saved_and_loaded(plugin, tmp_path):
    assert "shrink_ae" in latentlab.families()
    assert "shrink_plugin" not in sys.modules  # listed from the metadata; imported only when asked for
    cls = latentlab.get_family("shrink_ae")
    assert cls.__name__ == "ShrinkAutoencoder" and cls.__module__ == "shrink_plugin"
    X = (np.random.default_rng(0).normal(size=(300, 3)) @ np.random.default_rng(1).normal(size=(3, 8))).astype(np.float32)
    model = latentlab.create("shrink_ae", latent_dim=3).fit(X[:240], epochs=30, lr=1e-2, verbose=False, seed=0)
    losses = [h["loss"] for h in model.history]
    assert losses[-1] < losses[0] - 1.0 and "shrink" in model.history[-1]  # its loss falls, with its own part
    error = np.mean((model.reconstruct(X[240:]) - X[240:]) ** 2)
    assert error < 0.1 * np.mean((X[240:] - X[:240].mean(0)) ** 2)  # beats the training mean on held-out rows
    model.save(tmp_path / "run")
    back = latentlab.load(tmp_path / "run")  # the config names the family; the registry finds its class
    assert type(back) is cls and back.config == model.config
    np.testing.assert_array_equal(back.encode(X[:10]), model.encode(X[:10]))
    with pytest.raises(latentlab.ModelFileError, match="family 'shrink_ae' .*open it with latentlab.load or "
                                                       "ShrinkAutoencoder.load"):
        latentlab.VAE.load(tmp_path / "run")


def test_a_plugin_that_declares_the_wrong_class_is_named(plugin):
    info = plugin / "shrink_plugin-0.1.dist-info"
    (info / "entry_points.txt").write_text("[latentlab.families]\nshrink_ae = shrink_plugin:ShrinkConfig\n")
    registry.refresh()
    with pytest.raises(latentlab.ConfigError, match="not a model class whose config_class.family is 'shrink_ae'"):
        latentlab.get_family("shrink_ae")


def test_the_registry_is_as_it_was_after_a_plugin():
    assert "shrink_ae" not in latentlab.families()
    with pytest.raises(latentlab.ConfigError, match="unknown family 'shrink_ae'"):
        latentlab.get_family("shrink_ae")
