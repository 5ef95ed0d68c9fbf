"""A kill at any moment of ``save`` leaves the complete old model or the complete new one, never a mixture or nothing.

A child process saves two fitted models over one folder in turn, as fast as it can; the test kills it
with SIGKILL at random moments and checks the folder each time. ``benchmarks/soak.py --save-kills N``
runs the same for longer.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import latentlab

pytestmark = pytest.mark.slow  # kills saving processes

MODEL_FILES = ("config.json", "model.safetensors", "scaler.json", "metrics.json")

CHILD = """
import sys, latentlab
a, b = latentlab.load(sys.argv[1]), latentlab.load(sys.argv[2])
print("ready", flush=True)
while True:
    a.save(sys.argv[3]); b.save(sys.argv[3])
"""


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in MODEL_FILES if (folder / name).exists()}


def kill_during_save(root: Path, kills: int, same_shape: bool, seed: int = 0) -> dict[str, int]:
    """Kill a saving child ``kills`` times; returns how often the folder held the old/new model (and failures)."""
    X, _ = latentlab.load_digits()
    a = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X[:300], epochs=1, verbose=False, seed=0)
    b = latentlab.Autoencoder(latent_dim=2 if same_shape else 5, hidden=(16,) if same_shape else (24, 8))
    b.fit(X[:300] * 0.5, epochs=1, verbose=False, seed=1)
    a.save(root / "a")
    b.save(root / "b")
    wanted = [_files(root / "a"), _files(root / "b")]
    target = root / "target"
    a.save(target)
    (target / "notes.txt").write_text("the user's own file")
    rng = random.Random(seed)
    counts = {"a": 0, "b": 0, "mixed": 0, "lost": 0}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root / "a"), str(root / "b"), str(target)],
            stdout=subprocess.PIPE, env=env,
        )
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        try:
            latentlab.load(target)
            got = _files(target)
        except latentlab.ModelFileError:
            got = {}
        if got == wanted[0]:
            counts["a"] += 1
        elif got == wanted[1]:
            counts["b"] += 1
        elif got:
            counts["mixed"] += 1
        else:
            counts["lost"] += 1
        if (target / "notes.txt").read_text() != "the user's own file":
            counts["lost"] += 1
    a.save(target)  # the next save clears what the killed ones left
    counts["temporaries_left"] = sum(1 for p in root.iterdir() if p.name.startswith(".target."))
    return counts


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("same_shape", [True, False])
def test_kills_during_save_leave_the_old_or_the_new_model(tmp_path, same_shape):
    counts = kill_during_save(tmp_path, kills=8, same_shape=same_shape)
    assert counts["mixed"] == 0 and counts["lost"] == 0, counts
    assert counts["a"] + counts["b"] == 8
    assert counts["temporaries_left"] == 0


def test_save_keeps_the_folders_other_files_and_refuses_a_file_path(tmp_path):
    X, _ = latentlab.load_digits()
    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X[:100], epochs=1, verbose=False)
    m.save(tmp_path / "run")
    (tmp_path / "run" / "figures").mkdir()
    (tmp_path / "run" / "figures" / "f.png").write_bytes(b"png")
    m.save(tmp_path / "run")
    assert (tmp_path / "run" / "figures" / "f.png").read_bytes() == b"png"
    np.testing.assert_array_equal(latentlab.load(tmp_path / "run").encode(X[:5]), m.encode(X[:5]))
    (tmp_path / "file").write_text("x")
    with pytest.raises(latentlab.ModelFileError, match="not a folder"):
        m.save(tmp_path / "file")
