"""The main job: a 2-D VAE on digits, with every figure, in ``runs/demo``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..data.datasets import load_digits
from .evaluation import reconstruction_metrics
from .figures import write_figures


def run_demo(out: str | Path = "runs/demo", epochs: int | None = None, verbose: bool = True, seed: int = 0):
    """Train a VAE with a 2-D latent on digits, save it and its figures; return the model."""
    from ..models.vae import VAE

    t0 = time.perf_counter()
    out = Path(out)
    X_train, X_test, y_train, y_test = load_digits(split=True)
    opts = {} if epochs is None else {"epochs": epochs}
    model = VAE(latent_dim=2).fit(X_train, seed=seed, verbose=verbose, **opts)
    metrics = {f"test_{k}": v for k, v in reconstruction_metrics(model, X_test).items()}
    metrics["epochs_run"] = len(model.history)
    metrics["train_seconds"] = round(time.perf_counter() - t0, 2)
    # What the explorer shows: the training codes, the image shape and held-out examples, saved with the run.
    model.attach_view(X_train, y_train, image_shape=(8, 8), examples=X_test[:100], example_labels=y_test[:100])
    model.save(out, metrics=metrics)
    paths = write_figures(model, X_test, y_test, out, seed=seed)
    np.savez(out / "latents.npz", z=model.encode(X_train), y=y_train)
    if verbose:
        print(f"VAE (latent 2) trained on digits for {metrics['epochs_run']} epochs in {metrics['train_seconds']} s")
        print(f"test MSE {metrics['test_mse']:.4f}, PSNR {metrics.get('test_psnr', float('nan')):.2f} dB")
        print(f"model: {out}/config.json + model.safetensors; metrics: {out}/metrics.json")
        for name, p in paths.items():
            print(f"  {name:16s} {p}")
    return model
