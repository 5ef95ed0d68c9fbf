"""The shipped denoiser in onnxruntime: the torch path's pixels, one copy of the weights, no torch import."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

import latentlab  # noqa: E402
from latentlab.errors import ModelFileError  # noqa: E402
from latentlab.models import pretrained  # noqa: E402
from latentlab.models.denoising import OnnxDenoiser  # noqa: E402


@pytest.fixture(scope="module")
def both():
    return OnnxDenoiser.pretrained(), latentlab.ImageDenoiser.pretrained()


def _noisy(shape, sigma, seed):
    from latentlab.data.photos import skimage_photos

    if len(shape) == 2:
        clean = skimage_photos(["moon"])["moon"][0][: shape[0], : shape[1]]
    else:
        clean = skimage_photos(["rocket"], mode="RGB")["rocket"][:, : shape[0], : shape[1]].transpose(1, 2, 0)
    return clean + np.random.default_rng(seed).standard_normal(clean.shape).astype(np.float32) * sigma / 255


@pytest.mark.parametrize("shape, kw", [((131, 97), {}), ((131, 97), {"tile": 48, "ensemble": 2, "batch": 3}),
                                       ((70, 90, 3), {}), ((70, 90, 3), {"ensemble": 8})])
def test_onnxruntime_gives_the_torch_models_pixels(both, shape, kw):
    fast, slow = both
    noisy = _noisy(shape, 25, len(kw))
    a, b = fast.denoise(noisy, check_noise=False, **kw), slow.denoise(noisy, check_noise=False, **kw)
    assert a.shape == b.shape == shape and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=2e-5)
    assert np.abs(a - np.clip(noisy, 0, 1)).mean() > 0.02  # it did denoise: the check can fail


def test_the_shipped_graph_holds_no_weights(both):
    folder = pretrained.pretrained_folder("denoiser-grey")
    graph, weights = (folder / "denoiser.onnx").stat().st_size, (folder / "model.safetensors").stat().st_size
    assert graph < weights / 20  # one copy of the weights in the package: model.safetensors
    assert both[0].radius == both[1].net.radius and both[0].factor == both[1].net.factor


def test_the_command_line_runs_the_shipped_denoiser_without_importing_torch(tmp_path, capsys):
    from PIL import Image

    noisy = np.clip(_noisy((96, 80), 25, 7), 0, 1)
    Image.fromarray(np.rint(noisy * 255).astype(np.uint8)).save(tmp_path / "in.png")
    code = ("import sys; from latentlab.cli import main; "
            f"rc = main(['denoise', {str(tmp_path / 'in.png')!r}, {str(tmp_path / 'a.png')!r}]); "
            "print(rc, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["0", "False"]
    from latentlab.cli import main

    assert main(["denoise", str(tmp_path / "in.png"), str(tmp_path / "t.png"), "--runtime", "torch"]) == 0
    a, t = (np.asarray(Image.open(tmp_path / f), np.int16) for f in ("a.png", "t.png"))
    assert np.abs(a - t).max() <= 1 and (a != t).mean() < 0.01  # 8-bit rounding of equal pixels at most
    assert main(["denoise", str(tmp_path / "in.png"), str(tmp_path / "x.png"), "--runtime", "onnxruntime",
                 "--model", str(tmp_path)]) != 0
    assert "--runtime onnxruntime runs the shipped denoiser only" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_weights_that_do_not_fit_the_graph_are_refused(tmp_path, monkeypatch):
    from safetensors.numpy import load_file, save_file

    copy = tmp_path / "pretrained"
    shutil.copytree(pretrained.shipped_root(), copy)
    folder = copy / "denoiser-grey"
    tensors = load_file(folder / "model.safetensors")
    tensors.pop(sorted(tensors)[0])
    save_file(tensors, folder / "model.safetensors")
    monkeypatch.setattr(pretrained, "shipped_root", lambda: copy)
    with pytest.raises(ModelFileError, match="SHA-256"):  # the shipped hashes refuse it first
        OnnxDenoiser.pretrained()
    with pytest.raises(ModelFileError, match="onnxruntime could not open .*denoiser.onnx"):
        OnnxDenoiser.load(folder)  # a folder of one's own is not hash-checked: the graph refuses the weights
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError, match="is not a saved denoiser"):
        OnnxDenoiser.load(folder)
    (folder / "denoiser.onnx").unlink()
    with pytest.raises(ModelFileError, match="has no denoiser.onnx; write it with"):
        OnnxDenoiser.load(folder)


def test_export_denoiser_graph_writes_what_onnxruntime_runs(both, tmp_path):
    pytest.importorskip("onnxscript")
    from latentlab.apps.onnx_export import export_denoiser_graph

    torch_model = both[1]
    folder = tmp_path / "den"
    torch_model.save(folder)
    export_denoiser_graph(torch_model, folder / "denoiser.onnx")
    assert json.loads((folder / "config.json").read_text())["config"]["hidden"] == list(torch_model.config.hidden)
    noisy = _noisy((64, 72), 30, 2)
    np.testing.assert_allclose(OnnxDenoiser.load(folder).denoise(noisy, check_noise=False),
                               both[0].denoise(noisy, check_noise=False), atol=1e-6)
    with pytest.raises(latentlab.errors.DataTypeError, match="writes an ImageDenoiser's network"):
        export_denoiser_graph(object(), tmp_path / "x.onnx")


def test_the_torch_free_modules_import_without_torch():
    code = ("import sys; import latentlab.models.denoising, latentlab.models.pretrained, latentlab.nn.tiling, "
            "latentlab.nn.dihedral; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]


def test_every_lazy_model_name_resolves():
    import latentlab.models as models

    assert sorted(models._LAZY) == sorted(models.__all__)
    for name in models.__all__:
        assert getattr(models, name).__name__ == name
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        models.Nope  # noqa: B018


def test_bad_input_gets_the_torch_paths_messages(both):
    fast, slow = both
    bad = np.full((20, 20), np.nan, np.float32)
    for den in (fast, slow):
        with pytest.raises(latentlab.errors.DataError, match="NaN") as caught:
            den.denoise(bad)
        with pytest.raises(latentlab.errors.ConfigError, match="ensemble must be 1, 2, 4 or 8"):
            den.denoise(np.zeros((20, 20), np.float32), ensemble=3)
        with pytest.raises(latentlab.errors.ConfigError, match="tile"):
            den.denoise(np.zeros((20, 20), np.float32), tile=0)
    assert "NaN" in str(caught.value)
    with pytest.raises(latentlab.errors.ConfigError, match="batch"):  # the tiling checks its own arguments
        fast.denoise_planes(np.zeros((1, 20, 20), np.float32), batch=0)
