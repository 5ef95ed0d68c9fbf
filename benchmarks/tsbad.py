"""Long series the field's way: latentlab against TSB-AD's own detectors, scored by TSB-AD's own metrics.

The data are 35 NAB series as TSB-AD labels them (``DATA_DIR``, default
``../shared/data/series-nab-dev``): one ``NAME.csv`` a series with the columns
``timestamp,value,label`` (read by
:func:`latentlab.data.labelled_series.read_labelled_series`), and
``index.csv`` (``file,length,train_length,anomalous_steps,events``) giving
each series' training length by TSB-AD's rule (the first ``max(500,
length / 4)`` steps). Six series hold no anomaly: they give false-alarm
figures only and stay out of the means.

Protocol, for each series of the part, as TSB-AD's ``main.py`` runs it:

- each method is fitted and scored in this process, single-threaded, one
  after the other: TSB-AD's POLY, Sub-PCA, Series2Graph, KShapeAD, SAND,
  KMeansAD (TSB-AD's ``KMeansAD_U``), IForest, Sub-IForest, MatrixProfile
  and AutoEncoder, through ``TSB_AD.model_wrapper`` with the
  hyper-parameters of ``TSB_AD.HP_list.Optimal_Uni_algo_HP_dict``
  (unsupervised methods get the whole series, SAND and AutoEncoder the
  training part and the whole series), and ``latentlab.SeriesAnomalyDetector()``
  at its defaults, fitted on the training part, scoring the whole series
  (``benchmarks/_tsbad_methods.py`` says how, and which five removed NumPy,
  pandas and scikit-learn calls TSB-AD 1.5 gets back for its calls);
- scores are min-max scaled, and VUS-PR, VUS-ROC, AUC-PR and ROC-AUC come
  from ``TSB_AD.evaluation.metrics.get_metrics`` with the sliding window
  ``TSB_AD.utils.slidingWindows.find_length_rank(series, rank=1)``;
  ``latentlab.apps.vus.vus_pr`` is computed beside it and the largest
  difference is printed (it must stay below 1e-9);
- the CPU seconds (``time.process_time``) of each fit + score; every method
  first runs once, untimed, on a small synthetic series, so that numba's
  compilation (stumpy, TSB-AD) counts for no file; a method over ``--cap``
  CPU seconds on a series is stopped there and gets no figure for it, as
  does one that fails or gives non-finite scores (the notes say which);
- on the series without anomaly: the share of steps above TSB-AD's
  threshold (the scaled scores' mean + 3 standard deviations, as its
  ``main.py`` sets ``pred``) and, for latentlab, above its own ``threshold_``.

The 35 series were split once, before anything was scored, by the fixed
rule of :func:`split_files` into :data:`TUNING` (18 series, 14 with anomalies)
and :data:`REPORT` (17, 15 with anomalies). Defaults are chosen on the tuning
part only. **The report part is run once, after the tuning is finished; it was
not run while this script was written.**

    python benchmarks/tsbad.py --part tuning                         # the tuning part, every method
    python benchmarks/tsbad.py --part tuning --methods latentlab,POLY  # some methods (a record of its own)
    python benchmarks/tsbad.py --part tuning --files realTraffic__speed_7578 --methods latentlab  # a smoke test
    python benchmarks/tsbad.py --part report                         # once, at the end

The record is ``benchmarks/results/tsbad-PART.json`` (options away from their
defaults add to the name, so a partial run never overwrites a full one). TSB-AD
is installed by ``make bench-tsbad-env`` (docs/timeseries.md says why so).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import markdown, name_for, start, table, write_record  # noqa: E402
from _tsbad_methods import METHODS, TSB_METHODS, run_method, warm_up  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "series-nab-dev"
SPLIT_SEED = 30
INDEX_COLUMNS = ("file", "length", "train_length", "anomalous_steps", "events")
#: The tuning part (``split_files(read_index(DATA_DIR))[0]``, written down before any score).
TUNING = (
    "artificialNoAnomaly__art_daily_no_noise", "artificialNoAnomaly__art_daily_small_noise",
    "artificialNoAnomaly__art_noisy", "realAWSCloudwatch__ec2_cpu_utilization_53ea38",
    "realAWSCloudwatch__ec2_cpu_utilization_ac20cd", "realAWSCloudwatch__ec2_cpu_utilization_c6585a",
    "realAWSCloudwatch__ec2_cpu_utilization_fe7f93", "realAWSCloudwatch__ec2_network_in_5abac7",
    "realAWSCloudwatch__grok_asg_anomaly", "realAdExchange__exchange-4_cpc_results",
    "realAdExchange__exchange-4_cpm_results", "realKnownCause__rogue_agent_key_updown",
    "realTraffic__TravelTime_387", "realTraffic__speed_7578", "realTweets__Twitter_volume_AAPL",
    "realTweets__Twitter_volume_AMZN", "realTweets__Twitter_volume_CVS", "realTweets__Twitter_volume_KO",
)
#: The report part (``split_files(...)[1]``): run once, after tuning, never to choose anything.
REPORT = (
    "artificialNoAnomaly__art_daily_perfect_square_wave", "artificialNoAnomaly__art_flatline",
    "artificialWithAnomaly__art_daily_nojump", "realAWSCloudwatch__ec2_cpu_utilization_77c1ca",
    "realAWSCloudwatch__ec2_disk_write_bytes_1ef3de", "realAWSCloudwatch__ec2_disk_write_bytes_c0d644",
    "realAWSCloudwatch__ec2_network_in_257a54", "realAWSCloudwatch__iio_us-east-1_i-a2eb1cd9_NetworkIn",
    "realAWSCloudwatch__rds_cpu_utilization_e47b3b", "realAdExchange__exchange-2_cpc_results",
    "realAdExchange__exchange-2_cpm_results", "realKnownCause__machine_temperature_system_failure",
    "realTraffic__occupancy_t4013", "realTweets__Twitter_volume_CRM", "realTweets__Twitter_volume_IBM",
    "realTweets__Twitter_volume_PFE", "realTweets__Twitter_volume_UPS",
)
METRICS = (("VUS-PR", "vus_pr"), ("VUS-ROC", "vus_roc"), ("AUC-PR", "auc_pr"), ("AUC-ROC", "roc_auc"))


@dataclass(frozen=True)
class Entry:
    """One row of ``index.csv``: the series' name (its file's stem), length, training length and labels."""

    name: str
    length: int
    train_length: int
    anomalous_steps: int
    events: int


def read_index(folder: Path) -> dict[str, Entry]:
    """The rows of ``folder/index.csv`` by series name; a missing or malformed index raises ValueError."""
    path = Path(folder) / "index.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no index; DATA_DIR must hold the series' CSV files and index.csv "
                                f"({','.join(INDEX_COLUMNS)})")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != INDEX_COLUMNS:
            raise ValueError(f"{path}: the header is {reader.fieldnames}; it must be {','.join(INDEX_COLUMNS)}")
        out = {}
        for line, row in enumerate(reader, start=2):
            try:
                n, tr, steps, events = (int(row[c]) for c in INDEX_COLUMNS[1:])
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: length, train_length, anomalous_steps and events must be "
                                 f"whole numbers; got {row}") from None
            if not row["file"].endswith(".csv") or not 0 < tr < n or not 0 <= steps <= n or events < 0:
                raise ValueError(f"{path}, line {line}: {row} is not a series: a NAME.csv file, "
                                 "0 < train_length < length, anomalous_steps within the length")
            out[row["file"][:-4]] = Entry(row["file"][:-4], n, tr, steps, events)
    if not out:
        raise ValueError(f"{path} lists no series")
    return out


def split_files(index: dict[str, Entry], seed: int = SPLIT_SEED) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fixed rule: series grouped by NAB folder (the name before ``__``) and by whether they hold an
    anomaly; the groups in sorted order, each group's sorted names permuted by one
    ``numpy.random.default_rng(seed)``, laid end to end; every other series, from the first, is tuning.

    Each group so splits evenly (the odd one alternating), and both parts hold series without anomaly.

    Examples
    --------
    >>> split_files(read_index(DATA_DIR)) == (TUNING, REPORT)  # doctest: +SKIP
    True
    """
    groups: dict[tuple[str, bool], list[str]] = {}
    for name in sorted(index):
        groups.setdefault((name.split("__")[0], index[name].events > 0), []).append(name)
    rng = np.random.default_rng(seed)
    order = [g[i] for key in sorted(groups) for g in [groups[key]] for i in rng.permutation(len(g))]
    return tuple(sorted(order[0::2])), tuple(sorted(order[1::2]))


