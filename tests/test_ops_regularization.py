"""dropout: its mask, its scaling, its gradient, where its randomness comes from, and its checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_graph, gradcheck
from oracles import OpCase, op_tests

CASES = [
    # a seed gives the same mask at every call: one function, which finite differences can check
    OpCase("dropout seeded", lambda x: cr.dropout(x, 0.4, rng=7), None, [(3, 5)]),
    OpCase("dropout 4-D seeded", lambda x: cr.dropout(x, 0.2, rng=1), None, [(2, 3, 2, 2)]),
]

test_gradient_matches_finite_differences, _ = op_tests(CASES)


def test_kept_elements_are_scaled_and_the_gradient_is_the_mask(rng) -> None:
    x = cr.tensor(rng.uniform(1, 2, size=(50, 40)), requires_grad=True)
    out = cr.dropout(x, 0.3, rng=0)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], x.data[kept] / 0.7, rtol=1e-15)
    assert abs(kept.mean() - 0.7) < 0.03  # 2000 draws: within about 3 standard deviations
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7, rtol=1e-15)


def test_the_mask_comes_from_the_seed_the_generator_or_the_default_generator() -> None:
    x = np.ones(1000)
    assert np.array_equal(cr.dropout(x, 0.5, rng=3).data, cr.dropout(x, 0.5, rng=3).data)
    generator = np.random.default_rng(3)
    first, second = cr.dropout(x, 0.5, rng=generator).data, cr.dropout(x, 0.5, rng=generator).data
    assert np.array_equal(first, cr.dropout(x, 0.5, rng=3).data) and not np.array_equal(first, second)
    cr.manual_seed(11)
    default_first = cr.dropout(x, 0.5).data
    cr.manual_seed(11)
    assert np.array_equal(cr.dropout(x, 0.5).data, default_first)


def test_evaluation_mode_and_p_zero_give_the_input_back() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert cr.dropout(x, 0.5, training=False) is x
    assert cr.dropout(x, 0.0) is x


def test_float32_stays_float32(rng) -> None:
    x = cr.tensor(rng.normal(size=(4, 4)), dtype=np.float32, requires_grad=True)
    out = cr.dropout(x, 0.5, rng=0)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_gradient_checks_pass_with_a_fixed_mask_and_point_at_a_wrong_one(rng) -> None:
    x = rng.normal(size=(3, 4))
    assert gradcheck(lambda a: (cr.dropout(a, 0.5, rng=2) ** 2).sum(), x)
    loss = (cr.dropout(cr.tensor(x, requires_grad=True), 0.5, rng=2) ** 2).sum()
    assert check_graph(loss)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cr.dropout(np.ones(3), 1.0), ValueError, r"dropout: p must be a probability in \[0, 1\), got 1.0"),
        (lambda: cr.dropout(np.ones(3), -0.1), ValueError, r"dropout: p must be a probability in \[0, 1\), got -0.1"),
        (lambda: cr.dropout(np.ones(3), "0.5"), ValueError, r"dropout: p must be .* got the string '0.5'"),
        (lambda: cr.dropout(np.ones(3), 0.5, training=1), TypeError, "dropout: training must be True or False"),
        (lambda: cr.dropout(np.ones(3), 0.5, rng=-1), TypeError, "dropout: rng must be a seed"),
    ],
)
def test_bad_inputs_get_one_line_naming_the_op(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()
