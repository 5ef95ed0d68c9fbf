"""Real data-set loaders on tiny self-written files in each exact format, and checksummed downloads."""

from __future__ import annotations

import gzip
import hashlib
import tarfile

import numpy as np
import pytest
from PIL import Image

from latentlab.data import downloads, loaders
from latentlab.data.cifar import FOLDER, TEST_FILES, TRAIN_FILES, read_cifar10, write_cifar_records
from latentlab.data.downloads import RemoteFile, fetch, file_digest
from latentlab.data.idx import read_idx, write_idx
from latentlab.data.images import load_image_folder
from latentlab.errors import DataError


def _pin(monkeypatch, name, folder):
    """Pin data set ``name`` to the checksums of the files we wrote (the loaders' code path is unchanged)."""
    pinned = tuple(RemoteFile(r.name, r.urls, file_digest(folder / r.name)) for r in downloads.DATASETS[name])
    monkeypatch.setitem(downloads.DATASETS, name, pinned)


def _write_idx_set(folder, rng, n_train=12, n_test=5):
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        data[prefix] = (images, labels)
    return data


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_every_type(tmp_path, rng, dtype):
    arr = (rng.random((3, 4, 5)) * 100).astype(dtype)
    write_idx(tmp_path / "a.idx.gz", arr)
    back = read_idx(tmp_path / "a.idx.gz")
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, arr)


def test_idx_header_is_the_published_layout(tmp_path):
    write_idx(tmp_path / "x", np.zeros((2, 28, 28), dtype=np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3])  # magic 0x00000803 = 2051 for MNIST images
    assert int.from_bytes(raw[4:8], "big") == 2 and int.from_bytes(raw[8:12], "big") == 28
    assert len(raw) == 16 + 2 * 28 * 28


def test_idx_truncated_and_foreign_files_are_refused(tmp_path):
    write_idx(tmp_path / "x", np.zeros((4, 3), dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "x").read_bytes()[:-2])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "png")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "kmnist"])
def test_idx_data_sets_load_from_the_cache(tmp_path, rng, monkeypatch, name):
    written = _write_idx_set(tmp_path / name, rng)
    _pin(monkeypatch, name, tmp_path / name)
    X, y = loaders.LOADERS[name]("train", root=tmp_path)
    assert X.shape == (12, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X[:, 0] * 255, written["train"][0], atol=1e-3)
    np.testing.assert_array_equal(y, written["train"][1])
    Xt, yt = loaders.LOADERS[name]("test", root=tmp_path)
    assert Xt.shape == (5, 1, 28, 28) and len(yt) == 5


def test_missing_data_set_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="download=True"):
        loaders.load_mnist(root=tmp_path)


def test_checksum_mismatch_is_clear_and_deletes_nothing(tmp_path, rng, monkeypatch):
    _write_idx_set(tmp_path / "mnist", rng)
    _pin(monkeypatch, "mnist", tmp_path / "mnist")
    victim = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    tampered = gzip.compress(b"not the labels")
    victim.write_bytes(tampered)
    with pytest.raises(DataError, match="sha256.*left in place"):
        loaders.load_mnist("train", root=tmp_path)
    assert victim.read_bytes() == tampered  # the user's file is still there, untouched
    assert len(list((tmp_path / "mnist").iterdir())) == 4


def test_fetch_downloads_verifies_and_cleans_up_its_own_failures(tmp_path):
    origin = tmp_path / "origin.bin"
    origin.write_bytes(b"payload" * 100)
    good = RemoteFile("data.bin", (origin.as_uri(),), sha256=hashlib.sha256(origin.read_bytes()).hexdigest())
    got = fetch(good, tmp_path / "cache")
    assert got.read_bytes() == origin.read_bytes()
    assert fetch(good, tmp_path / "cache") == got  # already cached: checked, not fetched again
    bad = RemoteFile("other.bin", (origin.as_uri(),), sha256="0" * 64)
    with pytest.raises(DataError, match="could not download other.bin"):
        fetch(bad, tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["data.bin"]  # no partial file left
    assert origin.exists()


def test_every_pinned_file_has_a_checksum_and_an_https_or_http_url():
    for name, files in downloads.DATASETS.items():
        for r in files:
            assert r.urls and all(u.startswith(("https://", "http://")) for u in r.urls), name
            assert len(r.sha256) == 64 and int(r.sha256, 16) >= 0, r.name


def _cifar_arrays(rng, n):
    return rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, size=n)


