"""``latentlab.load`` opens every kind of saved folder by the ``format`` its ``config.json`` names.

The formats and the families come from entry points (``latentlab.formats``,
``latentlab.families``); each kind's own ``load`` refuses another kind's folder
and says what opens it.
"""

from __future__ import annotations

import json
import pickle
from importlib.metadata import EntryPoint

import numpy as np
import pytest

import latentlab
from latentlab import ImageCodec, registry
from latentlab.data.patches import PatchSampler
from latentlab.errors import ConfigError, ModelFileError

FORMATS = {
    "latentlab-model", "latentlab-image-codec", "latentlab-transformer", "latentlab-imputer",
    "latentlab-outlier-detector", "latentlab-series-detector",
}
PHOTO = np.random.default_rng(0).random((40, 36)).astype(np.float32)
ROWS = np.random.default_rng(1).random((60, 5)).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A family, a denoiser and a codec, each trained for a moment and saved: ``{kind: (object, folder)}``."""
    root = tmp_path_factory.mktemp("saved")
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(ROWS, epochs=2, verbose=False, seed=0)
    den = latentlab.ImageDenoiser(hidden=(4, 8), depth=1).fit(
        [PHOTO], noise_level=0.1, patch_size=16, patches_per_epoch=16, epochs=1, verbose=False, seed=0)
    codec = ImageCodec(channels=4, latent_channels=4, stages=2, lambdas=(0.01,)).fit(
        PatchSampler([PHOTO], patch_size=16, patches_per_epoch=16, seed=0), epochs=1, batch_size=8, verbose=False,
        device="cpu", seed=0)
    out = {}
    for kind, obj in (("family", ae), ("denoiser", den), ("codec", codec)):
        obj.save(root / kind)
        out[kind] = (obj, root / kind)
    return out


def test_a_family_loads_with_identical_outputs(saved):
    ae, folder = saved["family"]
    back = latentlab.load(folder)
    assert type(back) is latentlab.Autoencoder and back.config == ae.config
    np.testing.assert_array_equal(back.encode(ROWS), ae.encode(ROWS))
    np.testing.assert_array_equal(back.reconstruct(ROWS), ae.reconstruct(ROWS))
    assert json.loads((folder / "config.json").read_text())["format"] == "latentlab-model"


def test_a_denoiser_loads_with_identical_outputs(saved):
    den, folder = saved["denoiser"]
    back = latentlab.load(folder)
    assert type(back) is latentlab.ImageDenoiser
    photo = PHOTO[:30, :21]
    np.testing.assert_array_equal(back.denoise(photo, check_noise=False), den.denoise(photo, check_noise=False))
    again = latentlab.ImageDenoiser.load(folder)
    np.testing.assert_array_equal(again.denoise(PHOTO, check_noise=False), den.denoise(PHOTO, check_noise=False))


def test_a_codec_loads_with_identical_bytes(saved):
    codec, folder = saved["codec"]
    back = latentlab.load(folder)
    assert type(back) is ImageCodec  # the coding class of the apps layer, not the network below it
    img = (PHOTO * 255).round().astype(np.uint8)
    blob = codec.compress(img, quality=1)
    assert back.compress(img, quality=1) == blob
    np.testing.assert_array_equal(back.decompress(blob), codec.decompress(blob))


@pytest.mark.parametrize("opener", ["family", "vae", "denoiser", "codec"])
@pytest.mark.parametrize("kind", ["family", "denoiser", "codec"])
def test_each_kind_refuses_another_kinds_folder_and_says_what_opens_it(saved, opener, kind):
    cls = {"family": latentlab.Autoencoder, "vae": latentlab.VAE, "denoiser": latentlab.ImageDenoiser,
           "codec": ImageCodec}[opener]
    obj, folder = saved[kind]
    if type(obj) is cls:
        assert type(cls.load(folder)) is cls
        return
    with pytest.raises(ModelFileError, match=rf"holds a .*, not an? .*; open it with latentlab.load or "
                                             rf"{type(obj).__name__}.load"):
        cls.load(folder)


@pytest.mark.slow  # imports every layer, scikit-learn with it
def test_the_entry_points_declare_every_built_in_family_and_format():
    import latentlab.models  # noqa: F401  (the built-ins register as their modules load)

    declared = {name: ep for name, ep in registry.entry_points(registry.FAMILY_GROUP).items()
                if ep.value.startswith("latentlab.")}
    built_in = {name for name, cls in registry._REGISTRY.items() if cls.__module__.startswith("latentlab.")}
    assert set(declared) == built_in and len(built_in) >= 15
    for name, ep in declared.items():
        assert ep.load() is latentlab.get_family(name)
    formats = registry.entry_points(registry.FORMAT_GROUP)
    assert FORMATS <= set(formats)
    for fmt in FORMATS - {"latentlab-model", "latentlab-image-codec"}:
        assert formats[fmt].load().__self__.saved_format == fmt  # each estimator's load is its format's loader


def test_folders_load_cannot_open_get_clear_errors(saved, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(ModelFileError, match="no config.json"):
        latentlab.load(folder)
    (folder / "config.json").write_text(json.dumps({"config": {}}))
    with pytest.raises(ModelFileError, match="not a latentlab model file"):
        latentlab.load(folder)
    (folder / "config.json").write_text(json.dumps({"format": "latentlab-hologram"}))
    with pytest.raises(ModelFileError, match="format 'latentlab-hologram', which no installed package opens"):
        latentlab.load(folder)
    (folder / "config.json").write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="no JSON object"):
        latentlab.load(folder)
    with pytest.raises(ModelFileError, match="does not exist"):
        latentlab.load(tmp_path / "missing")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match="pickles"):
        latentlab.load(tmp_path / "model.pkl")


def test_a_broken_clashing_or_missing_entry_point_is_named(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"format": "plugin-thing"}))
    formats = registry.entry_points(registry.FORMAT_GROUP)
    broken = EntryPoint(name="plugin-thing", value="latentlab_no_such_plugin:load", group=registry.FORMAT_GROUP)
    monkeypatch.setitem(formats, "plugin-thing", broken)
    with pytest.raises(ConfigError, match="'plugin-thing' .*failed to import: ModuleNotFoundError"):
        latentlab.load(folder)
    monkeypatch.setitem(registry._CLASHES[registry.FORMAT_GROUP], "plugin-thing", ["a:load", "b:load"])
    with pytest.raises(ConfigError, match=r"offered by two installed packages \(a:load and b:load\)"):
        latentlab.load(folder)
    monkeypatch.setitem(registry._ENTRY_POINTS, registry.FAMILY_GROUP, {})  # a checkout that was never installed
    monkeypatch.setitem(registry._CLASHES, registry.FAMILY_GROUP, {})
    with pytest.raises(ConfigError, match=r"unknown family 'no_such'.*pip install -e \."):
        latentlab.get_family("no_such")
