"""How a traced function takes its arguments from call to call: the same objects again, changed in place
or given new arrays, each replays what eager mode computes."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def eager(f, w, *args):
    """The loss and ``w``'s gradient of ``loss = f(*args); loss.backward()``."""
    w.grad = None
    loss = f(*[cr.tensor(a) if not isinstance(a, cr.Tensor) else a for a in args])
    loss.backward()
    return loss.item(), w.grad.copy()


def traced_call(step, w, *args):
    w.grad = None
    loss = step(*args)
    return loss.item(), w.grad.copy()


@pytest.mark.parametrize("container", [list, np.array])
def test_an_argument_changed_in_place_between_calls_replays_its_new_values(container) -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    f = lambda x: (w * x).sum()  # noqa: E731
    step = cr.trace(f)
    values = container([1.0, 1.0])
    for value in (1.0, 2.0, 3.0, 4.0):  # a list's array is a copy: it must be made anew at every call
        values[0] = values[1] = value
        loss, grad = traced_call(step, w, values)
        assert loss == 3 * value
        np.testing.assert_array_equal(grad, [value, value])


def test_a_tensor_argument_given_a_new_array_between_calls_replays_what_eager_computes() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    f = lambda x: (cr.softplus(x) * w).sum()  # noqa: E731
    step = cr.trace(f)
    x = cr.tensor(np.ones((3, 2)))
    changes = [
        np.full((3, 2), 2.0),  # same shape and dtype: the same recording
        np.full((4, 2), 3.0),  # another shape
        np.full((4, 2), 3.0, dtype=np.float32),  # another dtype
        np.full((4, 2), 3.0).astype(">f8"),  # the same numbers in the other byte order
        np.full((3, 2), 0.5),  # back to the first shape
    ]
    for data in [x.data, *changes]:
        x.data = data
        for _ in range(3):
            loss, grad = traced_call(step, w, x)
            expected_loss, expected_grad = eager(f, w, x)
            assert loss == expected_loss
            np.testing.assert_array_equal(grad, expected_grad)
            assert grad.dtype == w.data.dtype


def test_an_argument_that_starts_or_stops_requiring_grad_gets_its_gradient_or_none() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    step = cr.trace(lambda x: (w * x * x).sum())
    x = cr.tensor([3.0, 4.0])
    for _ in range(3):
        step(x)
    assert x.grad is None
    x.requires_grad = True
    step(x)
    np.testing.assert_array_equal(x.grad, [2 * 1.0 * 3.0, 2 * 2.0 * 4.0])
    x.requires_grad = False
    x.grad = None
    w.grad = None
    step(x)
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, [9.0, 16.0])


def test_an_array_reshaped_in_place_between_calls_is_seen() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    step = cr.trace(lambda x: (x @ w).sum())
    values = np.ones((3, 2))
    for _ in range(3):
        assert step(values).item() == 9.0
    values.shape = (2, 3)  # the same array object, now of another shape: it no longer fits w
    with pytest.raises(cr.ShapeError, match="matmul"):
        step(values)
