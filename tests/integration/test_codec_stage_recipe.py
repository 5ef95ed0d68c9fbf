"""The codec recipe's follow-on stage (codec.py --recipe image-codec-grey-7q --from RUN): a lower quality added to a
run of the first recipe, resumable, refusing a parent of another recipe, exported as an ordinary model folder."""

import json

import numpy as np
import pytest
from PIL import Image

STAGE_NAME = "image-codec-grey-7q"


@pytest.fixture
def recipe(monkeypatch, recipe_photos, load_recipe):
    mod = load_recipe("codec")
    model = {"channels": 4, "latent_channels": 4, "stages": 2, "lambdas": [0.01, 0.05], "entropy": "factorized",
             "hyper_channels": 4}
    small = {"model": model, "held_out": 2, "patch": 16, "batch": 2, "steps": 4, "hard_fraction": 0.34}
    for key, value in small.items():
        monkeypatch.setitem(mod.RECIPE, key, value)
    for key, value in {"lambda": 0.004, "steps": 6, "lr": 5e-4}.items():
        monkeypatch.setitem(mod.stage.STAGE, key, value)
    return mod, recipe_photos


def _parent(mod, photos, run, until=2):
    mod.main([str(photos), "--no-bf16", "--run", str(run), *(["--until", str(until)] if until else [])])
    return run


def test_the_stages_recipe_is_the_first_with_a_lower_quality(load_recipe):
    mod = load_recipe("codec")
    known = mod.recipes()
    assert list(known) == ["image-codec-grey", STAGE_NAME] and known["image-codec-grey"] is mod.RECIPE
    stage = known[STAGE_NAME]
    assert stage["parent_hash"] == mod.recipe_hash(mod.RECIPE) and stage["parent"] == "image-codec-grey"
    assert stage["model"]["lambdas"] == [0.0012, *mod.RECIPE["model"]["lambdas"]] and len(stage["model"]["lambdas"]) == 7
    assert stage["lr"] < mod.RECIPE["lr"] and stage["lr_final"] == 1e-5 and stage["hard_fraction"] == 0.1
    assert mod.hard_from(stage) == 9_000 and mod.recipe_hash(stage) != mod.recipe_hash(mod.RECIPE)
    assert mod.build_codec(stage).config.qualities == 7


@pytest.mark.slow
def test_the_stage_starts_from_the_parent_and_resumes_to_the_unbroken_run(recipe, tmp_path, checkpoint_tensors):
    mod, photos = recipe
    parent = _parent(mod, photos, tmp_path / "parent")
    stage = mod.recipes()[STAGE_NAME]
    assert mod.hard_from(stage) == 4  # the last two of the 6 steps are hard: the resumed part crosses into them
    common = [str(photos), "--no-bf16", "--validate", "3", "--recipe", STAGE_NAME]
    mod.main([*common, "--run", str(tmp_path / "whole"), "--from", str(parent)])
    mod.main([*common, "--run", str(tmp_path / "parts"), "--from", str(parent), "--until", "2"])
    paused = checkpoint_tensors(tmp_path / "parts")
    mod.main([*common, "--run", str(tmp_path / "parts")])  # resumes at step 2; --from is not needed again
    whole, parts = checkpoint_tensors(tmp_path / "whole"), checkpoint_tensors(tmp_path / "parts")
    assert whole.keys() == parts.keys() and any(k.startswith("adam.") for k in whole)
    for k in whole:
        np.testing.assert_array_equal(whole[k], parts[k], err_msg=k)
    assert any(not np.array_equal(paused[k], whole[k]) for k in whole if k.startswith("net."))  # it trained on
    import _checkpoint  # beside the recipe (the fixture put its folder on sys.path)

    meta = _checkpoint.progress(tmp_path / "parts")
    assert meta["recipe_hash"] == mod.recipe_hash(stage) and meta["step"] == 6
    assert [s["start_step"] for s in meta["sittings"]] == [0, 2] and [h["step"] for h in meta["history"]] == [3, 6]
    assert meta["parent"]["step"] == 2 and meta["parent"]["finished"] is False
    assert meta["parent"]["recipe_hash"] == mod.recipe_hash(mod.RECIPE)
    assert set(meta["history"][-1]["val"]) == {"1", "2", "3"}
    # step 0 of the stage: the parent's weights and Adam state, the new quality's rows in front
    before = checkpoint_tensors(parent)
    net, opt, origin = mod.stage.start(parent, stage, mod.RECIPE, "cpu", mod.build_codec)
    state = net.state_dict()
    np.testing.assert_array_equal(state["log_gain"][1:].numpy(), before["net.log_gain"])
    np.testing.assert_array_equal(state["density.biases.0"][4:].numpy(), before["net.density.biases.0"])
    np.testing.assert_array_equal(state["density.biases.0"][:4].numpy(), before["net.density.biases.0"][:4])
    gain = dict(net.named_parameters())["log_gain"]
    i = [n for n, _ in net.named_parameters()].index("log_gain")
    np.testing.assert_array_equal(opt.state[gain]["exp_avg_sq"][1:].numpy(), before[f"adam.{i}.exp_avg_sq"])
    assert origin == meta["parent"] | {"run": str(parent)}


