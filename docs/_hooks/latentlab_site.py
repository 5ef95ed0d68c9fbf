"""MkDocs hooks of the latentlab site (mkdocs.yml `hooks:`): the CLI reference and the benchmark reports.

- ``docs/cli.md`` holds the marker ``<!-- cli-reference -->``; at build time it is replaced by the help of
  ``latentlab`` and of every sub-command, taken from the parser that ``latentlab.cli.main`` itself builds, so
  the page cannot fall behind the code (a checked-in copy would need regenerating after every help-text edit).
- Sphinx roles in docstrings (``:func:`x` ``; numpydoc allows them, mkdocstrings shows them verbatim) are
  rendered as the code span Sphinx would show (``~a.b.c`` as ``c``).
- ``benchmarks/reports/*.md`` (the tuning histories the user guides link to as ``../benchmarks/reports/NAME.md``,
  a path that works on a repository browser) join the site as ``reports/NAME.md``, under the nav section
  ``Benchmark reports`` (filled here, so a new report needs no edit of mkdocs.yml), and such links are rewritten
  to point at them. Any other link out of ``docs/`` is left alone, so ``mkdocs build --strict`` reports it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTS = "benchmarks/reports"  # repository folder -> site folder "reports"
REPORTS_SECTION = "Benchmark reports"  # the nav section of mkdocs.yml that lists them
MARKER = "<!-- cli-reference -->"
HELP_COLUMNS = "80"  # argparse wraps to $COLUMNS: fixed, so the page does not depend on the terminal that built it
LINK = re.compile(r"(\]\()([^)\s#]+\.md)(#[^)\s]*)?(\))")
# A Sphinx role left in a docstring (``:class:`~sklearn.pipeline.Pipeline` ``), as mkdocstrings renders it.
ROLES = r":(?:py:)?(?:class|func|meth|mod|data|attr|obj|exc|const):"
ROLE = re.compile(ROLES + r"<code>(~?)([^<]+)</code>")
ROLE_IN_TYPE = re.compile(ROLES + r"`(~?)([^`<]+)`")  # in a parameter's type, which is shown as code already


def _reports() -> list[Path]:
    return sorted((ROOT / REPORTS).glob("*.md"))


def _fill_reports(nav: list) -> bool:
    for item in nav:
        if isinstance(item, dict):
            for title, value in item.items():
                if title == REPORTS_SECTION:
                    item[title] = [f"reports/{p.name}" for p in _reports()]
                    return True
                if isinstance(value, list) and _fill_reports(value):
                    return True
    return False


def on_config(config):
    if not _fill_reports(config.nav or []):
        raise ValueError(f"mkdocs.yml's nav has no section {REPORTS_SECTION!r}, where the benchmark reports go")
    return config


def on_files(files, config):
    from mkdocs.structure.files import File  # here, so that the tests can import this module without MkDocs

    for path in _reports():
        files.append(File.generated(config, f"reports/{path.name}", abs_src_path=str(path)))
    return files


def _repo_path(src_uri: str) -> str:
    """Where a site file lives in the repository."""
    if src_uri.startswith("reports/"):
        return posixpath.join(REPORTS, src_uri.removeprefix("reports/"))
    return posixpath.join("docs", src_uri)


def _site_path(repo_path: str) -> str | None:
    """Where a repository file lives on the site, if it is on it."""
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    if repo_path.startswith(REPORTS + "/"):
        return "reports/" + repo_path.removeprefix(REPORTS + "/")
    return None


def _relink(markdown: str, src_uri: str) -> str:
    here = posixpath.dirname(_repo_path(src_uri))
    site_dir = posixpath.dirname(src_uri)

    def fix(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith("/"):
            return match.group(0)
        site = _site_path(posixpath.normpath(posixpath.join(here, target)))
        if site is None:
            return match.group(0)
        new = posixpath.relpath(site, site_dir or ".")
        return f"{match.group(1)}{new}{match.group(3) or ''}{match.group(4)}"

    return LINK.sub(fix, markdown)


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def cli_reference() -> str:
    """Markdown: ``latentlab --help``, then one section per sub-command with its ``--help``."""
    from latentlab.cli import build_parser

    with _columns(HELP_COLUMNS):
        top = build_parser()
        parts = ["## `latentlab`", "", "```text", top.format_help().rstrip(), "```", ""]
        for name in _subparsers(top).choices:
            # The parser main() builds for this command: some build their options only when named.
            sub = _subparsers(build_parser(name)).choices[name]
            parts += [f"## `latentlab {name}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


@contextlib.contextmanager
def _columns(value: str):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "cli.md":
        if MARKER not in markdown:
            raise ValueError(f"docs/cli.md has lost its marker {MARKER}, where the command reference goes")
        markdown = markdown.replace(MARKER, cli_reference())
    return _relink(markdown, page.file.src_uri)


def _shown(match: re.Match) -> str:
    tilde, name = match.groups()
    return name.rsplit(".", 1)[-1] if tilde else name


def on_page_content(html, page, config, files):
    html = ROLE.sub(lambda m: f"<code>{_shown(m)}</code>", html)
    return ROLE_IN_TYPE.sub(_shown, html)
