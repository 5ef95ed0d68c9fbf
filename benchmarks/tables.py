"""Regenerate the benchmark tables of README.md, docs/*.md and benchmarks/reports/*.md from their records.

A generated table sits between two comments, and nothing else does:

    <!-- table: clustering -->

    | method | ARI | NMI |
    | --- | --- | --- |
    ...

    <!-- /table -->

``NAME`` is a record, ``benchmarks/results/NAME.json``, written by a benchmark run
(``benchmarks/_record.py``); ``NAME/PART`` picks one of its tables (``main`` when
no part is given). The table is the record's, rendered by ``_record.markdown``:
edit a benchmark and run it again, never the figures.

README.md's summary of every benchmark sits between ``<!-- summary rows -->`` and
``<!-- /summary rows -->``: there, each row whose first cell names a renderer of
``benchmarks/_summary.py`` gets its figure cells from that renderer's records; the
other rows are left as written.

    python benchmarks/tables.py           # rewrite every marked table from its record (make tables)
    python benchmarks/tables.py --check   # list the marked tables that disagree with their records; exit 1 if any
    python benchmarks/tables.py docs/daily-use.md   # only the tables of these documents
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import RESULTS, ROOT, markdown  # noqa: E402
from _summary import ROWS  # noqa: E402

START = re.compile(r"^<!-- table: ([A-Za-z0-9._-]+)(?:/([A-Za-z0-9._-]+))? -->$")
END = "<!-- /table -->"
ROWS_START, ROWS_END = "<!-- summary rows -->", "<!-- /summary rows -->"


class TableError(ValueError):
    """A marked region or its record is malformed: the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Region:
    """One marked table: its record and part, and the lines between the markers (0-based, end exclusive)."""

    name: str
    part: str
    first: int
    last: int


def documents(root: Path = ROOT) -> list[Path]:
    """README.md, docs/*.md and benchmarks/reports/*.md: the files whose tables are generated."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md")),
            *sorted((root / "benchmarks" / "reports").glob("*.md"))]


def regions(lines: list[str], where: str = "<text>") -> list[Region]:
    """The marked tables of a document's lines; a marker left open or nested is a :class:`TableError`."""
    out, open_at = [], None
    for i, line in enumerate(lines):
        m = START.match(line.strip())
        if m:
            if open_at is not None:
                raise TableError(f"{where}:{i + 1}: a table marker inside the one opened on line {open_at + 1}; "
                                 f"close that one with {END}")
            open_at, name, part = i, m.group(1), m.group(2) or "main"
        elif line.strip() == END:
            if open_at is None:
                raise TableError(f"{where}:{i + 1}: {END} without a '<!-- table: NAME -->' before it")
            out.append(Region(name, part, open_at + 1, i))
            open_at = None
        elif line.strip().startswith("<!-- table"):
            raise TableError(f"{where}:{i + 1}: {line.strip()!r} is not a marker; write '<!-- table: NAME -->' "
                             "or '<!-- table: NAME/PART -->' (letters, digits, '.', '_', '-')")
    if open_at is not None:
        raise TableError(f"{where}:{open_at + 1}: the table marker is never closed; add {END} after the table")
    return out


def load(name: str, results: Path = RESULTS) -> dict:
    """The record ``results/NAME.json``; a missing one is a :class:`TableError` that says how to make it."""
    path = results / f"{name}.json"
    if not path.is_file():
        raise TableError(f"no record {path}: run the benchmark that writes {name!r} (see its docstring) first")
    return json.loads(path.read_text())


def render(name: str, part: str = "main", results: Path = RESULTS) -> str:
    """The markdown of a record's table."""
    path = results / f"{name}.json"
    tables = load(name, results).get("tables") or {}
    if part not in tables:
        raise TableError(f"record {path.name} has no table {part!r}; it has: {', '.join(tables) or 'none'}")
    return markdown(tables[part])


