"""The dihedral turns of the self-ensemble: each is undone by its inverse, and the sizes use distinct turns."""

import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.nn.dihedral import ENSEMBLES, check_ensemble, dihedral


def test_every_turn_is_undone_by_its_inverse_on_a_non_square_image():
    x = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(2, 3, 5)
    seen = set()
    for turn in ENSEMBLES[8]:
        y = dihedral(x, turn)
        assert y.shape == ((2, 5, 3) if turn[0] else (2, 3, 5))
        assert torch.equal(dihedral(y, turn, inverse=True), x)
        seen.add(tuple(y.flatten().tolist()))
    assert len(seen) == 8  # eight different images


def test_known_values_of_one_turn():
    x = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    # transpose, then flip the rows of the result: [[1, 4], [2, 5], [3, 6]] -> [[3, 6], [2, 5], [1, 4]]
    assert dihedral(x, (True, True, False)).tolist() == [[[3.0, 6.0], [2.0, 5.0], [1.0, 4.0]]]


def test_the_sizes_start_with_the_identity_and_use_distinct_turns():
    for k, turns in ENSEMBLES.items():
        assert len(turns) == k == len(set(turns)) and turns[0] == (False, False, False)
        check_ensemble(k)
    for bad in (0, 3, 5, 16, 2.5, True, None, "4"):
        with pytest.raises(ConfigError, match="ensemble must be 1, 2, 4 or 8"):
            check_ensemble(bad)
