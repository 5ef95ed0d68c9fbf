"""The explorer's HTTP API: answers equal the Python API, and bad requests get 4xx with a message."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import latentlab

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from latentlab.web.app import MAX_BODY, create_app  # noqa: E402
from latentlab.web.export import export_model, export_page, run_mlp  # noqa: E402
from latentlab.web.runs import default_runs, load_runs, make_entry, parse_run  # noqa: E402

FAST = dict(verbose=False, seed=0)


@pytest.fixture(scope="module")
def models(digits, digits_view):
    X_train = digits[0]
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X_train, epochs=3, **FAST)
    vae = latentlab.VAE(latent_dim=3, hidden=(16,), activation="elu").fit(X_train, epochs=3, **FAST)
    return {"ae": digits_view(ae), "vae": digits_view(vae)}


@pytest.fixture(scope="module")
def client(models):
    return TestClient(create_app({n: make_entry(n, m) for n, m in models.items()}), raise_server_exceptions=False)


@pytest.mark.slow
def test_models_and_latents(client, models, digits):
    infos = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert infos["vae"]["latent_dim"] == 3 and infos["ae"]["image_side"] == 8
    lat = client.get("/api/models/vae/latents").json()
    np.testing.assert_allclose(lat["points"], models["vae"].encode(digits[0]), atol=1e-5)
    assert lat["labels"] == digits[2].tolist()
    x0, x1, y0, y1 = infos["vae"]["extent"]
    assert infos["vae"]["plane"]["description"].startswith("PCA of 3 dimensions")  # the map is its PCA plane
    pts = np.asarray(lat["plane"])
    assert x0 < pts[:, 0].min() and pts[:, 0].max() < x1 and y0 < pts[:, 1].min() and pts[:, 1].max() < y1


@pytest.mark.slow
def test_encode_decode_sample_equal_the_python_api(client, models, digits):
    x = digits[1][:1]
    r = client.post("/api/encode", json={"model": "vae", "x": x[0].tolist()}).json()
    np.testing.assert_allclose(r["code"], models["vae"].encode(x)[0], atol=1e-6)
    rec = models["vae"].reconstruct(x)[0]
    np.testing.assert_allclose(r["reconstruction"], rec, atol=1e-6)
    assert r["error"] == pytest.approx(float(np.mean((rec - x[0]) ** 2)), rel=1e-5)
    z = np.array([[0.5, -1.0, 0.2], [2.0, 1.0, -3.0]], np.float32)
    d = client.post("/api/decode", json={"model": "vae", "z": z.tolist()}).json()
    np.testing.assert_allclose(d["images"], models["vae"].decode(z), atol=1e-6)
    s = client.post("/api/sample", json={"model": "ae", "n": 5, "seed": 3}).json()
    np.testing.assert_allclose(s["images"], models["ae"].sample(5, seed=3), atol=1e-6)
    digit = client.get("/api/digits/7").json()
    assert digit["label"] == int(digits[3][7]) and np.allclose(digit["x"], digits[1][7])


def _raw(client, path, text):
    return client.post(path, content=text.encode(), headers={"content-type": "application/json"})


BAD = [
    ("/api/decode", '{"model": "ae", "z": [[NaN, 0]]}'),
    ("/api/decode", '{"model": "ae", "z": [[Infinity, 0]]}'),
    ("/api/decode", '{"model": "ae", "z": [[1e300, 0]]}'),
    ("/api/decode", '{"model": "ae", "z": [[51, 0]]}'),
    ("/api/decode", '{"model": "ae", "z": [[0, 0, 0]]}'),
    ("/api/decode", '{"model": "ae", "z": []}'),
    ("/api/decode", '{"model": "ae", "z": [[]]}'),
    ("/api/decode", '{"model": "ae", "z": "0,0"}'),
    ("/api/decode", '{"model": "nope", "z": [[0, 0]]}'),
    ("/api/decode", '{"model": "../../etc/passwd", "z": [[0, 0]]}'),
    ("/api/decode", '{"model": "/tmp/run", "z": [[0, 0]]}'),
    ("/api/decode", '{"model": "ae", "z": [[0, 0]], "path": "/tmp"}'),
    ("/api/decode", '{"model": "ae", "z": [[0, 0]], "label": -1}'),
    ("/api/decode", "{not json"),
    ("/api/encode", '{"model": "ae", "x": [0, 1, 0]}'),
    ("/api/encode", '{"model": "ae", "x": [' + ",".join(["0"] * 65) + "]}"),
    ("/api/encode", '{"model": "ae", "x": [' + ",".join(["NaN"] * 64) + "]}"),
    ("/api/sample", '{"model": "ae", "n": 0}'),
    ("/api/sample", '{"model": "ae", "n": 100000}'),
    ("/api/sample", '{"model": "ae", "seed": -1}'),
]


@pytest.mark.slow
@pytest.mark.parametrize("path,body", BAD)
def test_bad_requests_get_4xx_with_a_message(client, path, body):
    r = _raw(client, path, body)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    detail = r.json()["detail"]
    assert detail and (isinstance(detail, str) or all(e["msg"] for e in detail))


@pytest.mark.slow
def test_messages_name_the_problem(client):
    assert "known models" in _raw(client, "/api/decode", '{"model": "nope", "z": [[0, 0]]}').json()["detail"]
    assert "takes 64" in _raw(client, "/api/encode", '{"model": "ae", "x": [0, 1]}').json()["detail"]
    assert "2 coordinates" in _raw(client, "/api/decode", '{"model": "ae", "z": [[0, 0, 0]]}').json()["detail"]


@pytest.mark.slow
def test_oversized_bodies_and_bad_paths(client):
    big = json.dumps({"model": "ae", "z": [[0.123456789, 0.123456789]] * 20000})
    assert len(big) > MAX_BODY
    r = _raw(client, "/api/decode", big)
    assert r.status_code == 413 and "exceeds" in r.json()["detail"]
    assert client.get("/api/models/nope/latents").status_code == 404
    assert client.get("/api/models/..%2F..%2Fetc/latents").status_code in (404, 422)
    assert client.get("/api/digits/450").status_code == 422
    assert client.get("/api/digits/-1").status_code == 422
    assert client.get("/static/../app.py").status_code == 404


@pytest.mark.slow
def test_openapi_declares_constraints(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    coord = schemas["DecodeRequest"]["properties"]["z"]["items"]["items"]
    assert coord["maximum"] == 50 and coord["minimum"] == -50
    assert schemas["DecodeRequest"]["properties"]["model"]["pattern"].startswith("^")
    assert "404" in spec["paths"]["/api/decode"]["post"]["responses"]


@pytest.mark.slow
def test_export_replays_the_decoder_and_encoder(models, digits):
    for name, model in models.items():
        part = export_model(name, model)
        net = part["net"]
        z = np.random.default_rng(1).normal(size=(6, model.config.latent_dim))
        ours = run_mlp(net["decoder"], z) * np.asarray(net["scale"]) + np.asarray(net["offset"])
        np.testing.assert_allclose(ours, model.decode(z.astype(np.float32)), atol=1e-5)
        assert net["encoder"] is not None
        xs = (digits[1][:5] - np.asarray(net["offset"])) / np.asarray(net["scale"])
        code = run_mlp(net["encoder"], xs)[:, : model.config.latent_dim]
        np.testing.assert_allclose(code, model.encode(digits[1][:5]), atol=1e-5)
        assert len(part["samples"][""]) == 64


@pytest.mark.slow
def test_export_page_is_self_contained(models):
    html = export_page(models)
    assert "window.LATENTLAB_EXPORT" in html and "runMLP" in html
    assert 'src="' not in html and 'href="static' not in html and "https://" not in html
    assert html.count("</script>") == 3  # data, back end, page: nothing else to load


def test_export_refuses_a_non_mlp_decoder(digits):
    conv = latentlab.Autoencoder(latent_dim=2, architecture="conv", hidden=(4,), image_shape=(1, 8, 8))
    conv.fit(digits[0][:64], epochs=1, batch_size=16, **FAST)
    with pytest.raises(latentlab.ConfigError, match="not a plain MLP"):
        export_model("conv", conv)


@pytest.mark.slow
def test_runs_by_name_and_cli(models, tmp_path, capsys):
    from latentlab.cli import build_parser, main

    models["ae"].save(tmp_path / "my run")
    assert parse_run(str(tmp_path / "my run"))[0] == "my-run"
    entries = load_runs([f"first={tmp_path / 'my run'}", str(tmp_path / "my run")])
    assert sorted(entries) == ["first", "my-run"]
    with pytest.raises(latentlab.ConfigError, match="named"):
        load_runs([str(tmp_path / "my run"), str(tmp_path / "my run")])
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.runs == []
    assert main(["export-explorer", str(tmp_path / "my run"), str(tmp_path / "site")]) == 0
    assert (tmp_path / "site" / "index.html").stat().st_size > 10_000
    assert main(["export-explorer", str(tmp_path / "site")]) == 2
    assert main(["serve", "--port", "0", str(tmp_path / "my run")]) == 2
    assert "not a TCP port" in capsys.readouterr().err


@pytest.mark.slow
def test_default_runs_are_reused(models, tmp_path):
    models["vae"].save(tmp_path / "demo")
    models["ae"].save(tmp_path / "demo-ae")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    specs = default_runs(tmp_path, verbose=False)
    assert specs == [f"vae={tmp_path / 'demo'}", f"ae={tmp_path / 'demo-ae'}"]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    assert math.isclose(
        load_runs(specs)["vae"].info.code_mean[0],
        models["vae"].encode(latentlab.load_digits(split=True)[0])[:, 0].mean(),
        rel_tol=1e-4,
        abs_tol=1e-5,
    )


@pytest.mark.slow
def test_decode_batcher_groups_splits_and_isolates_faults(models, monkeypatch, run_async):
    import asyncio

    from latentlab.errors import DataError
    from latentlab.web import batching

    ae, vae = models["ae"], models["vae"]
    rng = np.random.default_rng(0)
    za, zb, zv = (rng.normal(size=(n, d)).astype(np.float32) for n, d in ((3, 2), (2, 2), (4, 3)))
    bad = np.array([[np.nan, 0.0]], np.float32)

    def together(batcher, *requests):
        async def main():
            return await asyncio.gather(*(batcher.decode(*r) for r in requests), return_exceptions=True)

        return run_async(main, timeout=60)

    b = batching.DecodeBatcher()
    out = together(b, ("ae", ae, za), ("vae", vae, zv), ("ae", ae, bad), ("ae", ae, zb))
    np.testing.assert_allclose(out[0], ae.decode(za), atol=1e-6)
    np.testing.assert_allclose(out[1], vae.decode(zv), atol=1e-6)
    assert isinstance(out[2], DataError) and "NaN" in str(out[2])  # only the request at fault fails
    np.testing.assert_allclose(out[3], ae.decode(zb), atol=1e-6)
    assert b.calls == 2 + 3  # one per model, then the failed "ae" batch retried one request at a time

    monkeypatch.setattr(batching, "MAX_BATCH_ROWS", 4)
    b = batching.DecodeBatcher()
    out = together(b, ("ae", ae, za), ("ae", ae, za), ("ae", ae, zb[:1]))
    assert b.calls == 2  # 3 rows | 3 + 1 rows
    for got in out:
        assert got.shape[1] == 64
    np.testing.assert_allclose(np.concatenate(out), ae.decode(np.concatenate([za, za, zb[:1]])), atol=1e-6)
