"""benchmarks/tsbad.py: its index reader, the fixed split of the series, the checks of a series against the
index, the tables, and (where TSB-AD is installed) the compatibility shims of benchmarks/_tsbad_methods.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
HEADER = "file,length,train_length,anomalous_steps,events\n"


def _module(name: str, file: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tsb():
    return _module("bench_tsbad", "tsbad.py")


@pytest.fixture(scope="module")
def methods():
    return _module("bench_tsbad_methods", "_tsbad_methods.py")


def _series(folder: Path, name: str, labels: list[int]) -> None:
    rows = "".join(f"2014-04-01 00:{i:02d}:00,{np.sin(i):.4f},{y}\n" for i, y in enumerate(labels))
    (folder / f"{name}.csv").write_text("timestamp,value,label\n" + rows)


def _index(folder: Path, rows: list[str]) -> None:
    (folder / "index.csv").write_text(HEADER + "".join(r + "\n" for r in rows))


def _fake_index(tsb, n_quiet: int, n_anomalous: int, groups=("artificialNoAnomaly", "realA", "realB")):
    index = {}
    for i in range(n_quiet):
        name = f"{groups[0]}__q{i}"
        index[name] = tsb.Entry(name, 100, 50, 0, 0)
    for i in range(n_anomalous):
        name = f"{groups[1 + i % 2]}__a{i}"
        index[name] = tsb.Entry(name, 100, 50, 5, 1)
    return index


def test_written_split_is_the_rule(tsb):
    data = tsb.DATA_DIR
    if not (data / "index.csv").is_file():
        pytest.skip("series-nab-dev is not beside the checkout")
    assert tsb.split_files(tsb.read_index(data)) == (tsb.TUNING, tsb.REPORT)


def test_split_is_disjoint_stratified_and_seeded(tsb):
    assert not set(tsb.TUNING) & set(tsb.REPORT) and len(tsb.TUNING) + len(tsb.REPORT) == 35
    index = _fake_index(tsb, 5, 20)
    tuning, report = tsb.split_files(index)
    assert set(tuning) | set(report) == set(index) and not set(tuning) & set(report)
    assert abs(len(tuning) - len(report)) <= 1
    for part in (tuning, report):  # both parts hold series without anomaly, and both of the other groups
        assert any(index[f].events == 0 for f in part)
        assert {f.split("__")[0] for f in part} == {"artificialNoAnomaly", "realA", "realB"}
    assert tsb.split_files(dict(reversed(index.items()))) == (tuning, report)  # the order read does not matter
    assert any(tsb.split_files(index, seed=s) != (tuning, report) for s in (1, 2, 3))  # the seed decides


def test_read_index_and_load_check_the_rows(tsb, tmp_path):
    _series(tmp_path, "realA__one", [0, 0, 1, 1, 0, 0, 1, 0])
    _index(tmp_path, ["realA__one.csv,8,4,3,2"])
    index = tsb.read_index(tmp_path)
    assert index == {"realA__one": tsb.Entry("realA__one", 8, 4, 3, 2)}
    s = tsb.load(tmp_path, index["realA__one"])
    assert s.labels.tolist() == [0, 0, 1, 1, 0, 0, 1, 0]
    with pytest.raises(ValueError, match="index.csv says 8, 4 and 1"):
        tsb.load(tmp_path, tsb.Entry("realA__one", 8, 4, 4, 1))


@pytest.mark.parametrize("rows, match", [
    (None, "no index"),
    (["realA__one.csv,8,4,3"], "whole numbers"),
    (["realA__one.csv,8,9,3,1"], "0 < train_length < length"),
    (["realA__one.txt,8,4,3,1"], "NAME.csv"),
    ([], "lists no series"),
])
def test_read_index_names_the_problem(tsb, tmp_path, rows, match):
    if rows is not None:
        _index(tmp_path, rows)
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        tsb.read_index(tmp_path)
    (tmp_path / "index.csv").write_text("name,length\nx.csv,3\n")
    with pytest.raises(ValueError, match="the header is"):
        tsb.read_index(tmp_path)


def test_summary_leaves_out_failures_and_tables_show_them(tsb):
    runs = {"f1": {"m": {"vus_pr": 0.5, "vus_roc": 0.6, "auc_pr": 0.4, "roc_auc": 0.7, "cpu_s": 2.0},
                   "n": {"cpu_s": 9.0, "error": "OverCap: over the cap"}},
            "f2": {"m": {"vus_pr": 0.3, "vus_roc": 0.8, "auc_pr": 0.2, "roc_auc": 0.5, "cpu_s": 4.0},
                   "n": {"vus_pr": 0.9, "vus_roc": 0.9, "auc_pr": 0.9, "roc_auc": 0.9, "cpu_s": 1.0}},
            "q": {"m": {"cpu_s": 1.0, "alarm_rate": 0.01, "own_alarm_rate": None},
                  "n": {"cpu_s": 1.0, "alarm_rate": 0.0}}}
    per_file = {f: {"runs": r} for f, r in runs.items()}
    summary = tsb.summarise(per_file, ["m", "n"], ["f1", "f2"])
    assert summary["m"]["vus_pr"] == pytest.approx(0.4) and summary["m"]["scored"] == 2
    assert summary["m"]["mean_cpu_s"] == pytest.approx(3.0)
    assert summary["n"]["vus_pr"] == pytest.approx(0.9) and summary["n"]["scored"] == 1
    info = {f: {"length": 100, "train_length": 50, "anomalous_steps": 5, "events": 1, "window": 7} for f in runs}
    tables = tsb.tables_of(summary, per_file, info, ["m", "n"], ["f1", "f2"], ["q"])
    main = tables["main"]["rows"]
    assert [r[0] for r in main] == ["n", "m"] and main[0][-1] == "1/2" and main[1][1] == "0.400"
    assert tables["vus_pr"]["rows"][0] == ["f1 (7)", "—", "0.500"]
    assert tables["false_alarms"]["rows"][0] == ["q", "0.00%", "1.00%", "—"]


def test_cpu_cap_stops_a_long_call(methods):
    with pytest.raises(methods.OverCap, match="cap of 0.2"), methods.cpu_cap(0.2):
        x = 0
        while True:  # burns CPU until SIGPROF
            x += 1
    with methods.cpu_cap(5.0):
        assert sum(range(1000)) == 499500  # under the cap: nothing happens, and the timer is off afterwards


def test_failures_give_no_scores(methods):
    out = methods.run_method("POLY", np.zeros(3), 2)  # TSB-AD missing or a 3-step series: either way it fails
    assert out.scores is None and out.error
    with pytest.raises(ValueError, match="unknown method"):
        methods.run_method("nope", np.zeros(3), 2)


def test_compat_restores_everything(methods):
    pytest.importorskip("TSB_AD")
    import pandas as pd
    import sklearn.utils.validation as skv
    from TSB_AD.models import AE

    before = (np.sum, pd.DataFrame.fillna, AE.check_is_fitted)
    with methods.compat():
        assert np.Inf == np.inf
        assert np.sum(x for x in (1, 2, 3)) == 6 and np.sum(np.ones((2, 2)), axis=0).tolist() == [2.0, 2.0]
        df = pd.DataFrame({"a": [np.nan, 1.0, np.nan, 3.0]})
        assert df.fillna(method="bfill")["a"].tolist() == [1.0, 1.0, 3.0, 3.0]
        assert df.fillna(0.0)["a"].tolist() == [0.0, 1.0, 0.0, 3.0]

        class Thing:
            model = 1

        assert AE.check_is_fitted(Thing(), ["model"]) is None
        with pytest.raises(skv.NotFittedError):
            AE.check_is_fitted(Thing(), ["model", "best_model_dict"])
    assert (np.sum, pd.DataFrame.fillna, AE.check_is_fitted) == before and "Inf" not in np.__dict__
