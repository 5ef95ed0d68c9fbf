"""Reliability, second pass: absurd rows, robust scaling, raw errors turned clear, server hardening.

Each test pins one finding of the outside fault test (issue 18) that used to end in a silent
wrong number, a traceback from inside NumPy or torch, or an answer that is not JSON.
"""

from __future__ import annotations

import json
import socket
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import latentlab
from latentlab.data.scaling import ROBUST_ROWS, Scaler
from latentlab.data.validation import warn_absurd_rows
from latentlab.errors import ConfigError, DataError, DataTypeError, DataWarning

FAST = dict(verbose=False, seed=0)

# Numbers at the edges of float32: huge, tiny, subnormal, and NaN among them.
F32 = np.finfo(np.float32)
edge_floats = st.one_of(
    # float32 values, not Python floats: NumPy 1.x compares 1e30 with float32(1e30) in float64, and hypothesis refuses
    st.sampled_from([np.float32(v) for v in (F32.max, -F32.max, F32.tiny, -F32.tiny, 1e-45, -1e-45, 0.0, -0.0, 1e30, -1e30)]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32),
    st.floats(width=32, allow_nan=True, allow_infinity=True),
)


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits[0][:300], digits[2][:300]
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X, epochs=2, **FAST)
    cvae = latentlab.ConditionalVAE(latent_dim=2, hidden=(16,)).fit(X, y, epochs=2, **FAST)
    return X, ae, cvae


# ----------------------------------------------------------------- absurd rows and scaling
def test_one_absurd_row_warns_at_fit(digits):
    X = digits[0].copy()
    X[5, 3] = 1e38
    with pytest.warns(DataWarning, match=r"1 row\(s\).*row 5, feature 3"):
        latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, **FAST)


def test_clean_data_does_not_warn(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        warn_absurd_rows(digits[0], "minmax")  # sparse pixels (mostly 0) are not outliers
        rng = np.random.default_rng(0)
        table = np.c_[rng.normal(0, 1, 500), rng.lognormal(0, 2, 500), rng.normal(1e6, 1e5, 500)]
        warn_absurd_rows(table, "standard")  # skewed and large-unit columns are not absurd


def test_overflowing_row_is_refused_not_trained_to_nan(digits):
    X = digits[0].copy()
    X[7] = 1e38
    with pytest.raises(DataError, match="row 7.*overflows float32"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        latentlab.Autoencoder(latent_dim=2, hidden=(8,), scaling="robust").fit(X, epochs=1, **FAST)


def test_robust_scaler_known_values():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0], [5.0, 100.0]])
    s = Scaler("robust").fit(X)
    assert s.offset_.tolist() == [3.0, 0.0]  # medians
    assert s.scale_[0] == pytest.approx(2.0)  # interquartile range of 1..5
    # the second feature's quartiles coincide: its 1-99% range is used
    assert s.scale_[1] == pytest.approx(np.percentile([0, 0, 0, 0, 100], 99) - 0.0)
    back = Scaler.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(back.transform(X), s.transform(X))


