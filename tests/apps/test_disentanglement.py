"""The shapes data set, the dSprites loader, and the disentanglement metrics on codes with known answers."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.apps.disentanglement import dci, disentanglement_metrics, factorvae_score, mig, sap
from latentlab.data.shapes import DEFAULT_COUNTS, render_shapes
from latentlab.errors import DataError

N = 3000


@pytest.fixture(scope="module")
def factors():
    rng = np.random.default_rng(0)
    return np.stack([rng.integers(0, k, N) for k in (3, 6, 10, 8)], axis=1)


def perfect(f, rng):
    """Codes equal to the factors (a little jitter, and rescaled: the metrics must not care about units)."""
    return f * np.array([1.0, -2.0, 0.5, 3.0]) + 0.01 * rng.standard_normal(f.shape)


def shuffled(f, rng):
    """Codes made of the factors with each column shuffled: right marginals, no relation to the data."""
    return np.stack([rng.permutation(c) for c in perfect(f, rng).T], axis=1)


# ------------------------------------------------------------------ data
@pytest.mark.slow
def test_shapes_regenerate_from_factors():
    d = latentlab.load_shapes(120, size=32, seed=3)
    assert d.images.shape == (120, 1, 32, 32) and d.images.dtype == np.float32
    assert set(np.unique(d.images)) == {0.0, 1.0}
    np.testing.assert_array_equal(render_shapes(d.factors, size=32), d.images)
    again = latentlab.load_shapes(120, size=32, seed=3)
    np.testing.assert_array_equal(again.factors, d.factors)
    assert not np.array_equal(latentlab.load_shapes(120, size=32, seed=4).factors, d.factors)
    assert all(len(np.unique(d.factors[:, k])) > 1 for k in range(5))
    assert d.flat().shape == (120, 1024)


def test_each_factor_changes_the_image():
    base = np.array([[1, 3, 5, 16, 16]])
    img = render_shapes(base, 64)
    for k, delta in enumerate([1, 2, 3, 8, 8]):  # another shape, scale, orientation, x, y
        other = base.copy()
        other[0, k] += delta
        assert (render_shapes(other, 64) != img).sum() > 5, k
    moved = base.copy()
    moved[0, 3] = 31  # to the right: the centre of mass moves right
    cols = np.arange(64)
    assert (render_shapes(moved, 64)[0, 0].sum(0) @ cols) / render_shapes(moved, 64).sum() > (img[0, 0].sum(0) @ cols) / img.sum() + 10
    bigger = base.copy()
    bigger[0, 1] = 5
    smaller = base.copy()
    smaller[0, 1] = 0
    assert render_shapes(bigger, 64).sum() > 2.5 * render_shapes(smaller, 64).sum()  # area grows as scale^2


def test_shapes_bad_input():
    with pytest.raises(DataError, match="n_samples"):
        latentlab.load_shapes(0)
    with pytest.raises(DataError, match="size"):
        latentlab.load_shapes(10, size=4)
    with pytest.raises(DataError, match="orientation"):
        render_shapes(np.array([[0, 0, 40, 0, 0]]))
    with pytest.raises(DataError, match="integer"):
        render_shapes(np.zeros((2, 5)))


def test_dsprites_loader_reads_the_format(tmp_path):
    d = latentlab.load_shapes(40, size=64, seed=0)
    classes = np.concatenate([np.zeros((40, 1), np.int64), d.factors], axis=1)  # colour, then the five
    values = np.concatenate([np.ones((40, 1)), d.values], axis=1)
    path = tmp_path / "dsprites.npz"
    # The real file has a pickled 'metadata' entry; it must never be read.
    np.savez(path, imgs=d.images[:, 0].astype(np.uint8), latents_classes=classes, latents_values=values,
             metadata=np.array([{"evil": 1}], dtype=object))
    back = latentlab.load_dsprites(path)
    np.testing.assert_array_equal(back.images, d.images)
    np.testing.assert_array_equal(back.factors, d.factors)
    np.testing.assert_allclose(back.values, d.values)
    sub = latentlab.load_dsprites(path, n_samples=10, seed=1)
    assert sub.images.shape == (10, 1, 64, 64)
    rows = [int(np.flatnonzero((d.factors == f).all(1))[0]) for f in sub.factors]
    np.testing.assert_array_equal(d.images[rows], sub.images)


def test_dsprites_loader_refuses_foreign_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        latentlab.load_dsprites(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a NumPy"):
        latentlab.load_dsprites(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="lacks"):
        latentlab.load_dsprites(tmp_path / "other.npz")
    np.savez(tmp_path / "bad.npz", imgs=np.zeros((3, 8, 8), np.uint8), latents_classes=np.zeros((3, 4), np.int64),
             latents_values=np.zeros((3, 4)))
    with pytest.raises(DataError, match="expected"):
        latentlab.load_dsprites(tmp_path / "bad.npz")


# --------------------------------------------------------------- metrics
@pytest.mark.slow
def test_metrics_near_one_for_codes_equal_to_factors(factors):
    rng = np.random.default_rng(1)
    z = perfect(factors, rng)
    assert mig(z, factors) > 0.9
    d = dci(z[:400], factors[:400], n_estimators=10)
    assert d["disentanglement"] > 0.9 and d["completeness"] > 0.9 and d["informativeness"] > 0.95
    assert factorvae_score(z, factors) == 1.0
    assert sap(z, factors) > 0.9
    # A permutation of the dimensions is as disentangled as the identity.
    assert mig(z[:, ::-1], factors) == pytest.approx(mig(z, factors))


def test_metrics_near_zero_for_unrelated_codes(factors):
    rng = np.random.default_rng(2)
    z = shuffled(factors, rng)
    assert mig(z, factors) < 0.03
    d = dci(z[:400], factors[:400], n_estimators=10)
    assert d["disentanglement"] < 0.15 and d["completeness"] < 0.15
    assert factorvae_score(z, factors) < 1 / 4 + 0.15  # chance is 1 / K for K = 4 factors
    assert sap(z, factors) < 0.03


@pytest.mark.slow
def test_metrics_see_entanglement(factors):
    """Two codes that each mix two factors: high informativeness, low disentanglement."""
    rng = np.random.default_rng(3)
    z = perfect(factors, rng)
    mixed = z.copy()
    mixed[:, 0], mixed[:, 1] = z[:, 0] + z[:, 1], z[:, 0] - z[:, 1]
    assert mig(mixed, factors) < mig(z, factors) - 0.3
    assert sap(mixed, factors) < sap(z, factors) - 0.3
    a, b = dci(mixed[:400], factors[:400], n_estimators=10), dci(z[:400], factors[:400], n_estimators=10)
    assert a["disentanglement"] < b["disentanglement"] - 0.1


def test_mig_known_value():
    """One binary factor copied into dim 0 and half-copied into dim 1: MIG = (H - I_1) / H, by hand."""
    rng = np.random.default_rng(0)
    f = rng.integers(0, 2, 4000)
    noisy = np.where(rng.random(4000) < 0.5, f, rng.integers(0, 2, 4000))  # f with prob. 3/4
    z = np.stack([f, noisy], 1).astype(float)
    p = 0.75  # P(noisy == f); the MI of a binary symmetric channel is log 2 - H(p)
    mi1 = np.log(2) + p * np.log(p) + (1 - p) * np.log(1 - p)
    want = (np.log(2) - mi1) / np.log(2)
    assert mig(z, f[:, None]) == pytest.approx(want, abs=0.02)


def test_sap_discrete_and_lasso_dci(factors):
    rng = np.random.default_rng(4)
    z, zs = perfect(factors, rng)[:1000], shuffled(factors, rng)[:1000]
    f = factors[:1000]
    assert sap(z[:, :1].repeat(2, 1) * [1, 0.01], f[:, :1], continuous=False) > 0.5
    assert dci(z, f, model="lasso")["disentanglement"] > 0.8 > 0.2 > dci(zs, f, model="lasso")["disentanglement"]


@pytest.mark.slow
def test_metric_bad_input(factors):
    z = perfect(factors, np.random.default_rng(0))
    with pytest.raises(DataError, match="rows"):
        mig(z[:10], factors[:20])
    with pytest.raises(DataError, match="NaN"):
        mig(np.full_like(z, np.nan), factors)
    with pytest.raises(DataError, match="integer"):
        mig(z, factors + 0.5)
    with pytest.raises(DataError, match="at least 10"):
        sap(z[:3], factors[:3])
    assert set(disentanglement_metrics(z[:150], factors[:150])) >= {"mig", "dci_disentanglement", "sap"}


def test_default_counts_are_dsprites():
    assert DEFAULT_COUNTS == (3, 6, 40, 32, 32)
