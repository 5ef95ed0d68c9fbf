"""``train-image-detector`` and ``detect-images``: a saved run, a CSV of scores and labels, overlays of flagged images."""

import csv

import numpy as np
import pytest
from PIL import Image

from latentlab.cli import main


@pytest.mark.slow
def test_train_then_detect(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "good").mkdir()
    (tmp_path / "check").mkdir()
    xx = np.arange(40)[None, :]
    for i in range(6):
        im = 0.5 + 0.2 * np.sin(xx / 3.0 + rng.uniform(0, 6)) + 0.02 * rng.standard_normal((32, 40))
        Image.fromarray((np.clip(im, 0, 1) * 255).astype(np.uint8)).save(tmp_path / "good" / f"{i}.png")
    bad = np.full((32, 40), 0.5)
    bad[10:18, 10:18] = 0.0
    Image.fromarray((bad * 255).astype(np.uint8)).save(tmp_path / "check" / "bad.png")
    assert main(["train-image-detector", str(tmp_path / "good"), "--out", str(tmp_path / "run"), "--steps", "5"]) == 0
    assert (tmp_path / "run" / "config.json").is_file()
    assert main(["detect-images", str(tmp_path / "check"), "--model", str(tmp_path / "run"),
                 "--out", str(tmp_path / "out")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "out" / "scores.csv")))
    assert [r["file"] for r in rows] == ["bad.png"] and float(rows[0]["score"]) > 0
    assert (tmp_path / "out" / "bad_overlay.png").is_file() == (rows[0]["label"] == "1")
