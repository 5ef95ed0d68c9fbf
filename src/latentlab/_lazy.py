"""Names a package loads on first use (PEP 562), so that importing it stays quick."""

from __future__ import annotations

import importlib
import sys


def lazy_getattr(package: str, names: dict[str, str]):
    """A module ``__getattr__`` for ``package`` that imports ``names[name]``, a submodule, on first use.

    Examples
    --------
    >>> getattr_ = lazy_getattr("json", {"JSONDecoder": "decoder"})
    >>> getattr_("JSONDecoder").__name__
    'JSONDecoder'
    """

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
