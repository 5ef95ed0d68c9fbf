"""Small mismatches between what users expect and what the toolkit said (issue 21)."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.cli import main
from latentlab.models.interpolation import interpolate_codes

FAST = dict(verbose=False, seed=0)


def test_spherical_is_another_name_for_slerp():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_array_equal(interpolate_codes(a, b, 5, "spherical"), interpolate_codes(a, b, 5, "slerp"))
    mid = interpolate_codes(a, b, 3, "spherical")[1]
    assert np.linalg.norm(mid) == pytest.approx(1.0, abs=1e-6)  # on the arc, not the chord (0.707)


def test_conditional_cli_names_the_flag(digits, tmp_path, capsys):
    X, y = digits[0][:300], digits[2][:300]
    run = tmp_path / "cvae"
    latentlab.ConditionalVAE(latent_dim=2, hidden=(8,)).fit(X, y, epochs=1, **FAST).save(run)
    for argv in (["sample", str(run)], ["generate", str(run), "--out", str(tmp_path / "s.npy")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "--label" in err and "pass labels y" not in err
    assert main(["sample", str(run), "--label", "3", "-n", "2", "--out", str(tmp_path / "s3.npy")]) == 0
    assert np.load(tmp_path / "s3.npy").shape == (2, 64)


def test_cli_compress_reports_the_rate_with_the_header(digits, tmp_path, capsys):
    run = tmp_path / "ae"
    latentlab.Autoencoder(latent_dim=4, hidden=(8,)).fit(digits[0], epochs=1, **FAST).save(run)
    out = tmp_path / "codes.llz"
    assert main(["compress", str(run), "digits", str(out)]) == 0
    text = capsys.readouterr().out
    n = len(latentlab.load_digits()[0])
    assert f"{8 * out.stat().st_size / n:.2f} bits per sample with the header" in text
