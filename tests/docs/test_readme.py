"""The README's examples are executed."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the README's examples

README = (Path(__file__).parents[2] / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _run_block(code: str) -> list[str]:
    """Execute one README block; return the DataWarnings and PosteriorCollapseWarnings it emitted."""
    from latentlab.errors import DataWarning, PosteriorCollapseWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102
    return [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if issubclass(w.category, (DataWarning, PosteriorCollapseWarning))
    ]


def test_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert blocks
    noisy = {}
    for code in blocks:
        emitted = _run_block(code)
        if emitted:
            noisy[code.splitlines()[-1]] = emitted
    assert (tmp_path / "runs" / "my_vae" / "config.json").exists()
    assert not noisy, f"README examples should run without data or collapse warnings: {noisy}"


def test_a_warning_in_an_example_is_caught():
    code = "import warnings\nfrom latentlab.errors import DataWarning\nwarnings.warn('x', DataWarning)\n"
    assert _run_block(code) == ["DataWarning: x"]
    assert _run_block("x = 1\n") == []


def test_cli_examples_run(tmp_path, monkeypatch):
    from latentlab.cli import main

    monkeypatch.chdir(tmp_path)
    lines = [ln for b in _blocks("bash") for ln in b.splitlines() if ln.startswith("latentlab ")]
    assert len(lines) >= 3
    for line in lines[:3]:
        assert main(shlex.split(line)[1:]) == 0, line
