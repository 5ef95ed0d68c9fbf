"""Held-out log-likelihood of dequantised digits: latentlab's VAEs against the classical density models.

Data: scikit-learn's digits, dequantised as ``X/16 + U(0, 1)/16`` (one fixed
draw, seed 0), split with ``train_test_split(test_size=0.25, random_state=0)``.
Scores are mean ``log p(x)`` in nats per sample over the 64 pixels, in the
data's own units (higher is better); the VAEs' are importance-sampled
bounds with K=1000 draws (``model.log_likelihood``). The baselines are
scikit-learn's: PPCA (``PCA.score``), ``FactorAnalysis``, a full-covariance
Gaussian, and a full-covariance ``GaussianMixture`` with 1-10 components
chosen by BIC on the training data. The last table is the Bernoulli NLL on
binarised digits (pixels > 0.5): independent Bernoulli pixels against the VAEs.

``--validate`` splits the *training* part again (75/25, random_state=1) and
scores on that validation part: the settings of the guide's density recipe
were chosen that way, and the test figures were computed once with them.

    python benchmarks/likelihood.py [--validate] [--threads 1] [--k 1000]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from _record import markdown, name_for, start, table, write_record
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import latentlab

# The guide's density recipe (docs/families/vae.md, "Density estimation recipe"): chosen on the validation split.
RECIPE = dict(
    likelihood="gaussian", variance="decoder", scaling="none", hidden=(256, 128), activation="relu",
    kl_anneal="linear", kl_anneal_epochs=20,
)
TRAIN = dict(epochs=1000, patience=50, lr=1e-3, batch_size=64, lr_schedule="plateau")
VARIANTS = {
    "standard prior": {},
    "mixture prior (10)": {"prior": "mog", "prior_components": 10},
    "VampPrior (50)": {"prior": "vamp", "prior_components": 50},
    "IWAE, K=5": {"iw_samples": 5},
}


def data(validate: bool):
    X, _ = latentlab.load_digits()
    rng = np.random.default_rng(0)
    Xd = (X + rng.random(X.shape).astype(np.float32) / 16).astype(np.float32)  # X is already X/16
    tr, te = train_test_split(Xd, test_size=0.25, random_state=0)
    if validate:
        tr, te = train_test_split(tr, test_size=0.25, random_state=1)
    return tr, te


def baselines(tr, te, latent: int) -> dict[str, float]:
    out = {
        "PPCA (as many components as latent dims)": PCA(n_components=latent).fit(tr).score(te),
        "FactorAnalysis (as many factors as latent dims)": FactorAnalysis(n_components=latent, random_state=0)
        .fit(tr)
        .score(te),
        "full Gaussian": GaussianMixture(1, covariance_type="full", reg_covar=1e-6, random_state=0).fit(tr).score(te),
    }
    fits = [GaussianMixture(k, covariance_type="full", reg_covar=1e-6, random_state=0).fit(tr) for k in range(1, 11)]
    best = min(fits, key=lambda g: g.bic(tr))
    out[f"GaussianMixture (BIC: {best.n_components})"] = best.score(te)
    return {k: float(v) for k, v in out.items()}


def vaes(tr, te, latent: int, k: int, variants=VARIANTS) -> dict[str, tuple[float, float, int]]:
    out = {}
    for name, extra in variants.items():
        t0 = time.perf_counter()
        m = latentlab.VAE(latent_dim=latent, **{**RECIPE, **extra}).fit(tr, verbose=False, seed=0, **TRAIN)
        seconds = time.perf_counter() - t0
        out[f"latentlab VAE, {name}"] = (float(m.log_likelihood(te, k=k).mean()), seconds, len(m.history))
    return out


def binarised(tr, te, k: int) -> dict[str, float]:
    btr, bte = (tr > 0.5).astype(np.float32), (te > 0.5).astype(np.float32)
    p = btr.mean(0).clip(1e-3, 1 - 1e-3)
    out = {"independent Bernoulli pixels": float(-(bte * np.log(p) + (1 - bte) * np.log(1 - p)).sum(1).mean())}
    for latent in (2, 8):
        opts = {**RECIPE, "likelihood": "bernoulli", "variance": "fixed"}
        m = latentlab.VAE(latent_dim=latent, **opts).fit(btr, verbose=False, seed=0, **TRAIN)
        out[f"latentlab VAE, latent {latent}"] = float(-m.log_likelihood(bte, k=k).mean())
    return out


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                flags = open("/proc/cpuinfo").read()
                amx = " (amx_bf16)" if "amx_bf16" in flags else ""
                return line.split(":", 1)[1].strip() + amx
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--validate", action="store_true", help="score on a validation part of the training split")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--latents", type=int, nargs="+", default=[2, 8])
    args = ap.parse_args(argv)
    clock = start()
    torch.set_num_threads(args.threads)
    tr, te = data(args.validate)
    split = "validation part of the training split" if args.validate else "test split"
    print(f"# held-out log-likelihood, nats per sample (higher is better), {split}; {len(tr)} train, {len(te)} scored")
    print(f"# CPU: {cpu_name()}; torch {torch.__version__}; {args.threads} thread(s)")
    with threadpool_limits(args.threads):
        rows: dict[str, dict[int, str]] = {}
        figures: dict = {"log_likelihood": {}, "binarised_nll": {}}
        for latent in args.latents:
            for name, v in baselines(tr, te, latent).items():
                rows.setdefault(name, {})[latent] = f"{v:.1f}"
                figures["log_likelihood"].setdefault(name, {})[latent] = {"nats": v}
            for name, (v, s, ep) in vaes(tr, te, latent, args.k).items():
                rows.setdefault(name, {})[latent] = f"{v:.1f} ({ep} ep, {s:.0f} s)"
                figures["log_likelihood"].setdefault(name, {})[latent] = {"nats": v, "epochs": ep, "fit_s": s}
        main_spec = table(["model", *(f"latent {d}" for d in args.latents)],
                          [[name, *(cells.get(d, "") for d in args.latents)] for name, cells in rows.items()])
        print("\n" + markdown(main_spec))
        print("\n# Bernoulli NLL on binarised digits (pixels > 0.5), nats per sample (lower is better)")
        figures["binarised_nll"] = binarised(tr, te, args.k)
        bin_spec = table(["model", "NLL"], [[name, f"{v:.2f}"] for name, v in figures["binarised_nll"].items()])
        print(markdown(bin_spec))
    write_record(
        name_for("likelihood", ap, args, ignore=("threads",)), figures, started=clock, args=args, split=split,
        tables={"main": main_spec, "binarised": bin_spec},
        baselines={k: "scikit-learn, fitted on the same training part" for k in rows if not k.startswith("latentlab")}
        | {"independent Bernoulli pixels": "per-pixel frequencies of the binarised training part"},
        notes="mean log p(x), nats per sample; the VAEs' are importance-sampled bounds (K draws)",
    )

if __name__ == "__main__":
    main()
