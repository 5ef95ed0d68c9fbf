"""The family pages (docs/families/) document every registered family, and the site's nav lists each page.

Their examples run in test_code_blocks.py, with every other page's.
"""

from __future__ import annotations

import re
from pathlib import Path

import latentlab

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs" / "families").glob("*.md"))


def _headings(page: Path) -> list[str]:
    return [line for line in page.read_text(encoding="utf-8").splitlines() if re.match(r"#{1,6} ", line)]


def test_every_family_has_a_page_that_names_it():
    headings = "\n".join(h for page in PAGES for h in _headings(page))
    missing = [name for name in latentlab.families() if f"`{name}`" not in headings]
    assert not missing, f"no heading of docs/families/*.md names the family(ies) {missing}"


def test_each_family_page_gives_its_loss_and_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert f"families/{page.name}" in nav, f"mkdocs.yml's nav does not list docs/families/{page.name}"
        if page.name != "index.md":
            assert "loss" in text and "```text" in text, f"docs/families/{page.name} gives no loss formula"
