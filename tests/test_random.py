"""chainrule.random: one default generator that manual_seed resets, used by every unseeded draw."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn


def test_manual_seed_repeats_initial_weights_bit_for_bit() -> None:
    cr.manual_seed(3)
    first = [nn.Linear(5, 4).weight.data.copy(), nn.Linear(4, 2, init="he").weight.data.copy()]
    cr.manual_seed(3)
    again = [nn.Linear(5, 4).weight.data, nn.Linear(4, 2, init="he").weight.data]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    cr.manual_seed(4)
    assert not np.array_equal(nn.Linear(5, 4).weight.data, first[0])


def test_manual_seed_keeps_the_same_generator_object_so_holders_follow_it() -> None:
    generator = cr.default_generator()
    loader = data.DataLoader(np.arange(10.0)[:, None], np.arange(10), batch_size=3, seed=None)
    assert loader.rng is generator
    assert cr.manual_seed(1) is generator
    order = np.concatenate([labels for _, labels in loader])
    cr.manual_seed(1)
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in loader]), order)
    assert sorted(order.tolist()) == list(range(10)) and order.tolist() != list(range(10))


def test_the_stream_after_manual_seed_is_numpys_stream_of_that_seed() -> None:
    cr.manual_seed(7)
    np.testing.assert_array_equal(cr.default_generator().random(5), np.random.default_rng(7).random(5))


def test_a_given_seed_or_generator_is_not_touched_by_manual_seed() -> None:
    cr.manual_seed(0)
    seeded = nn.Linear(3, 3, rng=11).weight.data
    np.testing.assert_array_equal(seeded, nn.Linear(3, 3, rng=np.random.default_rng(11)).weight.data)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_a_bad_seed_is_one_line(bad) -> None:
    with pytest.raises((TypeError, ValueError), match="^manual_seed: seed must be a non-negative integer"):
        cr.manual_seed(bad)
