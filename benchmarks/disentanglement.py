"""Disentanglement on the shapes data: vae, beta-VAE (beta=4), beta-TCVAE, FactorVAE and DIP-VAE, several seeds each.

All share one architecture and training recipe (an MLP on the 32x32
procedural shapes of ``latentlab.load_shapes``, Bernoulli likelihood, 10
latent dimensions) and differ only in their objective. Training uses shapes
drawn with one data seed; the metrics are measured on held-out shapes drawn
with another: MIG, DCI disentanglement (gradient-boosted trees), the
FactorVAE score, SAP, and the reconstruction (nats per image: Bernoulli NLL
of the decoded posterior mean). Training cost is process CPU seconds.

MIG and SAP use all the held-out shapes (10,000 by default, as
disentanglement_lib does: with 1,000 the plug-in mutual information of a
32-valued position factor against 20 bins is biased up by about 0.3 nats);
DCI uses the first ``--n-dci`` of them (its boosted trees dominate the
scoring cost).

    python benchmarks/disentanglement.py                 # the reported table (seeds 0, 1, 2)
    python benchmarks/disentanglement.py --tune          # the hyperparameter search (seeds 100, 101, 102)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time

import numpy as np
import torch
from _record import markdown, name_for, start, write_record
from _record import table as record_table

import latentlab
from latentlab.apps.disentanglement import dci, factorvae_score, mig, sap

COMMON = dict(latent_dim=10, hidden=(256, 128), likelihood="bernoulli", scaling="none")
FIT = dict(batch_size=64, lr=2e-3, patience=None, restore_best=False, validation_split=0.0, lr_schedule="none")

#: The KL warm-up that btcvae's and factorvae's picks use: linear over the first 7 of the 20 epochs.
WARM_UP = dict(kl_anneal="linear", kl_anneal_epochs=7)


def factorvae(gamma: float, warm_up: bool = True, **options):
    """A factorvae of the benchmark's architecture (disc_lr 1e-3 unless given), built when called."""
    kw = {"disc_lr": 1e-3, **(WARM_UP if warm_up else {}), **options}
    return lambda: latentlab.FactorVAE(gamma=gamma, **kw, **COMMON)


#: The compared models. The btcvae and dipvae weights were chosen with --tune on seed 100, factorvae's on the
#: tuning seeds 100, 101 and 102 (the seventh round).
MODELS = {
    "vae": lambda: latentlab.VAE(**COMMON),
    "beta-vae (4)": lambda: latentlab.VAE(beta=4.0, **COMMON),
    "btcvae": lambda: latentlab.BetaTCVAE(beta=6.0, estimator="mss", **WARM_UP, **COMMON),
    "factorvae": factorvae(10.0),
    "dipvae": lambda: latentlab.DIPVAE(dip_type="i", lambda_od=10.0, **COMMON),
    # Not part of the target: the VAE at half the shared learning rate (FIT_OVERRIDES), which on the tuning seeds
    # lifted its MIG from 0.035 to 0.088, as much as any factorvae setting did.
    "vae (lr 1e-3)": lambda: latentlab.VAE(**COMMON),
}

#: How the reported table names the compared models.
LABELS = {
    "beta-vae (4)": "beta-VAE (beta 4)",
    "btcvae": "btcvae (beta 6, mss, KL warm-up 7 epochs)",
    "factorvae": "factorvae (gamma 10, disc_lr 1e-3, KL warm-up 7 epochs)",
    "dipvae": "dipvae (DIP-VAE-I, lambda_od 10)",
    "vae (lr 1e-3)": "vae at lr 1e-3 (not part of the target)",
}

