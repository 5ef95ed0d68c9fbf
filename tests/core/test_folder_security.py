"""Saved folders get the user's umask, and the save protocol touches only the leftovers it can prove are its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import latentlab
from latentlab import _files
from latentlab._files import MARKER, PREVIOUS, current_umask, recover_folder


@pytest.fixture(scope="module")
def model():
    X = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
    return latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, verbose=False, seed=0)


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): _mode(p) for p in [folder, *folder.rglob("*")]}


def _with_umask(mask: int, fn):
    old = os.umask(mask)
    try:
        return fn()
    finally:
        os.umask(old)


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(out.stdout)


def _leftover(parent: Path, target: str, suffix: str = "abc123", pid: int | None = None, **changes) -> Path:
    """A ``.TARGET.new-*`` folder as a killed save leaves it (a marker naming it), with a model file inside."""
    folder = parent / f".{target}.new-{suffix}"
    folder.mkdir()
    doc = {"protocol": "latentlab-atomic-folder", "version": 1, "target": target, "temp": folder.name,
           "pid": _dead_pid() if pid is None else pid, "host": socket.gethostname(), **changes}
    (folder / MARKER).write_text(json.dumps(doc))
    (folder / "config.json").write_text("{}")
    return folder


# ------------------------------------------------------------------ modes
@pytest.mark.parametrize("mask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_saved_folders_and_files_get_the_umask(tmp_path, model, mask, folder_mode, file_mode):
    def save_twice():
        model.save(tmp_path / "m")  # a new folder (renamed in)
        first = _modes(tmp_path / "m")
        model.save(tmp_path / "m")  # over an existing one (swapped)
        return first, _modes(tmp_path / "m")

    for modes in _with_umask(mask, save_twice):
        assert modes.pop(".") == folder_mode
        assert set(modes) >= {"config.json", "model.safetensors", "scaler.json", "metrics.json"}
        assert set(modes.values()) == {file_mode}, modes
        assert MARKER not in modes  # the protocol's marker is not left in the saved folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o027])
def test_umask_is_read_without_changing_it(mask):
    assert _with_umask(mask, current_umask) == mask
    assert _with_umask(mask, _files.file_mode) == 0o666 & ~mask
    assert _with_umask(mask, _files.folder_mode) == 0o777 & ~mask


def test_train_out_folder_gets_the_umask(tmp_path):
    from latentlab.cli import main

    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(40, 5)).astype(np.float32))
    argv = ["train", "--family", "ae", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "run"),
            "--epochs", "1", "--hidden", "8", "--latent-dim", "2", "--verbose", "false"]
    assert _with_umask(0o077, lambda: main(argv)) == 0
    run = tmp_path / "run"
    assert (run / "model.safetensors").is_file()
    for p in [run, *run.rglob("*")]:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), p


# ------------------------------------------------------------------ load never touches siblings
def test_load_of_a_missing_folder_says_so_and_leaves_siblings_alone(tmp_path, model):
    model.save(tmp_path / "elsewhere")
    os.rename(tmp_path / "elsewhere", tmp_path / ".x.old-123")  # an old protocol's leftover, or a planted one
    planted = _leftover(tmp_path, "x")  # even one with a valid marker
    (planted / PREVIOUS).mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(latentlab.ModelFileError, match="does not exist") as err:
        latentlab.load(tmp_path / "x")
    assert f"move that folder to {tmp_path / 'x'}" in str(err.value)  # it says where the parked folder is
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "x").exists()


def test_save_leaves_unproven_siblings_alone(tmp_path, model):
    keep = {
        ".m.old-1": None,  # the old protocol's names: nothing proves they are a save's
        ".m.new-nomarker": None,
        ".m.new-other": {"target": "other"},  # a marker for another target
        ".m.new-copied": {"temp": ".m.new-elsewhere"},  # a marker copied from another folder
        ".m.new-alive": {"pid": os.getpid()},  # a save still running (this process)
        ".m.new-remote": {"host": "another-machine"},  # a save on another machine: cannot be proven finished
        ".m.new-badjson": "{",
    }
    for name, change in keep.items():
        if isinstance(change, dict):
            folder = _leftover(tmp_path, "m", name.rsplit("-", 1)[1])
            doc = json.loads((folder / MARKER).read_text())
            (folder / MARKER).write_text(json.dumps({**doc, **change}))
        else:
            (tmp_path / name).mkdir()
            (tmp_path / name / "notes.txt").write_text("mine")
            if change is not None:
                (tmp_path / name / MARKER).write_text(change)
    target = tmp_path / "m"
    (tmp_path / ".m.new-link").symlink_to(_leftover(tmp_path, "m", "linked"), target_is_directory=True)
    model.save(target)
    model.save(target)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*keep, ".m.new-link", "m"])  # the linked-to leftover was proven and cleared
    assert (tmp_path / ".m.new-link").is_symlink()


def test_save_clears_its_own_leftovers_and_puts_back_a_parked_folder(tmp_path, model):
    target = tmp_path / "m"
    model.save(target)
    (target / "notes.txt").write_text("the user's own file")
    # a kill between the two renames of the fallback swap: the old folder parked in the marked new one
    parked = _leftover(tmp_path, "m", "parked")
    os.rename(target, parked / PREVIOUS)
    stale = _leftover(tmp_path, "m", "stale")
    empty = tmp_path / ".m.new-empty"  # a kill right after mkdtemp: nothing inside, nothing to lose
    empty.mkdir()
    with pytest.raises(latentlab.ModelFileError, match="killed midway"):
        latentlab.load(target)
    model.save(target)
    assert (target / "notes.txt").read_text() == "the user's own file"  # put back, then carried over
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert not any(p.name.startswith(".latentlab") for p in target.iterdir())
    assert not stale.exists() and not empty.exists()


def test_a_marker_left_in_the_target_after_the_swap_is_finished_by_the_next_save(tmp_path, model):
    target = tmp_path / "m"
    model.save(target)
    swapped_out = _leftover(tmp_path, "m", "swapped")  # the old folder, swapped out when the kill came
    (swapped_out / MARKER).unlink()  # the old folder holds no marker: the one in the target names it
    doc = {"protocol": "latentlab-atomic-folder", "version": 1, "target": "m", "temp": swapped_out.name,
           "pid": _dead_pid(), "host": socket.gethostname()}
    (target / MARKER).write_text(json.dumps(doc))
    np.testing.assert_array_equal(latentlab.load(target).encode(np.zeros((1, 5), np.float32)),
                                  model.encode(np.zeros((1, 5), np.float32)))  # loading ignores the marker
    recover_folder(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"] and not (target / MARKER).exists()


def test_a_failed_write_removes_only_its_own_temporary(tmp_path, model):
    model.save(tmp_path / "m")
    (tmp_path / ".m.old-9").mkdir()

    def fail(folder):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _files.atomic_folder(tmp_path / "m", fail, set())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.old-9", "m"]
    assert latentlab.load(tmp_path / "m").config == model.config


def test_stale_file_temporaries_must_look_like_mkstemps(tmp_path):
    path = tmp_path / "c.safetensors"
    ours, theirs = tmp_path / ".c.safetensors.k2j4_x9a.tmp", tmp_path / ".c.safetensors.my backup.tmp"
    ours.write_bytes(b"half")
    theirs.write_bytes(b"keep")
    assert _files.remove_stale_temporaries(path) == 1
    assert not ours.exists() and theirs.exists()


CHILD = """
import sys, latentlab, latentlab._files as f
f._exchange = lambda a, b: False  # the fallback swap, as where renameat2 is missing
a, b = latentlab.load(sys.argv[1]), latentlab.load(sys.argv[2])
print("ready", flush=True)
while True:
    a.save(sys.argv[3]); b.save(sys.argv[3])
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kills_during_the_fallback_swap_lose_nothing(tmp_path, model):
    X = np.random.default_rng(2).normal(size=(40, 5)).astype(np.float32)
    other = latentlab.Autoencoder(latent_dim=3, hidden=(6,)).fit(X, epochs=1, verbose=False, seed=1)
    model.save(tmp_path / "a")
    other.save(tmp_path / "b")
    wanted = [(tmp_path / n / "model.safetensors").read_bytes() for n in ("a", "b")]
    target = tmp_path / "target"
    model.save(target)
    (target / "notes.txt").write_text("the user's own file")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for k in range(6):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "a"), str(tmp_path / "b"), str(target)],
                                 stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(0.005 * k)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        folder = target if target.exists() else _files.interrupted_save(target)  # parked: named, not moved
        assert folder is not None, sorted(p.name for p in tmp_path.iterdir())
        assert (folder / "model.safetensors").read_bytes() in wanted
        assert (folder / "notes.txt").read_text() == "the user's own file"
        model.save(target)  # finishes what the kill left
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "target"]
        assert (target / "notes.txt").read_text() == "the user's own file"
