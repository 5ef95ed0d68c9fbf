"""Kill a training process with SIGKILL at random moments; the checkpoint loads and resuming finishes the run.

The command line is run as a user would run it::

    latentlab train ... --out DIR --checkpoint-every 1 --resume

and killed three times: once at a random time after start (often before the
first checkpoint exists), then twice at random epochs. After each kill
the checkpoint on disk must load; the last run must finish with the final
loss of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors import SafetensorError, safe_open

import latentlab
from latentlab.training.checkpoint import CHECKPOINT_NAME, load_checkpoint

pytestmark = pytest.mark.slow  # kills training processes

EPOCHS = 30
ARGS = dict(epochs=EPOCHS, batch_size=16, seed=0, patience=None, verbose=False)
MODEL = dict(latent_dim=3, hidden=(16,))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(480, 3))
    X = np.tanh(z @ rng.normal(size=(3, 12))) + 0.05 * rng.normal(size=(480, 12))
    path = tmp_path_factory.mktemp("data") / "x.npy"
    np.save(path, X.astype(np.float32))
    return path


def command(data, out) -> list[str]:
    return [
        sys.executable, "-m", "latentlab", "train", "--family", "ae", "--data", str(data), "--out", str(out),
        "--latent-dim", "3", "--hidden", "16", "--epochs", str(EPOCHS), "--batch-size", "16", "--seed", "0",
        "--patience", "none", "--verbose", "false", "--checkpoint-every", "1", "--resume",
    ]  # fmt: skip


def start(data, out) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(command(data, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def checkpoint_epoch(path) -> int:
    """The epoch in the checkpoint's metadata (cheap: no model is built); -1 before the first one."""
    try:
        with safe_open(str(path), framework="np") as fh:
            return int(json.loads(fh.metadata()["state"])["trainer"]["epoch"])
    except (OSError, SafetensorError):
        return -1


def kill(proc: subprocess.Popen) -> bool:
    """SIGKILL ``proc``; True if it was still running (so the kill really interrupted it)."""
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return alive


def test_sigkill_at_random_moments_then_resume(dataset, tmp_path):
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    out = tmp_path / "run"
    ckpt = out / CHECKPOINT_NAME
    targets = sorted(rng.sample(range(2, int(EPOCHS * 0.7)), 2))
    interrupted, seen = 0, []

    # 1) a random moment after start: usually during start-up, before any checkpoint exists
    proc = start(dataset, out)
    time.sleep(rng.uniform(0.2, 2.5))
    interrupted += kill(proc)
    if ckpt.exists():
        seen.append(load_checkpoint(ckpt).epoch)

    # 2-3) random epochs, plus a random fraction of an epoch
    for target in targets:
        proc = start(dataset, out)
        deadline = time.monotonic() + 300
        while proc.poll() is None and checkpoint_epoch(ckpt) < target and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.05))
        interrupted += kill(proc)
        state = load_checkpoint(ckpt)  # whatever moment the kill hit, the file on disk loads
        assert 1 <= state.epoch <= EPOCHS
        assert len(state.history) == state.epoch
        assert all(torch.isfinite(t).all() for t in state.model_state.values())
        seen.append(state.epoch)

    assert seen == sorted(seen), f"checkpoints went backwards: {seen}"
    assert interrupted >= 2, "the runs finished before they could be killed"

    proc = start(dataset, out)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert "resuming from" in stderr.decode()
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == list(range(EPOCHS))  # no epoch lost or repeated

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        X = np.load(dataset)
        reference = latentlab.Autoencoder(**MODEL).fit(X, **ARGS).history
    finally:
        torch.set_num_threads(threads)
    assert history[-1]["loss"] == pytest.approx(reference[-1]["loss"], rel=1e-3)
    assert history[-1]["loss"] < history[0]["loss"]
    assert latentlab.load(out).reconstruct(X).shape == X.shape
