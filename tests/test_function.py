"""User-defined ops join graphs exactly like the built-in ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import numerical_gradient
from oracles import relative_error


class ScaledSoftplus(cr.Function):
    """d/dx (s · softplus(x)) = s · σ(x), s a constant option"""

    def forward(self, x, scale):
        self.x, self.scale = x, scale
        return scale * np.logaddexp(0, x)

    def backward(self, grad_out):
        return grad_out * self.scale / (1 + np.exp(-self.x))


class BroadcastingProduct(cr.Function):
    """d/da (a·b) = b, d/db (a·b) = a — returns broadcast-shaped gradients on purpose"""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad_out):
        return grad_out * self.b, grad_out * self.a


def test_custom_op_gradient_matches_finite_differences(rng) -> None:
    x0 = rng.normal(size=(3, 4))
    x = cr.tensor(x0, requires_grad=True)
    (ScaledSoftplus.apply(x, scale=2.5) * x).sum().backward()
    (numeric,) = numerical_gradient(lambda t: (ScaledSoftplus.apply(t, scale=2.5) * t).sum(), x0)
    assert relative_error(x.grad, numeric) < 1e-8
    assert ScaledSoftplus.name == "scaledsoftplus"


def test_engine_reduces_broadcast_gradients_of_custom_ops(rng) -> None:
    a = cr.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    b = cr.tensor(rng.normal(size=(3,)), requires_grad=True)
    BroadcastingProduct.apply(a, b).sum().backward()
    np.testing.assert_allclose(b.grad, a.data.sum(axis=0))
    np.testing.assert_allclose(a.grad, np.broadcast_to(b.data, (2, 3)))


def test_a_backward_of_the_wrong_shape_is_reported_with_the_op_name() -> None:
    class Broken(cr.Function):
        def forward(self, x):
            return x * 2

        def backward(self, grad_out):
            return np.ones(7)

    x = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(cr.ShapeError, match=r"broken: backward returned a gradient of shape \(7,\)"):
        Broken.apply(x).sum().backward()


def test_a_function_without_forward_says_so() -> None:
    class Empty(cr.Function):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        Empty.apply(cr.tensor(1.0))


def test_needs_input_grad_lets_an_op_skip_work() -> None:
    seen = []

    class Spy(cr.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad_out):
            seen.append(self.needs_input_grad)
            return grad_out, None

    a = cr.tensor([1.0], requires_grad=True)
    Spy.apply(a, cr.tensor([2.0])).sum().backward()
    assert seen == [(True, False)]
    np.testing.assert_array_equal(a.grad, [1.0])


def test_a_backward_with_the_wrong_number_of_gradients_is_reported() -> None:
    class OneForTwo(cr.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, grad_out):
            return grad_out  # forgot the second input

    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match="onefortwo: backward returned 1 gradient for 2 inputs"):
        OneForTwo.apply(a, b).sum().backward()
    with pytest.raises(cr.GraphError, match="onefortwo: backward returned 1 gradient for 2 inputs"):
        cr.trace(lambda x: OneForTwo.apply(x, b).sum())(a)


def test_a_backward_may_return_plain_numbers() -> None:
    class Triple(cr.Function):
        def forward(self, x):
            return x * 3

        def backward(self, grad_out):
            return float(grad_out) * 3  # a Python number, not an array

    x = cr.tensor(2.0, requires_grad=True)
    Triple.apply(x).backward()
    assert x.grad == 3.0 and isinstance(x.grad, np.ndarray)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda x: x + "a", "add: input 'a' (str) is not numbers"),
        (lambda x: "a" * x, "mul: input 'a' (str) is not numbers"),
        (lambda x: cr.add(x, None), "add: input None (NoneType) is not numbers"),
        (lambda x: cr.sigmoid({"w": 1}), "sigmoid: input {'w': 1} (dict) is not numbers"),
        (lambda x: x + [[1.0], [2.0, 3.0]], "add: input [[1.0], [2.0, 3.0]] (list) is not a rectangular array"),
        (lambda x: x + np.array(["a", "b"]), "add: input array(['a', 'b'], dtype='<U1') (ndarray) is not numbers"),
        (lambda x: x * 1j, "mul: input 1j is complex; chainrule tensors hold real numbers"),
        (lambda x: x * np.array([1j, 2.0]), "mul: input array([0.+1.j, 2.+0.j]) is complex"),
    ],
)
def test_inputs_that_are_not_real_numbers_are_named_with_the_op(make, message) -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning and no nan on the way
        with pytest.raises(cr.DTypeError) as error:
            make(x)
    assert str(error.value).startswith(message)


def test_numbers_lists_and_arrays_still_mix_with_tensors() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = (x + [1, 2]) * np.array([True, False]) + np.array([3, 4]) - np.float32(0.5)
    np.testing.assert_array_equal(out.data, [4.5, 3.5])
    assert out.dtype == np.float64


def test_a_user_ops_own_value_error_keeps_its_message() -> None:
    class Checked(cr.Function):
        def forward(self, x):  # type: ignore[no-untyped-def]
            if (x < 0).any():
                raise ValueError("checked: needs x ≥ 0, got a negative element")
            return x

        def backward(self, grad_out):  # type: ignore[no-untyped-def]
            return grad_out

    with pytest.raises(ValueError, match=r"^checked: needs x ≥ 0, got a negative element$") as error:
        Checked.apply(cr.tensor([-1.0], requires_grad=True))
    assert not isinstance(error.value, cr.ShapeError)
