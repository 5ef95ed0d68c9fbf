"""Doctest collection for ``pytest src tests``: one copy of each module, and the doctests that stay slow.

At the project root, not in tests/: a conftest in tests/ is not loaded when
pytest is given only ``src`` (``pytest src``), so its hooks would miss the
doctests there. The fixtures live in tests/conftest.py.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).parent / "src"

# Doctests that still take more than about a second after their training was cut to a token run.
# Keep this short: a doctest that trains should train for an epoch or two on a small slice.
SLOW_DOCTESTS = (
    "latentlab.apps.onnx_export.export_onnx",  # torch.onnx.export itself takes seconds
)


def pytest_collect_file(file_path: Path, parent):
    # With --import-mode=importlib, pytest runs a module file itself unless the module is already imported.
    # While it runs models/ae.py, the family registry imports latentlab.models.ae the usual way: two copies,
    # two Autoencoder classes, and a later pickle of a fitted estimator fails ("not the same object").
    # Importing each src module by its own name first leaves pytest the one copy to collect.
    if file_path.suffix != ".py" or file_path.name == "__main__.py" or SRC not in file_path.parents:
        return None
    parts = file_path.relative_to(SRC).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    try:
        importlib.import_module(name)
    except Exception:  # pytest's own import then reports the error against the file
        pass
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(config, items):
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)
