"""Data bigger than memory: chunked sources, held-out rows, rank shards, streamed scaler, fit_source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import latentlab
from latentlab.cli import main as cli_main
from latentlab.data.scaling import Scaler
from latentlab.data.streaming import ImageFolderSource, NpySource, StreamingData, TableSource, open_source
from latentlab.errors import DataError, DataTypeError

FAST = dict(verbose=False, seed=0, lr_schedule="none")


def _rows(data: StreamingData, gen=None, shard=(0, 1), batch_size=7):
    parts = [x.numpy() for x, _ in data.batches(batch_size, gen, shard)]
    return np.concatenate(parts) if parts else np.zeros((0, *data.source.shape), np.float32)


def _ids(rows):
    return sorted(int(v) for v in rows[:, 0])


@pytest.fixture
def id_npy(tmp_path):
    """100 rows whose first column is the row number."""
    X = np.random.default_rng(0).random((100, 3)).astype(np.float32)
    X[:, 0] = np.arange(100)
    np.save(tmp_path / "x.npy", X)
    return tmp_path / "x.npy", X


def test_npy_source_reads_exact_rows_through_a_window(id_npy):
    path, X = id_npy
    src = NpySource(path)
    assert len(src) == 100 and src.shape == (3,) and not src.has_labels
    np.testing.assert_array_equal(src.read(37, 61)[0], X[37:61])
    np.testing.assert_array_equal(np.concatenate([c for c, _ in src.stream(13)]), X)


def test_npy_source_refuses_objects_and_fortran_order(tmp_path):
    np.save(tmp_path / "o.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(DataTypeError, match="no pickles"):
        NpySource(tmp_path / "o.npy")
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((4, 3))))
    with pytest.raises(DataError, match="Fortran"):
        NpySource(tmp_path / "f.npy")


@pytest.mark.parametrize("block_rows", [8, 64, 1000])
def test_train_and_validation_rows_partition_the_source(id_npy, block_rows):
    path, _ = id_npy
    src = NpySource(path)
    ident = lambda x: x  # noqa: E731
    train = StreamingData(src, ident, "train", 0.2, block_rows=block_rows, mix=2)
    val = StreamingData(src, ident, "val", 0.2, block_rows=block_rows, mix=2)
    t = _ids(_rows(train, torch.Generator().manual_seed(1)))
    v = _ids(_rows(val))
    assert len(t) == len(train) == 80 and len(v) == len(val) == 20
    assert sorted(t + v) == list(range(100))
    # the same rows are held out every epoch, and the training order changes between epochs
    g = torch.Generator().manual_seed(1)
    e1, e2 = _rows(train, g)[:, 0], _rows(train, g)[:, 0]
    assert sorted(e1) == sorted(e2) and not np.array_equal(e1, e2)


@pytest.mark.parametrize("kind", ["npy", "csv"])
def test_rank_shards_are_equal_and_disjoint(id_npy, tmp_path, kind):
    path, X = id_npy
    if kind == "csv":
        pd.DataFrame(X, columns=["a", "b", "c"]).to_csv(tmp_path / "x.csv", index=False)
        src = TableSource(tmp_path / "x.csv", chunk_rows=9)
        assert not src.random_access
    else:
        src = NpySource(path)
    train = StreamingData(src, lambda x: x, "train", 0.1, block_rows=8, mix=2)  # 90 train rows
    for seed in (0, 1):
        shards = [_ids(_rows(train, torch.Generator().manual_seed(seed), (r, 4))) for r in range(4)]
        assert [len(s) for s in shards] == [22] * 4  # 90 // 4 each: every rank runs the same steps
        flat = sum(shards, [])
        assert len(set(flat)) == len(flat)
        assert set(flat) <= set(_ids(_rows(train)))


def test_table_source_csv_and_parquet_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.random((50, 4)), columns=list("abcd")).astype("float32")
    df["label"] = rng.integers(0, 3, 50)
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_parquet(tmp_path / "t.parquet", row_group_size=16)
    for name in ("t.csv", "t.parquet"):
        src = open_source(tmp_path / name, label_column="label")
        assert len(src) == 50 and src.shape == (4,) and src.has_labels
        chunks = list(src.stream(16))
        np.testing.assert_allclose(np.concatenate([c[0] for c in chunks]), df[list("abcd")].to_numpy(), rtol=1e-6)
        np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), df["label"].to_numpy())
    with pytest.raises(DataError, match="no column 'nope'"):
        TableSource(tmp_path / "t.csv", label_column="nope")


@pytest.mark.slow
def test_fit_source_streams_the_scaler_and_learns(tmp_path, digits):
    X_train, X_test, _, _ = digits
    X_train = X_train * 3.0 + 1.0  # a range the scaler must learn
    np.save(tmp_path / "d.npy", X_train)
    ae = latentlab.Autoencoder(latent_dim=8, hidden=(64,))
    ae.fit_source(tmp_path / "d.npy", epochs=25, batch_size=64, patience=None, **FAST)
    ref = Scaler("minmax").fit(X_train)
    np.testing.assert_allclose(ae.scaler.offset_, ref.offset_, atol=1e-6)
    np.testing.assert_allclose(ae.scaler.scale_, ref.scale_, atol=1e-6)
    assert ae.history[-1]["loss"] < ae.history[0]["loss"]
    assert "val_loss" in ae.history[0]
    test = X_test * 3.0 + 1.0
    mse = np.mean((ae.reconstruct(test) - test) ** 2)
    baseline = np.mean((X_train.mean(0) - test) ** 2)  # predict the training mean
    assert mse < 0.5 * baseline
    np.testing.assert_allclose(ae.prior.std.numpy(), ae.encode(X_train).std(0, ddof=1), rtol=0.05)


def test_fit_accepts_a_source_and_refuses_a_wrong_shape(id_npy):
    path, _ = id_npy
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(NpySource(path), epochs=2, batch_size=16, **FAST)
    assert model.config.input_shape == (3,) and len(model.history) == 2
    other = latentlab.Autoencoder(input_shape=(5,), latent_dim=2, hidden=(8,))
    with pytest.raises(DataError, match="expects"):
        other.fit_source(NpySource(path), epochs=1, **FAST)


def test_image_folder_source_trains_a_model(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), mode="L").save(tmp_path / "imgs" / c / f"{i}.png")
    src = ImageFolderSource(tmp_path / "imgs")
    assert len(src) == 20 and src.shape == (1, 8, 8) and src.has_labels
    x, y = src.read(8, 12)
    assert x.shape == (4, 1, 8, 8) and y.tolist() == [0, 0, 1, 1]
    model = latentlab.VAE(latent_dim=2, hidden=(16,)).fit_source(src, epochs=2, batch_size=8, **FAST)
    assert model.sample(3, seed=0).shape == (3, 1, 8, 8)


def test_cli_train_stream(tmp_path, capsys):
    X, _ = latentlab.load_digits()
    np.save(tmp_path / "d.npy", X[:300])
    out = tmp_path / "run"
    code = cli_main(["train", "--family", "ae", "--data", str(tmp_path / "d.npy"), "--stream", "--epochs", "2",
                     "--hidden", "16", "--verbose", "false", "--out", str(out)])
    assert code == 0 and "saved to" in capsys.readouterr().out
    assert latentlab.load(out).encode(X[:4]).shape == (4, 2)