#: What --tune tries (seeds 100, 101, 102: their own training and held-out shapes, never those of the report; the
#: first six rounds used seed 100 alone).
#: KL warm-up "anneal" is linear over the first third of the default 20 epochs.
GRID = {
    "vae": MODELS["vae"],
    "beta-vae (4)": MODELS["beta-vae (4)"],
    "btcvae (beta 6, mss, anneal)": MODELS["btcvae"],
    "btcvae (beta 10, mss, anneal)": lambda: latentlab.BetaTCVAE(beta=10.0, estimator="mss", **WARM_UP, **COMMON),
    "factorvae (gamma 10)": factorvae(10.0, warm_up=False),
    "factorvae (gamma 30)": factorvae(30.0, warm_up=False),
    # Second round (this grid's rows below), after the first left factorvae below the baselines on the reported seeds:
    # the warm-up that made btcvae work, larger gamma, a deeper discriminator.
    "factorvae (gamma 30, anneal)": factorvae(30.0),
    "factorvae (gamma 60)": factorvae(60.0, warm_up=False),
    "factorvae (gamma 100)": factorvae(100.0, warm_up=False),
    "factorvae (gamma 60, anneal)": factorvae(60.0),
    "factorvae (gamma 30, D 4x512)": factorvae(30.0, warm_up=False, disc_hidden=(512, 512, 512, 512)),
    # Third round: the paper's discriminator (6 x 1000) at the second round's pick.
    "factorvae (gamma 60, anneal, D 6x1000)": factorvae(60.0, disc_hidden=(1000,) * 6),
    # Fourth round (seeds 100 and 101): a KL weight above 1 beside the TC penalty. With beta = 1 the aggregate
    # posterior is pushed towards an isotropic Gaussian, whose rotations are all factorised, so the TC term alone
    # may not pick the axes; beta-TCVAE's working setting puts weight 6 on its TC and 1 on the rest.
    "factorvae (gamma 30, beta 2, anneal)": factorvae(30.0, beta=2.0),
    "factorvae (gamma 60, beta 2, anneal)": factorvae(60.0, beta=2.0),
    "factorvae (gamma 30, beta 4, anneal)": factorvae(30.0, beta=4.0),
    # Fifth round: a discriminator that keeps up (the probe saw dependence the model's own D had lost track of).
    "factorvae (gamma 60, anneal, 5 D steps)": factorvae(60.0, disc_steps=5),
    "factorvae (gamma 30, anneal, 5 D steps)": factorvae(30.0, disc_steps=5),
    # Sixth round: the VAE's learning rate below the shared recipe's 2e-3 (the paper trains at 1e-4), FIT_OVERRIDES.
    "factorvae (gamma 60, anneal, lr 1e-3)": factorvae(60.0),
    "factorvae (gamma 60, anneal, lr 5e-4)": factorvae(60.0),
    # Seventh round (tuning seeds 100, 101 and 102, means over them: one seed had been too noisy to choose by).
    "factorvae (gamma 10, anneal)": factorvae(10.0),
    "factorvae (gamma 20, anneal)": factorvae(20.0),
    "factorvae (gamma 10, anneal, lr 1e-3)": factorvae(10.0),
    # A KL weight below 1: the KL to the N(0, I) prior pulls the aggregate posterior towards an isotropic Gaussian,
    # which is factorised in every rotation (and in polar coordinates), so the TC term cannot tell a mixed code
    # from an aligned one; a weaker pull leaves the code's marginals closer to the factors' (uniform) ones.
    "factorvae (gamma 30, beta 0.5, anneal)": factorvae(30.0, beta=0.5),
    "factorvae (gamma 60, beta 0.5, anneal)": factorvae(60.0, beta=0.5),
    # The VAE at factorvae's lower rate: whether a gain there is the rate's rather than the TC penalty's.
    "vae (lr 1e-3)": MODELS["vae (lr 1e-3)"],
    "dipvae (i, lambda_od 10)": MODELS["dipvae"],
    "dipvae (ii, lambda_od 10)": lambda: latentlab.DIPVAE(dip_type="ii", lambda_od=10.0, **COMMON),
}


