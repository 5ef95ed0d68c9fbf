"""ONNX export: onnxruntime gives the same codes and decodings as torch, for every family."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.apps.onnx_export import NO_ONNX_ENCODER, export_onnx
from latentlab.cli import main

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

SEQ = ("seq_ae", "seq_vae")


def _data(family):
    if family in SEQ:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(96, 12, 3)).astype(np.float32)
        X[::3, 9:] = np.nan  # some sequences are shorter: NaN is padding
        return X, None
    X, y = latentlab.load_digits()
    return X[:240], y[:240]


def _fit(family, **extra):
    X, y = _data(family)
    opts = {"latent_dim": 4, "hidden": (16,), **extra}
    model = latentlab.create(family, **opts).fit(X, y, epochs=1, batch_size=32, verbose=False, seed=0)
    return model, X, y


def _run(path, **feed):
    session = ort.InferenceSession(str(path))
    return session.run(None, feed)[0]


# A family without a code to decode from (the photo denoiser, codec "none") has nothing to export.
EXPORTABLE = [f for f in latentlab.families() if latentlab.get_family(f).codec != "none"
              and latentlab.get_family(f).config_class().architecture != "text"]


def test_text_models_are_refused_clearly(tmp_path):
    texts = ["the cat sat on the mat", "a dog ran in the park", "the sun is warm today", "we like to read books"] * 8
    model = latentlab.TextAutoencoder(latent_dim=2).fit(texts, epochs=1, verbose=False, seed=0)
    with pytest.raises(latentlab.ConfigError, match="text models cannot be exported"):
        export_onnx(model, tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("family", EXPORTABLE)
def test_onnx_matches_torch_for_every_family(family, tmp_path):
    model, X, y = _fit(family)
    cond = model.config.n_classes > 0
    labels = {"y": y[:9].astype(np.int64)} if cond else {}
    yy = y[:9] if cond else None
    Z = np.random.default_rng(1).normal(size=(9, model.config.latent_dim)).astype(np.float32)
    if model.config.architecture in NO_ONNX_ENCODER:
        with pytest.raises(latentlab.ConfigError, match="decoder"):
            export_onnx(model, tmp_path, part="both")
        paths = export_onnx(model, tmp_path / "decoder.onnx", part="decoder")
        assert list(paths) == ["decoder"] and paths["decoder"] == tmp_path / "decoder.onnx"
    else:
        paths = export_onnx(model, tmp_path)
        assert sorted(paths) == ["decoder", "encoder"]
        codes = _run(paths["encoder"], x=X[:9], **labels)
        np.testing.assert_allclose(codes, model.encode(X[:9], yy), atol=1e-5, rtol=0)
        # the batch axis is dynamic: one sample goes through the same graph
        one = _run(paths["encoder"], x=X[:1], **{k: v[:1] for k, v in labels.items()})
        np.testing.assert_allclose(one, model.encode(X[:1], None if yy is None else yy[:1]), atol=1e-5, rtol=0)
    decoded = _run(paths["decoder"], z=Z, **labels)
    np.testing.assert_allclose(decoded, model.decode(Z, yy), atol=1e-5, rtol=0)
    assert decoded.shape == (9, *model.config.input_shape)


@pytest.mark.slow
def test_onnx_graph_takes_user_units_with_the_scaling_inside(tmp_path):
    """Standard scaling on data far from [0, 1]: only a graph holding the scaler reproduces encode/decode."""
    X, _ = latentlab.load_digits()
    X = X[:240] * 40.0 + 7.0
    model = latentlab.Autoencoder(latent_dim=3, hidden=(16,), scaling="standard").fit(X, epochs=1, verbose=False)
    paths = export_onnx(model, tmp_path)
    np.testing.assert_allclose(_run(paths["encoder"], x=X[:5]), model.encode(X[:5]), atol=1e-5, rtol=0)
    Z = model.encode(X[:5])
    np.testing.assert_allclose(_run(paths["decoder"], z=Z), model.decode(Z), atol=1e-4, rtol=1e-6)
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(paths["encoder"])).metadata_props}
    assert meta["family"] == "ae" and meta["part"] == "encoder" and "included" in meta["input_scaling"]


@pytest.mark.slow
def test_onnx_conv_architecture(tmp_path):
    X, _ = latentlab.load_digits()
    images = X[:160].reshape(-1, 1, 8, 8)
    model = latentlab.Autoencoder(latent_dim=2, architecture="conv").fit(images, epochs=1, verbose=False)
    paths = export_onnx(model, tmp_path, part="encoder")
    np.testing.assert_allclose(_run(paths["encoder"], x=images[:4]), model.encode(images[:4]), atol=1e-5, rtol=0)


def test_onnx_refuses_bad_parts_and_unfitted_models(tmp_path):
    with pytest.raises(latentlab.NotFittedError):
        export_onnx(latentlab.VAE(latent_dim=2), tmp_path)
    model, _, _ = _fit("ae")
    with pytest.raises(latentlab.ConfigError, match="part='middle'"):
        export_onnx(model, tmp_path, part="middle")
    assert not list(tmp_path.iterdir())  # nothing half-written


@pytest.mark.slow
def test_cli_export_onnx(tmp_path, capsys):
    model, X, _ = _fit("vae")
    model.save(tmp_path / "run")
    assert main(["export-onnx", str(tmp_path / "run"), str(tmp_path / "onnx")]) == 0
    out = capsys.readouterr().out
    assert "encoder.onnx" in out and "decoder.onnx" in out and "own units" in out
    np.testing.assert_allclose(_run(tmp_path / "onnx" / "encoder.onnx", x=X[:3]), model.encode(X[:3]), atol=1e-5)
    seq, _, _ = _fit("seq_ae")
    seq.save(tmp_path / "seq")
    assert main(["export-onnx", str(tmp_path / "seq"), str(tmp_path / "seq_onnx")]) == 2
    assert "part='decoder'" in capsys.readouterr().err
    assert main(["export-onnx", str(tmp_path / "seq"), str(tmp_path / "seq_onnx"), "--part", "decoder"]) == 0
    assert (tmp_path / "seq_onnx" / "decoder.onnx").is_file()
