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
