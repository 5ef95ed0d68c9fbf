"""One way to check parameters: the configs, the estimators and the command line share `Param` and its messages."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import latentlab
from latentlab.cli import build_parser, main
from latentlab.config import SIZE, Param, check_choice, check_nonneg_float, check_params, check_positive_int
from latentlab.errors import ConfigError
from latentlab.estimators import (
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    SeriesAnomalyDetector,
)
from latentlab.estimators.images import ImageAnomalyDetector

ESTIMATORS = (
    AutoencoderTransformer,
    AutoencoderOutlierDetector,
    AutoencoderImputer,
    SeriesAnomalyDetector,
    ImageAnomalyDetector,
)

# (declaration, bad value, the whole message)
KNOWN = [
    (Param(int, low=1, also=("auto",)), 0, "p=0 must be an integer >= 1, or 'auto'."),
    (Param(int, low=1, also=("auto",)), 2.5, "p=2.5 must be an integer >= 1, or 'auto'."),
    (Param(int, low=1), True, "p=True must be an integer >= 1."),
    (SIZE, 2_000_000, "p=2000000 must be an integer between 1 and 1000000."),
    (Param(float, low=0, high=0.5, closed="right"), 0.0, "p=0.0 must be a finite number in (0, 0.5]."),
    (Param(float, low=0, high=1, closed="left"), 1.0, "p=1.0 must be a finite number in [0, 1)."),
    (Param(float, low=0, closed="neither"), float("nan"), "p=nan must be a finite number > 0."),
    (Param(float, low=0), float("inf"), "p=inf must be a finite number >= 0."),
    (Param(float, high=1, closed="left"), 1, "p=1 must be a finite number < 1."),
    (Param(str, choices=("a", "b")), "c", "p='c' is not one of ['a', 'b']; pick one of those."),
    (Param(str, choices=("a",), also=(None,)), 3, "p=3 is not one of ['a', None]; pick one of those."),
    (Param(bool), "yes", "p='yes' must be True or False."),
    (Param(dict, also=(None,)), [], "p=[] must be a dict, or None."),
    (Param(tuple, low=1), (), "p=() must be a non-empty tuple of integers >= 1."),
    (Param(tuple, low=1), (8, 0), "p=(8, 0) must be a non-empty tuple of integers >= 1."),
    (Param(str), 5, "p=5 must be a string."),
]


@pytest.mark.parametrize("spec, value, message", KNOWN)
def test_bad_values_get_known_messages(spec, value, message):
    assert not spec.accepts(value)
    with pytest.raises(ConfigError) as exc:
        spec.check("p", value)
    assert str(exc.value) == message
    assert isinstance(exc.value, ValueError)  # scikit-learn's checks expect a ValueError


@pytest.mark.parametrize(
    "spec, value",
    [
        (Param(int, low=1, also=("auto",)), "auto"),
        (Param(int, low=1), np.int64(3)),
        (Param(float, low=0, high=0.5, closed="right"), 0.5),
        (Param(float, low=0), 0),  # an int is a number
        (Param(str, choices=("a",), also=(None,)), None),
        (Param(bool), np.bool_(True)),
        (Param(tuple, low=1), [64, 32]),
        (Param(dict, also=(None,)), {"beta": 2.0}),
    ],
)
def test_good_values_pass(spec, value):
    assert spec.accepts(value)
    spec.check("p", value)


def test_the_config_checks_are_param_checks():
    """The configs' helpers give the very messages of the declarations the estimators use."""
    for call, spec, value in [
        (lambda: check_positive_int("latent_dim", 0), SIZE, 0),
        (lambda: check_nonneg_float("sigma", -1.0), Param(float, low=0), -1.0),
        (lambda: check_choice("noise", "pink", ("none", "gaussian")), Param(str, choices=("none", "gaussian")), "pink"),
    ]:
        with pytest.raises(ConfigError) as a:
            call()
        name = re.match(r"(\w+)=", str(a.value)).group(1)
        with pytest.raises(ConfigError) as b:
            spec.check(name, value)
        assert str(a.value) == str(b.value)
    with pytest.raises(ConfigError) as config_error:
        latentlab.create("ae", latent_dim=0)
    with pytest.raises(ConfigError) as estimator_error:
        AutoencoderTransformer(latent_dim=0).fit(np.zeros((4, 3)))
    assert (
        str(config_error.value)
        == str(estimator_error.value)
        == "latent_dim=0 must be an integer between 1 and 1000000."
    )


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_parameter_is_declared_and_the_defaults_pass(cls):
    params = cls().get_params(deep=False)
    assert set(cls.param_specs) == set(params)
    check_params(params, cls.param_specs)
    assert not hasattr(cls, "_parameter_constraints")  # no second, scikit-learn-private declaration