#: Training options that differ from FIT for a grid entry (by name).
FIT_OVERRIDES = {
    "factorvae (gamma 60, anneal, lr 1e-3)": {"lr": 1e-3},
    "factorvae (gamma 60, anneal, lr 5e-4)": {"lr": 5e-4},
    "factorvae (gamma 10, anneal, lr 1e-3)": {"lr": 1e-3},
    "vae (lr 1e-3)": {"lr": 1e-3},
}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def reconstruction_nats(model, X: np.ndarray) -> float:
    """Bernoulli NLL of the data under the decoded posterior mean, nats per image."""
    R = np.clip(model.reconstruct(X).reshape(X.shape), 1e-6, 1 - 1e-6)
    return float(-(X * np.log(R) + (1 - X) * np.log(1 - R)).reshape(len(X), -1).sum(1).mean())


def run_one(make, seed: int, train, test, epochs: int, n_dci: int = 2_000, fit: dict | None = None) -> dict[str, float]:
    torch.manual_seed(seed)
    model = make()
    t0 = time.process_time()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a collapsed dimension or two is expected with beta > 1
        model.fit(train.flat(), epochs=epochs, seed=seed, verbose=False, **{**FIT, **(fit or {})})
    cpu = time.process_time() - t0
    Z = model.encode(test.flat())
    return {
        "mig": mig(Z, test.factors),
        "dci_d": dci(Z[:n_dci], test.factors[:n_dci], seed=seed)["disentanglement"],
        "fvae": factorvae_score(Z, test.factors, seed=seed),
        "sap": sap(Z, test.factors),
        "rec": reconstruction_nats(model, test.flat()),
        "active": float(model.metrics.get("active_units", -1)),
        "cpu_s": cpu,
    }


def table(results: dict[str, list[dict[str, float]]]) -> None:
    keys = ["mig", "dci_d", "fvae", "sap", "rec", "active", "cpu_s"]
    print(f"{'model':<22}" + "".join(f"{k:>16}" for k in keys))
    for name, rows in results.items():
        cells = []
        for k in keys:
            v = np.array([r[k] for r in rows])
            cells.append(f"{v.mean():9.3f} ±{v.std():5.3f}" if k not in ("cpu_s", "active") else f"{v.mean():16.1f}")
        print(f"{name:<22}" + "".join(f"{c:>16}" for c in cells))


def markdown_table(results: dict[str, list[dict[str, float]]]) -> dict:
    """The table of the docs: mean ± std over seeds, the best mean of each metric in bold."""
    scored = {"mig": max, "dci_d": max, "fvae": max, "sap": max, "rec": min}
    means = {k: {n: float(np.mean([r[k] for r in rows])) for n, rows in results.items()} for k in scored}
    best = {k: pick(means[k].values()) for k, pick in scored.items()}
    out = []
    for name, rows in results.items():
        cells = [LABELS.get(name, name)]
        for k, digits in (("mig", 3), ("dci_d", 3), ("fvae", 3), ("sap", 3), ("rec", 1)):
            mean, std = means[k][name], float(np.std([r[k] for r in rows]))
            text = f"{mean:.{digits}f}"
            cells.append(f"{f'**{text}**' if mean == best[k] else text} ± {std:.{digits}f}")
        cells += [f"{np.mean([r['active'] for r in rows]):.1f}", f"{np.mean([r['cpu_s'] for r in rows]):.0f}"]
        out.append(cells)
    return record_table(["model", "MIG", "DCI-D", "FactorVAE score", "SAP", "reconstruction (nats/image)",
                         "active units", "training CPU s"], out)