def test_robust_scaler_streamed_matches_in_memory():
    rng = np.random.default_rng(1)
    X = rng.standard_t(3, size=(3 * ROBUST_ROWS // 2, 4)) * [1, 10, 100, 1000]
    whole = Scaler("robust").fit(X)
    streamed = Scaler("robust")
    for chunk in np.array_split(X, 9):
        streamed.partial_fit(chunk)
    np.testing.assert_allclose(streamed.offset_, whole.offset_, atol=0.05 * whole.scale_.max())
    np.testing.assert_allclose(streamed.scale_, whole.scale_, rtol=0.05)


def test_robust_scaling_is_a_model_option(digits):
    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,), scaling="robust").fit(digits[0], epochs=1, **FAST)
    assert m.scaler.kind == "robust"
    with pytest.raises(ConfigError, match="bernoulli"):
        latentlab.VAE(likelihood="bernoulli", scaling="robust")


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, (30, 3), elements=edge_floats))
def test_edge_floats_get_a_clear_answer(small, arr):
    """Any mix of float32 edge values either fits a scaler cleanly or is refused by name, never a raw error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            latentlab.data.validation.as_float_array(arr)
            for kind in ("minmax", "standard", "robust"):
                warn_absurd_rows(arr, kind)
                s = Scaler(kind).fit(arr)
                assert np.isfinite(s.scale_).all() and (s.scale_ > 0).all()
    except DataError as exc:
        assert "NaN" in str(exc) or "inf" in str(exc)


# ----------------------------------------------------------------- raw errors made clear
def test_interpolate_checks_shapes_and_steps(small):
    X, ae, _ = small
    with pytest.raises(DataError, match=r"b has shape \(10,\)"):
        ae.interpolate(X[0], X[1][:10], steps=3)
    with pytest.raises(ConfigError, match="GB"):
        ae.interpolate(X[0], X[1], steps=10**12)
    with pytest.raises(ConfigError, match="steps"):
        ae.interpolate(X[0], X[1], steps=1.5)
    assert ae.interpolate(X[0], X[1], steps=3).shape == (3, 64)


def test_sample_bounds_n_and_seed(small):
    _, ae, _ = small
    with pytest.raises(ConfigError, match="GB"):
        ae.sample(10**12)
    with pytest.raises(ConfigError, match="generator's range"):
        ae.sample(2, seed=2**70)
    with pytest.raises(ConfigError, match="integer"):
        ae.sample(2, seed="7")
    np.testing.assert_array_equal(ae.sample(2, seed=2**63), ae.sample(2, seed=2**63))


def test_conditional_sample_refuses_bad_labels(small):
    _, _, cvae = small
    with pytest.raises(DataError, match="integer"):
        cvae.sample(2, y=1.5)
    with pytest.raises(DataTypeError):
        cvae.sample(2, y="a")
    assert cvae.sample(2, y=3).shape == (2, 64)


def test_grid_and_output_names_are_checked(small, tmp_path):
    from latentlab.apps.generation import latent_plane
    from latentlab.cli import main

    _, ae, _ = small
    with pytest.raises(ConfigError, match="points a side"):
        latent_plane(ae, 10**5)
    run = tmp_path / "run"
    ae.save(run)
    assert main(["generate", str(run), "--out", str(tmp_path / "g.txt")]) == 2
    assert not list(tmp_path.glob("g.txt*"))  # nothing written under another name
    assert main(["generate", str(run), "--out", str(tmp_path / "g.npy"), "-n", "3"]) == 0
    assert np.load(tmp_path / "g.npy").shape == (3, 64)
    assert main(["generate", str(run), "--grid", "100000", "--out", str(tmp_path / "grid.png")]) == 2
    (tmp_path / "afile").write_text("keep me")
    assert main(["export-explorer", str(run), str(tmp_path / "afile")]) == 2
    assert (tmp_path / "afile").read_text() == "keep me"


def test_checkpoint_on_a_full_disk_warns_and_training_goes_on(digits, tmp_path, monkeypatch):
    from latentlab.training import checkpoint as ck

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck, "save_checkpoint", full_disk)
    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    with pytest.warns(UserWarning, match="No space left"):
        m.fit(digits[0], epochs=2, callbacks=[ck.Checkpoint(tmp_path / "ck.safetensors")], **FAST)
    assert len(m.history) == 2


# ----------------------------------------------------------------- the server
def _huge_scaler_entry():
    from latentlab.web.runs import make_entry

    X, _ = latentlab.load_digits()
    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X[:200], epochs=1, **FAST)
    m.scaler.scale_[:] = 3e38  # finite, but any output overflows float32 in the data's units
    return make_entry("huge", m)


def test_server_never_sends_infinity():
    from fastapi.testclient import TestClient

    from latentlab.web.app import create_app

    client = TestClient(create_app({"huge": _huge_scaler_entry()}), raise_server_exceptions=False)
    for path, body in (("/api/decode", {"model": "huge", "z": [[50.0, 50.0]]}),
                       ("/api/sample", {"model": "huge", "n": 2, "seed": 0})):
        r = client.post(path, json=body)
        assert "Infinity" not in r.text and "NaN" not in r.text, (path, r.text[:200])
        json.loads(r.text)  # strictly valid JSON
        assert r.status_code in (200, 400), r.status_code
        if r.status_code == 400:
            assert "overflow" in r.json()["detail"]


def test_sequence_padding_is_null_in_json():
    from fastapi.testclient import TestClient

    from latentlab.web.app import create_app
    from latentlab.web.runs import make_entry

    seqs = latentlab.make_sequences(60, length=12, seed=0)
    m = latentlab.SequenceAutoencoder(latent_dim=2, hidden=(8,)).fit(seqs, epochs=1, batch_size=16, **FAST)
    client = TestClient(create_app({"seq": make_entry("seq", m)}), raise_server_exceptions=False)
    r = client.post("/api/sample", json={"model": "seq", "n": 4, "seed": 0})
    assert r.status_code == 200, r.text[:300]
    json.loads(r.text)
    assert "NaN" not in r.text


def test_host_header_is_checked():
    from fastapi.testclient import TestClient

    from latentlab.web.app import create_app, hosts_for
    from latentlab.web.runs import make_entry

    X, _ = latentlab.load_digits()
    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X[:200], epochs=1, **FAST)
    app = create_app({"ae": make_entry("ae", m)}, allowed_hosts=hosts_for("127.0.0.1"))
    client = TestClient(app, base_url="http://localhost:8000")
    assert client.get("/api/models").status_code == 200
    assert client.post("/api/decode", json={"model": "ae", "z": [[0.0, 0.0]]}).status_code == 200
    for evil in ("rebind.attacker.example", "attacker.example:8000"):
        assert client.get("/api/models", headers={"host": evil}).status_code == 400
        assert client.post("/api/decode", json={"model": "ae", "z": [[0.0, 0.0]]},
                           headers={"host": evil}).status_code == 400


@pytest.mark.slow
def test_half_open_connection_is_closed(serve_in_thread):
    from latentlab.web.app import create_app
    from latentlab.web.runs import make_entry
    from latentlab.web.serving import header_deadline_protocol

    X, _ = latentlab.load_digits()
    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X[:200], epochs=1, **FAST)
    app = create_app({"ae": make_entry("ae", m)})
    with serve_in_thread(app, http=header_deadline_protocol(0.5)) as url:
        host, port = url.rsplit("/", 1)[-1].split(":")
        for partial in (b"", b"GET /api/models HTTP/1.1\r\nHost: loc"):
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(partial)
                t0 = time.monotonic()
                assert s.recv(100) == b""  # the server hung up
                assert time.monotonic() - t0 < 4
        with socket.create_connection((host, int(port)), timeout=5) as s:  # a whole request is answered
            s.sendall(b"GET /api/models HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert s.recv(12).startswith(b"HTTP/1.1 200")