def test_check_params_names_the_first_bad_value():
    specs = {"a": Param(int, low=1), "b": Param(str, choices=("x",))}
    check_params({"a": 1, "b": "x", "other": object()}, specs)  # undeclared names are not checked here
    with pytest.raises(ConfigError, match=r"^b='y' is not one of \['x'\]"):
        check_params({"a": 1, "b": "y"}, specs)


def test_fit_checks_before_reading_the_data():
    with pytest.raises(ConfigError, match=r"^contamination=0.7 must be a finite number in \(0, 0.5\]\.$"):
        AutoencoderOutlierDetector(contamination=0.7).fit("not even data")


# (command line, estimator class, bad parameter): the same ConfigError message from both
SAME = [
    (["detect", "digits", "--contamination", "0.7"], AutoencoderOutlierDetector, {"contamination": 0.7}),
    (["detect", "digits", "--scoring", "density"], AutoencoderOutlierDetector, {"scoring": "density"}),
    (["detect", "digits", "--hidden", "16", "0"], AutoencoderOutlierDetector, {"hidden": (16, 0)}),
    (["detect", "digits", "--n-models", "0"], AutoencoderOutlierDetector, {"n_models": 0}),
    (["impute", "a.csv", "b.csv", "--mask-rate", "1"], AutoencoderImputer, {"mask_rate": 1.0}),
    (["impute", "a.csv", "b.csv", "--latent-dim", "0"], AutoencoderImputer, {"latent_dim": 0}),
    (["detect-series", "s.csv", "--window", "1"], SeriesAnomalyDetector, {"window": 1}),
    (["detect-series", "s.csv", "--normalisation", "log"], SeriesAnomalyDetector, {"normalisation": "log"}),
    (["detect-series", "s.csv", "--lr", "0"], SeriesAnomalyDetector, {"lr": 0.0}),
]


@pytest.mark.parametrize("argv, cls, bad", SAME, ids=[" ".join(a[:1] + a[2:]) for a, _, _ in SAME])
def test_estimator_and_command_line_give_the_same_message(argv, cls, bad, capsys):
    with pytest.raises(ConfigError) as exc:
        cls(**bad).fit(np.zeros((4, 3)))
    assert main(argv) == 2  # refused while parsing: the data files need not exist
    err = capsys.readouterr().err
    assert err.strip() == f"latentlab {argv[0]}: error: {exc.value}"


def test_a_word_that_is_not_a_number_gets_the_same_message(capsys):
    assert main(["detect", "digits", "--epochs", "ten"]) == 2
    assert "epochs='ten' must be an integer between 1 and 1000000, or 'auto'." in capsys.readouterr().err


def test_command_line_values_are_parsed_to_the_declared_kinds():
    args = build_parser("detect").parse_args(
        ["detect", "d", "--n-models", "auto", "--hidden", "32", "16", "--random-state", "none", "--lr", "1e-3"]
    )
    assert (args.n_models, args.hidden, args.random_state, args.lr) == ("auto", (32, 16), None, 1e-3)
    args = build_parser("detect").parse_args(["detect", "d", "--hidden", "auto", "--verbose", "yes"])
    assert args.hidden == "auto" and args.verbose is True and args.contamination == 0.1  # defaults: the estimator's
    args = build_parser("detect-series").parse_args(["detect-series", "s.csv", "--ae-normalisation", "none"])
    assert args.ae_normalisation is None and args.window is None
    from latentlab.cli.jobs import _estimator

    det = _estimator(SeriesAnomalyDetector, args)
    assert det.get_params() == {**SeriesAnomalyDetector().get_params(), "ae_normalisation": None}


def test_no_private_scikit_learn_module_is_imported():
    src = Path(latentlab.__file__).parent
    private = re.compile(r"sklearn(\.\w+)*\._(?!_)\w*|_fit_context|_param_validation")  # not sklearn.__version__
    hits = [
        f"{p.relative_to(src)}:{i}"
        for p in src.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert hits == []
