"""The latent traversal figure, and the disentanglement metrics in `evaluate` when factors are given."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import latentlab
from latentlab.apps.evaluation import evaluate_run
from latentlab.apps.traversal import latent_traversal, order_by_activity, traversal_codes
from latentlab.errors import DataError

pytestmark = pytest.mark.slow  # every test trains the shapes model or runs the docs example


@pytest.fixture(scope="module")
def shapes_model():
    small = (3, 3, 4, 4, 4)  # few values per factor: the metrics' classifiers stay quick
    d = latentlab.load_shapes(600, size=32, seed=0, counts=small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = latentlab.BetaTCVAE(latent_dim=4, hidden=(64,), likelihood="bernoulli", scaling="none", beta=2.0)
        m.fit(d.flat(), epochs=4, verbose=False, seed=0, patience=None)
    return m, latentlab.load_shapes(150, size=32, seed=1, counts=small)


def test_traversal_sweeps_one_dimension(shapes_model):
    m, test = shapes_model
    x = test.flat()[0]
    codes = traversal_codes(m, x, steps=5, span=2.0)
    base = m.encode(x[None])[0]
    for d in range(4):
        np.testing.assert_allclose(codes[d, :, d], np.linspace(-2, 2, 5), rtol=1e-6)
        others = np.delete(codes[d], d, axis=1)
        np.testing.assert_allclose(others, np.repeat(np.delete(base, d)[None], 5, 0), rtol=1e-6)
    order, var = order_by_activity(m, test.flat())
    assert sorted(order) == [0, 1, 2, 3] and var[order[0]] >= var[order[-1]]
    fig = latent_traversal(m, x, steps=5, X=test.flat(), max_dims=3)
    tiles = [a for a in fig.axes if a.images]
    assert len(tiles) == 15
    # Each row shows the decoded images of its codes.
    np.testing.assert_allclose(tiles[0].images[0].get_array().reshape(-1), m.decode(traversal_codes(
        m, x, 5, 2.5, [order[0]])[0])[0].reshape(-1), rtol=1e-5)
    assert fig.axes[0].get_ylabel().startswith(f"z{order[0] + 1} (var")
    latentlab.apps.plots.plt.close(fig)


@pytest.fixture
def no_standard_figures(monkeypatch):
    """The standard figures cost most of an evaluation's time and are tested elsewhere; the traversal stays."""
    monkeypatch.setattr("latentlab.apps.figures.write_figures", lambda *a, **k: {})


def test_evaluate_reports_metrics_when_factors_are_given(shapes_model, tmp_path, no_standard_figures):
    m, test = shapes_model
    metrics = evaluate_run(m, test.flat(), None, tmp_path, factors=test.factors, k=5)
    for key in ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "factorvae_score", "sap"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert (tmp_path / "latent_traversal.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "evaluation.json").read_text())
    assert saved["mig"] == pytest.approx(metrics["mig"])
    report = (tmp_path / "report.md").read_text()
    assert "MIG (mutual information gap)" in report and "latent_traversal.png" in report
    plain = evaluate_run(m, test.flat(), None, tmp_path / "plain", figures=False, k=5)
    assert "mig" not in plain
    with pytest.raises(DataError, match="rows"):
        evaluate_run(m, test.flat(), None, tmp_path / "bad", factors=test.factors[:10], figures=False, k=5)


def test_cli_evaluate_with_factors(shapes_model, tmp_path, no_standard_figures):
    from latentlab.cli import main

    m, test = shapes_model
    m.save(tmp_path / "run")
    np.save(tmp_path / "x.npy", test.flat())
    np.save(tmp_path / "f.npy", test.factors)
    rc = main(["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "x.npy"), "--factors",
               str(tmp_path / "f.npy"), "--k", "5"])
    assert rc == 0
    saved = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert 0 <= saved["mig"] <= 1 and "factorvae_score" in saved


def test_the_docs_example_runs():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "disentanglement.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, "disentanglement.md", "exec"), namespace)  # noqa: S102
    assert all(0 <= v <= 1 for v in namespace["scores"].values()) and len(namespace["scores"]) == 3
