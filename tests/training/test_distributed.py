"""DDP under torchrun on CPU (gloo): disjoint shards, identical weights, rank 0 writes alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import latentlab
from latentlab.training import distributed

pytestmark = pytest.mark.slow  # torchrun processes

# A short digits run with the public API; each rank records the rows it trained on.
WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    import latentlab
    from latentlab.training import Callback, distributed

    torch.set_num_threads(1)

    class Recording(latentlab.Autoencoder):
        def loss(self, batch):
            if self.training:
                self.seen.append(batch.x.detach().cpu().numpy().copy())
            return super().loss(batch)

    class EpochMark(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.model.epochs.append(np.concatenate(trainer.model.seen))
            trainer.model.seen.clear()

    X, _ = latentlab.load_digits()
    model = Recording(latent_dim=2, hidden=(16,), scaling="none")
    model.seen, model.epochs = [], []
    model.fit(X, epochs=2, batch_size=64, seed=0, verbose=False, lr_schedule="none",
              validation_split=0.1, callbacks=[EpochMark()])
    r = distributed.rank()
    arrays = {f"epoch{i}": rows for i, rows in enumerate(model.epochs)}
    arrays.update({"w." + k: v.detach().numpy() for k, v in model.state_dict().items()})
    arrays["loss"] = np.array([h["loss"] for h in model.history])
    arrays["val_loss"] = np.array([h["val_loss"] for h in model.history])
    arrays["world"] = np.array(distributed.world_size())
    np.savez(f"{sys.argv[1]}/rank{r}.npz", **arrays)

    # Then the command line, exactly as `torchrun -m latentlab train ...` runs it: two epochs with a
    # checkpoint each epoch, then the same command resumed to three epochs (in one process group).
    import runpy
    distributed.cleanup, leave = (lambda: None), distributed.cleanup
    args = ["latentlab", "train", "--family", "ae", "--data", "digits", "--hidden", "16", "--verbose", "false",
            "--checkpoint-every", "1", "--out", f"{sys.argv[1]}/cli/run"]
    for extra in (["--epochs", "2"], ["--epochs", "3", "--resume"]):
        sys.argv = args + extra
        try:
            runpy.run_module("latentlab", run_name="__main__")
        except SystemExit as exc:
            assert not exc.code, exc.code
    leave()
    """
)


def _torchrun(args, cwd, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """One torchrun job of two CPU processes: a recorded API run, then the CLI's train."""
    tmp = tmp_path_factory.mktemp("ddp")
    (tmp / "worker.py").write_text(WORKER)
    proc = _torchrun([str(tmp / "worker.py"), str(tmp)], cwd=tmp)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [dict(np.load(tmp / f"rank{r}.npz")) for r in range(2)]
    return ranks, proc.stdout, tmp / "cli"


def test_ranks_see_disjoint_equal_shards(ddp_run):
    ranks, _, _ = ddp_run
    X, _ = latentlab.load_digits()
    n_train = len(X) - round(len(X) * 0.1)
    all_rows = {row.tobytes() for row in X}
    for epoch in ("epoch0", "epoch1"):
        a = {row.tobytes() for row in ranks[0][epoch]}
        b = {row.tobytes() for row in ranks[1][epoch]}
        assert len(a) == len(ranks[0][epoch]) == len(ranks[1][epoch]) == n_train // 2
        assert not a & b, "the two ranks trained on overlapping samples"
        assert a | b <= all_rows
    # the shards are reshuffled between epochs
    assert {r.tobytes() for r in ranks[0]["epoch0"]} != {r.tobytes() for r in ranks[0]["epoch1"]}


def test_weights_and_metrics_identical_across_ranks(ddp_run):
    ranks, _, _ = ddp_run
    assert int(ranks[0]["world"]) == 2
    keys = [k for k in ranks[0] if k.startswith("w.")]
    assert keys
    for k in keys:
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k], err_msg=k)
    # metrics are averaged over ranks, so every rank logs the same numbers
    np.testing.assert_array_equal(ranks[0]["loss"], ranks[1]["loss"])
    np.testing.assert_array_equal(ranks[0]["val_loss"], ranks[1]["val_loss"])
    assert np.all(np.isfinite(ranks[0]["loss"]))


def test_cli_train_under_torchrun_writes_one_model_and_resumes(ddp_run):
    _, stdout, cli = ddp_run
    out = cli / "run"
    assert stdout.count("saved to") == 2, stdout  # one line per command, from rank 0 only
    assert sorted(p.name for p in cli.iterdir()) == ["run"]
    files = sorted(p.name for p in out.iterdir())
    want = ["checkpoint.safetensors", "config.json", "metrics.json", "model.safetensors", "scaler.json"]
    assert files == want, files  # one checkpoint, one model, no stray temporary files
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert [h["epoch"] for h in metrics["history"]] == [0, 1, 2]  # resumed at epoch 2, not restarted
    model = latentlab.load(out)
    X, _ = latentlab.load_digits()
    assert np.isfinite(model.reconstruct(X[:5])).all()


def test_single_process_helpers():
    assert distributed.is_main_process() and distributed.world_size() == 1
    assert not distributed.is_distributed()
    assert distributed.shard_slice(7, 1, 2) == slice(3, 6)
