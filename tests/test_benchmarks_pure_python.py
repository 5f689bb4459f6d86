"""The pure-Python references of the benchmarks: the micrograd-style engine and the hand step in ``math``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.common import Problem, scalar_problem
from benchmarks.pure_python import Value, scalar_micrograd, scalar_python
from benchmarks.small_networks import scalar_numpy


def test_the_docstring_example() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a
    c.backward()
    assert (c.data, a.grad, b.grad) == (-4.0, -2.0, 2.0)


def test_a_value_used_on_several_paths_gets_the_sum_of_their_gradients(torch) -> None:
    # f = σ(a·b + a)² − 3a·a: a reaches f along four edges, b along one
    a, b = Value(0.7), Value(-1.3)
    s = (a * b + a).sigmoid()
    f = s**2 - 3.0 * a * a
    f.backward()
    ta = torch.tensor(0.7, requires_grad=True)
    tb = torch.tensor(-1.3, requires_grad=True)
    tf = torch.sigmoid(ta * tb + ta) ** 2 - 3.0 * ta * ta
    tf.backward()
    assert f.data == pytest.approx(tf.item(), rel=1e-15)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-14)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-14)


def test_backward_visits_each_value_once_on_a_long_chain_with_shared_values() -> None:
    # x_{k+1} = x_k · x_k · 0.5 + 0.75 · x_k: each x_k is read twice, so a walk without the visited
    # set would pass its gradient on more than once
    x0 = Value(0.3)
    x = x0
    derivative = 1.0
    for _ in range(12):  # a walk without the visited set: thousands of visits, and a wrong gradient
        derivative *= x.data + 0.75  # d/dx (x²/2 + 0.75x)
        x = x * x * 0.5 + 0.75 * x
    x.backward()
    assert 1e-6 < derivative < 1  # the values shrink slowly: nothing over- or underflows
    assert x0.grad == pytest.approx(derivative, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-3, 3, allow_nan=False), min_size=6, max_size=6),
    st.lists(st.floats(-3, 3, allow_nan=False), min_size=4, max_size=4),
    st.floats(-1, 1),
)
def test_both_steps_agree_with_hand_numpy_on_random_weights_and_inputs(weights, inputs, target) -> None:
    def problem() -> Problem:
        params = {f"w{i}": np.array(w) for i, w in enumerate(weights, 1)}
        return Problem(np.array(inputs), np.array(target), params, 0.1)

    numpy_step, micrograd_step, python_step = (
        scalar_numpy(problem()),
        scalar_micrograd(problem()),
        scalar_python(problem()),
    )
    for _ in range(3):  # the second and third steps start from each one's own update
        loss, grads = numpy_step()
        for step in (micrograd_step, python_step):
            other_loss, other_grads = step()
            assert other_loss == pytest.approx(loss, rel=1e-12, abs=1e-300)
            scale = max(abs(float(g)) for g in grads.values()) or 1.0
            for name, grad in grads.items():
                assert abs(other_grads[name] - float(grad)) <= 1e-12 * scale


def test_the_seed_report_gradient_of_w1() -> None:
    loss, grads = scalar_micrograd(scalar_problem())()
    assert loss == pytest.approx(0.006192, abs=5e-7)  # the report's values, rounded as printed there
    assert grads["w1"] == pytest.approx(0.0008989, abs=5e-8)
    assert math.isclose(scalar_python(scalar_problem())()[1]["w1"], grads["w1"], rel_tol=1e-15)
