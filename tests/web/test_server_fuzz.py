"""The explorer's server under hostile and heavy traffic.

* schemathesis generates requests from the app's own OpenAPI document (valid
  and invalid bodies, paths, numbers at the limits): zero 5xx answers and
  zero answers that break the documented schema, status codes or content types.
* a load test: 50 concurrent clients against a real uvicorn server bound to
  127.0.0.1, a bounded number of requests each, all answered correctly.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import latentlab

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from latentlab.web.app import create_app  # noqa: E402
from latentlab.web.runs import make_entry  # noqa: E402

# Fuzzed inputs lie far outside the training data on purpose.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::latentlab.errors.DataWarning")]  # a real server, heavy traffic

FAST = dict(verbose=False, seed=0, batch_size=64)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def models(digits, digits_view):
    X, y = digits[0], digits[2]
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X, epochs=2, **FAST)
    vae = latentlab.VAE(latent_dim=3, hidden=(16,)).fit(X, epochs=2, **FAST)
    cvae = latentlab.create("cvae", latent_dim=2, hidden=(16,), n_classes=10).fit(X, y, epochs=2, **FAST)
    return {name: digits_view(m) for name, m in {"ae": ae, "vae": vae, "cvae": cvae}.items()}


@pytest.fixture(scope="module")
def app(models):
    return create_app({name: make_entry(name, m) for name, m in models.items()})


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def operations(api_schema) -> dict[str, object]:
    return {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in api_schema.get_all_operations())}


def test_schema_lists_every_endpoint(api_schema):
    assert set(operations(api_schema)) >= {
        "GET /api/models",
        "GET /api/models/{name}/latents",
        "GET /api/digits/{index}",
        "POST /api/encode",
        "POST /api/decode",
        "POST /api/sample",
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_fuzz(api_schema, mode):
    """Every generated request (schema-valid, and schema-violating) gets a documented answer below 500."""
    sent: dict[str, int] = {}
    for name, op in operations(api_schema).items():
        sent[name] = 0
        fuzz(op, mode, sent, name)
    with_inputs = [n for n in sent if n != "GET /api/models"]
    assert all(sent[n] > 0 for n in with_inputs), sent  # the fuzzing really reached every endpoint


MODELS = {"ae": 2, "vae": 3, "cvae": 2}  # served models and their latent sizes


def fit_length(values, n: int) -> list:
    """The generated values repeated or cut to length ``n`` (so that they pass the size check)."""
    values = list(values) if isinstance(values, list) and values else [0.0]
    return (values * (n // len(values) + 1))[:n]


def steer(case, served: str | None) -> None:
    """Point most generated requests at a served model, with inputs of its sizes, so that they reach the models."""
    if served is None:
        return
    body = case.body
    if isinstance(body, dict) and "model" in body:
        body["model"] = served
        if isinstance(body.get("x"), list):
            body["x"] = fit_length(body["x"], 64)
        if isinstance(body.get("z"), list) and all(isinstance(r, list) for r in body["z"]):
            body["z"] = [fit_length(r, MODELS[served]) for r in body["z"]]
    if case.path_parameters and "name" in case.path_parameters:
        case.path_parameters["name"] = served


def fuzz(op, mode, sent: dict[str, int], name: str) -> None:
    """Send up to 25 generated requests to one operation and check every answer."""

    @given(case=op.as_strategy(generation_mode=mode), served=st.sampled_from([*MODELS, None]))
    @settings(max_examples=30, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def run(case, served):
        steer(case, served)
        sent[name] += 1
        case.call_and_validate(checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # no input to make invalid (GET /api/models takes none)
        assert mode is GenerationMode.NEGATIVE and name == "GET /api/models"


# ------------------------------------------------------------------ load test
CLIENTS = 50
REQUESTS_PER_CLIENT = 8


@pytest.fixture(scope="module")
def server(app, serve_in_thread):
    with serve_in_thread(app, lifespan="off", backlog=256) as base:
        yield base


async def one_client(base: str, i: int, digits_test: np.ndarray, expected: list) -> list[str]:
    """A client's mix of requests; returns a description of every wrong answer.

    Decode answers are kept in ``expected`` as ``(model, z, label, images)`` to compare with ``model.decode``.
    """
    errors = []
    rng = np.random.default_rng(i)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for k in range(REQUESTS_PER_CLIENT):
            kind = (i + k) % 5
            try:
                if kind in (0, 4):  # decode is the map's hot path: several models, sizes and labels at once
                    name, label = ("vae", None) if kind == 0 else ("cvae", (i + k) % 10)
                    z = rng.normal(size=(1 + (i + k) % 5, 3 if name == "vae" else 2)).astype(np.float32)
                    body = {"model": name, "z": z.tolist()} | ({} if label is None else {"label": label})
                    r = await client.post("/api/decode", json=body)
                    ok = r.status_code == 200 and np.asarray(r.json()["images"]).shape == (len(z), 64)
                    if ok:
                        expected.append((name, z, label, np.asarray(r.json()["images"])))
                elif kind == 1:
                    x = digits_test[(i * 7 + k) % len(digits_test)].tolist()
                    r = await client.post("/api/encode", json={"model": "ae", "x": x})
                    ok = r.status_code == 200 and len(r.json()["code"]) == 2
                elif kind == 2:
                    r = await client.post("/api/sample", json={"model": "cvae", "n": 3, "label": k % 10, "seed": i})
                    ok = r.status_code == 200 and np.isfinite(r.json()["images"]).all()
                else:
                    r = await client.get("/api/models/vae/latents")
                    ok = r.status_code == 200 and len(r.json()["points"]) > 0
                if not ok:
                    errors.append(f"client {i} request {k}: HTTP {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"client {i} request {k}: {type(exc).__name__}: {exc}")
    return errors


def test_fifty_concurrent_clients(server, app, models, digits, run_async):
    decoded: list = []
    calls_before = app.state.decode_batcher.calls

    async def main():
        return await asyncio.wait_for(
            asyncio.gather(*(one_client(server, i, digits[1], decoded) for i in range(CLIENTS))), timeout=300
        )

    results = run_async(main, timeout=360)
    errors = [e for errs in results for e in errs]
    assert errors == [], errors[:5]
    assert len(results) == CLIENTS
    # Concurrent decodes share model.decode calls, and each client still gets exactly its own rows.
    assert len(decoded) == CLIENTS * REQUESTS_PER_CLIENT * 2 // 5
    assert app.state.decode_batcher.calls - calls_before < len(decoded)
    for name, z, label, images in decoded:
        y = None if label is None else np.full(len(z), label)
        np.testing.assert_allclose(images, models[name].decode(z, y).reshape(len(z), -1), atol=1e-5)
