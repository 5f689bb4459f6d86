"""Matrix products in every arrangement NumPy allows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracles import OpCase, op_tests


def matmul_case(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> OpCase:
    return OpCase(f"matmul {shape_a} @ {shape_b}", lambda a, b: a @ b, lambda a, b: a @ b, [shape_a, shape_b])


# (input shape, bias shape) pairs for a (5, 3) weight: every way a bias can broadcast against x @ W.T
LINEAR_BIAS_SHAPES = [
    ((4, 3), ()),  # one number
    ((4, 3), (1, 5)),  # a row
    ((4, 3), (4, 5)),  # one bias per sample and feature
    ((4, 3), (4, 1)),  # one per sample, stretched along the features
    ((4, 3), (2, 4, 5)),  # a bias that adds an axis in front
    ((3,), (1, 5)),  # one sample against a row: the result is a row
    ((3,), ()),
    ((2, 4, 3), (4, 5)),  # a batch of batches
    ((2, 4, 3), (2, 1, 5)),
]

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
    # linear broadcasts its bias as x @ W.T + b does: one case per kind of bias shape
    *(
        OpCase(
            f"linear {x_shape} with bias {b_shape}", cr.linear, lambda x, w, b: x @ w.T + b, [x_shape, (5, 3), b_shape]
        )
        for x_shape, b_shape in LINEAR_BIAS_SHAPES
    ),
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


@pytest.mark.parametrize(("x_shape", "b_shape"), [((4, 3), (5,)), *LINEAR_BIAS_SHAPES], ids=str)
def test_linear_bias_broadcasts_like_x_matmul_w_t_plus_b_eager_and_traced(x_shape, b_shape, torch) -> None:
    """Each call has new values; eager, the recording call and the replays all equal PyTorch's x @ W.T + b."""
    rng = np.random.default_rng(7)

    def loss(x, w, b):
        return (cr.linear(x, w, b) * cr.linear(x, w, b)).sum()

    step = cr.trace(loss)
    for call in range(3):
        arrays = [rng.normal(size=x_shape), rng.normal(size=(5, 3)), rng.normal(size=b_shape)]
        references = [torch.tensor(a, requires_grad=True) for a in arrays]
        x, w, b = references
        expected = ((x @ w.T + b) ** 2).sum()
        expected.backward()
        for run in ("eager", "traced"):
            leaves = [cr.tensor(a, requires_grad=True) for a in arrays]
            if run == "eager":
                result = loss(*leaves)
                result.backward()
            else:
                result = step(*leaves)
            assert result.item() == pytest.approx(expected.item(), rel=1e-12), (run, call)
            for leaf, reference in zip(leaves, references):
                assert leaf.grad.shape == leaf.shape, (run, call)
                np.testing.assert_allclose(leaf.grad, reference.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_linear_bias_that_does_not_broadcast_is_one_line_naming_both_shapes() -> None:
    x, w = cr.tensor(np.ones((4, 3))), cr.tensor(np.ones((5, 3)))
    with pytest.raises(cr.ShapeError) as caught:
        cr.linear(x, w, np.ones(4))
    assert str(caught.value) == (
        "linear: a bias of shape (4,) does not broadcast to the shape (4, 5) of input (4, 3) @ weight (5, 3)ᵀ"
    )


def test_the_shape_message_counts_in_words() -> None:
    with pytest.raises(
        cr.ShapeError, match=r"^matmul: shapes \(1, 2\) and \(1, 2\) do not line up \(2 columns against 1 row\)$"
    ):
        cr.tensor([[1.0, 2.0]]) @ cr.tensor([[1.0, 2.0]])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from([np.float64, np.float32]), st.sampled_from([0, 1, 2]))
def test_a_row_times_a_matrix_has_the_gradients_of_the_general_case(n: int, m: int, dtype: type, which: int) -> None:
    # vector @ matrix takes a shorter backward (an outer product for the matrix); the numbers must be
    # those of the (1, n) @ (n, m) matrix products bit for bit
    rng = np.random.default_rng(n * 7 + m)
    a_values, b_values, grad_out = rng.normal(size=n), rng.normal(size=(n, m)), rng.normal(size=m).astype(dtype)
    a = cr.tensor(a_values.astype(dtype), requires_grad=which != 1)
    b = cr.tensor(b_values.astype(dtype), requires_grad=which != 0)
    (a @ b).backward(grad_out)
    row, column = grad_out[np.newaxis, :], a.data[np.newaxis, :].swapaxes(-1, -2)
    if which != 1:
        assert a.grad.dtype == dtype and a.grad.tobytes() == np.matmul(row, b.data.T)[0].tobytes()
    if which != 0:
        assert b.grad.dtype == dtype and b.grad.tobytes() == np.matmul(column, row).tobytes()
