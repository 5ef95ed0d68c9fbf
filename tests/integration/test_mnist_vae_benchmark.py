"""benchmarks/mnist_vae.py runs end to end on tiny fake IDX files, and its estimator is wired correctly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import latentlab

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mnist_vae.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mnist_vae_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_runs_on_a_tiny_fake_subset(bench, monkeypatch):
    from latentlab.data import downloads

    monkeypatch.setitem(downloads.DATASETS, "mnist", downloads.DATASETS["mnist"])  # restored afterwards
    r = bench.main(["--fake", "48", "--epochs", "2", "--k", "16", "--batch-size", "16"])
    assert r["n_train"] == 48 and r["n_test"] == 12 and r["k"] == 16
    assert 0 < r["nll"] < 784 * np.log(2) * 2
    assert r["nll"] <= r["neg_elbo"]  # the K-sample bound is tighter than the ELBO


def test_importance_estimate_with_one_sample_is_the_elbo(bench, rng):
    x = (rng.random((40, 16)) < 0.5).astype(np.float32)
    vae = latentlab.VAE(latent_dim=3, hidden=(8,), likelihood="bernoulli", scaling="none")
    vae.fit(x, epochs=1, batch_size=8, verbose=False, seed=0)
    nll1, elbo1 = bench.importance_sampled_nll(vae, x, k=1)
    assert nll1 == pytest.approx(elbo1, rel=1e-6)
    nll, elbo = bench.importance_sampled_nll(vae, x, k=200, chunk=64)
    assert nll < elbo