def cells(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` inside a cell is not a separator)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def update_rows(lines: list[str], results: Path = RESULTS, where: str = "<text>",
                rows: dict | None = None) -> list[str]:
    """Render, in place, the figure cells of the summary rows that have a renderer; the rows that changed.

    ``rows`` maps a row's first cell to a function of ``load`` that returns the row's last cells
    (:data:`_summary.ROWS` by default). Each must find its row in every summary region.
    """
    rows = ROWS if rows is None else rows
    changed, open_at, seen = [], None, set()
    for i, line in enumerate(lines):
        s = line.strip()
        if s == ROWS_START:
            if open_at is not None:
                raise TableError(f"{where}:{i + 1}: {ROWS_START} inside the one opened on line {open_at + 1}")
            open_at, seen = i, set()
        elif s == ROWS_END:
            if open_at is None:
                raise TableError(f"{where}:{i + 1}: {ROWS_END} without a {ROWS_START} before it")
            if missing := sorted(set(rows) - seen):
                raise TableError(f"{where}:{open_at + 1}: the summary has no row {', '.join(missing)}; add the row, "
                                 "or remove its renderer from benchmarks/_summary.py")
            open_at = None
        elif open_at is not None and s.startswith("|") and (row := cells(s)) and row[0] in rows:
            seen.add(row[0])
            try:
                new = [c.replace("|", "\\|") for c in rows[row[0]](lambda name: load(name, results))]
            except TableError:
                raise
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise TableError(f"{where}:{i + 1}: the renderer of {row[0]} cannot read its records ({exc!r}): "
                                 "fix it in benchmarks/_summary.py") from exc
            if len(new) >= len(row):
                raise TableError(f"{where}:{i + 1}: the row {row[0]} has {len(row)} cells, too few for "
                                 f"{len(new)} rendered ones")
            text = "| " + " | ".join(row[: len(row) - len(new)] + new) + " |"
            if text != s:
                changed.append(f"row {row[0]}")
                lines[i] = text
    if open_at is not None:
        raise TableError(f"{where}:{open_at + 1}: {ROWS_START} is never closed; add {ROWS_END} after the table")
    return changed


def update(text: str, results: Path = RESULTS, where: str = "<text>",
           rows: dict | None = None) -> tuple[str, list[str]]:
    """``text`` with every marked table and summary row rendered from its records, and the names of those changed.

    A table is named ``NAME/PART``, a summary row ``row FIRST-CELL``.
    """
    lines = text.split("\n")
    changed = []
    for r in reversed(regions(lines, where)):  # from the end, so earlier line numbers stay valid
        table = render(r.name, r.part, results)
        if "\n".join(lines[r.first : r.last]).strip() != table:
            changed.append(f"{r.name}/{r.part}")
        lines[r.first : r.last] = ["", *table.split("\n"), ""]
    changed = changed[::-1] + update_rows(lines, results, where, rows)
    return "\n".join(lines), changed


def check(paths: list[Path] | None = None, results: Path = RESULTS) -> list[str]:
    """One line for each marked table that disagrees with its record (or whose record is missing)."""
    problems = []
    for path in paths or documents():
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        try:
            _, changed = update(path.read_text(), results, str(where))
        except TableError as exc:
            problems.append(str(exc))
            continue
        problems += [f"{where}: the {'summary ' if c.startswith('row ') else 'table '}{c} differs from its record"
                     " (run: make tables)" for c in changed]
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table disagrees")
    ap.add_argument("paths", nargs="*", type=Path, help="only these documents (default: all of them)")
    args = ap.parse_args(argv)
    paths = [p.resolve() for p in args.paths] or documents()
    if args.check:
        problems = check(paths)
        print("\n".join(problems) or "every marked table agrees with its record")
        return 1 if problems else 0
    from latentlab._files import atomic_write_bytes

    for path in paths:
        try:
            new, changed = update(path.read_text(), where=str(path.relative_to(ROOT)))
        except TableError as exc:
            print(exc, file=sys.stderr)
            return 2
        if changed:
            atomic_write_bytes(path, new.encode())
            print(f"{path.relative_to(ROOT)}: {', '.join(changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
