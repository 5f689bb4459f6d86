"""Tensor construction, dtypes, printing and the mistakes people make with them."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_defaults_to_float64_and_copies() -> None:
    source = np.array([1, 2, 3])
    x = cr.tensor(source)
    assert x.dtype == np.float64 and x.shape == (3,) and x.ndim == 1 and x.size == 3
    source[0] = 99
    assert x.data[0] == 1.0
    assert cr.tensor(2).dtype == np.float64
    assert cr.tensor([[True, False]]).dtype == np.float64


def test_float32_is_kept_and_integers_on_request() -> None:
    assert cr.tensor(np.ones(2, np.float32)).dtype == np.float32
    assert cr.tensor([1.0, 2.0], dtype=np.float32).dtype == np.float32
    labels = cr.tensor([0, 2, 1], dtype=np.int64)
    assert labels.dtype == np.int64 and not labels.requires_grad


def test_integer_tensor_cannot_require_grad() -> None:
    with pytest.raises(cr.DTypeError, match="requires_grad=True needs floating-point numbers, got dtype int64"):
        cr.tensor([1, 2], dtype=np.int64, requires_grad=True)
    with pytest.raises(cr.DTypeError, match="requires_grad_: needs floating-point numbers"):
        cr.tensor([1, 2], dtype=np.int32).requires_grad_()


def test_non_numeric_data_is_refused() -> None:
    with pytest.raises(cr.DTypeError, match="chainrule tensors hold real numbers"):
        cr.tensor(["a", "b"])
    with pytest.raises(cr.DTypeError, match="chainrule tensors hold real numbers"):
        cr.tensor([1 + 2j])


def test_accessors() -> None:
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.T.shape == (3, 2)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    assert x.numpy() is x.data
    assert cr.tensor([[7.5]]).item() == 7.5
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(3.0)) == 3
    assert len(x) == 2
    assert [row.shape for row in x] == [(3,), (3,)]
    assert x.is_leaf and not (x * 2).is_leaf
    with pytest.raises(cr.ShapeError, match=r"item: only a tensor with one element .* shape \(2, 3\)"):
        x.item()


def test_repr_is_readable() -> None:
    assert repr(cr.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(cr.tensor([1.0], requires_grad=True, name="w")) == "tensor([1.], requires_grad=True, name='w')"
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    assert repr(x.sum()) == "tensor(3., grad_fn=<sum>)"
    assert repr(cr.tensor([1.0], dtype=np.float32)) == "tensor([1.], dtype=float32)"
    assert "..." in repr(cr.tensor(np.zeros(1000)))


def test_comparisons_give_boolean_tensors_without_grad() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [False, True, True])
    np.testing.assert_array_equal((x == 2.0).data, [False, True, False])
    assert len({x, x}) == 1  # still hashable by identity
    np.testing.assert_array_equal(cr.where(x > 1.5, x, 0.0).data, [0.0, 2.0, 3.0])


def test_an_integer_tensor_serves_as_an_index_size_or_slice_bound() -> None:
    w = cr.tensor(np.arange(6.0), requires_grad=True)
    two, three = cr.tensor(2, dtype=np.int64), cr.tensor(3, dtype=np.int32)
    np.testing.assert_array_equal(w[two:three].data, [2.0])
    assert w.reshape(two, -1).shape == (2, 3) and list(range(three)) == [0, 1, 2]
    assert [10, 20, 30][cr.tensor(1, dtype=np.uint8)] == 20
    not_integers = (
        cr.tensor(2.0),
        cr.tensor([1, 2], dtype=np.int64),
        cr.tensor([1], dtype=np.int64),
        cr.tensor(True, dtype=bool),
    )
    for not_an_integer in not_integers:
        with pytest.raises(
            TypeError, match=r"must be one integer of shape \(\); this one holds (float64|int64|bool) numbers"
        ):
            w[:not_an_integer]
    # as NumPy's own arrays: an index of shape (1,) keeps its axis, for a NumPy array as for a tensor
    assert (
        np.ones((4, 3))[cr.tensor([1], dtype=np.int64)].shape
        == (1, 3)
        == w.reshape(2, 3)[cr.tensor([1], dtype=np.int64)].shape[:1] + (3,)
    )
    assert np.ones((4, 3))[cr.tensor(1, dtype=np.int64)].shape == (3,)


def test_a_name_that_is_not_a_string_is_refused() -> None:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    with pytest.raises(TypeError, match=r"name= must be a string \(the result's name\), got 3"):
        cr.relu(cr.tensor(x, requires_grad=True), name=3)
    with pytest.raises(TypeError, match="positional argument"):  # torch's divisor_override: not taken as a name
        cr.avg_pool2d(x, 2, 2, 0, False, True, 3)
    with pytest.raises(TypeError, match="positional argument"):  # torch's return_indices
        cr.max_pool2d(x, 2, 2, 0, 1, False, True)


def test_named_tensors() -> None:
    h = (cr.tensor([1.0], requires_grad=True) * 2).named("h1")
    assert h.name == "h1" and "name='h1'" in repr(h)


def test_detach_shares_values_and_leaves_the_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).detach()
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.data, [3.0, 6.0])


def test_tensors_convert_to_arrays_but_not_through_ufuncs() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert np.asarray(x) is x.data
    np.testing.assert_array_equal(np.asarray(x, dtype=np.float32), np.array([1.0, 2.0], np.float32))
    with pytest.raises(TypeError):
        np.exp(x)  # would silently drop the gradient: use cr.exp


def test_in_place_assignment_and_ambiguous_truth_are_explained() -> None:
    x = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"tensor\[...\] = value: chainrule tensors are not changed in place"):
        x[0] = 5.0
    with pytest.raises(cr.ShapeError, match="the truth value of a tensor with 2 elements is ambiguous"):
        bool(x > 1.5)
    assert bool(cr.tensor(3.0) > 1.0)


def test_op_functions_name_their_results() -> None:
    x = cr.tensor([1.0, -2.0], requires_grad=True, name="x")
    h = cr.sigmoid(x, name="h1")
    z = cr.linear(h, np.ones((3, 2)), name="z")
    loss = cr.sum(z, name="L")
    assert (h.name, z.name, loss.name) == ("h1", "z", "L")
    assert cr.reshape(x, 2, 1, name="column").name == "column"
    text = cr.explain(loss).text()
    assert "h1 = σ(x)" in text and "L  = Σ z" in text


def test_the_constructor_refuses_a_dtype_or_a_word_for_requires_grad_and_a_name_that_is_not_a_string() -> None:
    with pytest.raises(
        TypeError, match=r"requires_grad must be True or False, got <class 'numpy.float32'>: pass dtype="
    ):
        cr.tensor([1, 2], np.float32)  # it made a float64 tensor that required grad
    with pytest.raises(TypeError, match="requires_grad must be True or False, got the string 'no'"):
        cr.tensor([1.0], requires_grad="no")
    with pytest.raises(TypeError, match="name must be a string, got 5"):
        cr.tensor([1.0], name=5)
    assert cr.tensor([1.0], requires_grad=np.bool_(True)).requires_grad is True
