"""Fixtures shared by the photo recipes' tests (benchmarks/recipes/denoiser.py and codec.py)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

RECIPES = Path(__file__).resolve().parents[2] / "benchmarks" / "recipes"


@pytest.fixture
def load_recipe():
    """``load_recipe(name)``: a fresh module of ``benchmarks/recipes/NAME.py`` (its folder on ``sys.path``)."""

    def load(name: str):
        sys.path.insert(0, str(RECIPES))
        spec = importlib.util.spec_from_file_location(f"{name}_recipe", RECIPES / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load


@pytest.fixture
def recipe_photos(tmp_path):
    """A folder of six smooth 24x24 grey photos, one size, as Train400's."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        img = np.cumsum(np.cumsum(rng.standard_normal((24, 24)), 0), 1)
        img = (img - img.min()) / (np.ptp(img) + 1e-9)
        Image.fromarray(np.rint(img * 255).astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


@pytest.fixture
def checkpoint_tensors():
    """``checkpoint_tensors(run)``: every tensor of a recipe run folder's checkpoint, as NumPy arrays."""
    from safetensors.numpy import load_file

    return lambda run: load_file(str(Path(run) / "checkpoint.safetensors"))
