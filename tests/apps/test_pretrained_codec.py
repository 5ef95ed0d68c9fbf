"""The shipped grey codec: hash-checked package data made by the codec recipe, its model card, the CLI with no model."""

import hashlib
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import latentlab
from latentlab.errors import ModelFileError
from latentlab.models import pretrained

ROOT = Path(__file__).resolve().parents[2]
NAME = "codec-grey"


@pytest.fixture(scope="module")
def shipped():
    return latentlab.ImageCodec.pretrained()


@pytest.fixture(scope="module")
def photo():
    from latentlab.data.photos import skimage_photos

    return np.rint(skimage_photos(["moon"])["moon"][0][160:256, 200:328] * 255).astype(np.uint8)  # (96, 128)


def _psnr(a, b):
    return float(10 * np.log10(255.0**2 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def _recipe_module():
    folder = ROOT / "benchmarks" / "recipes"
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("shipped_codec_recipe", folder / "codec.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_shipped_files_are_what_the_recipe_made(shipped):
    folder = pretrained.pretrained_folder(NAME)
    assert sorted(p.name for p in folder.iterdir()) == sorted(pretrained.SHIPPED[NAME])
    for name, digest in pretrained.SHIPPED[NAME].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    recipe = _recipe_module()
    metrics = json.loads((folder / "metrics.json").read_text())
    known = recipe.recipes()  # the first recipe (6 qualities) and its stage (a 7th, lower quality)
    assert metrics["recipe"]["name"] in known
    made_by = known[metrics["recipe"]["name"]]
    assert metrics["recipe"] == made_by and metrics["recipe_sha256"] == recipe.recipe_hash(made_by)
    assert 0 < metrics["steps"] <= made_by["steps"]
    done = metrics["steps"] == made_by["steps"]
    if "parent" in made_by:  # the stage: it says which run of the first recipe it started from, and how far that got
        parent = metrics["parent"]
        assert parent["recipe_hash"] == made_by["parent_hash"]
        assert 0 < parent["step"] <= known[made_by["parent"]]["steps"]
        assert parent["finished"] is (parent["step"] == known[made_by["parent"]]["steps"])
        done = done and parent["finished"]
    assert metrics["finished"] is done  # "finished": false until the last step (of the stage and of its parent)
    assert shipped.config == recipe.build_codec(made_by).config
    assert shipped.metrics["steps"] == metrics["steps"] and shipped.history == metrics["history"]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5_000_000  # a few MB at most


def test_the_shipped_files_are_package_data():
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["latentlab"]
    for file in pretrained.SHIPPED[NAME]:
        assert any(Path(f"pretrained/{NAME}/{file}").match(p) for p in patterns), file


def test_the_model_card_says_how_far_the_shipped_run_got():
    metrics = json.loads((pretrained.pretrained_folder(NAME) / "metrics.json").read_text())
    card = (ROOT / "docs" / "pretrained.md").read_text().split(f"## Model card: `{NAME}`", 1)[1].split("\n## ", 1)[0]
    # a stage names the step its unfinished parent run had reached
    steps = f"{metrics['parent']['step'] if 'parent' in metrics else metrics['steps']:,}"
    if metrics["finished"]:
        assert "unfinished" not in card and steps in card
    else:  # the card must say plainly that these are an unfinished run's weights, at the step shipped
        assert re.search(rf"unfinished run.{{0,80}}step {steps}", card, re.S), f"the card does not name step {steps}"
        assert "will be replaced" in card


def test_the_shipped_codec_codes_a_photo(shipped, photo):
    q = shipped.config.qualities
    low, high = shipped.compress(photo, quality=1), shipped.compress(photo, quality=q)
    assert q == len(shipped.metrics["recipe"]["model"]["lambdas"]) and q in (6, 7) and len(low) < len(high)
    assert _psnr(shipped.decompress(low), photo) < _psnr(shipped.decompress(high), photo)
    assert shipped.bits_per_pixel(low) < 1.0 and _psnr(shipped.decompress(low), photo) > 28


def test_an_altered_shipped_file_is_refused(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "pretrained"
    shutil.copytree(pretrained.shipped_root(), copy)
    weights = copy / NAME / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1  # one bit of one weight: the file still parses, the hash does not match
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(pretrained, "shipped_root", lambda: copy)
    with pytest.raises(ModelFileError, match=r"model\.safetensors has SHA-256 .*damaged or altered; reinstall"):
        latentlab.ImageCodec.pretrained()
    from latentlab.cli import main

    (tmp_path / "in.png").write_bytes(b"never read")
    assert main(["compress-image", str(tmp_path / "in.png"), str(tmp_path / "x.llc")]) == 2
    assert "damaged or altered" in capsys.readouterr().err and not (tmp_path / "x.llc").exists()
    weights.unlink()
    with pytest.raises(ModelFileError, match="missing.*reinstall"):
        latentlab.ImageCodec.pretrained()
    with pytest.raises(ModelFileError, match="no shipped model named 'codec-colour'"):
        latentlab.ImageCodec.pretrained("codec-colour")


def test_the_command_line_codes_with_no_model(tmp_path, photo, shipped, capsys):
    from PIL import Image

    from latentlab.cli import main

    Image.fromarray(photo).save(tmp_path / "in.png")
    assert main(["compress-image", str(tmp_path / "in.png"), str(tmp_path / "x.llc")]) == 0
    q = (shipped.config.qualities + 1) // 2  # the middle quality: 3 of 6, 4 of 7 (the same lambda)
    assert f"at quality {q} of {shipped.config.qualities} (the shipped codec)" in capsys.readouterr().out
    blob = (tmp_path / "x.llc").read_bytes()
    assert blob == shipped.compress(photo, quality=q)
    assert main(["decompress-image", str(tmp_path / "x.llc"), str(tmp_path / "out.png")]) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    np.testing.assert_array_equal(out, shipped.decompress(blob))
    assert out.shape == photo.shape and _psnr(out, photo) > 28
    # the model argument still works: the shipped folder named as RUN writes the same bytes, at the quality asked
    folder = str(pretrained.pretrained_folder(NAME))
    assert main(["compress-image", folder, str(tmp_path / "in.png"), str(tmp_path / "y.llc"), "--quality", "5"]) == 0
    assert (tmp_path / "y.llc").read_bytes() == shipped.compress(photo, quality=5)
    assert main(["decompress-image", folder, str(tmp_path / "y.llc"), str(tmp_path / "y.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "y.png")).shape == photo.shape