@pytest.mark.slow
def test_a_parent_of_another_recipe_and_bad_options_are_refused(recipe, tmp_path):
    mod, photos = recipe
    common = [str(photos), "--no-bf16", "--recipe", STAGE_NAME, "--run", str(tmp_path / "s")]
    other = tmp_path / "hyper"
    mod.main([str(photos), "--no-bf16", "--run", str(other), "--until", "1", "--entropy", "hyperprior"])
    with pytest.raises(SystemExit, match=r"made by another recipe.*not the one stage image-codec-grey-7q starts from"):
        mod.main([*common, "--from", str(other)])
    with pytest.raises(SystemExit, match="no checkpoint.safetensors there"):
        mod.main([*common, "--from", str(tmp_path / "nothing")])
    with pytest.raises(SystemExit, match="pass --from RUN"):
        mod.main(common)
    assert not (tmp_path / "s").exists()  # nothing was started
    parent = _parent(mod, photos, tmp_path / "parent", until=1)
    with pytest.raises(SystemExit, match="--from is for the stage"):
        mod.main([str(photos), "--run", str(tmp_path / "first"), "--from", str(parent)])
    with pytest.raises(SystemExit, match="is not one of"):
        mod.main([str(photos), "--recipe", "codec-grey-8q", "--run", str(tmp_path / "x")])
    mod.main([*common, "--from", str(parent), "--until", "1"])
    _parent(mod, photos, parent, until=2)  # the parent trains on after the stage started from it
    with pytest.raises(SystemExit, match="this stage started from step 1"):
        mod.main([*common, "--from", str(parent)])
    with pytest.raises(SystemExit, match="another recipe"):  # a stage's checkpoint is no parent of a stage
        mod.main([str(photos), "--no-bf16", "--recipe", STAGE_NAME, "--run", str(tmp_path / "t"),
                  "--from", str(tmp_path / "s")])


@pytest.mark.slow
def test_the_stage_exports_a_codec_of_one_more_quality(recipe, tmp_path):
    import latentlab

    mod, photos = recipe
    parent = _parent(mod, photos, tmp_path / "parent", until=0)  # the parent's run to its end
    run = tmp_path / "s"
    common = [str(photos), "--no-bf16", "--recipe", STAGE_NAME, "--run", str(run)]
    mod.main([*common, "--from", str(parent), "--until", "3"])
    mod.main([*common, "--export", str(tmp_path / "half")])
    assert json.loads((tmp_path / "half" / "metrics.json").read_text())["finished"] is False
    mod.main(common)
    mod.main([*common, "--export", str(tmp_path / "m")])
    codec = latentlab.ImageCodec.load(tmp_path / "m")
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    stage = mod.recipes()[STAGE_NAME]
    assert metrics["recipe_sha256"] == mod.recipe_hash(stage) and metrics["steps"] == 6 and metrics["finished"] is True
    assert metrics["parent"]["step"] == 4 and metrics["parent"]["finished"] is True
    assert codec.config.lambdas == (0.004, 0.01, 0.05)
    img = np.asarray(Image.open(photos / "p0.png"))
    for q in (1, 2, 3):
        out = codec.decompress(codec.compress(img, quality=q))
        assert out.shape == img.shape and out.dtype == np.uint8
    with pytest.raises(SystemExit, match="another recipe"):  # the first recipe does not export the stage's run
        mod.main([str(photos), "--run", str(run), "--export", str(tmp_path / "n")])
