"""Sequence AE and sequence VAE: padding masked out, real series, LSTM and GRU, files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.data.sequences import load_series, pad_sequences, windows
from latentlab.errors import ConfigError, DataError
from latentlab.nn.recurrent import sequence_lengths
from latentlab.training.trainer import Batch


@pytest.fixture(scope="module")
def sunspots():
    X = windows(load_series("sunspots"), 16, stride=2)  # (147, 16, 1)
    n_train = int(0.7 * len(X))
    return X[:n_train], X[n_train + 8 :]  # later windows, no overlap with training ones


@pytest.fixture(scope="module")
def seq_ae(sunspots):
    return latentlab.SequenceAutoencoder(latent_dim=4, hidden=(32,), cell="lstm").fit(
        sunspots[0], epochs=50, lr=2e-2, batch_size=16, verbose=False, seed=0, patience=None
    )


@pytest.mark.slow
def test_reconstructs_held_out_real_windows_better_than_the_mean(seq_ae, sunspots):
    Xtr, Xte = sunspots
    assert seq_ae.history[-1]["val_loss"] < seq_ae.history[0]["val_loss"]
    per_step_mean = Xtr.mean(0)  # (T, F)
    baseline = float(((per_step_mean - Xte) ** 2).mean())
    assert float(((seq_ae.reconstruct(Xte) - Xte) ** 2).mean()) < 0.5 * baseline


@pytest.mark.slow
def test_save_load_identical(seq_ae, sunspots, tmp_path):
    seq_ae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    assert type(back) is latentlab.SequenceAutoencoder and back.config.cell == "lstm"
    np.testing.assert_array_equal(back.encode(sunspots[1]), seq_ae.encode(sunspots[1]))
    np.testing.assert_array_equal(back.reconstruct(sunspots[1]), seq_ae.reconstruct(sunspots[1]))


@pytest.mark.slow
def test_scaling_is_per_feature(seq_ae, sunspots):
    offset = seq_ae.scaler.offset_
    assert offset.shape == (16, 1) and np.all(offset == offset[0])
    assert offset[0, 0] == pytest.approx(np.mean(sunspots[0]), rel=1e-4)


@pytest.mark.parametrize("family", ["seq_ae", "seq_vae"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_pad_values_do_not_change_the_loss(family, cell):
    torch.manual_seed(0)
    model = latentlab.create(family, input_shape=(10, 3), latent_dim=3, hidden=(8,), cell=cell)
    model.eval()
    x = torch.randn(4, 10, 3)
    lengths = torch.tensor([10, 7, 3, 5])
    mask = (torch.arange(10)[None, :] < lengths[:, None]).float()  # (B, T)
    garbage = torch.where(mask.bool()[..., None], x, 1e3 * torch.randn(4, 10, 3))
    nan_padded = torch.where(mask.bool()[..., None], x, torch.nan)
    losses = []
    for batch in (Batch(x, mask=mask), Batch(garbage, mask=mask), Batch(nan_padded)):
        torch.manual_seed(1)  # the VAE draws z
        with torch.no_grad():
            losses.append(float(model.loss(batch).total))
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and losses[0] == pytest.approx(losses[2], rel=1e-6)
    torch.manual_seed(1)
    with torch.no_grad():
        unmasked = float(model.loss(Batch(garbage)).total)
    assert unmasked != pytest.approx(losses[0], rel=1e-3)  # without the mask the pads would count


def test_masked_likelihood_known_value():
    model = latentlab.SequenceAutoencoder(input_shape=(3, 1), latent_dim=2, hidden=(4,))
    params = torch.zeros(1, 3, 1)
    x = torch.tensor([[[1.0], [2.0], [float("nan")]]])
    # Gaussian sigma=1: 0.5 * (1 + 4) + 2 * 0.5 * log(2 pi) over the two observed steps
    want = 2.5 + np.log(2 * np.pi)
    assert float(model.reconstruction(params, Batch(x))) == pytest.approx(want, rel=1e-6)


def test_encoder_ignores_what_follows_the_last_step():
    torch.manual_seed(0)
    model = latentlab.SequenceAutoencoder(input_shape=(12, 2), latent_dim=3, hidden=(8,), cell="gru")
    x = torch.randn(1, 5, 2)
    short = torch.cat([x, torch.full((1, 7, 2), torch.nan)], 1)
    with torch.no_grad():
        full = model.posterior(torch.cat([x, torch.randn(1, 7, 2)], 1)).mean
        cut = model.posterior(short).mean
        alone = model.encoder.head(model.encoder.rnn.layers[0](x)[1][-1])  # run on the 5 steps only
    torch.testing.assert_close(cut, alone)
    assert not torch.allclose(cut, full)
    assert sequence_lengths(short).tolist() == [5]


@pytest.mark.slow
def test_variable_length_vae_learns_and_samples():
    X = latentlab.make_sequences(300, length=16, n_features=3, min_length=8, seed=0)
    Xtr, Xte = X[:240], X[240:]
    vae = latentlab.SequenceVAE(latent_dim=4, hidden=(32,)).fit(
        Xtr, epochs=30, lr=5e-3, batch_size=32, verbose=False, seed=0, patience=None
    )
    assert vae.history[-1]["val_loss"] < vae.history[0]["val_loss"]
    rec = vae.reconstruct(Xte)
    assert np.array_equal(np.isnan(rec).all(-1), np.isnan(Xte).all(-1))  # NaN exactly beyond each length
    baseline = float(np.nanmean((np.nanmean(Xtr, 0) - Xte) ** 2))
    assert float(np.nanmean((rec - Xte) ** 2)) < 0.7 * baseline
    assert vae.sample(3, seed=0).shape == (3, 16, 3)


def test_ragged_lists_and_short_arrays():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 2)).astype("float32") for n in rng.integers(4, 9, 80)]
    ae = latentlab.SequenceAutoencoder(latent_dim=2, hidden=(8,)).fit(seqs, epochs=2, verbose=False)
    assert ae.config.input_shape == (8, 2)
    padded = pad_sequences(seqs[:5], length=8)
    np.testing.assert_allclose(ae.encode(seqs[:5]), ae.encode(padded), rtol=1e-6)
    short = [i for i, s in enumerate(seqs[:5]) if len(s) <= 6]
    assert short  # arrays with fewer steps than the model's T are NaN-padded to it
    np.testing.assert_allclose(ae.encode(padded[short, :6]), ae.encode(padded[short]), rtol=1e-6)
    with pytest.raises(DataError, match="time steps"):
        ae.encode(np.zeros((2, 9, 2), dtype="float32"))


def test_multivariate_real_series():
    X = latentlab.load_sequences("macro", window=12, stride=2, min_length=6)
    assert X.shape[1:] == (12, 4) and np.isnan(X).any() and np.isfinite(X[:, :6]).all()
    assert latentlab.load_sequences("co2", window=52, stride=52).shape[2] == 1


def test_config_checks():
    with pytest.raises(ConfigError, match="cell"):
        latentlab.SequenceAutoencoder(cell="rnn")
    with pytest.raises(ConfigError, match="architecture='seq'"):
        latentlab.SequenceVAE(architecture="mlp")


@pytest.fixture(scope="module")
def two_lengths():
    """Sequences of length 5 (a quarter) or 12 (the rest), and a small VAE fitted on them."""
    X = latentlab.make_sequences(160, length=12, n_features=2, seed=1)
    X[:40, 5:] = np.nan
    vae = latentlab.SequenceVAE(latent_dim=3, hidden=(16,)).fit(X, epochs=2, verbose=False, seed=0)
    return X, vae


def _lengths(S):
    return (~np.isnan(S).all(-1)).sum(1)


def test_samples_take_the_lengths_of_the_training_sequences(two_lengths):
    X, vae = two_lengths
    assert vae.length_counts.tolist() == [0] * 4 + [40] + [0] * 6 + [120]
    S = vae.sample(400, seed=0)
    lengths = _lengths(S)
    assert set(lengths.tolist()) == {5, 12}
    assert 0.17 < np.mean(lengths == 5) < 0.33  # a quarter, within sampling error
    assert np.isfinite(S[lengths == 12]).all()  # nothing missing before a sample's end
    again = vae.sample(400, seed=0)
    np.testing.assert_array_equal(np.isnan(again), np.isnan(S))
    np.testing.assert_array_equal(np.nan_to_num(again), np.nan_to_num(S))


def test_sample_lengths_can_be_set(two_lengths):
    _, vae = two_lengths
    assert _lengths(vae.sample(3, seed=0, lengths="full")).tolist() == [12, 12, 12]
    assert _lengths(vae.sample(3, seed=0, lengths=7)).tolist() == [7, 7, 7]
    assert _lengths(vae.sample(3, seed=0, lengths=[1, 6, 12])).tolist() == [1, 6, 12]
    for bad in (0, 13, [5, 6], 2.5, "short"):
        with pytest.raises(ConfigError, match="lengths"):
            vae.sample(3, seed=0, lengths=bad)


def test_length_model_is_saved_and_old_files_still_load(two_lengths, tmp_path):
    from safetensors.torch import load_file, save_file

    _, vae = two_lengths
    vae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    S, T = vae.sample(50, seed=3), back.sample(50, seed=3)
    np.testing.assert_array_equal(np.isnan(S), np.isnan(T))
    np.testing.assert_array_equal(np.nan_to_num(S), np.nan_to_num(T))
    # A file written before lengths were kept: it loads, and samples the whole window.
    tensors = load_file(tmp_path / "m" / "model.safetensors")
    del tensors["length_counts"]
    save_file(tensors, tmp_path / "m" / "model.safetensors", metadata={"format": "pt"})
    old = latentlab.load(tmp_path / "m")
    assert _lengths(old.sample(5, seed=0)).tolist() == [12] * 5
    np.testing.assert_allclose(old.decode(np.zeros((1, 3), np.float32)), vae.decode(np.zeros((1, 3), np.float32)))
