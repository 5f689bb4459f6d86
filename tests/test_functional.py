"""grad and value_and_grad, JAX-style."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_grad_of_a_function_of_arrays() -> None:
    def f(w, x):
        return cr.squared_norm(cr.tanh(x @ w))

    w0 = np.array([[0.5, -1.0], [2.0, 0.1], [0.3, 0.3]])
    x0 = np.array([1.0, -2.0, 0.5])
    dw = cr.grad(f)(w0, x0)
    assert isinstance(dw, np.ndarray) and dw.shape == (3, 2)
    t = np.tanh(x0 @ w0)
    np.testing.assert_allclose(dw, np.outer(x0, 2 * t * (1 - t * t)), rtol=1e-14)


def test_value_and_grad_with_several_argnums() -> None:
    value, (dx, dy) = cr.value_and_grad(lambda x, y: (x * y * y).sum(), argnums=(0, 1))([1.0, 2.0], [3.0, 4.0])
    assert value == 1 * 9 + 2 * 16
    np.testing.assert_array_equal(dx, [9.0, 16.0])
    np.testing.assert_array_equal(dy, [6.0, 16.0])


def test_grad_leaves_the_callers_tensors_alone_and_works_under_no_grad() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        g = cr.grad(lambda v: (v**2).sum())(w)
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert w.grad is None


def test_grad_of_an_unused_argument_is_zero() -> None:
    dy = cr.grad(lambda x, y: cr.sum(x) * 2, argnums=1)([1.0], [[5.0, 6.0]])
    np.testing.assert_array_equal(dy, [[0.0, 0.0]])


def test_integer_inputs_are_differentiated_as_floats() -> None:
    assert cr.grad(lambda x: x**3)(2) == 12.0


def test_grad_errors_are_clear() -> None:
    def not_scalar(x):
        return x * 2

    with pytest.raises(cr.GraphError, match=r"grad: not_scalar must return a scalar; it returned shape \(2,\)"):
        cr.grad(not_scalar)([1.0, 2.0])
    with pytest.raises(cr.GraphError, match="must return a scalar chainrule tensor .* it returned float"):
        cr.grad(lambda x: 3.0)([1.0])
    with pytest.raises(IndexError, match="argnums 2 is out of range for 1 positional arguments"):
        cr.grad(lambda x: x.sum(), argnums=2)([1.0])
