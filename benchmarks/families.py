"""One row per family: test reconstruction error, the family's own figures, fit time.

Digits (scikit-learn's 8x8, 75/25 split) for the image families; held-out
later windows of the yearly sunspot series (statsmodels) for the sequence
AE, and variable-length synthetic sequences for the sequence VAE. "ratio"
is the test MSE over that of predicting the training mean (per time step
for sequences). The figure checks that the tests also assert are repeated
here with longer training and printed as PASS/FAIL at the end.

    python benchmarks/families.py [--epochs 60] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _record import markdown, name_for, start, table, write_record
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import latentlab
from latentlab.data.sequences import load_series, windows
from latentlab.models.penalties import mmd


def mse(a, b) -> float:
    return float(np.nanmean((a - b) ** 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for these small nets)")
    args = ap.parse_args()
    clock = start()
    torch.set_num_threads(args.threads)
    ep = args.epochs
    fit = dict(epochs=ep, verbose=False, seed=0, patience=None)
    Xtr, Xte, ytr, yte = latentlab.load_digits(split=True)
    base = mse(Xtr.mean(0), Xte)
    rows, checks = [], []

    def run(model, X=Xtr, y=None, **kw):
        t0 = time.perf_counter()
        model.fit(X, y, **{**fit, **kw})
        return model, time.perf_counter() - t0

    def row(name, data, err, baseline, figures, seconds):
        rows.append((name, data, err, err / baseline, figures, seconds))

    m, t = run(latentlab.Autoencoder(latent_dim=16, hidden=(128,)))
    row("ae", "digits", mse(m.reconstruct(Xte), Xte), base, "", t)
    m, t = run(latentlab.VAE(latent_dim=16, hidden=(128,)))
    row("vae", "digits", mse(m.reconstruct(Xte), Xte), base, f"test KL/sample {_kl(m, Xte):.2f}", t)
    m, t = run(latentlab.Autoencoder(architecture="conv", latent_dim=16, hidden=(16, 32)), lr=5e-3)
    row("ae (conv)", "digits", mse(m.reconstruct(Xte), Xte), base, "", t)
    m, t = run(latentlab.VAE(architecture="conv", latent_dim=8, hidden=(32,)), lr=5e-3)
    row("vae (conv)", "digits", mse(m.reconstruct(Xte), Xte), base, "", t)

    # denoising: Gaussian sigma = 0.3 in pixel units
    noisy = (Xte + 0.3 * np.random.default_rng(1).standard_normal(Xte.shape)).astype(np.float32)
    opts = dict(latent_dim=16, hidden=(128,), activation="relu", scaling="none")
    plain, _ = run(latentlab.Autoencoder(noise="none", **opts))
    dae, t = run(latentlab.Autoencoder(noise="gaussian", noise_level=0.3, **opts))
    e_noisy, e_dae, e_plain = mse(noisy, Xte), mse(dae.denoise(noisy), Xte), mse(plain.denoise(noisy), Xte)
    row(
        "ae + gaussian noise",
        "digits",
        mse(dae.reconstruct(Xte), Xte),
        base,
        f"noisy-test MSE {e_dae:.4f} vs input {e_noisy:.4f}, plain AE {e_plain:.4f}",
        t,
    )
    checks.append(("DAE beats noisy input and plain AE", e_dae < e_noisy and e_dae < e_plain))

    # sparse
    sp0, _ = run(latentlab.SparseAutoencoder(latent_dim=32, hidden=(64,), sparsity_weight=0.0))
    for kind, weight, act in (("kl", 0.02, "sigmoid"), ("l1", 0.0075, "relu")):
        ref = (
            sp0
            if kind == "kl"
            else run(
                latentlab.SparseAutoencoder(
                    latent_dim=32, hidden=(64,), sparsity="l1", code_activation="relu", sparsity_weight=0.0
                )
            )[0]
        )
        sp, t = run(
            latentlab.SparseAutoencoder(
                latent_dim=32, hidden=(64,), sparsity=kind, code_activation=act, sparsity_weight=weight
            )
        )
        s, s_ref = sp.code_stats(Xte), ref.code_stats(Xte)
        e, e_ref = mse(sp.reconstruct(Xte), Xte), mse(ref.reconstruct(Xte), Xte)
        row(
            f"sparse ({kind})",
            "digits",
            e,
            base,
            f"activation {s['mean_activation']:.3f} vs {s_ref['mean_activation']:.3f} unpenalised; "
            f"near-zero {s['near_zero_fraction']:.0%}; MSE x{e / e_ref:.2f}",
            t,
        )
        checks.append(
            (
                f"sparse {kind}: activation <= half at MSE within 15%",
                s["mean_activation"] <= 0.5 * s_ref["mean_activation"] and e <= 1.15 * e_ref,
            )
        )

    # contractive
    c0, _ = run(latentlab.ContractiveAutoencoder(latent_dim=8, hidden=(64,), contractive_weight=0.0))
    cae, t = run(latentlab.ContractiveAutoencoder(latent_dim=8, hidden=(64,), contractive_weight=0.1))
    j, j0 = cae.jacobian_norm(Xte).mean(), c0.jacobian_norm(Xte).mean()
    row("contractive", "digits", mse(cae.reconstruct(Xte), Xte), base, f"Jacobian norm {j:.2f} vs {j0:.2f} unpenalised", t)

    # conditional VAE
    cvae, t = run(latentlab.ConditionalVAE(latent_dim=4, hidden=(128,)), y=ytr)
    with threadpool_limits(1):
        clf = LogisticRegression(max_iter=2000).fit(Xtr, ytr)
        acc = np.mean([(clf.predict(cvae.sample(200, y=k, seed=k)) == k).mean() for k in range(10)])
    row("cvae", "digits", mse(cvae.reconstruct(Xte, yte), Xte), base, f"samples classified as their label {acc:.1%}", t)
    checks.append(("cvae samples classified >= 80%", acc >= 0.8))

    # WAE
    for kernel in ("imq", "rbf"):
        wae, t = run(latentlab.WAE(latent_dim=8, hidden=(128,), kernel=kernel))
        z = torch.from_numpy(wae.encode(Xte))
        gap = float(mmd(z, torch.randn(z.shape, generator=torch.Generator().manual_seed(0)), kernel))
        row(f"wae ({kernel})", "digits", mse(wae.reconstruct(Xte), Xte), base, f"test MMD^2 to prior {gap:.4f}", t)

    # VQ-VAE
    vq, t = run(latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(128,)))
    s = vq.codebook_stats(Xte)
    idx = torch.from_numpy(vq.code_indices(Xte))
    independent = float((-vq.prior.log_prior.gather(1, idx.T).sum(0) / np.log(2)).mean())
    row(
        "vqvae",
        "digits",
        mse(vq.reconstruct(Xte), Xte),
        base,
        f"perplexity {s['perplexity']:.1f}/32, usage {s['usage']:.0%}; test code bits/sample: "
        f"autoregressive prior {vq.code_bits(Xte).mean():.2f}, independent {independent:.2f}, fixed {4 * np.log2(32):.0f}",
        t,
    )

    # sequences
    W = windows(load_series("sunspots"), 16, stride=2)
    n = int(0.7 * len(W))
    Str, Ste = W[:n], W[n + 8 :]
    for cell in ("lstm", "gru"):
        sq, t = run(
            latentlab.SequenceAutoencoder(latent_dim=4, hidden=(32,), cell=cell),
            X=Str,
            lr=1e-2,
            batch_size=16,
            epochs=3 * ep,
        )
        e, b = mse(sq.reconstruct(Ste), Ste), mse(Str.mean(0), Ste)
        row(f"seq_ae ({cell})", "sunspots", e, b, f"held-out windows; per-step-mean MSE {b:.0f}", t)
        checks.append((f"seq_ae {cell} beats per-step mean", e < b))
    S = latentlab.make_sequences(400, length=20, n_features=3, min_length=10, seed=0)
    sv, t = run(latentlab.SequenceVAE(latent_dim=4, hidden=(32,)), X=S[:300], lr=5e-3, batch_size=32)
    row(
        "seq_vae (gru)",
        "synthetic",
        mse(sv.reconstruct(S[300:]), S[300:]),
        mse(np.nanmean(S[:300], 0), S[300:]),
        "variable lengths 10-20, 3 features",
        t,
    )

    spec = table(
        ["family", "data", "test MSE", "ratio", "fit s", "figures"],
        [[name, data, f"{err:.4g}", f"{ratio:.2f}", f"{seconds:.1f}", figures]
         for name, data, err, ratio, figures, seconds in rows],
        align=["l", "l", "r", "r", "r", "l"],
    )
    print(markdown(spec))
    print()
    priors, prior_spec = vq_priors(vq, Xtr, Xte, ytr, fit)
    print(markdown(prior_spec))
    print()
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    figures = {
        "families": [dict(zip(("family", "data", "test_mse", "ratio", "figures", "fit_s"), r, strict=True))
                     for r in rows],
        "vq_priors": priors,
        "checks": {name: bool(ok) for name, ok in checks},
    }
    write_record(
        name_for("families", ap, args, ignore=("threads",)), figures, started=clock, args=args, split="test",
        tables={"main": spec, "vq_priors": prior_spec},
        baselines={"predict the training mean": "the test MSE of predicting the training mean ('ratio' divides by "
                   "it; per time step for sequences)",
                   "unpenalised twins": "the same network without its penalty (sparse, contractive, denoising)"},
        notes="digits: 75/25 split; sunspots: held-out later windows; seq_vae: synthetic variable-length sequences",
    )


def vq_priors(vq, Xtr, Xte, ytr, fit) -> tuple[dict, dict]:
    """The VQ-VAE above (autoregressive prior) against the same network with the independent prior.

    Its figures, and their table: test code bits/sample; 1,000 samples scored by a logistic regression
    trained on the real digits (mean top-class probability) and their MSE to the nearest training digit.
    """
    clf = LogisticRegression(max_iter=3000).fit(Xtr, ytr)
    ind = latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(128,), prior="independent")
    ind.fit(Xtr, **fit)
    out = {"fixed-length": {"code_bits": float(4 * np.log2(32))}}
    for name, model in (("independent", ind), ("autoregressive", vq)):
        S = model.sample(1000, seed=0)
        out[name] = {"code_bits": float(model.code_bits(Xte).mean()),
                     "confidence": float(clf.predict_proba(S).max(1).mean()),
                     "nearest_mse": float(((S[:, None, :] - Xtr[None]) ** 2).mean(-1).min(1).mean())}
    models = [out["independent"], out["autoregressive"]]
    best = {"code_bits": min(m["code_bits"] for m in models), "confidence": max(m["confidence"] for m in models),
            "nearest_mse": min(m["nearest_mse"] for m in models)}

    def cell(m: dict, key: str, fmt: str) -> str:
        return f"**{m[key]:{fmt}}**" if m[key] == best[key] else f"{m[key]:{fmt}}"

    spec = table(
        ["prior", "test code bits/sample", "sample confidence", "sample nearest MSE"],
        [["fixed-length codes", f"{out['fixed-length']['code_bits']:.2f}", "", ""]]
        + [[label, cell(out[key], "code_bits", ".2f"), cell(out[key], "confidence", ".3f"),
            cell(out[key], "nearest_mse", ".4f")]
           for key, label in (("independent", "independent categorical per group"),
                              ("autoregressive", "autoregressive (default)"))],
        align=["l", "r", "r", "r"],
    )
    return out, spec


def _kl(model, X) -> float:
    x = model.to_model_space(X)
    with torch.no_grad():
        return float(model.posterior(x).kl().mean())


if __name__ == "__main__":
    main()
