"""The denoiser recipe (benchmarks/recipes/denoiser.py): a broken run resumes to exactly the unbroken one, and exports."""

import importlib
import importlib.util
import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # trains (a few steps) and writes checkpoints


@pytest.fixture
def recipe(monkeypatch, recipe_photos, load_recipe):
    mod = load_recipe("denoiser")
    small = {"network": {"hidden": [4, 8], "depth": 1, "activation": "relu", "residual": True}, "held_out": 2,
             "patch": 16, "batch": 2, "steps": 6, "validation_sigmas": [25]}
    for key, value in small.items():
        monkeypatch.setitem(mod.RECIPE, key, value)
    monkeypatch.setitem(mod.RECIPE, "name", "small")
    for key in ("parent", "parent_hash"):  # the default recipe is a stage; these tests train from the start
        monkeypatch.delitem(mod.RECIPE, key, raising=False)
    return mod, recipe_photos


def test_a_resumed_run_equals_an_unbroken_one(recipe, tmp_path, checkpoint_tensors):
    mod, photos = recipe
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

    meta = _checkpoint.progress(tmp_path / "parts")
    assert meta["step"] == 6 and [s["start_step"] for s in meta["sittings"]] == [0, 2]
    assert [h["step"] for h in meta["history"]] == [3, 6] and meta["recipe_hash"] == mod.recipe_hash()


def test_a_checkpoint_of_another_recipe_is_refused(recipe, tmp_path, monkeypatch):
    mod, photos = recipe
    mod.main([str(photos), "--no-bf16", "--run", str(tmp_path / "r"), "--until", "1"])
    monkeypatch.setitem(mod.RECIPE, "lr", 5e-4)
    with pytest.raises(SystemExit, match="another recipe"):
        mod.main([str(photos), "--no-bf16", "--run", str(tmp_path / "r")])


def test_export_writes_a_model_that_loads_and_names_its_recipe(recipe, tmp_path, checkpoint_tensors):
    import latentlab

    mod, photos = recipe
    run = tmp_path / "r"
    mod.main([str(photos), "--no-bf16", "--run", str(run), "--until", "3"])
    export = importlib.import_module("_denoiser_export")
    with pytest.raises(SystemExit, match="resume it to the end"):
        export.export(run, mod.RECIPE, mod.recipe_hash(), out=tmp_path / "m")
    mod.main([str(photos), "--no-bf16", "--run", str(run)])
    out = export.export(run, mod.RECIPE, mod.recipe_hash(), out=tmp_path / "m")
    den = latentlab.ImageDenoiser.load(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe_sha256"] == mod.recipe_hash() and metrics["steps"] == 6
    assert den.config.hidden == (4, 8) and den.config.max_noise_level == pytest.approx(55 / 255)
    net = {k[4:]: v for k, v in checkpoint_tensors(run).items() if k.startswith("net.")}
    for k, v in den.net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), net[k])
    from latentlab.models.denoising import OnnxDenoiser  # the export's graph runs the same weights in onnxruntime

    x = np.random.default_rng(0).random((24, 20), dtype=np.float32)
    np.testing.assert_allclose(OnnxDenoiser.load(out).denoise(x, check_noise=False), den.denoise(x, check_noise=False),
                               atol=1e-6)
    assert json.loads((out / "config.json").read_text()).get("weights", "float32") == "float32"
    half = latentlab.ImageDenoiser.load(export.export(run, mod.RECIPE, mod.recipe_hash(), out=tmp_path / "h",
                                                      weights="float16"))
    assert json.loads((tmp_path / "h" / "config.json").read_text())["weights"] == "float16"
    for k, v in half.net.state_dict().items():  # the checkpoint's weights rounded to half precision, as float32
        np.testing.assert_array_equal(v.numpy(), net[k].astype(np.float16).astype(np.float32))


def test_a_stage_recipe_starts_from_its_finished_parent_and_resumes_without_it(recipe, tmp_path, monkeypatch,
                                                                              checkpoint_tensors):
    mod, photos = recipe
    common = [str(photos), "--no-bf16", "--validate", "2"]
    mod.main([*common, "--run", str(tmp_path / "parent")])
    mod.main([*common, "--run", str(tmp_path / "unfinished"), "--until", "3"])
    parent = dict(mod.RECIPE)
    monkeypatch.setitem(mod.RECIPES, parent["name"], parent)
    stage = {"name": "a-stage", "parent": parent["name"], "parent_hash": mod.recipe_hash(parent), "seed": 1,
             "lr": 0.0, "lr_final": 0.0, "steps": 4}  # Adam at lr 0 leaves the parent's weights as they were
    for key, value in stage.items():
        monkeypatch.setitem(mod.RECIPE, key, value)
    with pytest.raises(SystemExit, match="pass its run folder with --from"):
        mod.main([*common, "--run", str(tmp_path / "s")])
    with pytest.raises(SystemExit, match="step 3 of 6; resume it to the end"):
        mod.main([*common, "--run", str(tmp_path / "s"), "--from", str(tmp_path / "unfinished")])
    monkeypatch.setitem(mod.RECIPE, "parent_hash", "0" * 64)
    with pytest.raises(SystemExit, match="made by another recipe"):
        mod.main([*common, "--run", str(tmp_path / "s"), "--from", str(tmp_path / "parent")])
    monkeypatch.setitem(mod.RECIPE, "parent_hash", stage["parent_hash"])
    assert not (tmp_path / "s").exists()  # nothing was written by the refused starts
    mod.main([*common, "--run", str(tmp_path / "s"), "--from", str(tmp_path / "parent"), "--until", "2"])
    with pytest.raises(SystemExit, match="resume without --from"):  # another parent than the one it started from
        mod.main([*common, "--run", str(tmp_path / "s"), "--from", str(tmp_path / "unfinished")])
    mod.main([*common, "--run", str(tmp_path / "s")])  # resumes at step 2 with no --from
    was, now = checkpoint_tensors(tmp_path / "parent"), checkpoint_tensors(tmp_path / "s")
    for k in (k for k in was if k.startswith("net.")):
        np.testing.assert_array_equal(now[k], was[k], err_msg=k)
    out = importlib.import_module("_denoiser_export").export(tmp_path / "s", mod.RECIPE, mod.recipe_hash(),
                                                             out=tmp_path / "m")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 4 and metrics["recipe"]["parent"] == parent["name"]
    assert metrics["parent"]["step"] == 6 and metrics["parent"]["recipe_hash"] == stage["parent_hash"]


def test_the_recipe_refuses_a_folder_without_enough_photos(recipe, tmp_path):
    mod, _ = recipe
    (tmp_path / "few").mkdir()
    with pytest.raises(SystemExit, match="needs Train400"):
        mod.main([str(tmp_path / "few"), "--run", str(tmp_path / "r")])


def test_every_recipe_has_its_own_name_and_hash(load_recipe):
    mod = load_recipe("denoiser")
    hashes = {mod.recipe_hash(r) for r in mod.RECIPES.values()}
    assert len(hashes) == len(mod.RECIPES) >= 2 and set(mod.RECIPES) == {r["name"] for r in mod.RECIPES.values()}
    import latentlab

    shipped = latentlab.ImageDenoiser.pretrained().metrics["recipe"]
    assert mod.RECIPE == mod.RECIPES[shipped["name"]] == shipped  # the default run is the shipped model's recipe