def load(folder: Path, entry: Entry):
    """The series of ``entry``, checked against its row of the index."""
    from latentlab.data.labelled_series import read_labelled_series

    s = read_labelled_series(Path(folder) / f"{entry.name}.csv")
    if len(s) != entry.length or int(s.labels.sum()) != entry.anomalous_steps or s.events != entry.events:
        raise ValueError(f"{entry.name}: {len(s)} steps, {int(s.labels.sum())} anomalous in {s.events} events; "
                         f"index.csv says {entry.length}, {entry.anomalous_steps} and {entry.events}")
    return s


def evaluate(scores: np.ndarray, labels: np.ndarray, window: int) -> dict:
    """TSB-AD's ``get_metrics`` (its ``pred``: mean + 3 std, as its main.py), and latentlab's VUS-PR beside it."""
    from TSB_AD.evaluation.metrics import get_metrics

    from latentlab.apps.vus import vus_pr

    m = get_metrics(scores, labels, slidingWindow=window, pred=scores > scores.mean() + 3 * scores.std())
    out = {key: float(m[name]) for name, key in METRICS}
    out["others"] = {k: float(v) for k, v in m.items() if k not in dict(METRICS)}
    out["latentlab_vus_pr"] = float(vus_pr(labels, scores, window))
    return out