def test_cifar10_binary_from_the_archive_and_from_a_folder(tmp_path, rng, monkeypatch):
    folder = tmp_path / "src" / FOLDER
    folder.mkdir(parents=True)
    batches = {}
    for i, name in enumerate(TRAIN_FILES + TEST_FILES):
        batches[name] = _cifar_arrays(rng, 3 + i)
        write_cifar_records(folder / name, *batches[name])
    # record layout: label byte, then R, G, B planes of 1024 bytes each
    raw = (folder / TEST_FILES[0]).read_bytes()
    x0, y0 = batches[TEST_FILES[0]]
    assert raw[0] == y0[0] and raw[1:1025] == x0[0, 0].tobytes() and raw[2049:3073] == x0[0, 2].tobytes()

    (tmp_path / "cifar10").mkdir()
    with tarfile.open(tmp_path / "cifar10" / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname=FOLDER)
    _pin(monkeypatch, "cifar10", tmp_path / "cifar10")
    X, y = loaders.load_cifar10("train", root=tmp_path)
    want_x = np.concatenate([batches[n][0] for n in TRAIN_FILES])
    assert X.shape == (len(want_x), 3, 32, 32) and X.dtype == np.float32
    np.testing.assert_allclose(X * 255, want_x, atol=1e-3)
    np.testing.assert_array_equal(y, np.concatenate([batches[n][1] for n in TRAIN_FILES]))
    Xf, yf = read_cifar10(tmp_path / "src", "test")
    np.testing.assert_array_equal(Xf, x0)


def test_cifar10_wrong_size_is_refused(tmp_path):
    (tmp_path / FOLDER).mkdir()
    (tmp_path / FOLDER / TEST_FILES[0]).write_bytes(bytes(3073 + 5))
    with pytest.raises(DataError, match="not a multiple"):
        read_cifar10(tmp_path, "test")


def _write_images(root, rng, classes=("cat", "dog"), per=3, size=(6, 5), mode="RGB"):
    want = {}
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per):
            shape = (size[0], size[1], 3) if mode == "RGB" else size
            arr = rng.integers(0, 256, size=shape, dtype=np.uint8)
            Image.fromarray(arr, mode=mode).save(root / c / f"{i}.png")
            want[(c, i)] = arr
    return want


def test_image_folder_reads_pixels_and_class_labels(tmp_path, rng):
    want = _write_images(tmp_path / "imgs", rng)
    X, y, classes = load_image_folder(tmp_path / "imgs")
    assert classes == ["cat", "dog"] and y.tolist() == [0, 0, 0, 1, 1, 1]
    assert X.shape == (6, 3, 6, 5) and X.min() >= 0 and X.max() <= 1
    np.testing.assert_allclose(X[4].transpose(1, 2, 0) * 255, want[("dog", 1)], atol=1e-3)


def test_image_folder_sizes_must_agree_unless_resized(tmp_path, rng):
    _write_images(tmp_path / "imgs", rng, classes=("a",), per=2, mode="L")
    Image.fromarray(np.zeros((9, 9), dtype=np.uint8), mode="L").save(tmp_path / "imgs" / "a" / "odd.png")
    with pytest.raises(DataError, match="size=\\(H, W\\)"):
        load_image_folder(tmp_path / "imgs")
    X, _, _ = load_image_folder(tmp_path / "imgs", size=(4, 4))
    assert X.shape == (3, 1, 4, 4)


def test_image_folder_refuses_a_broken_image(tmp_path, rng):
    _write_images(tmp_path / "imgs", rng, classes=("a",), per=1)
    (tmp_path / "imgs" / "a" / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="bad.png"):
        load_image_folder(tmp_path / "imgs")
