"""The benchmark harness: records carry what a reader needs, and every generated table agrees with its record."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"


def _module(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # the scripts import their siblings by name, as when run from benchmarks/
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tables():
    return _module("tables")


@pytest.fixture(scope="module")
def record():
    return _module("_record")


def test_every_marked_table_agrees_with_its_record(tables):
    problems = tables.check()
    assert problems == [], "\n".join(problems)


def test_the_docs_mark_tables(tables):
    marked = [r for path in tables.documents() for r in tables.regions(path.read_text().split("\n"), str(path))]
    assert marked, "no '<!-- table: NAME -->' region in README.md or docs/*.md"


def test_every_record_is_complete(record):
    paths = sorted((BENCH / "results").glob("*.json"))
    assert paths, "benchmarks/results/ holds no record"
    for path in paths:
        r = json.loads(path.read_text())
        assert r["name"] == path.stem, path
        for key in ("figures", "baselines", "command", "cpu_s", "wall_s", "date", "machine", "versions", "git"):
            assert key in r, f"{path.name} lacks {key!r}"
        assert r["figures"], f"{path.name} has no figures"
        assert r["machine"]["cpu_model"] and isinstance(r["machine"]["cpu_flags"], list), path.name
        assert r["versions"]["torch"] and r["versions"]["latentlab"], path.name
        assert re.fullmatch(r"[0-9a-f]{40}", r["git"]["revision"] or ""), path.name
        for part in r["tables"].values():
            record.markdown(part)  # renders


def test_a_changed_cell_is_found_and_rewritten(tables, record, tmp_path):
    results = tmp_path / "results"
    record.write_record("toy", {"x": 1.5}, results=results,
                        tables={"main": record.table(["model", "x"], [["a", "1.50"]], align=["l", "r"])})
    good = "Intro.\n\n<!-- table: toy -->\n\n| model | x |\n| --- | ---: |\n| a | 1.50 |\n\n<!-- /table -->\nEnd.\n"
    doc = tmp_path / "doc.md"
    doc.write_text(good)
    assert tables.check([doc], results) == []
    doc.write_text(good.replace("1.50", "1.49"))
    (problem,) = tables.check([doc], results)
    assert "toy/main" in problem and "make tables" in problem
    fixed, changed = tables.update(doc.read_text(), results)
    assert changed == ["toy/main"] and fixed == good


def test_bad_markers_and_missing_records_are_clear_errors(tables, tmp_path):
    with pytest.raises(tables.TableError, match="never closed"):
        tables.regions(["<!-- table: toy -->", "| a |"], "doc.md")
    with pytest.raises(tables.TableError, match="without"):
        tables.regions(["<!-- /table -->"], "doc.md")
    with pytest.raises(tables.TableError, match="not a marker"):
        tables.regions(["<!-- table toy -->"], "doc.md")
    with pytest.raises(tables.TableError, match="run the benchmark"):
        tables.render("no-such-record", results=tmp_path)


def test_a_record_names_machine_versions_revision_command_and_costs(record, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["toy.py", "--seeds", "3"])
    clock = record.start()
    sum(i * i for i in range(200_000))  # some CPU time to count
    path = record.write_record("toy", {"mse": 0.25}, baselines={"PCA": "scikit-learn PCA"}, split="test",
                               args=argparse.Namespace(seeds=3), started=clock, results=tmp_path)
    r = json.loads(path.read_text())
    assert r["figures"] == {"mse": 0.25} and r["baselines"] == {"PCA": "scikit-learn PCA"} and r["split"] == "test"
    assert r["command"] == {"argv": ["toy.py", "--seeds", "3"], "options": {"seeds": 3}}
    assert r["cpu_s"] > 0 and r["wall_s"] > 0
    assert set(r["versions"]) >= {"python", "torch", "numpy", "scikit-learn", "latentlab"}
    assert isinstance(r["git"]["dirty"], bool)
    assert [p.name for p in tmp_path.iterdir()] == ["toy.json"]  # written atomically: no temporary left


def test_a_run_away_from_the_defaults_gets_its_own_record_name(record):
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--validate", action="store_true")
    ap.add_argument("runs", nargs="*")
    assert record.name_for("bench", ap, ap.parse_args([])) == "bench"
    assert record.name_for("bench", ap, ap.parse_args(["--threads", "2"]), ignore=("threads",)) == "bench"
    assert record.name_for("bench", ap, ap.parse_args(["--split", "dev", "--seeds", "3", "4", "--validate"])) \
        == "bench-split-dev-seeds-3_4-validate"
    with pytest.raises(ValueError, match="letters"):
        record.write_record("a/b", {})


def test_every_benchmark_writes_a_record_and_runs_in_make_bench():
    scripts = sorted(p.stem for p in BENCH.glob("*.py") if not p.name.startswith("_") and p.stem != "tables")
    assert len(scripts) >= 20
    bench = re.search(r"^bench:.*?(?=^\S)", (ROOT / "Makefile").read_text() + "\nend:", re.S | re.M).group(0)
    for name in scripts:
        assert "write_record(" in (BENCH / f"{name}.py").read_text(), f"benchmarks/{name}.py writes no record"
        assert f"benchmarks/{name}.py" in bench, f"benchmarks/{name}.py is not in `make bench`"
