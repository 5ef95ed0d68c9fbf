"""Property-based tests: random shapes, dtypes and values into the public API.

Every call must end in one of two ways: a correct result (right shape, float32,
all finite), or one of the library's documented exceptions
(:class:`latentlab.LatentlabError`). Never a raw torch/NumPy error, never a
silent NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import latentlab
from latentlab.data.validation import as_float_array
from latentlab.errors import LatentlabError

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run, so the suite is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

DTYPES = st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.bool_])


@st.composite
def arrays(draw, max_rows: int = 6, max_cols: int = 8, ndim=None):
    dtype = draw(DTYPES)
    nd = draw(st.integers(0, 3)) if ndim is None else ndim
    shape = tuple(draw(st.integers(0, max_rows if i == 0 else max_cols)) for i in range(nd))
    width = np.dtype(dtype).itemsize * 8
    if np.dtype(dtype).kind != "f":
        elements = None
    elif draw(st.booleans()):  # half the arrays are clean, so that the success path is explored too
        elements = st.floats(-1e3, 1e3, width=width)
    else:
        elements = st.floats(allow_nan=True, allow_infinity=True, width=width)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 5)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "ae": latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, batch_size=32, verbose=False),
            "vae": latentlab.VAE(latent_dim=2, hidden=(8,), likelihood="gaussian").fit(
                X, epochs=1, batch_size=32, verbose=False
            ),
        }


def good(out, shape) -> None:
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == shape
    assert np.isfinite(out).all(), "a silent NaN/inf"


@SETTINGS
@given(arr=arrays())
def test_as_float_array(arr):
    try:
        out = as_float_array(arr)
    except LatentlabError:
        assert arr.ndim < 2 or arr.size == 0 or not np.isfinite(arr.astype(np.float64)).all() or arr.dtype.kind == "f"
        return
    assert out.dtype == np.float32 and out.shape == arr.shape and np.isfinite(out).all()
    np.testing.assert_array_equal(out, arr.astype(np.float32))


@SETTINGS
@given(
    arr=arrays(ndim=2) | arrays(),
    family=st.sampled_from(["ae", "vae"]),
    method=st.sampled_from(["encode", "reconstruct"]),
)
def test_inference_on_random_arrays(fitted, arr, family, method):
    model = fitted[family]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far-from-training warnings are expected here
        try:
            out = getattr(model, method)(arr)
        except LatentlabError as exc:
            event(f"refused: {type(exc).__name__}")
            return
    event("result")
    width = 2 if method == "encode" else 5
    good(out, (arr.shape[0], width))
    assert int(np.prod(arr.shape[1:])) == 5 and np.isfinite(arr.astype(np.float64)).all()  # flat layouts too


@SETTINGS
@given(Z=arrays(ndim=2), family=st.sampled_from(["ae", "vae"]))
def test_decode_on_random_codes(fitted, Z, family):
    try:
        out = fitted[family].decode(Z)
    except LatentlabError:
        return
    good(out, (Z.shape[0], 5))


@SETTINGS
@given(
    n=st.one_of(st.integers(-5, 40), st.floats(-3, 3), st.none(), st.text(max_size=2)),
    seed=st.one_of(st.none(), st.integers(0, 2**31)),
)
def test_sample_random_counts(fitted, n, seed):
    try:
        out = fitted["vae"].sample(n, seed=seed)
    except LatentlabError:
        assert not (isinstance(n, int) and n >= 1)
        return
    good(out, (n, 5))


VALUES = st.one_of(
    st.integers(-3, 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-2, 40), max_size=3),
    st.sampled_from(["relu", "tanh", "gaussian", "bernoulli", "standard", "masking", "mlp", "gru", "lstm", "kl"]),
)


@settings(SETTINGS, max_examples=80)
@given(family=st.sampled_from(latentlab.families()), options=st.dictionaries(st.sampled_from(
    ["latent_dim", "hidden", "activation", "likelihood", "sigma", "scaling", "noise", "noise_level", "beta",
     "n_classes", "sparsity", "rho", "codebook_size", "code_dim", "commitment", "cell", "kernel", "mmd_weight",
     "contractive_weight", "variance", "architecture", "input_shape", "bogus_option"]), VALUES, max_size=3))  # fmt: skip
def test_create_with_random_options(family, options):
    """Any option value is accepted or refused with ConfigError, never a raw TypeError from deep inside."""
    try:
        model = latentlab.create(family, **options)
    except LatentlabError:
        event("refused")
        return
    event("built")
    assert model.config.family == family


@st.composite
def training_data(draw):
    """Mostly plausible data (so that training happens), sometimes hostile."""
    if draw(st.integers(0, 3)) == 0:
        return draw(arrays(max_rows=40, max_cols=4, ndim=2))
    shape = (draw(st.integers(8, 40)), draw(st.integers(1, 4)))
    if draw(st.booleans()):
        return draw(hnp.arrays(np.int16, shape, elements=st.integers(-100, 100)))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.float16]))
    return draw(hnp.arrays(dtype, shape, elements=st.floats(-1e4, 1e4, width=16)))


@settings(SETTINGS, max_examples=30)
@given(
    X=training_data(),
    epochs=st.sampled_from([-1, 0, 1, 1, 1, 2]),
    batch_size=st.sampled_from([-1, 0, 2, 4, 8, 8, 64]),
    family=st.sampled_from(["ae", "vae"]),
)
def test_fit_on_random_data(X, epochs, batch_size, family):
    model = latentlab.create(family, latent_dim=2, hidden=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X, epochs=epochs, batch_size=batch_size, verbose=False, validation_split=0)
        except LatentlabError as exc:
            event(f"refused: {type(exc).__name__}")
            return
        event("trained")
        good(model.encode(X), (X.shape[0], 2))
    assert epochs >= 1 and 1 <= batch_size <= X.shape[0]
