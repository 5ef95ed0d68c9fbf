"""Decode-request latency of the explorer server at 127.0.0.1.

Starts ``latentlab serve`` on the given runs (default: the demo's VAE and AE,
trained on first use) in a subprocess on a free loopback port, then for 1 and
for 20 concurrent clients sends back-to-back ``POST /api/decode`` requests of
one random point for ``--seconds`` each over keep-alive connections, and
prints p50 / p99 latency and errors. Target: p99 < 10 ms with 20 clients, 0 errors.

The clients are raw asyncio HTTP/1.1 connections so that the client's own
overhead stays out of the figures.

    .venv/bin/python benchmarks/serve.py [--seconds 10] [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
from _record import name_for, start, table, write_record


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(port: int, model: str, dim: int, until: float, lat: list, errors: list, rng: random.Random):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            body = json.dumps({"model": model, "z": [[rng.uniform(-2, 2) for _ in range(dim)]]}).encode()
            head = (
                f"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if not status.startswith(b"HTTP/1.1 200") or b'"images"' not in payload:
                errors.append(status.decode().strip())
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(repr(exc))
    finally:
        writer.close()


async def run_load(port: int, model: str, dim: int, n_clients: int, seconds: float):
    lat: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(client(port, model, dim, until, lat, errors, random.Random(i)) for i in range(n_clients)))
    return np.array(lat) * 1000, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", help="runs to serve (default: the demo models)")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    clock = start()
    port = free_port()
    cmd = [sys.executable, "-m", "latentlab", "serve", "--port", str(port), *args.runs]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 600
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=2) as r:
                    info = json.loads(r.read())["models"][0]
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"server did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.3)
        model, dim = info["name"], info["latent_dim"]
        asyncio.run(run_load(port, model, dim, 4, 1.0))  # warm-up
        print(f"decode latency, model {model!r} ({info['family']}, latent {dim}), {args.seconds:.0f} s per row")
        rows = []
        print(f"{'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
        for n in (1, 20):
            lat, errors = asyncio.run(run_load(port, model, dim, n, args.seconds))
            p50, p99 = np.percentile(lat, [50, 99]) if len(lat) else (float("nan"),) * 2
            print(
                f"{n:>7} {len(lat):>9} {len(lat) / args.seconds:>8.0f} {p50:>8.2f} {p99:>8.2f} "
                f"{lat.max() if len(lat) else float('nan'):>8.2f} {len(errors):>7}"
            )
            for e in sorted(set(errors))[:3]:
                print(f"        error: {e}")
            rows.append({"clients": n, "requests": len(lat), "requests_per_s": len(lat) / args.seconds,
                         "p50_ms": float(p50), "p99_ms": float(p99),
                         "max_ms": float(lat.max()) if len(lat) else float("nan"), "errors": len(errors)})
        spec = table(["clients", "requests/s", "p50", "p99", "max", "errors"],
                     [[r["clients"], f"{r['requests_per_s']:,.0f}", f"{r['p50_ms']:.2f} ms", f"{r['p99_ms']:.2f} ms",
                       f"{r['max_ms']:.1f} ms", r["errors"]] for r in rows], align=["r"] * 6)
        write_record(name_for("serve", ap, args), {"model": info, "rows": rows}, started=clock, args=args,
                     tables={"main": spec},
                     notes="decode latency of `latentlab serve` at 127.0.0.1; client and server share the machine")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
