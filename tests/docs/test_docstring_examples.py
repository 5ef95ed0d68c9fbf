"""Every public class and function of ``latentlab.__all__`` shows a runnable example (issue 37 item 5).

The examples themselves run as doctests (pytest collects ``src`` with
``--doctest-modules``); this test makes sure none is missing.
"""

from __future__ import annotations

import inspect
import re

import pytest

import latentlab

EXAMPLES = re.compile(r"^Examples\n-{8,}$", re.MULTILINE)


def public_callables() -> list[str]:
    """Names in ``latentlab.__all__`` that are classes or functions (constants such as ``__version__`` are not)."""
    return [name for name in latentlab.__all__
            if inspect.isclass(getattr(latentlab, name)) or inspect.isfunction(getattr(latentlab, name))]


def has_examples(obj) -> bool:
    """Whether ``obj``'s docstring has a numpydoc ``Examples`` section holding at least one doctest."""
    doc = inspect.getdoc(obj) or ""
    match = EXAMPLES.search(doc)
    return match is not None and ">>> " in doc[match.end():]


def test_the_public_api_is_not_empty():
    names = public_callables()
    assert len(names) > 30, names
    assert {"VAE", "create", "DataError", "TrainConfig"} <= set(names)


@pytest.mark.parametrize("name", public_callables())
def test_every_public_name_has_an_examples_section(name):
    obj = getattr(latentlab, name)
    assert has_examples(obj), (
        f"latentlab.{name} ({inspect.getsourcefile(obj)}) has no numpydoc 'Examples' section with a doctest; "
        "add one at the end of its docstring."
    )


def test_the_check_fails_on_a_missing_section():
    def documented():
        """Do nothing.

        Examples
        --------
        >>> documented()
        """

    def undocumented():
        """Do nothing, with no example."""

    def heading_only():
        """Do nothing.

        Examples
        --------
        See the guide.
        """

    assert has_examples(documented)
    assert not has_examples(undocumented)
    assert not has_examples(heading_only)
    assert not has_examples(lambda: None)
