"""Activations and the softmax family: gradients, and finite silent values at ±1000."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from oracles import OpCase, op_tests

CASES = [
    OpCase("sigmoid", cr.sigmoid, lambda x: x.sigmoid(), [(3, 4)]),
    OpCase("sigmoid wide range", lambda x: (x * 8).sigmoid(), lambda x: (x * 8).sigmoid(), [(20,)]),
    OpCase("tanh", cr.tanh, lambda x: x.tanh(), [(3, 4)]),
    OpCase("relu", cr.relu, lambda x: x.relu(), [(3, 4)], ["nonzero"]),
    OpCase(
        "leaky_relu",
        lambda x: cr.leaky_relu(x, 0.1),
        lambda x: __import__("torch").nn.functional.leaky_relu(x, 0.1),
        [(3, 4)],
        ["nonzero"],
    ),
    OpCase("softplus", cr.softplus, lambda x: __import__("torch").nn.functional.softplus(x), [(3, 4)]),
    OpCase("softmax last axis", cr.softmax, lambda x: x.softmax(dim=-1), [(3, 4)]),
    OpCase("softmax axis 0", lambda x: x.softmax(axis=0), lambda x: x.softmax(dim=0), [(3, 4)]),
    OpCase("log_softmax", cr.log_softmax, lambda x: x.log_softmax(dim=-1), [(2, 3, 4)]),
    OpCase("log_softmax axis 1", lambda x: x.log_softmax(axis=1), lambda x: x.log_softmax(dim=1), [(2, 3, 4)]),
]


test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


ELEMENTWISE_EXTREMES = [-1e308, -1e4, -1000.0, -50.0, 0.0, 50.0, 1000.0, 1e4, 1e308]
# the softmax family subtracts values from each other, so the spread must fit in a float
SPREAD_EXTREMES = [-1e5, -1e4, -1000.0, -50.0, 0.0, 50.0, 1000.0, 1e4, 1e5]


@pytest.mark.parametrize(
    ("name", "function", "values"),
    [
        ("sigmoid", cr.sigmoid, ELEMENTWISE_EXTREMES),
        ("softplus", cr.softplus, ELEMENTWISE_EXTREMES),
        ("tanh", cr.tanh, ELEMENTWISE_EXTREMES),
        ("softmax", cr.softmax, SPREAD_EXTREMES),
        ("log_softmax", cr.log_softmax, SPREAD_EXTREMES),
        ("logsumexp", cr.logsumexp, SPREAD_EXTREMES),
    ],
)
def test_extreme_inputs_stay_finite_and_silent(name, function, values) -> None:
    x = cr.tensor(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any NumPy overflow warning fails the test
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            out = function(x)
            (out * np.linspace(-1, 1, out.size).reshape(out.shape)).sum().backward()
    assert np.all(np.isfinite(out.data)), f"{name} value {out.data}"
    assert np.all(np.isfinite(x.grad)), f"{name} gradient {x.grad}"


def test_extreme_values_are_right() -> None:
    x = cr.tensor([-1000.0, 1000.0], requires_grad=True)
    np.testing.assert_array_equal(cr.sigmoid(x).data, [0.0, 1.0])
    np.testing.assert_array_equal(cr.softplus(x).data, [0.0, 1000.0])
    np.testing.assert_allclose(cr.log_softmax(x).data, [-2000.0, 0.0])
    assert cr.logsumexp(x).item() == 1000.0
    cr.softplus(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])  # d/dx softplus = σ(x)


def test_sigmoid_keeps_precision_for_very_negative_inputs() -> None:
    # 1 − 1/(1 + e^(−x)) would round σ(−40) to 0; the stable form keeps e^(−40).
    assert cr.sigmoid(cr.tensor(-40.0)).item() == pytest.approx(np.exp(-40.0), rel=1e-15)
