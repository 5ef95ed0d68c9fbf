"""The README's examples are executed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the README's examples

README = (Path(__file__).parents[2] / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert blocks
    for code in blocks:
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "runs" / "my_vae" / "config.json").exists()


def test_cli_examples_run(tmp_path, monkeypatch):
    from latentlab.cli import main

    monkeypatch.chdir(tmp_path)
    lines = [ln for b in _blocks("bash") for ln in b.splitlines() if ln.startswith("latentlab ")]
    assert len(lines) >= 3
    for line in lines[:3]:
        assert main(shlex.split(line)[1:]) == 0, line
