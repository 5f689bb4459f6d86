"""A traced function from call to call: its arguments (the same objects again, changed in place or given
new arrays) each replay what eager mode computes, and what a call returned stays as it was."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------------------------ random call sequences
# Each call changes (or keeps) the two arguments and the parameter the way user code does between
# training steps; the traced call must give eager mode's loss and gradients, bit for bit, every time.
CHANGES = [
    "keep",  # the very same objects again
    "new values in place",  # the argument's array (or list) changed in place
    "new array, same shape",  # x.data = another array
    "new array, other shape",
    "float32 array",
    "byte-swapped array",
    "new object",  # a new tensor / array / list with new values
    "toggle requires_grad",
    "parameter new array",  # w.data = another array of w's shape
]


def _changed(value, change: str, rng: np.random.Generator, rows: int):
    """``value`` (a tensor, an array or a list of lists) after ``change``; returns the value to pass."""
    fresh = rng.normal(size=(rows, 2))
    if isinstance(value, cr.Tensor):
        if change == "new values in place":
            value.data[...] = rng.normal(size=value.data.shape)
        elif change == "new array, same shape":
            value.data = rng.normal(size=value.data.shape).astype(value.data.dtype)
        elif change == "new array, other shape":
            value.data = fresh
        elif change == "float32 array":
            value.data = fresh.astype(np.float32)
        elif change == "byte-swapped array":
            value.data = fresh.astype(">f8")
        elif change == "new object":
            value = cr.tensor(fresh)
        elif change == "toggle requires_grad" and value.data.dtype.kind == "f":
            value.requires_grad = not value.requires_grad
            value.grad = None
        return value
    if isinstance(value, np.ndarray):
        if change == "new values in place":
            value[...] = rng.normal(size=value.shape)
        elif change in ("new array, same shape", "new object"):
            value = rng.normal(size=value.shape)
        elif change == "new array, other shape":
            value = fresh
        elif change == "float32 array":
            value = fresh.astype(np.float32)
        elif change == "byte-swapped array":
            value = fresh.astype(">f8")
        return value
    if change == "new values in place":  # a list of lists
        for row in value:
            row[:] = rng.normal(size=len(row)).tolist()
    elif change in ("new array, other shape", "new object"):
        value = fresh.tolist()
    return value


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    kinds=st.tuples(st.sampled_from(["tensor", "array", "list"]), st.sampled_from(["tensor", "array", "list"])),
    calls=st.lists(
        st.tuples(st.sampled_from(CHANGES), st.sampled_from(CHANGES), st.integers(2, 4), st.integers(0, 2**16)),
        min_size=1,
        max_size=10,
    ),
)
def test_random_changes_between_calls_replay_what_eager_computes(kinds, calls) -> None:
    rng = np.random.default_rng(0)
    w = cr.tensor([[0.5], [-1.5]], requires_grad=True)

    def f(x, y):
        return (cr.softplus(x @ w) * y.sum()).sum() + (x * x).sum()

    step = cr.trace(f)
    start = rng.normal(size=(3, 2))
    made = {"tensor": lambda: cr.tensor(start), "array": start.copy, "list": lambda: start.tolist()}
    x, y = made[kinds[0]](), made[kinds[1]]()
    for change_x, change_y, rows, seed in [("keep", "keep", 3, 0), ("keep", "keep", 3, 1), *calls]:
        rng = np.random.default_rng(seed)
        x = _changed(x, change_x, rng, rows)
        y = _changed(y, change_y, rng, rows)
        if change_x == "parameter new array" or change_y == "parameter new array":
            w.data = rng.normal(size=(2, 1))
        # what f receives for an array or a list: a tensor around np.asarray of it (a byte-swapped array stays so)
        arguments = [a if isinstance(a, cr.Tensor) else cr.Tensor._from_op(np.asarray(a), None) for a in (x, y)]
        for tensor in (w, *arguments):
            tensor.grad = None
        expected = f(*arguments)
        expected.backward()
        expected_grads = [None if t.grad is None else t.grad.copy() for t in (w, *arguments)]
        for tensor in (w, *arguments):
            tensor.grad = None
        loss = step(x, y)
        assert loss.item() == expected.item()
        for tensor, expected_grad in zip((w, *arguments), expected_grads):
            if expected_grad is None:
                assert tensor.grad is None
            else:
                np.testing.assert_array_equal(tensor.grad, expected_grad)
                assert tensor.grad.dtype == expected_grad.dtype


# ------------------------------------------------------------------------------ results kept by the user
def _networks():
    """(name, step factory): a NumPy replay (batch) and a float replay (one number each)."""
    rng = np.random.default_rng(3)

    def batch():
        w = cr.tensor(rng.normal(size=(3, 2)), requires_grad=True)
        b = cr.tensor(rng.normal(size=2), requires_grad=True)
        f = lambda x: (cr.sigmoid(x @ w + b) ** 2).sum() / 4  # noqa: E731
        return f, [w, b], lambda seed: (cr.tensor(np.random.default_rng(seed).normal(size=(4, 3))),)

    def scalar():
        w = cr.tensor(0.5, requires_grad=True)
        v = cr.tensor(-1.5, requires_grad=True)
        f = lambda x: cr.sigmoid(x * w + v) * w  # noqa: E731
        return f, [w, v], lambda seed: (cr.tensor(float(np.random.default_rng(seed).normal())),)

    return {"NumPy replay": batch, "float replay": scalar}


@pytest.mark.parametrize("network", ["NumPy replay", "float replay"])
def test_a_loss_and_gradients_the_user_kept_are_not_changed_by_later_calls(network) -> None:
    f, params, arguments = _networks()[network]()
    step = cr.trace(f)
    kept = []  # (loss tensor, its value then, each .grad array, a copy of each)
    for call in range(8):
        for p in params:
            p.grad = None
        loss = step(*arguments(call))
        kept.append((loss, loss.item(), [p.grad for p in params], [p.grad.copy() for p in params]))
        with cr.no_grad():
            for p in params:
                p -= 0.1 * p.grad
    if network == "float replay":
        assert step.tapes and all(tape.run_floats is not None for tape in step.tapes.values())
    for loss, value, grads, copies in kept:
        assert loss.item() == value
        for grad, copy in zip(grads, copies):
            np.testing.assert_array_equal(grad, copy)
    assert len({id(g) for _, _, grads, _ in kept for g in grads}) == 8 * len(params)  # no array shared


@pytest.mark.parametrize("network", ["NumPy replay", "float replay"])
def test_a_gradient_or_loss_changed_in_place_by_the_user_does_not_reach_the_next_call(network) -> None:
    f, params, arguments = _networks()[network]()
    step = cr.trace(f)
    for call in range(6):
        for p in params:
            p.grad = None
        expected = f(*arguments(call))
        expected.backward()
        expected_grads = [p.grad.copy() for p in params]
        for p in params:
            p.grad = None
        loss = step(*arguments(call))
        assert loss.item() == expected.item()
        for p, expected_grad in zip(params, expected_grads):
            np.testing.assert_array_equal(p.grad, expected_grad)
            p.grad *= 1000.0  # the user scales (or clips) a gradient in place
        loss.data *= -1.0


# ------------------------------------------------------------------------------ what f receives
@pytest.mark.parametrize("shape", [(), (2,)])
def test_an_argument_computed_by_ops_that_require_grad_is_refused_at_a_later_call_too(shape) -> None:
    """The first call refuses it (a trace's gradients stop at what f receives); so must a replay, not drop w's gradient."""
    w = cr.tensor(np.full(shape, 1.5), requires_grad=True)
    step = cr.trace(lambda x: (x * x).sum())
    for _ in range(3):
        step(cr.tensor(np.full(shape, 3.0), requires_grad=True))
    with pytest.raises(cr.GraphError, match="argument of f computed by ops that require grad"):
        step(w * 2.0)
    assert w.grad is None


def test_an_argument_no_op_reads_may_be_computed_by_ops() -> None:
    w = cr.tensor([0.5, -0.25], requires_grad=True)
    step = cr.trace(lambda x, unused: (w * x).sum())
    for _ in range(4):
        w.grad = None
        assert step(cr.tensor([1.0, 2.0]), w * 2).item() == 0.0
        np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_f_may_make_its_own_argument_require_grad_as_in_eager_mode() -> None:
    w = cr.tensor([0.5, -0.25], requires_grad=True)

    def f(x):
        x.requires_grad_()
        return (x * w).sum()

    step = cr.trace(f)
    for _ in range(4):
        x, w.grad = cr.tensor([1.0, 2.0]), None
        assert step(x).item() == 0.0
        np.testing.assert_array_equal(x.grad, [0.5, -0.25])
        np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_f_that_keeps_its_argument_keeps_the_callers_tensor() -> None:
    from chainrule import nn

    net, inputs = nn.Linear(2, 1, rng=0), np.ones((3, 2))

    def f(weight):
        net.weight = weight
        return net(inputs).sum()

    step = cr.trace(f)
    weight = nn.Parameter(np.array([[0.5, -0.25]]))
    for _ in range(3):
        step(weight)
        assert net.weight is weight
        assert [name for name, _ in net.named_parameters()] == ["weight", "bias"]


def test_a_number_argument_computes_as_in_eager_mode_with_float64_parameters() -> None:
    w64 = cr.tensor([0.1, 0.2], requires_grad=True)
    step = cr.trace(lambda s: (w64 * s).sum())
    for value in (0.3, 0.4, 3, [0.5, 2.0], np.float64(0.7)):
        w64.grad = None
        loss = step(value)
        traced_grad = w64.grad.copy()
        w64.grad = None
        expected = (w64 * value).sum()
        expected.backward()
        assert loss.item() == expected.item() and loss.dtype == expected.dtype
        np.testing.assert_array_equal(traced_grad, w64.grad)


def test_integer_labels_indices_and_masks_given_as_lists_or_numbers_work_with_float32_models() -> None:
    z = cr.tensor(np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]], np.float32), requires_grad=True)
    cases = [
        (lambda z, y: cr.cross_entropy(z, y), [0, 2]),
        (lambda z, i: (z[i] * z[i]).sum(), 1),
        (lambda z, m: z[m].sum(), [True, False]),
    ]
    for f, argument in cases:
        step = cr.trace(f)
        for _ in range(3):
            z.grad = None
            loss = step(z, argument)
            traced_grad = z.grad.copy()
            z.grad = None
            expected = f(z, argument)
            expected.backward()
            assert loss.item() == expected.item() and loss.dtype == expected.dtype == np.float32
            np.testing.assert_array_equal(traced_grad, z.grad)


def test_clip_bounds_given_as_arguments_are_refused_not_kept_from_the_first_call() -> None:
    step = cr.trace(lambda w, low, high: cr.clip(w, low, high).sum())
    w = cr.tensor([-1.0, 0.05, 0.2, 1.5], requires_grad=True)
    with pytest.raises(cr.GraphError, match="clip's min="):
        step(w, -0.3, 0.3)
