"""Reductions with NumPy's axis= and keepdims=."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from oracles import OpCase, op_tests


def torch_axis(axis):
    return tuple(range(3)) if axis is None else axis


CASES = []
for axis in [None, 0, 1, -1, (0, 2)]:
    for keepdims in [False, True]:
        suffix = f"axis={axis} keepdims={keepdims}"
        dims = torch_axis(axis)
        CASES += [
            OpCase(
                f"sum {suffix}",
                lambda x, a=axis, k=keepdims: cr.sum(x, axis=a, keepdims=k),
                lambda x, d=dims, k=keepdims: x.sum(dim=d, keepdim=k),
                [(2, 3, 4)],
            ),
            OpCase(
                f"mean {suffix}",
                lambda x, a=axis, k=keepdims: x.mean(axis=a, keepdims=k),
                lambda x, d=dims, k=keepdims: x.mean(dim=d, keepdim=k),
                [(2, 3, 4)],
            ),
            OpCase(
                f"max {suffix}",
                lambda x, a=axis, k=keepdims: x.max(axis=a, keepdims=k),
                lambda x, d=dims, k=keepdims: x.amax(dim=d, keepdim=k),
                [(2, 3, 4)],
                ["distinct"],
            ),
            OpCase(
                f"min {suffix}",
                lambda x, a=axis, k=keepdims: cr.min(x, axis=a, keepdims=k),
                lambda x, d=dims, k=keepdims: x.amin(dim=d, keepdim=k),
                [(2, 3, 4)],
                ["distinct"],
            ),
            OpCase(
                f"logsumexp {suffix}",
                lambda x, a=axis, k=keepdims: cr.logsumexp(x, axis=a, keepdims=k),
                lambda x, d=dims, k=keepdims: x.logsumexp(dim=d, keepdim=k),
                [(2, 3, 4)],
            ),
        ]


test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


def test_reductions_give_numpy_shapes() -> None:
    x = cr.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.sum().shape == ()
    assert x.sum(axis=1).shape == (2, 4)
    assert x.mean(axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    assert x.max(axis=-1).shape == (2, 3)
    np.testing.assert_array_equal(x.max(axis=-1).data, x.data.max(axis=-1))


def test_max_ties_share_the_gradient_like_torch_amax(torch) -> None:
    values = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    x = cr.tensor(values, requires_grad=True)
    x.max(axis=1).sum().backward()
    reference = torch.tensor(values, requires_grad=True)
    reference.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad, reference.grad.numpy())
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


@pytest.mark.parametrize("reduce", [cr.sum, cr.mean, cr.max, cr.min, cr.logsumexp])
def test_an_unknown_axis_is_named(reduce) -> None:
    x = cr.tensor(np.ones((3, 4)))
    with pytest.raises(cr.AxisError, match=r"axis 2 is out of range for a tensor of shape \(3, 4\) \(2 dimensions\)"):
        reduce(x, axis=2)
    with pytest.raises(cr.AxisError, match="names the same axis twice"):
        reduce(x, axis=(0, -2))


def test_max_of_an_empty_tensor_is_an_error() -> None:
    with pytest.raises(cr.ShapeError, match="max: a tensor with no elements has no max"):
        cr.max(cr.tensor(np.ones((0, 3))))


@pytest.mark.parametrize(
    ("shape", "axis", "message"),
    [
        ((0,), None, r"mean: a tensor of shape \(0,\) has no elements to average; the mean of nothing is undefined"),
        ((3, 0), 1, r"mean: a tensor of shape \(3, 0\) has no elements to average along axis 1;"),
        ((2, 0, 3), (0, 1), r"mean: a tensor of shape \(2, 0, 3\) has no elements to average along axes \(0, 1\);"),
    ],
    ids=["all axes", "one axis", "two axes"],
)
def test_the_mean_of_nothing_is_an_error_not_nan(shape, axis, message) -> None:
    with pytest.raises(cr.ShapeError, match=message):
        cr.mean(cr.tensor(np.zeros(shape)), axis=axis)


def test_a_mean_with_no_results_is_empty_and_silent() -> None:
    """Averaging along axis 0 of a (0, 0) tensor asks for no mean at all: an empty result, as PyTorch gives."""
    x = cr.tensor(np.zeros((0, 0)), requires_grad=True)
    out = cr.mean(x, axis=0)
    assert out.shape == (0,)
    out.sum().backward()
    assert x.grad.shape == (0, 0)


def test_logsumexp_over_no_terms_is_minus_infinity_as_in_pytorch(torch) -> None:
    x = cr.tensor(np.ones((3, 0)), requires_grad=True)
    out = cr.logsumexp(x, axis=1)
    expected = torch.logsumexp(torch.ones(3, 0), dim=1).numpy()
    np.testing.assert_array_equal(out.data, expected)  # [-inf, -inf, -inf]
    assert cr.logsumexp(x, axis=1, keepdims=True).shape == (3, 1)
    cr.logsumexp(x, axis=0).sum().backward()  # an empty result: nothing to add up, no warning
    assert x.grad.shape == (3, 0)


def test_an_axis_that_is_not_an_integer_is_named() -> None:
    with pytest.raises(cr.AxisError, match=r"^sum: axis must be an int or a tuple of ints, got 0.0$"):
        cr.tensor(np.ones((2, 3))).sum(axis=0.0)