def _f(v, fmt="{:.3f}"):
    return "—" if v is None else fmt.format(v)


def _mean(values):
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def summarise(per_file: dict, methods, anomalous) -> dict:
    """Per method: the means over the anomalous series it scored, how many it scored, its mean CPU seconds."""
    out = {}
    for m in methods:
        runs = [per_file[f]["runs"][m] for f in anomalous]
        scored = [r for r in runs if r.get("vus_pr") is not None]
        out[m] = {key: _mean([r[key] for r in scored]) for _, key in METRICS}
        out[m]["mean_cpu_s"] = _mean([r["cpu_s"] for r in scored])
        out[m]["scored"] = len(scored)
    return out


def tables_of(summary, per_file, info, methods, anomalous, quiet) -> dict:
    order = sorted(methods, key=lambda m: -(summary[m]["vus_pr"] if summary[m]["vus_pr"] is not None else -1))
    n = len(anomalous)
    main = table(["method", "mean VUS-PR", "mean VUS-ROC", "mean AUC-PR", "mean ROC-AUC", "mean CPU s (fit + score)",
                  "series scored"],
                 [[m, *[_f(summary[m][key]) for _, key in METRICS], _f(summary[m]["mean_cpu_s"], "{:.1f}"),
                   f"{summary[m]['scored']}/{n}"] for m in order], ["l", "r", "r", "r", "r", "r", "r"])
    vus = table(["series (window)", *order],
                [[f"{f} ({info[f]['window']})", *[_f(per_file[f]["runs"][m].get("vus_pr")) for m in order]]
                 for f in anomalous], ["l"] + ["r"] * len(order))
    cpu = table(["series (steps)", *order],
                [[f"{f} ({info[f]['length']})", *[_f(per_file[f]["runs"][m].get("cpu_s"), "{:.1f}") for m in order]]
                 for f in [*anomalous, *quiet]], ["l"] + ["r"] * len(order))
    alarms = table(["series without anomaly", *order, "latentlab (its threshold_)"],
                   [[f, *[_f(per_file[f]["runs"][m].get("alarm_rate"), "{:.2%}") for m in order],
                     _f(per_file[f]["runs"].get("latentlab", {}).get("own_alarm_rate"), "{:.2%}")] for f in quiet],
                   ["l"] + ["r"] * (len(order) + 1))
    data = table(["series", "steps", "training steps", "anomalous steps", "events", "window (find_length_rank)"],
                 [[f, info[f]["length"], info[f]["train_length"], info[f]["anomalous_steps"], info[f]["events"],
                   info[f]["window"]] for f in [*anomalous, *quiet]], ["l", "r", "r", "r", "r", "r"])
    return {"main": main, "vus_pr": vus, "cpu": cpu, "false_alarms": alarms, "series": data}


def _versions(names) -> dict[str, str | None]:
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _csv_list(text: str) -> list[str]:
    return [x.strip().removesuffix(".csv") for x in text.split(",") if x.strip()]