def record(name: str, results: dict[str, list[dict[str, float]]], args, clock, seeds, notes=None) -> None:
    """Print the markdown table and write the run's record."""
    spec = markdown_table(results)
    print("\n" + markdown(spec))
    write_record(name, {"per_seed": results, "seeds": seeds}, started=clock, args=args, tables={"main": spec},
                 split=f"held-out shapes of the {'tuning' if args.tune else 'reported'} seeds {seeds or '(merged runs)'}",
                 notes=notes,
                 baselines={"vae": "the same network and recipe, plain ELBO",
                            "beta-vae (4)": "the same network and recipe, beta 4"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune", action="store_true", help="run the hyperparameter grid on the tuning seeds")
    ap.add_argument("--seeds", type=int, nargs="*", default=None)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n-train", type=int, default=32_000)
    ap.add_argument("--n-test", type=int, default=10_000)
    ap.add_argument("--n-dci", type=int, default=2_000, help="held-out shapes scored by DCI (the first ones)")
    ap.add_argument("--only", nargs="*", default=None, help="names of the models to run")
    ap.add_argument("--out", default=None, help="also write the per-seed results to this JSON file")
    ap.add_argument("--table", nargs="*", default=None, help="print the table of JSON files written by --out, and exit")
    args = ap.parse_args()
    clock = start()
    record_name = name_for("disentanglement", ap, args, ignore=("out", "table"))
    if args.table:
        import json

        merged: dict[str, list[dict[str, float]]] = {}
        for path in args.table:
            for k, v in json.loads(open(path).read()).items():
                merged.setdefault(k, []).extend(v)
        print(f"CPU: {cpu_model()}")
        summarise(merged, tune=False)
        record(record_name, merged, args, clock, None,
               notes=f"merged from {', '.join(args.table)}; its CPU seconds are the merge's, the runs' are per seed")
        return
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    models = GRID if args.tune else MODELS
    if args.only:
        models = {k: v for k, v in models.items() if k in args.only}
    seeds = args.seeds or ([100, 101, 102] if args.tune else [0, 1, 2])
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, 1 thread; CPU seconds are process time (shared machine)")
    steps = args.epochs * -(-args.n_train // FIT["batch_size"])
    print(f"shapes 32x32, {args.n_train} training images per seed, {args.n_test} held-out; {args.epochs} epochs "
          f"({steps} steps), "
          f"batch {FIT['batch_size']}, lr {FIT['lr']}; seeds {seeds}")
    results: dict[str, list[dict[str, float]]] = {k: [] for k in models}
    for seed in seeds:
        train = latentlab.load_shapes(args.n_train, size=32, seed=seed)
        test = latentlab.load_shapes(args.n_test, size=32, seed=10_000 + seed)
        for name, make in models.items():
            r = run_one(make, seed, train, test, args.epochs, args.n_dci, FIT_OVERRIDES.get(name))
            results[name].append(r)
            print(f"  seed {seed} {name:<22} " + " ".join(f"{k} {v:.3f}" for k, v in r.items()), flush=True)
            if args.out:  # after every run, so that an interrupted run keeps what it measured
                from latentlab._files import atomic_write_json

                atomic_write_json(args.out, {k: v for k, v in results.items() if v})
    summarise(results, args.tune)
    total = sum(r["cpu_s"] for rows in results.values() for r in rows)
    print(f"training CPU seconds, all runs together: {total:.0f} ({total / 60:.1f} min)")
    record(record_name, results, args, clock, seeds)


def summarise(results: dict[str, list[dict[str, float]]], tune: bool) -> None:
    print()
    table(results)
    if not tune:
        mean = {k: np.mean([r["mig"] for r in v]) for k, v in results.items()}
        rec = {k: np.mean([r["rec"] for r in v]) for k, v in results.items()}
        base = max(mean.get("vae", -1), mean.get("beta-vae (4)", -1))
        for name in ("btcvae", "factorvae", "dipvae"):
            if name in mean and "beta-vae (4)" in rec:
                ok = mean[name] > base and rec[name] <= rec["beta-vae (4)"]
                print(f"target {name}: mean MIG {mean[name]:.3f} > {base:.3f} and reconstruction "
                      f"{rec[name]:.1f} <= {rec['beta-vae (4)']:.1f} nats: {'PASS' if ok else 'FAIL'}")
                if "vae (lr 1e-3)" in mean:  # beyond the target: the baseline at the lower rate
                    above = mean[name] > mean["vae (lr 1e-3)"]
                    print(f"  {name} against the VAE at lr 1e-3 ({mean['vae (lr 1e-3)']:.3f}): "
                          f"{'above' if above else 'not above'}")


if __name__ == "__main__":
    main()
