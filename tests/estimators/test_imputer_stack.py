"""The imputer on real-looking tables: fills within the observed range, constant columns, sizes that follow the
table, the stacked partners and their weights, and saved folders old and new."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import latentlab
from latentlab.errors import ModelFileError
from latentlab.estimators._impute_files import UNBOUNDED
from latentlab.estimators._impute_parts import held_out_cells, imputer_sizes, partner_names, stack_weights

QUICK = dict(epochs=3, hidden=(16,), latent_dim=4)


@pytest.fixture(scope="module")
def table():
    """300 x 6: four correlated columns, a constant one and a binary one; 20% of cells missing."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 2))
    X = np.column_stack([z @ rng.standard_normal((2, 4)), np.full(300, 7.5), (z[:, 0] > 0).astype(float)])
    holes = np.where(rng.random(X.shape) < 0.2, np.nan, X)
    return X, holes


def test_fills_stay_in_the_observed_range_and_a_constant_column_gets_its_constant(table):
    X, holes = table
    imp = latentlab.AutoencoderImputer(**QUICK).fit(holes)
    far = holes[:20].copy()
    far[:, 0] = 1e6  # a row far outside the training data: the decoder would extrapolate
    out = imp.transform(np.vstack([holes, far]))
    lo, hi = np.nanmin(holes, 0), np.nanmax(holes, 0)
    filled = np.isnan(np.vstack([holes, far]))
    assert filled.any() and np.isfinite(out).all()
    assert (out[filled] >= np.broadcast_to(lo, out.shape)[filled]).all()
    assert (out[filled] <= np.broadcast_to(hi, out.shape)[filled]).all()
    assert (out[:, 4] == 7.5).all()  # never varies in training: its constant, exactly
    np.testing.assert_array_equal(imp.data_min_, lo)
    np.testing.assert_array_equal(out[:300][~filled[:300]], holes[~np.isnan(holes)])


def test_auto_sizes_follow_the_table_and_explicit_sizes_win(table):
    _, holes = table
    imp = latentlab.AutoencoderImputer(epochs=2, partners="none").fit(holes)
    assert imp.sizes_ == {**imputer_sizes(300, 6), "epochs": 2}
    assert imp.sizes_["hidden"] == (64, 64) and tuple(imp.model_.config.hidden) == (64, 64)
    assert imputer_sizes(1400, 27)["epochs"] == 91 and imputer_sizes(50_000, 784)["hidden"] == (512, 512)


def test_partners_and_their_weights(table):
    X, holes = table
    imp = latentlab.AutoencoderImputer(**QUICK).fit(holes)
    assert imp.components_ == ("autoencoder", "linear", "knn", "trees") and len(imp.partners_) == 3
    assert imp.weights_.shape == (4,) and (imp.weights_ >= 0).all() and np.isclose(imp.weights_.sum(), 1.0)
    # without the trees, the linear partner reads the four collinear columns best: it carries the most weight
    two = latentlab.AutoencoderImputer(partners="linear+knn", **QUICK).fit(holes)
    assert two.components_ == ("autoencoder", "linear", "knn") and two.weights_.argmax() == 1
    alone = latentlab.AutoencoderImputer(partners="none", **QUICK).fit(holes)
    assert alone.components_ == ("autoencoder",) and alone.partners_ == [] and (alone.weights_ == 1).all()
    miss = np.isnan(holes)
    err = [np.sqrt(np.mean((m.transform(holes)[miss] - X[miss]) ** 2)) for m in (imp, alone)]
    assert err[0] < err[1]  # 3 epochs of a tiny network alone are poor; the stack is not
    assert partner_names("auto", 6) == ("linear", "knn", "trees") and partner_names("auto", 101) == ("linear", "knn")


def test_held_out_cells_never_empty_a_column_and_weights_favour_the_better_imputer():
    observed = np.ones((50, 3), bool)
    observed[2:, 2] = False  # two observed cells only: none held out
    held = held_out_cells(observed, 0.3, np.random.default_rng(0))
    assert held[:, :2].any() and not held[:, 2].any() and not (held & ~observed).any()
    truth = np.linspace(0, 1, 40)
    w = stack_weights(np.column_stack([truth + 0.01, np.full(40, 0.5)]), truth, np.ones(40))
    assert w[0] > 0.9 and np.isclose(w.sum(), 1.0)
    assert (stack_weights(np.zeros((0, 2)), np.zeros(0), np.zeros(0)) == 0.5).all()


def test_saved_with_partners_loads_with_identical_fills(table, tmp_path):
    _, holes = table
    imp = latentlab.AutoencoderImputer(**QUICK).fit(holes)
    imp.save(tmp_path / "imp")
    back = latentlab.load(tmp_path / "imp")
    assert back.components_ == imp.components_ and back.sizes_ == imp.sizes_
    np.testing.assert_array_equal(back.weights_, imp.weights_)
    np.testing.assert_array_equal(back.transform(holes), imp.transform(holes))
    arrays = load_file(tmp_path / "imp" / "arrays.safetensors")
    del arrays["partner_rows"]
    save_file(arrays, tmp_path / "imp" / "arrays.safetensors", metadata={"format": "latentlab-imputer"})
    with pytest.raises(ModelFileError, match="partner_rows"):
        latentlab.AutoencoderImputer.load(tmp_path / "imp")


