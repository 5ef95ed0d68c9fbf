"""Bad input through the Python API, the estimators and the command line: the right latentlab error, a clear message.

Each case here is a row of the table in docs/reliability.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import latentlab
from latentlab.errors import ConfigError, DataError, DataTypeError, DataWarning, LatentlabError, NotFittedError

FAST = dict(verbose=False, seed=0, batch_size=32)


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return (rng.random((160, 6)) * [1, 2, 3, 4, 5, 6]).astype(np.float32)


@pytest.fixture(scope="module")
def model(X):
    return latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=2, **FAST)


def with_nan(X):
    Y = X.copy()
    Y[3, 2] = np.nan
    return Y


def with_inf(X):
    Y = X.copy()
    Y[5, 1] = -np.inf
    return Y


# ------------------------------------------------------------------ Python API
API_CASES = {
    # case: (call(model, X), error, message)
    "nan in fit": (lambda m, X: latentlab.Autoencoder().fit(with_nan(X), **FAST), DataError, r"1 NaN.*index \(3, 2\).*impute"),
    "inf in fit": (lambda m, X: latentlab.Autoencoder().fit(with_inf(X), **FAST), DataError, "1 inf"),
    "nan at predict": (lambda m, X: m.encode(with_nan(X)), DataError, "NaN"),
    "inf at predict": (lambda m, X: m.reconstruct(with_inf(X)), DataError, "inf"),
    "1-D at predict": (lambda m, X: m.encode(X[0]), DataError, r"1-D.*reshape\(1, -1\)"),
    "3-D at predict": (lambda m, X: m.encode(np.zeros((4, 2, 4))), DataError, r"expects \(n_samples, 6\)"),
    "wrong feature count": (lambda m, X: m.encode(X[:, :5]), DataError, r"shape \(160, 5\).*expects"),
    "scalar": (lambda m, X: m.encode(3.0), DataError, "scalar"),
    "None": (lambda m, X: m.encode(None), DataError, "None"),
    "ragged rows": (lambda m, X: m.encode([[1, 2], [3]]), DataError, "equal-length rows"),
    "strings": (lambda m, X: m.encode(np.array([["a"] * 6])), DataTypeError, "non-numeric"),
    "complex": (lambda m, X: m.encode(X.astype(np.complex64)), DataTypeError, "complex"),
    "empty rows": (lambda m, X: m.encode(np.empty((0, 6))), DataError, "empty"),
    "empty features": (lambda m, X: latentlab.Autoencoder().fit(np.empty((5, 0)), **FAST), DataError, "empty"),
    "one sample fit": (lambda m, X: latentlab.Autoencoder().fit(X[:1], **FAST), DataError, "at least 2"),
    "fewer than a batch": (
        lambda m, X: latentlab.Autoencoder().fit(X[:20], epochs=1, verbose=False, batch_size=64),
        DataError,
        "fewer than one batch.*lower batch_size",
    ),
    "overflow after scaling": (
        lambda m, X: latentlab.Autoencoder(hidden=(4,)).fit(X * 1e-3, epochs=1, **FAST).encode(X * 1e36),
        DataError,
        "overflow float32 after scaling",
    ),
    "beyond float32": (lambda m, X: m.encode(X.astype(np.float64) * 1e300), DataError, "beyond float32"),
    "unknown family": (lambda m, X: latentlab.create("gan"), ConfigError, "unknown family 'gan'; available"),
    "unknown model option": (lambda m, X: latentlab.Autoencoder(latnt_dim=2), ConfigError, r"\['latnt_dim'\].*known"),
    "unknown training option": (lambda m, X: latentlab.Autoencoder().fit(X, epoch=2), ConfigError, "unknown training"),
    "unknown choice": (lambda m, X: latentlab.VAE(activation="swish"), ConfigError, "activation='swish'"),
    "zero latent_dim": (lambda m, X: latentlab.VAE(latent_dim=0), ConfigError, "latent_dim=0"),
    "negative hidden": (lambda m, X: latentlab.VAE(hidden=(16, -1)), ConfigError, r"hidden\[1\]=-1"),
    "empty hidden": (lambda m, X: latentlab.VAE(hidden=()), ConfigError, "non-empty"),
    "zero epochs": (lambda m, X: latentlab.Autoencoder().fit(X, epochs=0), ConfigError, "epochs=0"),
    "negative batch_size": (lambda m, X: latentlab.Autoencoder().fit(X, batch_size=-8), ConfigError, "batch_size"),
    "zero samples to draw": (lambda m, X: m.sample(0), ConfigError, "n=0"),
    "negative lr": (lambda m, X: latentlab.Autoencoder().fit(X, lr=-1.0), ConfigError, "lr"),
    "bad validation_split": (lambda m, X: latentlab.Autoencoder().fit(X, validation_split=1.5), ConfigError, "validation_split"),
    "codes of wrong width": (lambda m, X: m.decode(np.zeros((3, 5))), DataError, r"codes must be \(n, 2\)"),
    "not fitted": (lambda m, X: latentlab.VAE().encode(X), NotFittedError, "not fitted.*call fit"),
}


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("case", list(API_CASES))
def test_api_bad_input(model, X, case):
    call, error, message = API_CASES[case]
    with pytest.raises(error, match=message):
        call(model, X)


@pytest.fixture(scope="module")
def cvae(X):
    y = np.arange(len(X)) % 3
    return latentlab.create("cvae", latent_dim=2, hidden=(8,), n_classes=3).fit(X, y, epochs=1, **FAST)


@pytest.mark.parametrize(
    "labels, error, message",
    [
        (np.zeros(7, int), DataError, "7 labels but X has 160"),
        (np.array(["a"] * 160), DataTypeError, "LabelEncoder"),
        (np.full(160, 5), DataError, "knows 3 classes"),
        (np.full(160, -1), DataError, "negative"),
        (np.full(160, 0.5), DataError, "integer"),
        (None, DataError, "conditional"),
    ],
)
def test_labels(cvae, X, labels, error, message):
    with pytest.raises(error, match=message):
        cvae.encode(X, labels)


def test_labels_of_wrong_length_in_fit(X):
    with pytest.raises(DataError, match="labels but X has"):
        latentlab.create("cvae", n_classes=3, hidden=(8,)).fit(X, np.zeros(3, int), **FAST)


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, np.float16, np.float64, bool])
def test_integer_and_low_precision_input_is_converted(model, X, dtype):
    data = np.round(X).astype(dtype)
    expected = model.encode(data.astype(np.float32))
    np.testing.assert_allclose(model.encode(data), expected, rtol=1e-6)
    assert model.encode(data.tolist()).dtype == np.float32


def test_integer_training_data(X):
    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit((X * 10).astype(np.int32), epochs=1, **FAST)
    assert np.isfinite(m.reconstruct(X * 10)).all()


def test_constant_features_are_fine(X):
    Y = X.copy()
    Y[:, 0] = 7.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(Y, epochs=2, **FAST)
        rec = m.reconstruct(Y)
    assert np.isfinite(rec).all()
    assert np.isfinite(m.scaler.scale_).all() and (m.scaler.scale_ > 0).all()


def test_all_constant_data_warns():
    with pytest.warns(DataWarning, match="every feature.*constant"):
        m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(np.ones((64, 4)), epochs=1, **FAST)
    assert np.isfinite(m.reconstruct(np.ones((3, 4)))).all()


def test_far_outside_training_range_warns(model, X):
    with pytest.warns(DataWarning, match="outside the training range"):
        out = model.reconstruct(X * 100)
    assert np.isfinite(out).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        model.reconstruct(X * 1.5)  # a little outside is normal (anomaly detection relies on it)


def test_nonfinite_output_is_never_returned(X):
    """A backstop: if the network overflows anyway, the caller gets an error, not a silent inf/NaN."""
    import torch

    m = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, **FAST)
    with torch.no_grad():
        for p in m.decoder.parameters():
            p.fill_(3e38)
    with pytest.raises(DataError, match="produced NaN or inf"):
        m.reconstruct(X)


def test_pandas_and_torch_input(model, X):
    import pandas as pd
    import torch

    np.testing.assert_allclose(model.encode(pd.DataFrame(X)), model.encode(X))
    np.testing.assert_allclose(model.encode(torch.from_numpy(X).double()), model.encode(X))
    with pytest.raises(DataTypeError, match="non-numeric"):
        model.encode(pd.DataFrame({"a": ["x"] * 3, **{str(i): [1.0] * 3 for i in range(5)}}))


# ------------------------------------------------------------------ estimators
def estimators():
    from latentlab.estimators import AutoencoderImputer, AutoencoderOutlierDetector, AutoencoderTransformer

    kw = dict(epochs=2, hidden=(8,), latent_dim=2)
    return [AutoencoderTransformer(**kw), AutoencoderOutlierDetector(**kw), AutoencoderImputer(**kw)]


@pytest.fixture(scope="module")
def fitted(X):
    return [est.fit(X) for est in estimators()]


def apply(est, X):
    return est.score_samples(X) if hasattr(est, "score_samples") else est.transform(X)


@pytest.mark.parametrize("i", [0, 1, 2])
def test_estimators_bad_input(fitted, X, i):
    est = fitted[i]
    name = type(est).__name__
    with pytest.raises(DataError, match="features"):
        apply(est, X[:, :4])
    with pytest.raises(DataError):
        apply(est, np.empty((0, 6)))
    with pytest.raises(DataError):
        apply(est, X[0])
    with pytest.raises((DataTypeError, DataError)):
        apply(est, np.array([["a"] * 6]))
    with pytest.raises(DataError, match="inf|infinity"):
        apply(est, with_inf(X))
    if name == "AutoencoderImputer":  # the imputer's job is NaN
        assert np.isfinite(est.transform(with_nan(X))).all()
    else:
        with pytest.raises(DataError, match="NaN"):
            apply(est, with_nan(X))
    assert np.isfinite(apply(est, np.round(X).astype(np.int16))).all()


@pytest.mark.parametrize("i", [0, 1, 2])
def test_estimators_bad_parameters(X, i):
    est = estimators()[i]
    with pytest.raises(ConfigError, match="unknown family"):
        type(est)(family="gan", epochs=1).fit(X)
    with pytest.raises(ValueError, match="latent_dim"):
        type(est)(latent_dim=0, epochs=1).fit(X)
    with pytest.raises(ValueError, match="epochs"):
        type(est)(epochs=-1).fit(X)
    with pytest.raises(NotFittedError):
        apply(type(est)(), X)
    small = type(est)(epochs=1, hidden=(4,), latent_dim=2, batch_size=64).fit(X[:5])  # fewer than a batch: ok
    assert np.isfinite(apply(small, X[:5])).all()


# ------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def files(tmp_path_factory, X):
    d = tmp_path_factory.mktemp("cli")
    import pandas as pd

    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    df.to_csv(d / "ok.csv", index=False)
    df.assign(city="Paris").to_csv(d / "text.csv", index=False)
    with_nan_df = df.copy()
    with_nan_df.iloc[2, 3] = np.nan
    with_nan_df.to_csv(d / "nan.csv", index=False)
    np.save(d / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return d


CLI_CASES = {
    "unknown family": (["--family", "gan"], "unknown family 'gan'"),
    "non-numeric CSV column": (["--data", "{d}/text.csv"], r"non-numeric column\(s\) \['city'\]"),
    "NaN in CSV": (["--data", "{d}/nan.csv"], "NaN"),
    "missing file": (["--data", "{d}/nope.csv"], "does not exist"),
    "object .npy (pickle)": (["--data", "{d}/obj.npy"], "object arrays are refused"),
    "zero epochs": (["--epochs", "0"], "epochs=0"),
    "negative latent size": (["--latent-dim", "-3"], "latent_dim=-3"),
    "option of another family": (["--family", "ae", "--beta", "2"], "do not apply to family 'ae'"),
    "bad checkpoint cadence": (["--checkpoint-every", "0"], "every_epochs=0"),
    "missing label column": (["--data", "{d}/ok.csv", "--label-column", "y"], "no column 'y'"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_input(files, tmp_path, capsys, case):
    from latentlab.cli import main

    extra, message = CLI_CASES[case]
    argv = ["train", "--data", str(files / "ok.csv"), "--out", str(tmp_path / "run"), "--epochs", "1"]
    argv += ["--hidden", "8", "--verbose", "false"] + [a.format(d=files) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab train: error: ")
    assert len(err.strip().splitlines()) == 1, err  # one clear line, no traceback
    assert __import__("re").search(message, err), err


def test_cli_unknown_option_is_an_argparse_error(capsys):
    from latentlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--lattent-dim", "3"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --lattent-dim" in capsys.readouterr().err


def test_every_error_is_a_latentlab_error_and_a_builtin():
    for cls in (DataError, DataTypeError, ConfigError, NotFittedError):
        assert issubclass(cls, LatentlabError)
    assert issubclass(DataError, ValueError) and issubclass(DataTypeError, TypeError)


@pytest.fixture(scope="module")
def job_files(tmp_path_factory, model, X):
    d = tmp_path_factory.mktemp("jobs")
    model.save(d / "run")
    np.save(d / "ok.npy", X)
    np.save(d / "wide.npy", np.random.default_rng(1).random((5, 9)))
    (d / "garbage.bin").write_bytes(b"\x00" * 50)
    import pandas as pd

    pd.DataFrame(X).assign(city="Paris").to_csv(d / "text.csv", index=False)
    return d


JOB_CASES = {
    "detect: text column": (["detect", "{d}/text.csv"], "non-numeric"),
    "impute: text column": (["impute", "{d}/text.csv", "{d}/o.csv"], "non-numeric"),
    "generate: zero samples": (["generate", "{d}/run", "-n", "0"], "n=0"),
    "sample: negative samples": (["sample", "{d}/run", "-n", "-3"], "n=-3"),
    "compress: wrong feature count": (["compress", "{d}/run", "{d}/wide.npy", "{d}/o.bin"], r"expects \(n_samples, 6\)"),
    "compress: zero bits": (["compress", "{d}/run", "{d}/ok.npy", "{d}/o.bin", "--bits", "0"], "bits=0"),
    "decompress: foreign bytes": (["decompress", "{d}/run", "{d}/garbage.bin", "{d}/o.npy"], "not latentlab compressed"),
    "interpolate: index out of range": (["interpolate", "{d}/run", "{d}/ok.npy", "--a", "999"], "out of range"),
    "evaluate: wrong feature count": (["evaluate", "{d}/run", "--data", "{d}/wide.npy"], "expects"),
    "generate: not a run": (["generate", "{d}/garbage.bin"], "not a folder"),
}


@pytest.mark.parametrize("case", list(JOB_CASES))
def test_cli_jobs_bad_input(job_files, capsys, case):
    import re

    from latentlab.cli import main

    argv, message = JOB_CASES[case]
    command = argv[0]
    assert main([a.format(d=job_files) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"latentlab {command}: error: ") and "\n" not in err, err
    assert re.search(message, err), err


def test_bernoulli_likelihood_needs_values_in_0_1(X, tmp_path):
    with pytest.raises(ConfigError, match="scaling='minmax' or likelihood='gaussian'"):
        latentlab.VAE(scaling="standard")
    wide = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    with pytest.raises(DataError, match=r"span \[-"):
        latentlab.VAE(scaling="none", hidden=(8,)).fit(wide, epochs=1, verbose=False)
    np.save(tmp_path / "wide.npy", wide)
    with pytest.raises(DataError, match="likelihood='bernoulli'"):
        latentlab.VAE(scaling="none", hidden=(8,)).fit_source(tmp_path / "wide.npy", epochs=1, batch_size=16, verbose=False)
    ok = latentlab.VAE(scaling="none", hidden=(8,)).fit(np.clip(wide, 0, 1), epochs=1, batch_size=16, verbose=False)
    assert ok.reconstruct(np.clip(wide, 0, 1)).shape == (64, 5)
    latentlab.VAE(scaling="standard", likelihood="gaussian")  # the right pairing is accepted
