"""Hostile inputs against photos, images, the codec, text, ONNX, the loggers, the loaders and the size bounds.

Each case calls one public entry point (or the command line, in-process) with
a bad input: a wrong dtype, NaN or inf, an empty array, a huge size, a cut or
lying file, a folder where a file is expected, a negative or zero batch...
Cases run in worker processes (one at a time, each under a time limit, with
its address space capped by ``RLIMIT_AS``); a worker that hangs or dies is
replaced and the next case goes on. Each outcome is one of:

- ``clear``: a latentlab error, ``ValueError`` or ``TypeError`` whose message
  names the problem (one of the case's words, none of its misleading ones);
- ``handled``: the call returned the right result (or warned, where a warning
  is the right answer);
- ``unclear``: any other exception, or a message that does not name the problem;
- ``silent``: a wrong result without an error;
- ``crash``: the worker died, ran out of memory, or hung past the limit.

    OMP_NUM_THREADS=1 python benchmarks/hostile.py            # about 2 minutes; writes benchmarks/results/hostile.json
    python benchmarks/hostile.py --only text --verbose       # one surface, each case's detail
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

OUTCOMES = ("clear", "handled", "unclear", "silent", "crash")
MEMORY_CAP = 4 << 30  # bytes of address space a worker may map
TIMEOUT = 20.0  # seconds a case may take


def main() -> None:
    import _record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="run one surface only")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds a case may take (default 20)")
    parser.add_argument("--name", default="hostile", help="record name (benchmarks/results/NAME.json)")
    parser.add_argument("--verbose", action="store_true", help="print every case's outcome and detail")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--setup", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        import _hostile_files

        return _hostile_files.build(Path(args.setup))
    if args.worker:
        return worker(Path(args.worker))
    clock = _record.start()
    from _hostile_cases import CASES

    work = Path(tempfile.mkdtemp(prefix="hostile-"))
    fixtures = work / "fixtures"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    subprocess.run([sys.executable, __file__, "--setup", str(fixtures)], check=True, env=env, cwd=work,
                   stdout=subprocess.DEVNULL)
    todo = [i for i, c in enumerate(CASES) if args.only in (None, c.surface)]
    try:
        results = run_all(todo, fixtures, work, env, args.timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = []
    for i in todo:
        c, (outcome, detail, secs) = CASES[i], results[i]
        rows.append({"surface": c.surface, "case": c.name, "outcome": outcome, "detail": detail, "seconds": secs})
        if args.verbose or outcome in ("unclear", "silent", "crash"):
            print(f"{outcome:8s} {c.surface:8s} {c.name}: {detail[:160]}")
    counts = Counter(r["outcome"] for r in rows)
    surfaces = sorted({r["surface"] for r in rows})
    by_surface = {s: dict(Counter(r["outcome"] for r in rows if r["surface"] == s)) for s in surfaces}
    print(f"\n{len(rows)} cases: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in OUTCOMES))
    table_rows = [[s, *[by_surface[s].get(k, 0) for k in OUTCOMES]] for s in surfaces]
    table_rows.append(["all", *[counts.get(k, 0) for k in OUTCOMES]])
    spec = _record.table(["surface", *OUTCOMES], table_rows, ["l"] + ["r"] * len(OUTCOMES))
    print(_record.markdown(spec))
    figures = {"cases": len(rows), "counts": {k: counts.get(k, 0) for k in OUTCOMES}, "by_surface": by_surface,
               "results": rows}
    name = _record.name_for(args.name, parser, args, ignore=("name", "verbose"))  # --only X: its own record
    _record.write_record(name, figures, args=args, started=clock, tables={"outcomes": spec},
                         notes="hostile inputs by outcome and surface; see the module docstring for the classes")


# ------------------------------------------------------------------ parent: run the workers
def run_all(todo: list[int], fixtures: Path, work: Path, env: dict, timeout: float) -> dict:
    """Each case's ``(outcome, detail, seconds)``, run in workers that are replaced when they hang or die."""
    results: dict[int, tuple[str, str, float]] = {}
    pending = list(todo)
    proc = None
    while pending:
        if proc is None or proc.poll() is not None:
            proc = subprocess.Popen([sys.executable, __file__, "--worker", str(fixtures)], cwd=work, env=env, text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            line = _read_line(proc, 120.0)
            if line is None or line.strip() != "ready":
                raise SystemExit(f"a worker did not start ({line!r})")
        i = pending.pop(0)
        proc.stdin.write(f"{i}\n")
        proc.stdin.flush()
        t0 = time.perf_counter()
        line = _read_line(proc, timeout)
        secs = round(time.perf_counter() - t0, 2)
        if line is None:  # hung or died
            died = proc.poll() is not None
            if not died:
                proc.kill()
            proc.wait()
            what = f"the worker died (exit {proc.returncode})" if died else f"hung: no answer in {timeout:g} s"
            results[i] = ("crash", what, secs)
            proc = None
            continue
        outcome, detail = json.loads(line)
        results[i] = (outcome, detail, secs)
    if proc is not None:
        proc.stdin.close()
        proc.wait(timeout=30)
    return results


def _read_line(proc: subprocess.Popen, timeout: float) -> str | None:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        return None
    line = proc.stdout.readline()
    return line or None


# ------------------------------------------------------------------ worker: run one case at a time
def worker(fixtures: Path) -> None:
    import resource
    import warnings

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    warnings.simplefilter("ignore")
    from _hostile_cases import CASES, Context

    ctx = Context(fixtures)
    print("ready", flush=True)
    for line in sys.stdin:
        case = CASES[int(line)]
        os.chdir(tempfile.mkdtemp(dir=fixtures.parent))  # files a case writes land in a fresh folder
        print(json.dumps(classify(case, ctx)), flush=True)


def classify(case, ctx) -> tuple[str, str]:
    """Run one case and name its outcome (see the module docstring)."""
    import warnings

    from _hostile_cases import CliFailure

    from latentlab.errors import LatentlabError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = case.fn(ctx)
        except MemoryError as exc:
            return "crash", f"MemoryError {exc}"[:300]
        except BaseException as exc:  # noqa: BLE001 - a Rust panic is a BaseException: it is an outcome too
            msg = f"{type(exc).__name__}: {exc}"
            if "allocate" in str(exc) and "memory" in str(exc):
                return "crash", f"out of memory: {msg}"[:300]
            if not isinstance(exc, Exception):
                return "crash", msg[:300]
            named = isinstance(exc, (LatentlabError, ValueError, TypeError, CliFailure))
            text = str(exc).lower()
            if named and case.words and any(w in text for w in case.words) and not any(b in text for b in case.bad):
                return "clear", msg[:300]
            return "unclear", msg[:300]
    warned = " | ".join(str(w.message) for w in caught)
    if case.ok is not None:
        try:
            good = case.ok(result, warned.lower())
        except Exception as exc:  # noqa: BLE001 - a check that cannot read the result: the result is wrong
            good = False
            warned = f"check failed: {type(exc).__name__}: {exc}"
        if good:
            return "handled", f"returned {_short(result)}"[:300]
    return "silent", f"returned {_short(result)}; warnings: {warned[:150]}"[:300]


def _short(value) -> str:
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__} {tuple(shape)}" if shape is not None else repr(value)[:120]


if __name__ == "__main__":
    main()