def test_a_folder_saved_before_the_partners_loads_as_the_autoencoder_alone(table, tmp_path):
    _, holes = table
    imp = latentlab.AutoencoderImputer(partners="none", **QUICK).fit(holes)
    folder = imp.save(tmp_path / "old")
    doc = json.loads((folder / "config.json").read_text())  # what an earlier version wrote
    for key in ("partners", "held_out"):
        del doc["params"][key]
    doc["state"] = {"n_iter": doc["state"]["n_iter"]}
    (folder / "config.json").write_text(json.dumps(doc))
    arrays = load_file(folder / "arrays.safetensors")
    save_file({"statistics": arrays["statistics"]}, folder / "arrays.safetensors",
              metadata={"format": "latentlab-imputer"})
    back = latentlab.load(folder)
    assert back.partners == "none" and back.components_ == ("autoencoder",)
    assert (back.data_min_ == -UNBOUNDED).all() and (back.data_max_ == UNBOUNDED).all()  # no clip, as then
    raw = back._autoencoder_fill(np.nan_to_num(holes), ~np.isnan(holes))
    np.testing.assert_allclose(back.transform(holes), np.where(np.isnan(holes), raw, holes), rtol=1e-6)
    back.save(tmp_path / "again")  # the unbounded range is finite: it saves again
    assert latentlab.load(tmp_path / "again").partners == "none"


def test_above_the_partner_cap_the_partners_are_fitted_on_a_seeded_subsample(table, monkeypatch):
    from latentlab.estimators import imputer

    _, holes = table
    monkeypatch.setattr(imputer, "MAX_PARTNER_ROWS", 120)
    imp = latentlab.AutoencoderImputer(**QUICK).fit(holes)
    again = latentlab.AutoencoderImputer(**QUICK).fit(holes)
    assert all(p.rows.shape == (120, 6) for p in imp.partners_)
    np.testing.assert_array_equal(imp.partners_[0].rows, again.partners_[0].rows)  # seeded
    rows = {tuple(np.nan_to_num(r, nan=-1.0)) for r in holes}
    assert all(tuple(np.nan_to_num(r, nan=-1.0)) in rows for r in imp.partners_[0].rows)  # rows of the table
    assert np.isfinite(imp.transform(holes)).all()


def test_the_trees_partner_is_a_seeded_missforest_style_imputer(table):
    from latentlab.estimators._impute_parts import FOREST_ITER, FOREST_TREES, Partner

    X, holes = table
    a, b = Partner("trees", holes, 3), Partner("trees", holes, 3)
    assert a.imputer.max_iter == FOREST_ITER and a.imputer.estimator.n_estimators == FOREST_TREES
    fill = a(holes)
    np.testing.assert_array_equal(fill, b(holes))  # seeded: fitted again from rows and seed, the same fills
    miss = np.isnan(holes)
    assert np.sqrt(np.mean((fill[miss] - X[miss]) ** 2)) < np.sqrt(np.mean((np.nanmean(holes, 0)[None] - X) ** 2 * miss)
                                                                     * miss.size / miss.sum())


def _wide_holes():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 3)) @ rng.standard_normal((3, 101))  # 101 columns: wider than 'auto''s trees
    return np.where(rng.random(X.shape) < 0.1, np.nan, X)


# (what 'auto' meant when such a folder was saved, a list of components 'auto' never meant on that table)
LEGACY = {"narrow": ("linear+knn", ["autoencoder", "knn", "linear"]),  # before the trees partner
          "wide": ("knn", ["autoencoder", "linear", "knn", "trees"])}  # 101 columns, before the linear partner


@pytest.mark.parametrize("width", sorted(LEGACY))
def test_a_folder_saved_when_auto_meant_fewer_partners_loads_as_it_was_fitted(table, tmp_path, width):
    holes = table[1] if width == "narrow" else _wide_holes()
    meant, never = LEGACY[width]
    imp = latentlab.AutoencoderImputer(partners=meant, **QUICK).fit(holes)
    folder = imp.save(tmp_path / "before")
    doc = json.loads((folder / "config.json").read_text())
    doc["params"]["partners"] = "auto"  # what such a folder says
    (folder / "config.json").write_text(json.dumps(doc))
    back = latentlab.load(folder)
    assert back.partners == "auto" and back.components_ == ("autoencoder", *meant.split("+"))
    np.testing.assert_array_equal(back.transform(holes), imp.transform(holes))
    doc["state"]["components"] = never
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="components"):
        latentlab.load(folder)
