"""Reliability soak: many SIGKILLs and resumes, a long schemathesis run, a heavier load test.

The test suite runs a light version of each (tests/training/test_resume_sigkill.py,
tests/web/test_server_fuzz.py); this script runs them for longer and prints
tables for docs/reliability.md::

    python benchmarks/soak.py                    # everything, a few minutes
    python benchmarks/soak.py --kills 20 --clients 50 --requests 40 --examples 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from _record import markdown, name_for, start, write_record
from _record import table as record_table

#: The tables printed so far, by part (kill, fuzz, load, save): the record's tables.
TABLES: dict[str, dict] = {}


def table(key: str, title: str, rows: list[tuple[str, str]]) -> None:
    """Print one part's table and keep it for the record under ``key``."""
    TABLES[key] = {**record_table(["measure", "value"], [list(r) for r in rows]), "title": title}
    print(f"\n{title}\n")
    print(markdown(TABLES[key]))


# ------------------------------------------------------------- kill / resume
def peek_epoch(path: Path) -> int:
    """The epoch in a checkpoint's metadata, cheaply; -1 when there is none yet."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="np") as fh:
            return int(json.loads(fh.metadata()["state"])["trainer"]["epoch"])
    except (OSError, SafetensorError, KeyError, ValueError):
        return -1


def kill_targets(kills: int, epochs: int, rng: random.Random) -> list[int]:
    """The epoch after which each run is killed: spread evenly over the run, jittered, at most ``epochs - 3``.

    Timing the kills by the run's progress, not by the clock, makes them land mid-run on a fast quiet
    machine as on a slow busy one (a quiet 2-core machine trains a small run's 60 epochs in about 2 s,
    so kills timed in seconds mostly found the run finished).
    """
    step = epochs / (kills + 1)
    return [min(epochs - 3, max(1, round((i + 1) * step + rng.uniform(-0.4, 0.4) * step))) for i in range(kills)]


def kill_resume(kills: int, epochs: int, seed: int) -> None:
    import latentlab
    from latentlab.training.checkpoint import CHECKPOINT_NAME, load_checkpoint

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    data = work / "x.npy"
    g = np.random.default_rng(0)
    X = (np.tanh(g.normal(size=(1000, 3)) @ g.normal(size=(3, 16))) + 0.05 * g.normal(size=(1000, 16))).astype(
        np.float32
    )
    np.save(data, X)
    out = work / "run"
    cmd = [sys.executable, "-m", "latentlab", "train", "--family", "vae", "--data", str(data), "--out", str(out),
           "--latent-dim", "3", "--hidden", "32", "--epochs", str(epochs), "--batch-size", "32", "--seed", "0",
           "--patience", "none", "--verbose", "false", "--checkpoint-every", "1", "--resume"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    loads, interrupted, epochs_seen = 0, 0, []
    epoch_s = 0.05  # seconds an epoch takes, measured from the checkpoints as the runs go
    t0 = time.perf_counter()
    last = -1
    for target in kill_targets(kills, epochs, rng):
        target = max(target, last + 1)  # the previous kill may have landed an epoch or more past its target
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        first = None  # (time, epoch) of the first checkpoint this process wrote
        while proc.poll() is None and time.monotonic() < deadline:
            epoch = peek_epoch(out / CHECKPOINT_NAME)
            if epoch > last and first is None:
                first = (time.monotonic(), epoch)
            if epoch >= target:
                if first is not None and epoch > first[1]:
                    epoch_s = (time.monotonic() - first[0]) / (epoch - first[1])
                break
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, epoch_s))  # then a random moment of the next epoch: mid-batch, mid-write, ...
        interrupted += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (out / CHECKPOINT_NAME).exists():
            epochs_seen.append(load_checkpoint(out / CHECKPOINT_NAME).epoch)  # raises if it does not load
            last = epochs_seen[-1]
            loads += 1
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    final = json.loads((out / "metrics.json").read_text())["history"][-1]["loss"]
    wall = time.perf_counter() - t0
    import torch

    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = latentlab.VAE(latent_dim=3, hidden=(32,)).fit(
            X, epochs=epochs, batch_size=32, seed=0, patience=None, verbose=False
        )
    ref_loss = ref.history[-1]["loss"]
    table(
        "kill",
        f"Kill/resume soak (VAE, {epochs} epochs; each run SIGKILLed at a random moment of the epoch after "
        "its target epoch, the targets spread over the run)",
        [
            ("SIGKILLs sent / landed mid-run", f"{kills} / {interrupted}"),
            ("checkpoints found after a kill / that loaded", f"{loads} / {loads}"),
            ("checkpoint epochs after each kill", ", ".join(map(str, epochs_seen))),
            ("final loss, killed and resumed", f"{final:.6f}"),
            ("final loss, uninterrupted (in-process)", f"{ref_loss:.6f}"),
            ("relative difference", f"{abs(final - ref_loss) / abs(ref_loss):.2e}"),
            ("wall time", f"{wall:.1f} s"),
        ],
    )


# ------------------------------------------------------------------- server
def make_app():
    import latentlab
    from latentlab.web.app import create_app
    from latentlab.web.runs import make_entry

    X, y = latentlab.load_digits()
    kw = dict(epochs=3, batch_size=64, verbose=False, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "ae": latentlab.Autoencoder(latent_dim=2, hidden=(32,)).fit(X, **kw),
            "vae": latentlab.VAE(latent_dim=3, hidden=(32,)).fit(X, **kw),
            "cvae": latentlab.create("cvae", latent_dim=2, hidden=(32,), n_classes=10).fit(X, y, **kw),
        }
    return create_app({n: make_entry(n, m) for n, m in models.items()}), X


def fuzz(app, examples: int) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              response_headers_conformance]  # fmt: skip
    dims = {"ae": 2, "vae": 3, "cvae": 2}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    counts = {"sent": 0, "failures": 0, "status": {}}
    t0 = time.perf_counter()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for op in (r.ok() for r in schema.get_all_operations()):
            if mode is GenerationMode.NEGATIVE and op.path == "/api/models":
                continue  # takes no input, so there is nothing to make invalid

            @given(case=op.as_strategy(generation_mode=mode), served=st.sampled_from([*dims, None]))
            @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case, served):
                if served and isinstance(case.body, dict) and "model" in case.body:
                    case.body["model"] = served
                    if isinstance(case.body.get("x"), list) and case.body["x"]:
                        case.body["x"] = (case.body["x"] * 64)[:64]
                    if isinstance(case.body.get("z"), list) and all(isinstance(r, list) and r for r in case.body["z"]):
                        case.body["z"] = [(r * 4)[: dims[served]] for r in case.body["z"]]
                if served and case.path_parameters and "name" in case.path_parameters:
                    case.path_parameters["name"] = served
                counts["sent"] += 1
                response = case.call()
                counts["status"][response.status_code] = counts["status"].get(response.status_code, 0) + 1
                case.validate_response(response, checks=checks)

            try:
                run()
            except Exception as exc:  # a failed check: count it and go on to the next operation
                counts["failures"] += 1
                print(f"FAILURE {op.method.upper()} {op.path}: {str(exc)[:300]}")
    status = ", ".join(f"{k}: {v}" for k, v in sorted(counts["status"].items()))
    table(
        "fuzz",
        f"schemathesis against the explorer's OpenAPI ({examples} examples per operation and mode)",
        [
            ("requests sent", str(counts["sent"])),
            ("answers by status", status),
            ("5xx answers", str(sum(v for k, v in counts["status"].items() if k >= 500))),
            ("operations with a failed check (5xx, schema, status, content type, headers)", str(counts["failures"])),
            ("wall time", f"{time.perf_counter() - t0:.1f} s"),
        ],
    )


def load_test(app, X, clients: int, requests: int) -> None:
    import httpx
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", backlog=1024))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    host, port = sock.getsockname()
    base = f"http://{host}:{port}"
    latencies: list[float] = []
    errors: list[str] = []

    async def client(i: int):
        rng = np.random.default_rng(i)
        async with httpx.AsyncClient(base_url=base, timeout=120) as c:
            for k in range(requests):
                kind = (i + k) % 4
                t = time.perf_counter()
                try:
                    if kind == 0:
                        r = await c.post("/api/decode", json={"model": "vae", "z": rng.normal(size=(8, 3)).tolist()})
                    elif kind == 1:
                        r = await c.post("/api/encode", json={"model": "ae", "x": X[(i * 31 + k) % len(X)].tolist()})
                    elif kind == 2:
                        r = await c.post("/api/sample", json={"model": "cvae", "n": 4, "label": k % 10, "seed": k})
                    else:
                        r = await c.get("/api/models/vae/latents")
                    if r.status_code != 200:
                        errors.append(f"HTTP {r.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()

    async def main():
        await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(clients))), timeout=600)

    asyncio.run(main())
    wall = time.perf_counter() - t0
    server.should_exit = True
    thread.join(timeout=10)
    ms = np.array(latencies) * 1000
    table(
        "load",
        f"Load test: {clients} concurrent clients x {requests} requests on 127.0.0.1 (uvicorn, one process)",
        [
            ("requests", str(len(latencies))),
            ("errors", str(len(errors))),
            ("throughput", f"{len(latencies) / wall:.0f} requests/s"),
            ("latency p50 / p95 / p99", f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f} / "
             f"{np.percentile(ms, 99):.1f} ms"),  # fmt: skip
            ("wall time", f"{wall:.1f} s"),
        ],
    )


def save_kills(kills: int, seed: int) -> None:
    """SIGKILL a process that saves two models over one folder in turn; check the folder after each kill."""
    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path.insert(0, str(next(tests.rglob("test_save_kill.py")).parent))  # wherever the tests' layout puts it
    from test_save_kill import kill_during_save

    rows = []
    for same in (True, False):
        with tempfile.TemporaryDirectory() as root:
            c = kill_during_save(Path(root), kills, same_shape=same, seed=seed)
        rows.append(["same shape" if same else "different shape", str(kills), f"{c['a']} / {c['b']}",
                     f"{c['mixed']} / {c['lost']} / {c['temporaries_left']}"])
    title = "Kill during save (each kill must leave the complete old or the complete new model)"
    TABLES["save"] = {**record_table(["pair of models", "kills", "old model / new model",
                                      "mixed / lost / temporaries left"], rows), "title": title}
    print(f"\n{title}\n")
    print(markdown(TABLES["save"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--examples", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-kills", type=int, default=50, help="kills during save, for each of two model pairs")
    p.add_argument("--only", choices=["kill", "save", "fuzz", "load"], default=None)
    args = p.parse_args()
    clock = start()
    print(f"machine: {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    if args.only in (None, "kill"):
        kill_resume(args.kills, args.epochs, args.seed)
    if args.only in (None, "save"):
        save_kills(args.save_kills, args.seed)
    if args.only in (None, "fuzz", "load"):
        app, X = make_app()
        if args.only in (None, "fuzz"):
            fuzz(app, args.examples)
        if args.only in (None, "load"):
            load_test(app, X, args.clients, args.requests)
    figures = {k: {"columns": v["columns"], "rows": v["rows"]} for k, v in TABLES.items()}
    write_record(name_for("soak", p, args), figures, started=clock,
                 args=args, tables=TABLES, notes="kill/resume, kill during save, schemathesis and a load test")


if __name__ == "__main__":
    main()
