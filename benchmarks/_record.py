"""One harness for every benchmark: the JSON record of a run, and the markdown tables made from it.

A benchmark script calls :func:`start` first thing in ``main`` and
:func:`write_record` at the end. The record, ``benchmarks/results/NAME.json``,
holds the figures, the baselines run beside latentlab, the data split
scored, the machine (CPU model, vendor, the flags that decide bf16 speed),
the versions of Python and the libraries, the git revision (and whether the
tree had uncommitted changes), the command line, the wall and CPU seconds of
the run (the process and its children), the date, and the tables the
documentation shows, as rows of cells (:func:`table`). ``benchmarks/tables.py``
renders those tables into README.md and docs/*.md with :func:`markdown`;
records are written by runs only, never by hand.

    clock = start()
    ...
    write_record("clustering", figures, baselines={...}, split="test", args=args, started=clock,
                 tables={"main": table(["method", "ARI"], rows)})
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Where records go; ``LATENTLAB_BENCH_RESULTS`` sends a smoke run's record elsewhere.
RESULTS = Path(os.environ.get("LATENTLAB_BENCH_RESULTS") or ROOT / "benchmarks" / "results")
FORMAT = 1

#: CPU flags that decide which kernels (and bf16 paths) a CPU runs.
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
             "amx_int8", "sve", "asimd")
#: Packages whose versions every record names (None where not installed).
PACKAGES = ("torch", "numpy", "scikit-learn", "scipy", "latentlab", "pyod", "bm3d", "scikit-image", "pillow",
            "statsmodels", "pmdarima", "pydataset", "schemathesis")


@dataclass(frozen=True)
class Clock:
    """Wall and CPU time at the start of a run (CPU: this process plus its finished children)."""

    wall: float
    cpu: float
    date: str


def _cpu_now() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def start() -> Clock:
    """The clock a record's ``wall_s`` and ``cpu_s`` are measured from; call it first thing in ``main``."""
    return Clock(time.perf_counter(), _cpu_now(), _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))


def table(columns: list[str], rows: list[list[Any]], align: list[str] | None = None) -> dict:
    """A table of a record: column names, rows of cells (str() of each is shown), and 'l'/'r' alignments."""
    if align is not None and len(align) != len(columns):
        raise ValueError(f"{len(align)} alignments for {len(columns)} columns")
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(columns)} columns: {row}")
    return {"columns": list(columns), "align": list(align or ["l"] * len(columns)),
            "rows": [[str(c) for c in row] for row in rows]}


def markdown(spec: dict) -> str:
    """The markdown of a :func:`table` spec: header, separator, one line a row (no trailing newline)."""
    sep = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(spec["columns"]) + " |",
             "| " + " | ".join(sep[a] for a in spec["align"]) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in spec["rows"]]
    return "\n".join(lines)


def name_for(base: str, parser: argparse.ArgumentParser, args: argparse.Namespace,
             ignore: tuple[str, ...] = ()) -> str:
    """``base``, plus ``-option-value`` for every option the run set away from its default.

    A quick or development run so never overwrites the record of the reported one.
    ``ignore`` names options that do not change the figures (threads, output paths).
    """
    parts = [base]
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of its options
        dest = action.dest
        if dest in ("help", *ignore) or not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if value == action.default or (value in (None, [], (), "") and not action.default):
            continue
        if isinstance(value, bool):
            parts.append(dest)
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        text = "_".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
        parts.append(f"{dest}-{text}")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))[:120]


def _lscpu() -> dict[str, str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def machine() -> dict[str, Any]:
    """CPU model, vendor, the relevant flags, core counts, threads, and the GPU if torch sees one."""
    info = _lscpu()
    flags = set(info.get("Flags", "").split())
    if not flags:
        try:
            flags = set(next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines()
                             if ln.startswith(("flags", "Features"))).split(":", 1)[1].split())
        except (OSError, StopIteration):
            pass
    out: dict[str, Any] = {
        "cpu_model": info.get("Model name") or platform.processor() or "unknown",
        "cpu_vendor": info.get("Vendor ID"),
        "cpu_flags": sorted(flags.intersection(CPU_FLAGS)),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    torch = sys.modules.get("torch")  # only when the benchmark imported it: a record never loads torch itself
    if torch is not None:
        out["torch_threads"] = torch.get_num_threads()
        out["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return out


def versions() -> dict[str, str | None]:
    """Python's version and each of :data:`PACKAGES`' (None where not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state() -> dict[str, Any]:
    """The revision checked out and whether tracked files had changes (None outside a git checkout)."""
    def git(*cmd: str) -> str | None:
        try:
            return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    rev = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"revision": rev, "dirty": None if status is None else bool(status)}


def write_record(name: str, figures: dict, *, baselines: dict[str, str] | None = None, split: str | None = None,
                 args: argparse.Namespace | dict | None = None, started: Clock | None = None,
                 tables: dict[str, dict] | None = None, notes: str | None = None,
                 results: Path | None = None) -> Path:
    """Write ``benchmarks/results/NAME.json`` atomically and return its path.

    Parameters
    ----------
    name : str
        The record's name (``name_for`` gives the reported run its plain name).
    figures : dict
        What the run measured, as JSON-able values (NumPy scalars and arrays are converted).
    baselines : dict, optional
        Name -> description of each method run beside latentlab on the same data.
    split : str, optional
        The part of the data that was scored ("test", "validation", "development", ...).
    args : argparse.Namespace or dict, optional
        The parsed options; ``sys.argv`` is recorded beside them.
    started : Clock, optional
        From :func:`start`; wall and CPU seconds are counted from it (from process start when None).
    tables : dict, optional
        Name -> :func:`table` spec: what ``benchmarks/tables.py`` renders into the docs.
    notes : str, optional
        One line on what the figures mean, where the table alone does not say it.
    results : Path, optional
        The folder to write to (``benchmarks/results`` by default).

    Examples
    --------
    >>> import tempfile, json
    >>> from pathlib import Path
    >>> p = write_record("demo", {"mse": 0.5}, results=Path(tempfile.mkdtemp()))  # doctest: +ELLIPSIS
    record: .../demo.json
    >>> json.loads(p.read_text())["figures"]
    {'mse': 0.5}
    """
    from latentlab._files import atomic_write_json

    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ValueError(f"record name {name!r}: use letters, digits, '.', '_' and '-' only")
    cpu_now, wall_now = _cpu_now(), time.perf_counter()
    options = vars(args) if isinstance(args, argparse.Namespace) else dict(args or {})
    options = {k: str(v) if isinstance(v, os.PathLike) else v for k, v in options.items()}  # folders given as Path
    record = {
        "format": FORMAT,
        "name": name,
        "script": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else None,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "started": started.date if started else None,
        "split": split,
        "figures": figures,
        "baselines": baselines or {},
        "tables": tables or {},
        "notes": notes,
        "command": {"argv": list(sys.argv), "options": options},
        "wall_s": round(wall_now - started.wall, 3) if started else None,
        "cpu_s": round(cpu_now - (started.cpu if started else 0.0), 3),
        "machine": machine(),
        "versions": versions(),
        "git": git_state(),
    }
    path = (results or RESULTS) / f"{name}.json"
    atomic_write_json(path, record)
    print(f"record: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path
