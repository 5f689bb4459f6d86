"""grad and value_and_grad, JAX-style."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError
from oracles import torch_hessian, torch_jvp


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


# --------------------------------------------------------------------------- higher order
def _torch_function(torch: Any):
    def f(x):
        return (torch.tanh(x[:-1] * x[1:]) * torch.exp(x).sum()).sum() + (x**3).sum() / 3

    return f


def _chainrule_function(x):
    return (cr.tanh(x[:-1] * x[1:]) * cr.exp(x).sum()).sum() + (x**3).sum() / 3


def test_grad_of_grad_composes_for_a_scalar_function() -> None:
    assert cr.grad(cr.grad(lambda x: x**3))(2.0) == 12.0
    assert cr.grad(cr.grad(cr.grad(lambda x: cr.exp(x * 2))))(0.5) == pytest.approx(8 * np.exp(1.0), rel=1e-15)


def test_grad_of_a_gradient_dotted_with_a_vector_is_the_hessian_times_it(torch: Any, rng: np.random.Generator) -> None:
    x0, v0 = rng.normal(size=4), rng.normal(size=4)
    hv = cr.grad(lambda x: cr.grad(_chainrule_function)(x) @ cr.tensor(v0))(x0)
    expected = torch_hessian(torch, _torch_function(torch), x0) @ v0
    np.testing.assert_allclose(hv, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cr.hvp(_chainrule_function, x0, v0), expected, rtol=1e-10, atol=1e-12)


def test_hessian_against_torch_and_finite_differences(torch: Any, rng: np.random.Generator) -> None:
    x0 = rng.normal(size=5)
    hessian = cr.hessian(_chainrule_function)(x0)
    expected = torch_hessian(torch, _torch_function(torch), x0)
    assert hessian.shape == (5, 5)
    np.testing.assert_allclose(hessian, expected, rtol=1e-10, atol=1e-12)
    gradient = cr.grad(_chainrule_function)
    eps = 1e-6
    columns = [(gradient(x0 + eps * e) - gradient(x0 - eps * e)) / (2 * eps) for e in np.eye(5)]
    np.testing.assert_allclose(hessian, np.stack(columns, axis=1), rtol=1e-6, atol=1e-7)


def test_hessian_of_a_matrix_argument_has_shape_x_shape_twice(torch: Any, rng: np.random.Generator) -> None:
    w0, x0 = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    hessian = cr.hessian(lambda w: cr.logsumexp(cr.tensor(x0) @ w, axis=1).sum(), argnums=0)(w0)
    expected = torch_hessian(torch, lambda w: torch.logsumexp(torch.tensor(x0) @ w, dim=1).sum(), w0)
    assert hessian.shape == (3, 2, 3, 2)
    np.testing.assert_allclose(hessian, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", [None, "forward", "reverse"])
def test_jacobian_in_either_mode_against_torch(mode: str | None, torch: Any, rng: np.random.Generator) -> None:
    w0 = rng.normal(size=(3, 4))

    def f(x):
        return cr.exp(x @ cr.tensor(w0)) * x.sum()

    x0 = rng.normal(size=(2, 3))
    jacobian = cr.jacobian(f, mode=mode)(x0)
    expected = torch.func.jacrev(lambda x: torch.exp(x @ torch.tensor(w0)) * x.sum())(torch.tensor(x0)).numpy()
    assert jacobian.shape == (2, 4, 2, 3)
    np.testing.assert_allclose(jacobian, expected, rtol=1e-12, atol=1e-14)


def test_jvp_and_vjp_against_torch(torch: Any, rng: np.random.Generator) -> None:
    x0, y0, tx, ty = rng.normal(size=3), rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(2, 3))

    def f(x, y):
        return cr.exp(x * y) - y / (1 + x * x)

    def torch_f(x, y):
        return torch.exp(x * y) - y / (1 + x * x)

    out, tangent = cr.jvp(f, (x0, y0), (tx, ty))
    np.testing.assert_allclose(out, f(cr.tensor(x0), cr.tensor(y0)).data, rtol=0)
    np.testing.assert_allclose(tangent, torch_jvp(torch, torch_f, [x0, y0], [tx, ty]), rtol=1e-12, atol=1e-14)
    out, vjp_fn = cr.vjp(f, x0, y0)
    cotangent = rng.normal(size=(2, 3))
    t_out, t_vjp_fn = torch.func.vjp(torch_f, torch.tensor(x0), torch.tensor(y0))
    for mine, theirs in zip(vjp_fn(cotangent), t_vjp_fn(torch.tensor(cotangent))):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-14)
    vjp_fn(cotangent)  # the graph is kept for more vectors


def test_higher_order_errors_are_one_line() -> None:
    with pytest.raises(ShapeError, match=r"hvp: v has shape \(3,\) but x has shape \(2,\)"):
        cr.hvp(lambda x: (x * x).sum(), [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ShapeError, match=r"jvp: a tangent of shape \(3,\) for an input of shape \(2,\)"):
        cr.jvp(lambda x: x * x, ([1.0, 2.0],), ([1.0, 2.0, 3.0],))
    with pytest.raises(TypeError, match=r"jvp: primals must be a tuple or list of arguments"):
        cr.jvp(lambda x: x * x, np.ones(2), (np.ones(2),))
    _, vjp_fn = cr.vjp(lambda x: x * x, [1.0, 2.0])
    with pytest.raises(ShapeError, match=r"vjp: the vector has shape \(3,\) but f's output has shape \(2,\)"):
        vjp_fn([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="jacobian: mode must be 'forward', 'reverse' or None"):
        cr.jacobian(lambda x: x, mode="sideways")
    with pytest.raises(TypeError, match="hessian: argnums must be one integer"):
        cr.hessian(lambda x: x, argnums=(0, 1))


def test_functions_that_do_not_depend_on_x_have_zero_derivatives() -> None:
    np.testing.assert_array_equal(cr.hessian(lambda x: x.sum() * 2)([1.0, 2.0]), np.zeros((2, 2)))
    np.testing.assert_array_equal(cr.jacobian(lambda x: cr.tensor([1.0, 2.0, 3.0]))([1.0, 2.0]), np.zeros((3, 2)))
    np.testing.assert_array_equal(cr.hvp(lambda x: x.sum(), [1.0, 2.0], [1.0, 1.0]), [0.0, 0.0])