def main(argv=None) -> int:
    clock = start()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=DATA_DIR, help="folder of NAME.csv files and index.csv")
    ap.add_argument("--part", choices=("tuning", "report"), required=True,
                    help="which part of the series (the report part: once, after tuning)")
    ap.add_argument("--files", type=_csv_list, default=None,
                    help="comma-separated series within the part (smoke runs)")
    ap.add_argument("--methods", type=_csv_list, default=list(METHODS),
                    help=f"comma-separated, of {', '.join(METHODS)}")
    ap.add_argument("--cap", type=float, default=600.0, help="CPU seconds of one fit + score after which a method "
                    "is stopped on that series and gets no figure there (0: no cap)")
    ap.add_argument("--tag", default="", help="a word added to the record's name (a disclosed second look at the "
                    "report part keeps the first record)")
    ap.add_argument("--timestamps", action="store_true", help="give latentlab the series on its time index "
                    "(TSB-AD's methods and the default run see values only)")
    args = ap.parse_args(argv)
    data_dir, args.data_dir = args.data_dir, str(args.data_dir)
    import torch

    torch.set_num_threads(1)
    index = read_index(data_dir)
    if split_files(index) != (TUNING, REPORT):
        ap.error(f"{data_dir}: its series do not split into the TUNING and REPORT written in this script; "
                 "the split is fixed before scoring, so use the data it was written for")
    part = TUNING if args.part == "tuning" else REPORT
    files = args.files or list(part)
    strays = [f for f in files if f not in part]
    if strays:
        ap.error(f"--files {','.join(strays)}: not in the {args.part} part ({', '.join(part)})")
    bad = [m for m in args.methods if m not in METHODS]
    if bad:
        ap.error(f"--methods {','.join(bad)}: choose from {', '.join(METHODS)}")
    methods, cap = list(args.methods), args.cap or None
    print(f"split (seed {SPLIT_SEED}): tuning {len(TUNING)} series: {', '.join(TUNING)}\n"
          f"report {len(REPORT)} series: {', '.join(REPORT)}", flush=True)
    from TSB_AD.utils.slidingWindows import find_length_rank

    print("warm-up (untimed) CPU s:", warm_up(methods, cap), flush=True)
    per_file, info, notes, diffs = {}, {}, [], []
    for f in files:
        s = load(data_dir, index[f])
        window = int(find_length_rank(s.values.reshape(-1, 1), rank=1))
        info[f] = {**asdict(index[f]), "window": window}
        per_file[f] = {"runs": {}}
        if args.timestamps and not s.time_ordered:
            notes.append(f"{f}: timestamps repeat or step back (daylight saving), latentlab got values only")
        for m in methods:
            o = run_method(m, s.values, index[f].train_length, cap=cap,
                           timestamps=s.timestamps if args.timestamps and s.time_ordered else None)
            r = {"cpu_s": round(o.cpu_s, 3)}
            if o.scores is None:
                notes.append(f"{m} on {f}: {o.error}")
                r["error"] = o.error
            elif s.events:
                r.update(evaluate(o.scores, s.labels, window))
                diffs.append(abs(r["vus_pr"] - r.pop("latentlab_vus_pr")))
            else:
                r["alarm_rate"] = float(np.mean(o.scores > o.scores.mean() + 3 * o.scores.std()))
                r["own_alarm_rate"] = o.own_alarm_rate
            per_file[f]["runs"][m] = r
            print(f"{f[:44]:44s} {m:13s} VUS-PR {_f(r.get('vus_pr'))} VUS-ROC {_f(r.get('vus_roc'))} "
                  f"alarms {_f(r.get('alarm_rate'), '{:.2%}')} CPU {r['cpu_s']:8.1f} s"
                  + (f"  [{r['error']}]" if "error" in r else ""), flush=True)
    anomalous = [f for f in files if index[f].events]
    quiet = [f for f in files if not index[f].events]
    summary = summarise(per_file, methods, anomalous)
    tables = tables_of(summary, per_file, info, methods, anomalous, quiet)
    for key, spec in tables.items():
        print(f"\n## {key}\n\n{markdown(spec)}")
    max_diff = max(diffs, default=0.0)
    print(f"\nlatentlab.apps.vus.vus_pr against TSB-AD's VUS-PR: largest difference {max_diff:.2e} "
          f"over {len(diffs)} scored runs")
    note = (f"TSB-AD protocol on the {args.part} part of series-nab-dev ({len(anomalous)} series with anomalies in "
            f"the means, {len(quiet)} without for false alarms); TSB-AD's get_metrics, sliding window "
            f"find_length_rank(rank=1); CPU s of fit + score, single-threaded, cap {args.cap:g} s.")
    if notes:
        note += " No figure: " + "; ".join(notes) + "."
    print("\n" + note)
    baselines = {m: f"TSB_AD.model_wrapper.run_{t} with Optimal_Uni_algo_HP_dict['{t}'] (TSB-AD 1.5)"
                 for m, t in TSB_METHODS.items() if m in methods}
    figures = {"part": args.part, "files": files, "methods": methods, "tuning_part": list(TUNING),
               "report_part": list(REPORT), "split_rule": f"split_files(read_index(DATA_DIR), seed={SPLIT_SEED})",
               "cap_cpu_s": args.cap, "data": info, "per_file": per_file, "summary": summary,
               "vus_pr_max_abs_diff_latentlab_vs_tsbad": max_diff, "no_figure": notes,
               "versions": _versions(("TSB-AD", "tslearn", "stumpy", "arch", "hurst", "networkx", "numba"))}
    name = name_for(f"tsbad-{args.part}", ap, args, ignore=("part", "data_dir"))
    write_record(name, figures, baselines=baselines, split=f"series-nab-dev-{args.part}", args=args,
                 started=clock, tables=tables, notes=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
