"""Reshape, transpose, indexing, concatenate and stack."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.shape import ScatterAdd, _Slot
from oracles import OpCase, op_tests

CASES = [
    OpCase("reshape", lambda x: x.reshape(3, 8), lambda x: x.reshape(3, 8), [(2, 3, 4)]),
    OpCase("reshape tuple -1", lambda x: cr.reshape(x, (4, -1)), lambda x: x.reshape(4, -1), [(2, 3, 4)]),
    OpCase("flatten", lambda x: x.flatten(), lambda x: x.flatten(), [(2, 3)]),
    OpCase(".T", lambda x: x.T, lambda x: x.permute(1, 0), [(2, 3)]),
    OpCase("transpose axes", lambda x: x.transpose(2, 0, 1), lambda x: x.permute(2, 0, 1), [(2, 3, 4)]),
    OpCase("transpose tuple", lambda x: cr.transpose(x, (1, 2, 0)), lambda x: x.permute(1, 2, 0), [(2, 3, 4)]),
    OpCase("index slice", lambda x: x[1:, ::2], lambda x: x[1:, ::2], [(3, 5)]),
    OpCase("index int", lambda x: x[1], lambda x: x[1], [(3, 5)]),
    OpCase("index ellipsis none", lambda x: x[..., None, 2], lambda x: x[..., None, 2], [(3, 5)]),
    OpCase("index repeated ints", lambda x: x[[0, 2, 0, 0]], lambda x: x[[0, 2, 0, 0]], [(3, 5)]),
    OpCase(
        "index int arrays pairs",
        lambda x: x[np.array([0, 1, 1]), np.array([2, 2, 2])],
        lambda x: x[[0, 1, 1], [2, 2, 2]],
        [(3, 5)],
    ),
    OpCase(
        "index boolean mask",
        lambda x, mask: x[mask],
        lambda x, mask: x[x.new_tensor(mask, dtype=bool)],
        [(3, 5)],
        constants=lambda rng: {"mask": rng.random((3, 5)) > 0.4},
    ),
    OpCase(
        "index tensor labels",
        lambda x: x[np.arange(3), cr.tensor([4, 0, 4], dtype=np.int64)],
        lambda x: x[[0, 1, 2], [4, 0, 4]],
        [(3, 5)],
    ),
    OpCase("concatenate axis 0", lambda a, b: cr.concatenate([a, b]), None, [(2, 3), (4, 3)]),
    OpCase("concatenate axis -1", lambda a, b, c: cr.concatenate([a, b, c], axis=-1), None, [(2, 1), (2, 3), (2, 2)]),
    OpCase("stack axis 1", lambda a, b: cr.stack([a, b], axis=1), None, [(2, 3), (2, 3)]),
    OpCase("stack axis -1", lambda a, b, c: cr.stack((a, b, c), axis=-1), None, [(4,), (4,), (4,)]),
    OpCase("concatenate one tensor", lambda a: cr.concatenate([a], axis=1), None, [(2, 3)]),
    OpCase("stack one tensor", lambda a: cr.stack([a]), None, [(2, 3)]),
    # indexing's backward as an op (its vjp): zeros with the values added at the index
    OpCase(
        "scatter_add repeated rows",
        lambda v: ScatterAdd.apply(v, index=np.array([0, 2, 0]), shape=(4, 3)),
        lambda v: v.new_zeros(4, 3).index_put((__import__("torch").tensor([0, 2, 0]),), v, accumulate=True),
        [(3, 3)],
    ),
    OpCase(
        "scatter_add slice",
        lambda v: ScatterAdd.apply(v, index=(slice(1, 3), slice(None)), shape=(4, 3)),
        lambda v: v.new_zeros(4, 3).index_put((__import__("torch").tensor([1, 2]),), v),
        [(2, 3)],
    ),
    OpCase(
        "scatter_add tensor labels",
        lambda v: ScatterAdd.apply(
            v, cr.tensor([4, 0, 4], dtype=np.int64), index=(np.arange(3), _Slot(0)), shape=(3, 5)
        ),
        lambda v: v.new_zeros(3, 5).index_put(
            (__import__("torch").arange(3), __import__("torch").tensor([4, 0, 4])), v, accumulate=True
        ),
        [(3,)],
    ),
    OpCase(
        "astype float32 and back",
        lambda x: cr.astype(x, np.float32).astype(np.float64),
        None,
        [(3,)],
        finite_differences=False,
    ),
]


test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


def test_join_ops_against_torch(torch, rng) -> None:
    arrays = [rng.normal(size=(2, 3)) for _ in range(3)]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    weights_cat, weights_stack = rng.normal(size=(2, 9)), rng.normal(size=(2, 3, 3))
    ((cr.concatenate(ours, axis=1) * weights_cat).sum() + (cr.stack(ours, axis=-1) * weights_stack).sum()).backward()
    (
        (torch.cat(theirs, dim=1) * torch.tensor(weights_cat)).sum()
        + (torch.stack(theirs, dim=-1) * torch.tensor(weights_stack)).sum()
    ).backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-12)


def test_repeated_indices_accumulate() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_astype_round_trip_keeps_the_gradient_dtype() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.astype(np.float32) * 3
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_shape_errors_are_clear() -> None:
    x = cr.tensor(np.ones((3, 4)))
    with pytest.raises(
        cr.ShapeError, match=r"reshape: cannot reshape a tensor of shape \(3, 4\) \(12 elements\) into shape \(5,\)"
    ):
        x.reshape(5)
    with pytest.raises(cr.AxisError, match=r"transpose: axes \(0, 0\) are not a permutation"):
        x.transpose(0, 0)
    with pytest.raises(IndexError, match=r"index: .*tensor shape \(3, 4\)"):
        x[5]
    with pytest.raises(cr.ShapeError, match=r"stack: all tensors need the same shape, got \(3, 4\), \(4, 3\)"):
        cr.stack([x, x.T])
    with pytest.raises(cr.ShapeError, match=r"concatenate: .*input shapes \(3, 4\) and \(4, 3\)"):
        cr.concatenate([x, x.T], axis=0)


def test_a_cast_to_integers_gets_no_gradient(torch) -> None:
    x = cr.tensor([0.5, 1.7], requires_grad=True)
    counts = x.astype(np.int64)
    assert not counts.requires_grad and counts.dtype == np.int64  # a step function: torch's .long() too
    assert not torch.tensor([0.5, 1.7], requires_grad=True).long().requires_grad
    loss = (x * 2.0).sum() + (counts * 2.5).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    with pytest.raises(cr.DTypeError, match=r"^astype: 'foo' is not a NumPy dtype"):
        x.astype("foo")


def test_an_empty_list_index_picks_nothing() -> None:
    x = cr.tensor(np.ones((3, 4)), requires_grad=True)
    assert x[[]].shape == (0, 4)
