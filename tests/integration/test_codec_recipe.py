"""The codec recipe (benchmarks/recipes/codec.py): a broken run resumes to exactly the unbroken one, and exports."""

import json

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # trains (a few steps) and writes checkpoints


@pytest.fixture
def recipe(monkeypatch, recipe_photos, load_recipe):
    mod = load_recipe("codec")
    model = {"channels": 4, "latent_channels": 4, "stages": 2, "lambdas": [0.01, 0.05], "entropy": "hyperprior",
             "hyper_channels": 4}
    small = {"model": model, "held_out": 2, "patch": 16, "batch": 2, "steps": 6, "hard_fraction": 0.34}
    for key, value in small.items():
        monkeypatch.setitem(mod.RECIPE, key, value)
    return mod, recipe_photos


def test_a_resumed_run_equals_an_unbroken_one(recipe, tmp_path, checkpoint_tensors):
    mod, photos = recipe
    assert mod.hard_from() == 4  # the last two steps are hard: the resumed part crosses into them
    common = [str(photos), "--no-bf16", "--validate", "3"]
    mod.main([*common, "--run", str(tmp_path / "whole")])
    mod.main([*common, "--run", str(tmp_path / "parts"), "--until", "2"])
    paused = checkpoint_tensors(tmp_path / "parts")
    mod.main([*common, "--run", str(tmp_path / "parts")])  # resumes at step 2
    whole, parts = checkpoint_tensors(tmp_path / "whole"), checkpoint_tensors(tmp_path / "parts")
    assert whole.keys() == parts.keys() and any(k.startswith("adam.") for k in whole)
    for k in whole:
        np.testing.assert_array_equal(whole[k], parts[k], err_msg=k)
    assert any(not np.array_equal(paused[k], whole[k]) for k in whole if k.startswith("net."))  # it trained on
    import _checkpoint  # beside the recipe (the fixture put its folder on sys.path)

    meta, unbroken = _checkpoint.progress(tmp_path / "parts"), _checkpoint.progress(tmp_path / "whole")
    assert meta["step"] == 6 and [s["start_step"] for s in meta["sittings"]] == [0, 2]
    assert [h["step"] for h in meta["history"]] == [3, 6] and meta["recipe_hash"] == mod.recipe_hash()
    assert [h["val"] for h in meta["history"]] == [h["val"] for h in unbroken["history"]]
    rd = meta["history"][-1]["val"]
    assert set(rd) == {"1", "2"} and all(r["bpp"] > 0 and 0 < r["psnr"] < 100 for r in rd.values())


def test_the_hard_end_freezes_the_analysis(recipe, tmp_path, checkpoint_tensors):
    mod, photos = recipe
    run = tmp_path / "r"
    mod.main([str(photos), "--no-bf16", "--run", str(run), "--until", "4"])
    before = checkpoint_tensors(run)
    mod.main([str(photos), "--no-bf16", "--run", str(run)])  # steps 4 and 5: hard, analysis frozen
    after = checkpoint_tensors(run)
    frozen = [k for k in before if k.startswith(("net.analysis.", "net.log_gain", "net.hyper_analysis."))]
    trained = [k for k in before if k.startswith(("net.synthesis.", "net.hyper_synthesis."))]
    assert frozen and trained
    assert all(np.array_equal(before[k], after[k]) for k in frozen)
    assert any(not np.array_equal(before[k], after[k]) for k in trained)


def test_a_checkpoint_of_another_recipe_is_refused(recipe, tmp_path, monkeypatch):
    mod, photos = recipe
    mod.main([str(photos), "--no-bf16", "--run", str(tmp_path / "r"), "--until", "1"])
    with pytest.raises(SystemExit, match="another recipe"):
        mod.main([str(photos), "--no-bf16", "--run", str(tmp_path / "r"), "--entropy", "factorized"])
    monkeypatch.setitem(mod.RECIPE, "lr", 5e-4)
    with pytest.raises(SystemExit, match="another recipe"):
        mod.main([str(photos), "--no-bf16", "--run", str(tmp_path / "r")])


def test_export_writes_a_model_that_loads_and_codes(recipe, tmp_path, checkpoint_tensors):
    import latentlab

    mod, photos = recipe
    run = tmp_path / "r"
    mod.main([str(photos), "--no-bf16", "--run", str(run), "--until", "3", "--validate", "3"])
    mod.main([str(photos), "--run", str(run), "--export", str(tmp_path / "m")])
    codec = latentlab.ImageCodec.load(tmp_path / "m")
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["recipe_sha256"] == mod.recipe_hash() and metrics["steps"] == 3 and metrics["finished"] is False
    assert [h["step"] for h in metrics["history"]] == [3]
    assert codec.config.entropy == "hyperprior" and codec.config.lambdas == (0.01, 0.05)
    net = {k[4:]: v for k, v in checkpoint_tensors(run).items() if k.startswith("net.")}
    for k, v in codec.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), net[k])
    img = np.asarray(Image.open(photos / "p0.png"))
    assert codec.decompress(codec.compress(img, quality=2)).shape == img.shape
    with pytest.raises(SystemExit, match="another recipe"):
        mod.main([str(photos), "--run", str(run), "--entropy", "factorized", "--export", str(tmp_path / "n")])


def test_the_recipe_refuses_a_folder_without_enough_photos(recipe, tmp_path):
    mod, _ = recipe
    (tmp_path / "few").mkdir()
    with pytest.raises(SystemExit, match="needs Train400"):
        mod.main([str(tmp_path / "few"), "--run", str(tmp_path / "r")])
