"""Traced replays of graphs of single float64 numbers on Python floats (engine/scalar_replay.py).

They must give what eager mode gives, bit for bit, gradients included, and fall back to the
NumPy replay wherever Python's floats refuse (1/0, log 0, exp 1000) without storing anything twice.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.ops.elementwise import Mul


def eager_and_replays(f: Callable[..., Any], values: list[float], calls: int = 4) -> tuple[Any, Any, Any]:
    """Eager loss and gradients, the same from each of ``calls`` traced calls, and the traced step."""
    params = [cr.tensor(v, requires_grad=True) for v in values]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's inf/nan warnings, in both modes alike
        loss = f(*params)
        loss.backward()
        eager = (loss.data, [p.grad for p in params])
        step = cr.trace(lambda: f(*params))
        replays = []
        for _ in range(calls):
            for p in params:
                p.grad = None
            loss = step()
            replays.append((loss.data, [p.grad for p in params]))
    return eager, replays, step


def same_bits(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes() or (np.isnan(a).all() and np.isnan(b).all())


def assert_replays_equal_eager(f: Callable[..., Any], values: list[float]) -> Any:
    eager, replays, step = eager_and_replays(f, values)
    for loss, grads in replays:
        assert same_bits(loss, eager[0]), (loss, eager[0])
        for got, want in zip(grads, eager[1]):
            assert (got is None) == (want is None)
            if want is not None:
                assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == ()
                assert same_bits(got, want), (got, want)
    return step


def scalar_network(w1, w2, w3, w4, w5, w6):
    """The scalar network of the seeds (004), as the benchmark writes it."""
    x1, x2, x3, x4 = (cr.tensor(v) for v in (0.5, -1.0, 2.0, 0.25))
    h1 = cr.sigmoid(x1 * w1 + x2 * w2)
    h2 = cr.sigmoid(x3 * w3 + x4 * w4)
    return (cr.sigmoid(h1 * w5 + h2 * w6) - 1.0) ** 2


def test_the_scalar_network_replays_on_floats_and_equals_eager_bit_for_bit() -> None:
    step = assert_replays_equal_eager(scalar_network, [0.1, -0.2, 0.3, 0.4, -0.5, 0.6])
    assert "def run_floats" in step.source() and "exp(-v" in step.source()
    assert next(iter(step.tapes.values())).run_floats is not None


def test_training_on_floats_follows_eager_training_exactly() -> None:
    """Twenty SGD steps: the parameters after each are the same in both modes."""
    runs = []
    for traced in (False, True):
        params = [cr.tensor(v, requires_grad=True) for v in (0.1, -0.2, 0.3, 0.4, -0.5, 0.6)]
        optimizer = cr.optim.SGD(params, lr=0.5)
        step = cr.trace(lambda: scalar_network(*params))
        history = []
        for _ in range(20):
            optimizer.zero_grad()
            if traced:
                loss = step()
            else:
                loss = scalar_network(*params)
                loss.backward()
            optimizer.step()
            history.append((loss.item(), [p.data.item() for p in params]))
        runs.append(history)
    assert runs[0] == runs[1]


def test_a_result_used_twice_and_a_leaf_used_twice_add_up_in_eager_order() -> None:
    def f(w, b):
        h = cr.tanh(w * b)  # h gets two gradients; w and b get two each
        return h * h + h * w + cr.exp(b) / w - cr.sqrt(b * b + 1.0) + cr.log(w * w)

    step = assert_replays_equal_eager(f, [0.7, -1.3])
    assert "g1 = g1 + (" in step.source()


@pytest.mark.parametrize(
    ("f", "values"),
    [
        (lambda w: cr.log(w) + w, [0.0]),  # math.log(0) raises; NumPy gives −inf
        (lambda w: 1.0 / w + w, [0.0]),  # 1 / 0.0 raises; NumPy gives inf
        (lambda w: cr.exp(w) * 2.0 + w, [1000.0]),  # math.exp overflows; NumPy gives inf
        (lambda w: cr.sqrt(w) + w, [-1.0]),  # math.sqrt(−1) raises; NumPy gives nan
        (lambda w: cr.exp(w * w) / w + w, [30.0]),  # raises only in the backward, after the forward ran
    ],
)
def test_where_python_refuses_the_numpy_replay_runs_and_nothing_is_stored_twice(f, values) -> None:
    eager, replays, step = eager_and_replays(f, values, calls=3)
    assert next(iter(step.tapes.values())).run_floats is not None
    for loss, grads in replays:
        assert same_bits(loss, eager[0]) and same_bits(grads[0], eager[1][0]), (loss, grads, eager)


def test_gradients_accumulate_over_replays_as_over_eager_backward_calls() -> None:
    w = cr.tensor(0.3, requires_grad=True)
    step = cr.trace(lambda: cr.sigmoid(w * 3.0) * w)
    eager_w = cr.tensor(0.3, requires_grad=True)
    for _ in range(4):  # .grad is not reset: each call adds
        step()
        (cr.sigmoid(eager_w * 3.0) * eager_w).backward()
        assert w.grad.tobytes() == eager_w.grad.tobytes()


def test_steps_that_are_not_single_float64_numbers_replay_with_numpy() -> None:
    class MyMul(Mul):
        name = "mymul"

        def backward(self, grad_out):
            return grad_out * self.b * 2.0, grad_out * self.a * 2.0  # not Mul's rule: the float form must not be used

    cases = [
        (lambda w: (w * w).sum(), cr.tensor([0.5, 2.0], requires_grad=True)),  # a vector
        (lambda w: w * w, cr.tensor(np.float32(0.5), requires_grad=True)),  # float32
        (lambda w: w**3, cr.tensor(0.5, requires_grad=True)),  # np.power has no bit-equal float form
        (lambda w: MyMul.apply(w, w), cr.tensor(0.5, requires_grad=True)),  # a subclass with its own backward
    ]
    for f, w in cases:
        step = cr.trace(f)
        step(w)
        step(w)
        assert next(iter(step.tapes.values())).run_floats is None
    w = cr.tensor(0.5, requires_grad=True)
    step = cr.trace(lambda w: MyMul.apply(w, w))
    for _ in range(3):
        w.grad = None
        step(w)
        assert w.grad == 2.0  # MyMul's own backward: 2·(g·a + g·b) = 2.0, not Mul's 1.0


def test_arguments_that_are_single_numbers_replay_on_floats_too() -> None:
    w = cr.tensor(0.25, requires_grad=True)
    step = cr.trace(lambda x, w: cr.tanh(x * w) - x)
    for x in (0.5, -2.0, 3.0):
        w.grad = None
        loss = step(cr.tensor(x), w)
        replayed = (loss.data.item(), w.grad.item())
        w.grad = None
        eager = cr.tanh(cr.tensor(x) * w) - x
        eager.backward()
        assert replayed == (eager.item(), w.grad.item())
    assert next(iter(step.tapes.values())).run_floats is not None


def test_one_float64_number_takes_math_in_eager_mode_and_an_array_takes_numpy() -> None:
    """The rule that makes float replays equal eager mode: 0-d float64 exp, log and tanh use ``math``."""
    rng = np.random.default_rng(0)
    for x in rng.normal(size=200) * 5:
        for op, function, ufunc in ((cr.exp, math.exp, np.exp), (cr.tanh, math.tanh, np.tanh)):
            assert op(cr.tensor(x)).item() == function(x)
            assert op(cr.tensor([x])).data[0] == ufunc(np.array([x]))[0]
            assert abs(function(x) - ufunc(x)) <= 2 * np.spacing(abs(function(x)))  # they differ in the last bits
        assert cr.log(cr.tensor(abs(x))).item() == math.log(abs(x))


SCALAR_OPS: list[tuple[str, Callable[..., Any], int]] = [
    ("add", lambda a, b: a + b, 2),
    ("sub", lambda a, b: a - b, 2),
    ("mul", lambda a, b: a * b, 2),
    ("div", lambda a, b: a / b, 2),
    ("neg", lambda a: -a, 1),
    ("square", lambda a: a**2, 1),
    ("exp", lambda a: cr.exp(a * 0.25), 1),
    ("log", lambda a: cr.log(a * a + 0.5), 1),
    ("sqrt", lambda a: cr.sqrt(a * a + 0.1), 1),
    ("sigmoid", cr.sigmoid, 1),
    ("tanh", cr.tanh, 1),
    ("sum", lambda a: a.sum(), 1),
    ("constant", lambda a: a * 1.5 - 0.25, 1),
]


@st.composite
def scalar_programs(draw: st.DrawFn) -> tuple[list[tuple[int, list[int]]], list[float]]:
    count = draw(st.integers(1, 4))
    values = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=count, max_size=count))
    steps = []
    for index in range(draw(st.integers(1, 12))):
        op = draw(st.integers(0, len(SCALAR_OPS) - 1))
        arity = SCALAR_OPS[op][2]
        steps.append((op, [draw(st.integers(0, count + index - 1)) for _ in range(arity)]))
    return steps, values


@settings(max_examples=150, deadline=None)
@given(program=scalar_programs())
def test_random_scalar_programs_replay_on_floats_bit_for_bit(program) -> None:
    steps, values = program

    def f(*params):
        seen = list(params)
        for op, sources in steps:
            seen.append(SCALAR_OPS[op][1](*[seen[source] for source in sources]))
        return sum(seen[len(params) :], seen[-1] * 0.0)  # every result reaches the loss

    assert_replays_equal_eager(f, values)


def _loss_of(w: Any) -> Any:
    return cr.tanh(w * 3.0) * w + 1.0


@pytest.mark.parametrize(
    ("new_data", "message"),
    [
        (np.array(0.9, dtype=np.float32), r"was \(\) float64 when f was recorded and is now \(\) float32"),
        (np.array([0.9]), r"was \(\) float64 when f was recorded and is now \(1,\) float64"),
        (np.array(2), r"was \(\) float64 when f was recorded and is now \(\) int64"),
    ],
)
def test_a_parameter_given_another_dtype_or_shape_is_refused_before_anything_is_stored(new_data, message) -> None:
    w, other = cr.tensor(0.5, requires_grad=True, name="w"), cr.tensor(0.25, requires_grad=True)
    step = cr.trace(lambda: _loss_of(w) + other * 2.0)
    step(), step()
    other.grad = None
    w.data = new_data
    with pytest.raises(cr.GraphError, match="trace: 'w' " + message):
        step()
    assert other.grad is None  # nothing stored: the check comes first


def test_a_parameter_frozen_after_the_recording_gets_no_gradient() -> None:
    w, b = cr.tensor(0.5, requires_grad=True), cr.tensor(0.25, requires_grad=True)
    step = cr.trace(lambda: _loss_of(w) * b)
    step(), step()
    b.requires_grad = False
    w.grad = b.grad = None
    loss = step()
    assert b.grad is None and w.grad is not None
    eager_w = cr.tensor(0.5, requires_grad=True)
    (_loss_of(eager_w) * cr.tensor(0.25)).backward()
    assert loss.item() == (_loss_of(eager_w) * 0.25).item() and w.grad.tobytes() == eager_w.grad.tobytes()


def test_numpy_errstate_and_warnings_hold_in_float_replays() -> None:
    """Python floats overflow silently: a result that is not finite is computed again by NumPy, as eager computes it."""
    w, x = cr.tensor(1.0, requires_grad=True), cr.tensor(1e200)
    step = cr.trace(lambda: w * x * x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        step(), step()
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):
        w * x * x
    w.grad = None
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):
        step()
    with pytest.warns(RuntimeWarning, match="overflow"):
        step()


def test_a_gradient_that_overflows_into_a_huge_grad_is_stored_once_as_in_eager_mode() -> None:
    """b's gradient is stored first (its op is the later one), then a's overflows: b must hold it once."""
    a, b = cr.tensor(1.0, requires_grad=True), cr.tensor(1.0, requires_grad=True)
    step = cr.trace(lambda: a * 1e307 + b * 1e305)
    step(), step()
    results = []
    for run in (step, lambda: (a * 1e307 + b * 1e305).backward()):
        a.grad, b.grad = np.array(1.79e308), np.array(0.0)
        with np.errstate(over="raise"), pytest.raises(FloatingPointError):
            run()
        results.append((a.grad.item(), b.grad.item()))
    assert results[0] == results[1] == (1.79e308, 1e305)


def test_minus_zero_sums_to_plus_zero_as_numpy_sums_it() -> None:
    w = cr.tensor(1.5, requires_grad=True)
    step = assert_replays_equal_eager(lambda w: w * (w * -0.0).sum(), [1.5])
    loss = step()
    assert np.signbit(loss.data) == np.signbit((cr.tensor(1.5) * (cr.tensor(1.5) * -0.0).sum()).data)
    assert w.grad is None


def test_a_float32_grad_on_a_float64_leaf_adds_up_as_in_eager_mode() -> None:
    results = []
    for traced in (False, True):
        w = cr.tensor(0.7, requires_grad=True)
        step = cr.trace(lambda: cr.exp(w) * 2.0)
        w.grad = np.array(0.1, dtype=np.float32)
        if traced:
            step(), step()
            w.grad = np.array(0.1, dtype=np.float32)
            step()
        else:
            (cr.exp(w) * 2.0).backward()
        results.append(w.grad)
    assert results[0].dtype == results[1].dtype and results[0].tobytes() == results[1].tobytes()


def test_a_users_own_function_with_a_float_rule_replays_with_numpy() -> None:
    class Sine(cr.Function):
        scalar_forward, scalar_backward = "sin({0})", ("{grad} * cos({0})",)

        def forward(self, x):
            self.x = x
            return np.sin(x)

        def backward(self, grad_out):
            return grad_out * np.cos(self.x)

    w = cr.tensor(0.5, requires_grad=True)
    step = cr.trace(lambda: Sine.apply(w) * 2.0)
    for _ in range(3):
        w.grad = None
        assert step().item() == 2 * math.sin(0.5) and w.grad.item() == 2 * math.cos(0.5)
    assert next(iter(step.tapes.values())).run_floats is None


@pytest.mark.parametrize("scale", [1e-150, 1e-5, 1.0, 30.0, 1e150])
def test_single_numbers_at_small_and_large_magnitudes_match_torch_and_replay_alike(scale, torch) -> None:
    """exp/log/tanh of one float64 number take math in eager mode: values and gradients against PyTorch."""
    for x in (0.3 * scale, -0.7 * scale):
        for op, torch_op, argument in ((cr.exp, torch.exp, x / max(scale, 1.0)), (cr.tanh, torch.tanh, x)):
            w = cr.tensor(argument, requires_grad=True)
            op(w).backward()
            t = torch.tensor(argument, dtype=torch.float64, requires_grad=True)
            torch_op(t).backward()
            np.testing.assert_allclose(op(cr.tensor(argument)).item(), torch_op(t).item(), rtol=4e-16, atol=0)
            # tanh' = 1 − tanh²: a difference of numbers near 1, so its error is ulps of 1, not of the result
            np.testing.assert_allclose(w.grad, t.grad.numpy(), rtol=4e-16, atol=5e-16)
        w = cr.tensor(abs(x), requires_grad=True)
        cr.log(w).backward()
        t = torch.tensor(abs(x), dtype=torch.float64, requires_grad=True)
        torch.log(t).backward()
        np.testing.assert_allclose(cr.log(cr.tensor(abs(x))).item(), torch.log(t).item(), rtol=4e-16, atol=0)
        np.testing.assert_allclose(w.grad, t.grad.numpy(), rtol=4e-16, atol=0)
    step = assert_replays_equal_eager(lambda a, b: cr.tanh(a * b) + cr.log(a * a) - b / a, [0.3 * scale, -0.7 * scale])
    assert next(iter(step.tapes.values())).run_floats is not None


def test_an_intermediate_that_overflows_warns_as_in_eager_mode_though_the_results_are_finite() -> None:
    """x·x overflows to inf, σ(−inf) is 0: finite results, but NumPy warns (or raises) at the product."""
    w, x = cr.tensor(1.0, requires_grad=True), cr.tensor(1e200)
    f = lambda: cr.sigmoid(-(w * x * x))  # noqa: E731
    step = cr.trace(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        step(), step()
    for run in (step, lambda: f().backward()):
        with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="overflow"):
            run()
        with pytest.warns(RuntimeWarning, match="overflow"):
            run()


def test_an_argument_no_op_reads_may_hold_many_numbers() -> None:
    w = cr.tensor(0.5, requires_grad=True)
    step = cr.trace(lambda x, unused: w * x)
    for call in range(4):
        w.grad = None
        assert step(cr.tensor(2.0 + call), np.ones(3)).item() == 0.5 * (2.0 + call)
        assert w.grad == 2.0 + call
    assert all(tape.run_floats is not None for tape in step.tapes.values())
