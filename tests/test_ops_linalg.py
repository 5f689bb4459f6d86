"""Matrix products in every arrangement NumPy allows."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from oracles import OpCase, op_tests


def matmul_case(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> OpCase:
    return OpCase(f"matmul {shape_a} @ {shape_b}", lambda a, b: a @ b, lambda a, b: a @ b, [shape_a, shape_b])


CASES = [
    matmul_case((4,), (4,)),  # vector · vector
    matmul_case((3,), (3, 5)),  # vector · matrix
    matmul_case((4, 3), (3,)),  # matrix · vector
    matmul_case((4, 3), (3, 5)),  # matrix · matrix
    matmul_case((2, 4, 3), (3, 5)),  # batched · matrix
    matmul_case((4, 3), (2, 3, 5)),  # matrix · batched
    matmul_case((2, 1, 4, 3), (3, 3, 2)),  # broadcast batch axes
    matmul_case((3,), (2, 3, 5)),  # vector · batched
    matmul_case((2, 4, 3), (3,)),  # batched · vector
    OpCase("matmul function", cr.matmul, lambda a, b: a @ b, [(2, 3), (3, 2)]),
    OpCase(
        "linear", cr.linear, lambda x, w, b: __import__("torch").nn.functional.linear(x, w, b), [(5, 3), (4, 3), (4,)]
    ),
    OpCase("linear no bias", cr.linear, lambda x, w: __import__("torch").nn.functional.linear(x, w), [(5, 3), (4, 3)]),
    OpCase(
        "linear batched",
        cr.linear,
        lambda x, w, b: __import__("torch").nn.functional.linear(x, w, b),
        [(2, 5, 3), (4, 3), (4,)],
    ),
    OpCase(
        "linear vector",
        cr.linear,
        lambda x, w, b: __import__("torch").nn.functional.linear(x, w, b),
        [(3,), (4, 3), (4,)],
    ),
    OpCase("rmatmul array", lambda b: np.arange(6.0).reshape(2, 3) @ b, None, [(3, 2)]),
    # many rows against a small matrix: the forward and backward copy the small transposed operand
    matmul_case((80, 3), (3, 4)),
    OpCase("matmul x @ W.T", lambda x, w: x @ w.T, lambda x, w: x @ w.T, [(70, 5), (4, 5)]),
    OpCase(
        "linear many rows",
        cr.linear,
        lambda x, w, b: __import__("torch").nn.functional.linear(x, w, b),
        [(90, 4), (16, 4), (16,)],
    ),
]


test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


@pytest.mark.parametrize(
    ("shape_a", "shape_b", "message"),
    [
        ((3, 4), (3, 3), r"matmul: shapes \(3, 4\) and \(3, 3\) do not line up"),
        ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\) do not line up"),
        ((2, 3), (), r"matmul: operands must have at least one dimension"),
        ((2, 2, 3), (3, 3, 4), r"matmul: shapes \(2, 2, 3\) and \(3, 3, 4\) cannot be broadcast together"),
    ],
)
def test_mismatched_shapes_name_the_op_and_both_shapes(shape_a, shape_b, message) -> None:
    with pytest.raises(cr.ShapeError, match=message):
        cr.tensor(np.ones(shape_a)) @ cr.tensor(np.ones(shape_b))


def test_float32_matmul_stays_float32() -> None:
    a = cr.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    b = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    out = a @ b
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_array_equal(a.grad, np.full((2, 3), 4.0))


def test_linear_shape_mismatch_is_explained() -> None:
    with pytest.raises(cr.ShapeError, match=r"linear: input of shape \(5, 3\) does not fit a weight of shape \(4, 2\)"):
        cr.linear(cr.tensor(np.ones((5, 3))), np.ones((4, 2)))


@pytest.mark.parametrize(
    ("rows", "b_shape"), [(64, (3, 3)), (63, (3, 3)), (1000, (16, 16)), (1000, (17, 16)), (5, (40, 40))]
)
def test_matmul_2d_gives_numpys_product_on_either_side_of_its_thresholds(rows, b_shape) -> None:
    from chainrule.ops.linalg import matmul_2d

    rng = np.random.default_rng(rows)
    a, b = rng.normal(size=(rows, b_shape[1])), rng.normal(size=b_shape)
    a_before, b_before = a.copy(), b.copy()
    np.testing.assert_allclose(matmul_2d(a, b.T), a @ b.T, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(matmul_2d(a, b.T.copy()), a @ b.T, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)
