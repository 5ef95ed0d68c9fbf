"""Conditional VAE: labels condition both networks; class-conditional samples look like their class."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import latentlab
from latentlab.errors import DataError
from latentlab.training.trainer import Batch

pytestmark = pytest.mark.slow  # every test uses the trained conditional VAE


@pytest.fixture(scope="module")
def cvae(digits):
    Xtr, _, ytr, _ = digits
    return latentlab.ConditionalVAE(latent_dim=4, hidden=(128,)).fit(
        Xtr, ytr, epochs=40, verbose=False, seed=0, patience=None
    )


def test_infers_classes_and_learns(cvae, digits):
    Xtr, Xte, _, yte = digits
    assert cvae.config.n_classes == 10
    assert cvae.history[-1]["val_loss"] < cvae.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((cvae.reconstruct(Xte, yte) - Xte) ** 2).mean()) < 0.6 * baseline


def test_samples_are_classified_as_their_label(cvae, digits):
    Xtr, _, ytr, _ = digits
    with threadpool_limits(1):  # BLAS threads crawl on a shared machine
        clf = LogisticRegression(max_iter=2000).fit(Xtr, ytr)
        accuracy = [float((clf.predict(cvae.sample(100, y=k, seed=k)) == k).mean()) for k in range(10)]
    assert np.mean(accuracy) >= 0.8, accuracy


def test_label_changes_the_decoding(cvae):
    z = np.zeros((2, 4), dtype=np.float32)
    a, b = cvae.decode(z, y=[3, 3]), cvae.decode(z, y=[3, 7])
    np.testing.assert_array_equal(a[0], b[0])
    assert np.abs(a[1] - b[1]).mean() > 0.02


def test_encoder_sees_the_label(cvae, digits):
    x = digits[1][:5]
    assert not np.allclose(cvae.encode(x, np.full(5, 1)), cvae.encode(x, np.full(5, 8)))


def test_loss_is_the_conditional_elbo(cvae, digits):
    x, y = torch.from_numpy(digits[1][:16]), torch.from_numpy(digits[3][:16])
    cvae.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        out = cvae.loss(Batch(x, y))
        q = cvae.posterior(x, y)
        torch.manual_seed(0)
        z = q.rsample()
        rec = cvae.likelihood.nll(cvae.decode_params(z, y), x).mean()
    assert float(out.parts["reconstruction"]) == pytest.approx(float(rec), rel=1e-5)
    assert float(out.parts["kl"]) == pytest.approx(float(q.kl().mean()), rel=1e-5)


def test_save_load_identical(cvae, digits, tmp_path):
    cvae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    assert type(back) is latentlab.ConditionalVAE and back.config.n_classes == 10
    x, y = digits[1], digits[3]
    np.testing.assert_array_equal(back.encode(x, y), cvae.encode(x, y))
    np.testing.assert_array_equal(back.sample(8, y=5, seed=1), cvae.sample(8, y=5, seed=1))


def test_labels_are_required(cvae, digits):
    with pytest.raises(DataError, match="labels"):
        latentlab.ConditionalVAE().fit(digits[0])
    with pytest.raises(DataError):
        cvae.sample(4)
    with pytest.raises(DataError, match="classes"):
        cvae.sample(4, y=12)
