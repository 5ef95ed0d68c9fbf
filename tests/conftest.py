"""Shared fixtures: the digits split every test uses, and quiet fast training defaults."""

from __future__ import annotations

import numpy as np
import pytest
import torch

# Tiny models train fastest on one thread, and tests often share the machine.
torch.set_num_threads(1)

import latentlab  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """``(X_train, X_test, y_train, y_test)`` with ``train_test_split(test_size=0.25, random_state=0)``."""
    return latentlab.load_digits(split=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


FAST = dict(verbose=False, seed=0)
