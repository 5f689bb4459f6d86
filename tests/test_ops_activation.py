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
# spread within the float range: every value finite (further apart, log_softmax is −inf, the exact value rounded)
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


def extreme_rows(dtype) -> list[list[float]]:
    """Finite inputs up to the largest float of ``dtype``, alone and further apart than the float range."""
    big, largest = (1e308, np.finfo(np.float64).max) if dtype == np.float64 else (3e38, np.finfo(np.float32).max)
    return [[big, -big], [-big, big, 0.0], [big, big], [-big, -big], [largest, -largest], [-big, 0.0], [big, 1.0]]


def check_silent_and_like_torch(ours, theirs, values: np.ndarray, torch) -> None:
    """ours(x) and its gradient: no warning or floating-point error, finite gradients, and the numbers PyTorch
    gives in float64 for the same values, rounded to the input's dtype (±inf only where the exact value is beyond
    the dtype's range)."""
    x = cr.tensor(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):  # underflow to 0 is the exact value rounded, never reported
            out = ours(x)
            weights = np.linspace(-1.0, 1.0, out.size).reshape(out.shape).astype(values.dtype)
            out.backward(weights)  # not Σ out·weights: that would add −inf and inf where log_softmax is −inf
    reference = torch.tensor(values.astype(np.float64), requires_grad=True)
    expected = theirs(reference)
    expected.backward(torch.tensor(weights.astype(np.float64)))
    with np.errstate(over="ignore"):  # a float64 value beyond float32's range rounds to ±inf
        expected_value = expected.detach().numpy().astype(values.dtype)
        expected_grad = reference.grad.numpy().astype(values.dtype)
    tolerance = 1e-12 if values.dtype == np.float64 else 1e-6
    assert out.dtype == values.dtype and x.grad.dtype == values.dtype
    np.testing.assert_allclose(out.data, expected_value, rtol=tolerance, atol=tolerance)
    assert np.all(np.isfinite(x.grad)), x.grad
    np.testing.assert_allclose(x.grad, expected_grad, rtol=tolerance, atol=tolerance)


STABLE_OPS = {
    "sigmoid": (cr.sigmoid, lambda x: x.sigmoid()),
    "softplus": (cr.softplus, lambda x: __import__("torch").nn.functional.softplus(x)),
    "tanh": (cr.tanh, lambda x: x.tanh()),
    "softmax": (cr.softmax, lambda x: x.softmax(dim=-1)),
    "log_softmax": (cr.log_softmax, lambda x: x.log_softmax(dim=-1)),
    "logsumexp": (lambda x: cr.logsumexp(x, axis=-1), lambda x: x.logsumexp(dim=-1)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stable_ops_are_silent_and_right_up_to_the_largest_float(dtype, torch) -> None:
    for ours, theirs in STABLE_OPS.values():
        for row in extreme_rows(dtype):
            check_silent_and_like_torch(ours, theirs, np.array(row, dtype), torch)
        check_silent_and_like_torch(ours, theirs, np.array(extreme_rows(dtype)[1] * 2, dtype).reshape(2, 3), torch)


def test_the_softmax_family_of_an_empty_tensor_is_empty(torch) -> None:
    for function, torch_function in [(cr.softmax, torch.softmax), (cr.log_softmax, torch.log_softmax)]:
        x = cr.tensor(np.ones((3, 0)), requires_grad=True)
        out = function(x, axis=1)
        assert out.shape == (3, 0) and torch_function(torch.ones(3, 0), 1).shape == (3, 0)
        out.sum().backward()
        assert x.grad.shape == (3, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("shape", [(3, 4), (2, 128), (3, 513), (4, 2, 256), (200, 100)])
def test_relu_of_special_values_is_numpys_maximum_with_zero_bit_for_bit(dtype, shape, torch) -> None:
    """relu(x) = max(x, 0) by every route (``positive_part``: against zeros of x's shape, a row of zeros, or the
    number 0): NaN stays NaN, −inf and negative numbers give +0 (−0 stays −0 in float16 only); the values are PyTorch's (up to the sign
    of relu(−0)), and so are the gradients where x is a number."""
    rng = np.random.default_rng(7)
    specials = np.array([-0.0, 0.0, -3.0, 3.0, -np.inf, np.inf, np.nan, 1e-30, -1e-30, 6e4, -6e4], dtype)
    values = rng.choice(specials, size=shape)
    values.reshape(-1)[: specials.size] = specials  # every special at least once
    for x_data in (values, values.transpose()):  # C-contiguous and not
        x = cr.tensor(x_data, requires_grad=True)
        out = cr.relu(x)
        expected = np.maximum(x_data, 0)
        assert out.dtype == dtype
        assert out.data.tobytes() == expected.tobytes()  # the same bits
        assert not np.signbit(out.data[x_data < 0]).any()  # relu(−3) = relu(−inf) = +0
        weights = rng.normal(size=x_data.shape).astype(dtype)
        out.backward(weights)
        reference = torch.tensor(x_data.astype(np.float64), requires_grad=True)
        torch.relu(reference).backward(torch.tensor(weights.astype(np.float64)))
        np.testing.assert_array_equal(out.data, torch.relu(reference).detach().numpy().astype(dtype))
        assert x.grad.tobytes() == (weights * (x_data > 0)).tobytes()
        number = ~np.isnan(x_data)  # at NaN PyTorch passes the gradient on, chainrule's mask x > 0 does not
        np.testing.assert_array_equal(x.grad[number], reference.grad.numpy().astype(dtype)[number])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(3, 4), (150, 16), (2, 300), (200, 100)])
def test_softplus_of_special_values_is_the_stable_formula_bit_for_bit(dtype, shape) -> None:
    """softplus(x) = log(1 + e^(−|x|)) + max(x, 0), whichever route ``positive_part`` takes for max(x, 0)."""
    rng = np.random.default_rng(3)
    specials = np.array([-0.0, 0.0, -3.0, 3.0, -np.inf, np.inf, np.nan, 1e-30, -1e30, 1e30, 80.0, -80.0], dtype)
    values = rng.choice(specials, size=shape) * rng.uniform(0.5, 2.0, size=shape).astype(dtype)
    for x_data in (values, values.transpose()):
        with np.errstate(invalid="ignore"):  # inf · a factor is inf, nan stays nan: nothing to warn about here
            expected = np.log1p(np.exp(-np.abs(x_data))) + np.maximum(x_data, 0)  # this order: NaN's sign too
        assert cr.softplus(cr.tensor(x_data)).data.tobytes() == expected.tobytes()
