"""The guide (docs/guide.md) runs, and documents every registered family."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import latentlab

GUIDE = (Path(__file__).parents[2] / "docs" / "guide.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", GUIDE, flags=re.S)


def _headings() -> list[str]:
    return [line for line in GUIDE.splitlines() if re.match(r"#{1,6} ", line)]


@pytest.mark.slow
def test_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert len(blocks) >= 9
    for i, code in enumerate(blocks):
        namespace: dict = {"__name__": f"guide_block_{i}"}
        exec(compile(code, f"docs/guide.md (python block {i + 1})", "exec"), namespace)  # noqa: S102


def test_every_family_has_a_section():
    headings = "\n".join(_headings())
    missing = [name for name in latentlab.families() if f"`{name}`" not in headings]
    assert not missing, f"docs/guide.md has no section heading naming the family(ies) {missing}"
