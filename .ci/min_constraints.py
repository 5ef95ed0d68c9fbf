"""Pin every direct dependency to the floor that pyproject.toml declares, for `make test-min`.

    python .ci/min_constraints.py > constraints.txt    # name==floor, one a line, for pip's -c
    python .ci/min_constraints.py --names              # their names, comma-separated, for pip's --only-binary
    python .ci/min_constraints.py --check              # the running environment holds exactly those versions

The runtime dependencies and every extra the tests install (GROUPS, the `dev` test tools included) are
pinned, as `--resolution lowest-direct` would pin them; what they pull in comes at its newest. Every pinned
requirement must declare a floor with `>=`: a dependency without one makes no promise a test could hold it to.
Standard library only (tomllib), so that it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

GROUPS = ("web", "io", "onnx", "tensorboard", "photos", "dev")
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)")


def canonical(name: str) -> str:
    """PEP 503 normalised name: lower case, runs of '-', '_' and '.' as one '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(pyproject: Path = PYPROJECT, groups: tuple[str, ...] = GROUPS) -> dict[str, str]:
    """``{name: floor}`` for ``[project] dependencies`` and the optional groups ``groups``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for group in groups:
        requirements += project["optional-dependencies"][group]
    out: dict[str, str] = {}
    for text in requirements:
        match = REQUIREMENT.match(text)
        if not match:
            raise SystemExit(f"cannot read the requirement {text!r} in {pyproject}")
        name, specifiers = canonical(match.group(1)), match.group(3)
        low = re.search(r">=\s*([0-9][0-9A-Za-z.+!-]*)", specifiers)
        if not low:
            raise SystemExit(f"{text!r} in {pyproject} declares no floor; give it one with '>='.")
        if out.get(name, low.group(1)) != low.group(1):
            raise SystemExit(f"{name} has two floors in {pyproject}: {out[name]} and {low.group(1)}.")
        out[name] = low.group(1)
    return out


def same_version(installed: str, floor: str) -> bool:
    """``2.13.0+cpu`` is floor ``2.13``; ``1.24.0`` is floor ``1.24`` (trailing zeros and local labels aside)."""

    def parts(v: str) -> list[str]:
        p = v.split("+")[0].split(".")
        while len(p) > 1 and p[-1] == "0":
            p.pop()
        return p

    return parts(installed) == parts(floor)


def check(pins: dict[str, str]) -> int:
    wrong = []
    for name, floor in pins.items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "not installed"
        if not same_version(have, floor):
            wrong.append(f"{name}: {have}, floor {floor}")
    if wrong:
        print("not at the declared floors:\n  " + "\n  ".join(wrong), file=sys.stderr)
        return 1
    print(f"{len(pins)} direct dependencies at their declared floors")
    return 0


def main(argv: list[str]) -> int:
    pins = floors()
    if argv[:1] == ["--check"]:
        return check(pins)
    if argv[:1] == ["--names"]:  # a floor must install as a wheel: building an old release from source is no test
        print(",".join(sorted(pins)))
        return 0
    print("\n".join(f"{name}=={floor}" for name, floor in sorted(pins.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
