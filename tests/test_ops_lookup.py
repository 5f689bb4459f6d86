"""embedding against PyTorch (values and the weight's gradient, padding_idx too) and its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=0, max_size=3),
    st.integers(1, 6),
    st.integers(1, 4),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_embedding_equals_torch(torch, index_shape, rows, dim, padded, seed) -> None:
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, rows, size=index_shape)  # repeated indices: their gradients add up
    weight = rng.normal(size=(rows, dim))
    padding_idx = int(rng.integers(0, rows)) if padded else None
    mine = cr.tensor(weight, requires_grad=True)
    out = cr.embedding(indices, mine, padding_idx=padding_idx)
    theirs = torch.tensor(weight, requires_grad=True)
    torch_out = torch.nn.functional.embedding(torch.tensor(indices), theirs, padding_idx=padding_idx)
    grad = rng.normal(size=out.shape)
    (out * grad).sum().backward()
    (torch_out * torch.tensor(grad)).sum().backward()
    np.testing.assert_array_equal(out.data, torch_out.detach().numpy())
    np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_embedding_gradient_matches_finite_differences() -> None:
    indices = np.array([[0, 2], [2, 2]])
    report = cr.check.gradcheck(lambda w: (cr.embedding(indices, w) ** 2).sum(), np.arange(6.0).reshape(3, 2))
    assert report


def test_float32_stays_float32_and_lists_of_indices_work() -> None:
    weight = cr.tensor(np.ones((3, 2)), dtype=np.float32, requires_grad=True)
    out = cr.embedding([0, 2, 2], weight)
    assert out.dtype == np.float32
    out.sum().backward()
    assert weight.grad.dtype == np.float32 and weight.grad.tolist() == [[1, 1], [0, 0], [2, 2]]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: cr.embedding([0, 3], np.ones((3, 2))),
            ValueError,
            r"embedding: index 3 is out of range for a weight of 3 rows",
        ),
        (lambda: cr.embedding([-1], np.ones((3, 2))), ValueError, "embedding: index -1 is out of range"),
        (
            lambda: cr.embedding([0.5], np.ones((3, 2))),
            cr.DTypeError,
            "embedding: indices must be integers, got float64",
        ),
        (lambda: cr.embedding([0], np.ones(3)), cr.ShapeError, r"embedding: weight must be a 2-D .* got shape \(3,\)"),
        (
            lambda: cr.embedding([0], np.ones((3, 2)), padding_idx=3),
            ValueError,
            "embedding: padding_idx 3 is out of range",
        ),
    ],
)
def test_bad_inputs_get_one_line_naming_the_op(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_embedding_vjp_and_jvp_match_backward_and_torch(torch) -> None:
    from oracles import torch_jvp

    rng = np.random.default_rng(5)
    indices, weight = np.array([[0, 3], [3, 1]]), rng.normal(size=(4, 2))
    out = cr.embedding(indices, cr.tensor(weight, requires_grad=True), padding_idx=1)
    node, grad_out = out.grad_fn, rng.normal(size=out.shape)
    (_, expected), (none, ours) = node.backward(grad_out), node.vjp(cr.tensor(grad_out), *node.inputs)
    assert none is None
    np.testing.assert_allclose(ours.data, expected, rtol=1e-15)
    tangent = rng.normal(size=weight.shape)
    mine = node.jvp((cr.tensor(np.zeros(indices.shape)), cr.tensor(tangent)), *node.inputs)
    theirs = torch_jvp(torch, lambda w: torch.nn.functional.embedding(torch.tensor(indices), w), [weight], [tangent])
    np.testing.assert_allclose(mine.data, theirs, rtol=1e-15)
    upstream = rng.normal(size=weight.shape)  # the scatter's own gradient: the lookup again, padding row left out
    g = cr.tensor(grad_out, requires_grad=True)
    scattered = cr.ops.lookup.EmbeddingGrad.apply(g, indices=indices, weight_shape=weight.shape, padding_idx=1)
    (scattered * upstream).sum().backward()
    kept = upstream.copy()
    kept[1] = 0
    np.testing.assert_allclose(g.grad, kept[indices], rtol=1e-15)


def test_float_indices_are_refused_as_torch_refuses_them_with_the_fix_that_works(torch) -> None:
    weight = np.arange(6.0).reshape(3, 2)
    with pytest.raises(RuntimeError, match="indices"):  # PyTorch takes no float indices either
        torch.nn.functional.embedding(torch.tensor([2.0, 0.0]), torch.tensor(weight))
    with pytest.raises(cr.DTypeError) as raised:
        cr.embedding(cr.tensor([2, 0]), weight)  # cr.tensor makes float64
    assert str(raised.value) == (
        "embedding: indices must be integers, got float64 (shape (2,)): cr.tensor makes floats unless given a dtype; "
        "make them with cr.tensor(indices, dtype=np.int64) or indices.astype(np.int64)"
    )
    fixed = cr.embedding(cr.tensor([2, 0], dtype=np.int64), weight)  # the fix the message gives
    np.testing.assert_array_equal(fixed.data, [[4.0, 5.0], [0.0, 1.0]])
    np.testing.assert_array_equal(cr.embedding(np.array([2.0, 0.0]).astype(np.int64), weight).data, fixed.data)


@pytest.mark.parametrize(("indices", "shown"), [([0.0, 1.5], "1.5"), (np.array([[np.nan, 1.0]]), "nan")])
def test_indices_that_are_not_whole_numbers_are_named_not_converted(indices, shown) -> None:
    with pytest.raises(
        cr.DTypeError,
        match=rf"^embedding: indices must be integers, got float64 \(shape .*\) holding {shown}, which indexes no row$",
    ):
        cr.embedding(indices, np.ones((3, 2)))
