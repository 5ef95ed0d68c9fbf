"""Peak resident memory of one epoch trained from a memory-mapped .npy, for growing file sizes.

    .venv/bin/python benchmarks/memory.py            # 1 GB and 8 GB files (about 9 GB of disk)
    .venv/bin/python benchmarks/memory.py --sizes 0.1 0.4 --dir /tmp

Each file is written to a temporary folder, trained on for one epoch in a
fresh subprocess (``model.fit_source``), and deleted. The subprocess reports
its own peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``),
once after the imports and once after the epoch. Target: the largest file's
peak within 1.2x of the smallest's, and every peak under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _record import markdown, name_for, start, table, write_record

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(2)
import latentlab
from latentlab.data.streaming import NpySource
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
src = NpySource(sys.argv[1])
model = latentlab.Autoencoder(latent_dim=2, hidden=(int(sys.argv[2]),), likelihood="gaussian")
t = time.perf_counter()
model.fit_source(src, epochs=1, batch_size=1024, validation_split=0.0, patience=None, restore_best=False,
                 lr_schedule="none", verbose=False, seed=0)
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": len(src), "base_mb": base, "peak_mb": peak, "seconds": secs,
                  "loss": model.history[-1]["loss"]}))
"""


def write_npy(path: Path, gigabytes: float, features: int) -> int:
    """Write a float32 .npy of about ``gigabytes`` GB with plain writes (no mapping), in 64 MB pieces."""
    rows = int(gigabytes * 1e9) // (4 * features)
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, features)}
    piece_rows = max(1, (64 << 20) // (4 * features))
    piece = np.random.default_rng(0).random((piece_rows, features), dtype=np.float32)
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_2_0(fh, header)
        done = 0
        while done < rows:
            k = min(piece_rows, rows - done)
            (piece[:k] + np.float32(done % 7)).tofile(fh)
            done += k
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=float, nargs="+", default=[1.0, 8.0], help="file sizes in GB")
    p.add_argument("--features", type=int, default=4096, help="float32 values per row")
    p.add_argument("--hidden", type=int, default=8, help="hidden width of the (deliberately small) model")
    p.add_argument("--dir", default=None, help="folder for the temporary files (default: system temp)")
    args = p.parse_args(argv)
    clock = start()
    rows_out = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="latentlab-mem-") as tmp:
        for gb in args.sizes:
            path = Path(tmp) / f"data_{gb:g}GB.npy"
            t = time.perf_counter()
            write_npy(path, gb, args.features)
            wrote = time.perf_counter() - t
            proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(args.hidden)], capture_output=True, text=True,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})
            size = path.stat().st_size / 1e9
            path.unlink()
            if proc.returncode:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r.update(file_gb=size, write_s=wrote)
            rows_out.append(r)
            print(f"{size:.2f} GB: peak {r['peak_mb']:.0f} MB, {r['seconds']:.0f} s", file=sys.stderr, flush=True)
    spec = table(["file", f"rows x {args.features} float32", "RSS after imports", "peak RSS", "epoch time", "final loss"],
                 [[f"{r['file_gb']:.2f} GB", f"{r['rows']:,}", f"{r['base_mb']:.0f} MB", f"{r['peak_mb']:.0f} MB",
                   f"{r['seconds']:.1f} s", f"{r['loss']:.4f}"] for r in rows_out], align=["r"] * 6)
    print(markdown(spec))
    ratio = rows_out[-1]["peak_mb"] / rows_out[0]["peak_mb"]
    ok = ratio <= 1.2 and all(r["peak_mb"] < 1024 for r in rows_out)
    print(f"\npeak ratio largest/smallest: {ratio:.3f} (target <= 1.2); all peaks < 1 GB: "
          f"{all(r['peak_mb'] < 1024 for r in rows_out)} -> {'PASS' if ok else 'FAIL'}")
    write_record(name_for("memory", p, args, ignore=("dir",)), {"rows": rows_out, "peak_ratio": ratio, "pass": ok},
                 started=clock, args=args, tables={"main": spec},
                 notes="peak RSS of a fresh process training one epoch from a memory-mapped .npy (fit_source)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
