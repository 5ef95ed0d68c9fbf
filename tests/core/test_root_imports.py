"""docs/architecture.md: inside the package only the fronts (cli, web) import the package root."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "latentlab"
FRONTS = ("cli", "web")


def _imports_the_root(path: Path, package: Path = PACKAGE) -> list[int]:
    """Line numbers of ``import latentlab``, ``from latentlab import X`` and relative imports of the root."""
    depth = len(path.relative_to(package).parts) - 1  # 0 for latentlab/x.py, 1 for latentlab/sub/x.py
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(a.name == "latentlab" for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            absolute_root = node.level == 0 and node.module == "latentlab"
            relative_root = node.level == depth + 1 and node.module is None
            if absolute_root or relative_root:
                lines.append(node.lineno)
    return lines


def test_only_the_fronts_import_the_package_root():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in FRONTS or rel.name == "__init__.py" and len(rel.parts) == 1:
            continue
        offenders += [f"{rel}:{n}" for n in _imports_the_root(path)]
    assert not offenders, f"import the name from the module that defines it, not the package root: {offenders}"


def test_the_scan_sees_every_form_of_a_root_import(tmp_path):
    """The check above can fail: each form is found, and imports of a sibling or a subpackage are not."""
    (tmp_path / "sub").mkdir()
    mod = tmp_path / "sub" / "mod.py"
    mod.write_text("import latentlab\nfrom latentlab import load\nfrom .. import load\n"
                   "from . import sibling\nfrom ..registry import get_family\nimport latentlab.models\n")
    assert _imports_the_root(mod, tmp_path) == [1, 2, 3]
    top = tmp_path / "top.py"
    top.write_text("from . import load\nfrom .registry import load\n")
    assert _imports_the_root(top, tmp_path) == [1]
