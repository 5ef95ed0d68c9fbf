"""README.md's benchmark summary: the rows with a renderer get their figure cells from records, the others stay."""

from __future__ import annotations

import importlib.util
import random
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
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tables():
    return _module("tables")


@pytest.fixture(scope="module")
def summary():
    return _module("_summary")


@pytest.fixture(scope="module")
def record():
    return _module("_record")


HEAD = "| script | what | latentlab | reference |\n| --- | --- | --- | --- |\n"
GOOD = (f"Intro.\n\n<!-- summary rows -->\n\n{HEAD}"
        "| `toy.py` | toy error | 1.50 | baseline 2.00 |\n"
        "| `by_hand.py` | typed | 9.99 | 8.88 |\n\n<!-- /summary rows -->\nEnd.\n")


def _toy(load):
    f = load("toy")["figures"]
    return f"{f['x']:.2f}", f"baseline {f['base']:.2f}"


@pytest.fixture
def results(record, tmp_path):
    out = tmp_path / "results"
    record.write_record("toy", {"x": 1.5, "base": 2.0}, results=out)
    return out


def test_a_changed_summary_cell_is_found_and_rewritten(tables, results):
    rows = {"`toy.py`": _toy}
    assert tables.update(GOOD, results, rows=rows) == (GOOD, [])
    bad = GOOD.replace("| 1.50 |", "| 1.49 |").replace("baseline 2.00", "baseline 2.1")
    fixed, changed = tables.update(bad, results, rows=rows)
    assert changed == ["row `toy.py`"] and fixed == GOOD


def test_rows_without_a_renderer_are_left_as_written(tables, results):
    edited = GOOD.replace("| 9.99 | 8.88 |", "| 7.77 | 6.66 |")
    assert tables.update(edited, results, rows={"`toy.py`": _toy}) == (edited, [])


def test_summary_markers_and_rows_fail_clearly(tables, results):
    rows = {"`toy.py`": _toy}
    with pytest.raises(tables.TableError, match="never closed"):
        tables.update(GOOD.replace("<!-- /summary rows -->", ""), results, rows=rows)
    with pytest.raises(tables.TableError, match="without"):
        tables.update(GOOD.replace("<!-- summary rows -->", ""), results, rows=rows)
    with pytest.raises(tables.TableError, match=r"no row `gone.py`.*remove its renderer"):
        tables.update(GOOD, results, rows={**rows, "`gone.py`": _toy})
    with pytest.raises(tables.TableError, match="too few"):
        tables.update(GOOD.replace("| `toy.py` | toy error | 1.50 | baseline 2.00 |", "| `toy.py` | 1.50 |"),
                      results, rows=rows)
    with pytest.raises(tables.TableError, match="run the benchmark"):
        tables.update(GOOD, results.parent / "empty", rows=rows)
    with pytest.raises(tables.TableError, match=r"renderer of `toy.py` cannot read.*'nope'.*_summary.py"):
        tables.update(GOOD, results, rows={"`toy.py`": lambda load: (load("toy")["figures"]["nope"], "")})


def test_the_readme_summary_catches_a_cell_that_disagrees_with_its_record(tables, summary):
    text = (ROOT / "README.md").read_text()
    assert tables.ROWS_START in text and tables.ROWS_END in text
    _, changed = tables.update(text)
    assert changed == [], changed
    line = next(ln for ln in text.split("\n") if ln.startswith("| `tabular_anomaly.py` |"))
    cells = tables.cells(line)
    wrong = line.replace(f"| {cells[2]} |", f"| {cells[2]}0 |")
    fixed, changed = tables.update(text.replace(line, wrong))
    assert changed == ["row `tabular_anomaly.py`"] and fixed == text
    assert set(summary.ROWS) <= {tables.cells(ln)[0] for ln in text.split("\n") if ln.startswith("| `")}


def test_ranks_and_places(summary):
    ranks = summary.average_ranks([{"a": 0.9, "b": 0.8, "c": 0.8}, {"a": 0.5, "b": 0.7, "c": 0.6}])
    assert ranks == {"a": 2.0, "b": 1.75, "c": 2.25}
    assert summary.place(ranks, "a") == 2 and summary.place(ranks, "b") == 1
    assert [summary.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th"]


def test_soak_kills_are_spread_over_the_run_and_leave_it_unfinished():
    soak = _module("soak")
    for kills, epochs in ((10, 60), (3, 20), (20, 30)):
        targets = soak.kill_targets(kills, epochs, random.Random(0))
        assert len(targets) == kills and targets == sorted(targets)
        assert 1 <= targets[0] and targets[-1] <= epochs - 3
    targets = soak.kill_targets(10, 60, random.Random(0))
    assert len(set(targets)) == 10 and targets[0] <= 10 and targets[-1] >= 50


def test_the_codec_state_has_one_wording_for_a_run_and_for_a_stage_from_an_unfinished_run(summary):
    run = {"steps": 100_000, "finished": True}
    assert summary.codec_state(run) == "step 100,000 (finished)"
    assert summary.codec_state({"steps": 5_000, "finished": False}, 100_000) == (
        "step 5,000 of 100,000 of the recipe's run (unfinished)")
    stage = {"steps": 10_000, "finished": False, "parent": {"step": 55_381, "finished": False}}
    assert summary.codec_state(stage, 10_000) == ("the 7-quality stage's step 10,000 of 10,000, from step 55,381 of "
                                                  "the first recipe's run (unfinished)")
    assert summary.codec_state({"steps": None, "finished": None}) == "training state not recorded"


def test_the_denoiser_row_says_where_ours_stands_with_ours_as_the_subject(summary):
    def record(set12, bsd68):
        levels = {q: {"latentlab": set12[i], "bm3d": 30.0} for i, q in enumerate(("15", "25", "50"))}
        sets = {"Set12": {"levels": levels},
                "BSD68": {"levels": {q: {"latentlab": v} for q, v in zip(("15", "25", "50"), bsd68)}}}
        published = {"BSD68": {m: {q: 30.0 for q in ("15", "25", "50")} for m in ("BM3D", "DnCNN-S")}}
        return {"figures": {"sets": sets, "published": published}}

    def row(set12, bsd68):
        return summary.denoise_standard(lambda name: record(set12, bsd68))[1]

    mixed = row([29.9, 30.0, 30.2], [31, 31, 31])
    assert "(ours at or above it at 25 and 50, below at 15)" in mixed
    assert mixed.count("ours at or above it at every level") == 1  # BSD68 against the published BM3D
    assert "(ours below it at every level)" in row([29, 29, 29], [29, 29, 29])
