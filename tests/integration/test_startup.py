"""Start-up stays light: `import latentlab` and `latentlab --help` load neither torch nor scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "scipy", "pandas", "matplotlib")


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if '.' not in m)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.slow
def test_import_loads_nothing_heavy():
    loaded = _loaded_after("import latentlab")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.slow
def test_help_loads_nothing_heavy():
    code = (
        "import contextlib, io\n"
        "from latentlab.cli import build_parser\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    build_parser(None).print_help()\n"
        "assert 'train' in buf.getvalue() and 'detect' in buf.getvalue()\n"
    )
    loaded = _loaded_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_lazy_names_resolve_and_are_listed():
    import latentlab

    for name in latentlab.__all__:
        assert getattr(latentlab, name) is not None, name
    assert set(latentlab.__all__) <= set(dir(latentlab))
    assert latentlab.create("ae", latent_dim=2).config.latent_dim == 2
    try:
        latentlab.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown attribute must raise AttributeError")


@pytest.mark.slow
def test_train_help_still_lists_model_options():
    out = subprocess.run(
        [sys.executable, "-m", "latentlab", "train", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--latent-dim" in out and "--epochs" in out
