"""Every code block of the site and of the README runs in the test suite, or says why it does not.

The pages are README.md, docs/**/*.md and benchmarks/reports/*.md (the site shows the reports too). A page's
fenced blocks are read in order:

- ```python blocks run in one namespace, in a temporary directory, so a block sees what the blocks above it
  defined or wrote (a page reads top to bottom);
- ```bash blocks run their ``latentlab ...`` lines through ``latentlab.cli.main``, in the same directory and the
  same order; a shell block with any other command (``pip``, ``make``, ``torchrun``) cannot run here;
- ```text blocks (output, formulas, byte layouts) are not code, nor is a block with no language, unless it looks
  like code (a line that imports, or runs ``latentlab``, ``python``, ``pip``...): code names its language.

A block that is not meant to run has an HTML comment right before it that says why, which a reader of the page
does not see: ``<!-- not run: needs your own photos folder -->``. The examples must run without warnings:
``DataWarning`` and ``PosteriorCollapseWarning`` are errors while they run.

The python blocks of README.md and docs/index.md are run by their own tests (test_readme.py, test_site.py), which
also check what those pages promise; their shell blocks run here, and the checks of languages and markers cover
them too.
"""

from __future__ import annotations

import re
import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ("python", "bash")
NOT_CODE = ("text", "")
# A line that only code holds: an import, or a command of the shells the pages show.
CODE_LINE = re.compile(r"^\s*(import \w|from [\w.]+ import |(latentlab|python|pip|make|torchrun) )")
MARKER = re.compile(r"^<!--\s*not run:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(`{3,})([\w+-]*)\s*$")
# Pages whose python blocks another test runs, with checks of its own: the page -> that test file.
PYTHON_RUN_ELSEWHERE = {"README.md": "tests/docs/test_readme.py", "docs/index.md": "tests/docs/test_site.py"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    not_run: str | None  # the reason given in the marker before it, or None when there is no marker

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def commands(self) -> list[list[str]]:
        """A shell block's commands as argument lists, continuation lines joined and comments dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.code)
        return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]

    @property
    def runs(self) -> bool:
        return self.lang in CODE and self.not_run is None


def parse(text: str, page: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a markdown page, and the problems of its markers (a marker before no block, or
    one that gives no reason)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    pending: tuple[int, str] | None = None  # a marker seen, waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = MARKER.match(line.strip())
        fence = FENCE.match(line)
        if marker:
            if pending:
                problems.append(f"{page}:{pending[0]}: a 'not run' marker before no code block")
            pending = (i + 1, marker.group(1))
            if not marker.group(1):
                problems.append(f"{page}:{i + 1}: a 'not run' marker must say why: <!-- not run: REASON -->")
        elif fence:
            ticks, lang = fence.groups()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ticks), None)
            if end is None:
                problems.append(f"{page}:{i + 1}: a code fence that is never closed")
                break
            blocks.append(
                Block(page, i + 1, lang, "\n".join(lines[i + 1 : end]) + "\n", pending[1] if pending else None)
            )
            pending = None
            i = end
        elif line.strip() and pending:
            problems.append(f"{page}:{pending[0]}: a 'not run' marker must come right before its code block")
            pending = None
        i += 1
    if pending:
        problems.append(f"{page}:{pending[0]}: a 'not run' marker before no code block")
    return blocks, problems


def pages() -> list[str]:
    found = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "benchmarks" / "reports").glob("*.md")),
    ]
    return [p.relative_to(ROOT).as_posix() for p in found]


def page_blocks(page: str) -> tuple[list[Block], list[str]]:
    return parse((ROOT / page).read_text(encoding="utf-8"), page)


def block_problems(block: Block) -> list[str]:
    if block.lang not in CODE + NOT_CODE:
        return [f"{block.where}: a fence names one of the languages {CODE + ('text',)} (got {block.lang!r})"]
    if block.lang == "" and block.not_run is None and any(CODE_LINE.match(ln) for ln in block.code.splitlines()):
        return [
            f"{block.where}: this block holds code: name its language (```python or ```bash) so that it runs, "
            "or mark it <!-- not run: REASON -->"
        ]
    if block.runs and block.lang == "bash":
        others = [" ".join(argv) for argv in block.commands if argv[0] != "latentlab"]
        if others:
            return [
                f"{block.where}: this shell block runs {others[0]!r}, which the tests cannot; "
                "mark it <!-- not run: REASON --> or keep only latentlab commands in it"
            ]
    if block.not_run is not None and block.lang == "text":
        return [f"{block.where}: a 'not run' marker is for code; a ```text block never runs"]
    return []


# ------------------------------------------------------------------------------------------------ the checks
def test_the_reader_finds_blocks_markers_and_their_problems():
    page = (
        "Intro.\n\n```python\nx = 1\n```\n\n"  # lines 1-5
        "<!-- not run: needs your own photos folder -->\n```python\nfit('photos/')\n```\n"  # 7-10
        "```bash\nlatentlab train --data digits \\\n    --out runs/a  # a comment\npip install x\n```\n"  # 11-15
        "```\na formula\n```\n"  # 16-18
        "<!-- not run: -->\nSome text.\n```text\noutput\n```\n"  # 19-23
    )
    blocks, problems = parse(page, "p.md")
    assert [(b.line, b.lang, b.not_run) for b in blocks] == [
        (3, "python", None),
        (8, "python", "needs your own photos folder"),
        (11, "bash", None),
        (16, "", None),
        (21, "text", None),
    ]
    assert blocks[0].code == "x = 1\n" and blocks[0].runs and not blocks[1].runs
    assert blocks[2].commands == [
        ["latentlab", "train", "--data", "digits", "--out", "runs/a"],
        ["pip", "install", "x"],
    ]
    assert problems == [
        "p.md:19: a 'not run' marker must say why: <!-- not run: REASON -->",
        "p.md:19: a 'not run' marker must come right before its code block",
    ]
    assert block_problems(blocks[0]) == [] and block_problems(blocks[1]) == []
    assert "pip install x" in block_problems(blocks[2])[0]
    assert block_problems(blocks[3]) == [] and block_problems(blocks[4]) == []  # a formula, output: not code
    unlabelled_code = parse("```\nimport latentlab\n```\n```\nlatentlab train --data digits\n```\n", "r.md")[0]
    assert all("this block holds code" in block_problems(b)[0] for b in unlabelled_code)
    assert "names one of the languages" in block_problems(parse("```js\nx\n```\n", "s.md")[0][0])[0]
    assert parse("<!-- not run: x -->\n", "q.md")[1] == ["q.md:1: a 'not run' marker before no code block"]


def test_every_block_runs_or_says_why_not():
    problems = []
    for page in pages():
        blocks, marker_problems = page_blocks(page)
        problems += marker_problems + [p for b in blocks for p in block_problems(b)]
    assert not problems, "\n".join(problems)


def test_the_pages_run_elsewhere_are_run_there():
    for page, test_file in PYTHON_RUN_ELSEWHERE.items():
        source = (ROOT / test_file).read_text(encoding="utf-8")
        assert Path(page).name in source and "exec(" in source, f"{test_file} no longer runs {page}'s examples"
        assert any(b.runs and b.lang == "python" for b in page_blocks(page)[0]), f"{page} has no python block left"


def to_run(page: str) -> list[Block]:
    """The blocks of ``page`` that run here, in order."""
    blocks = [b for b in page_blocks(page)[0] if b.runs]
    return [b for b in blocks if b.lang != "python"] if page in PYTHON_RUN_ELSEWHERE else blocks


RUNNABLE = [p for p in pages() if to_run(p)]


@pytest.mark.slow  # the examples train models: a few seconds to a minute a page
@pytest.mark.parametrize("page", RUNNABLE)
def test_page_examples_run(page, tmp_path, monkeypatch):
    from latentlab.cli import main
    from latentlab.errors import DataWarning, PosteriorCollapseWarning

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"docs_example_{Path(page).stem}"}
    ran = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        warnings.simplefilter("error", PosteriorCollapseWarning)
        for block in to_run(page):
            if block.lang == "python":
                exec(compile(block.code, f"{block.where} (python block)", "exec"), namespace)  # noqa: S102
            else:
                for argv in block.commands:
                    assert main(argv[1:]) == 0, f"{block.where}: {' '.join(argv)}"
            ran += 1
    assert ran > 0
