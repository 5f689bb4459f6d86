"""chainrule.check: gradgradcheck and hand-written Hessians (check_gradient(..., hessian=))."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.check import check_gradient, gradgradcheck


def test_gradgradcheck_passes_on_a_network_of_built_in_ops(rng: np.random.Generator) -> None:
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    report = gradgradcheck(lambda x, w: cr.softplus(cr.tanh(x @ w) * x.sum()).sum(), x, w)
    assert report, str(report)
    assert str(report).startswith("gradgradcheck: passed")


class CubeWithConstantSlope(cr.Function):
    """d/dx x³ = 3x² (its vjp reads 3x² from the forward: right values, but no dependence on x)"""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, grad_out):
        return grad_out * 3 * self.x**2

    def vjp(self, grad_out, x):
        return grad_out * cr.tensor(3 * self.x**2)  # a constant: the second derivative is lost


class CubeWithWrongVjp(CubeWithConstantSlope):
    """d/dx x³ = 3x²"""

    def vjp(self, grad_out, x):
        return grad_out * 2 * x * x  # not what backward gives


def test_gradgradcheck_names_the_op_whose_double_backward_is_wrong(rng: np.random.Generator) -> None:
    x = rng.uniform(0.5, 1.5, size=3)
    report = gradgradcheck(lambda x: cr.exp(CubeWithConstantSlope.apply(x * 0.5)).sum(), x)
    assert not report
    assert "first op whose double backward disagrees with finite differences is cubewithconstantslope" in report.culprit
    # the first-order gradient is right all the same
    assert cr.check.gradcheck(lambda x: cr.exp(CubeWithConstantSlope.apply(x * 0.5)).sum(), x)


def test_gradgradcheck_names_an_op_whose_vjp_differs_from_its_backward(rng: np.random.Generator) -> None:
    report = gradgradcheck(lambda x: CubeWithWrongVjp.apply(x).sum(), rng.uniform(0.5, 1.5, size=2))
    assert not report
    assert (
        report.culprit
        == "op 1 of the graph, cubewithwrongvjp: its vjp gives values other than its backward for input 0"
    )


def test_a_hand_written_hessian_is_checked(rng: np.random.Generator) -> None:
    x0 = rng.normal(size=3)

    def f(x):
        return (x[0] * x[1] ** 2 + cr.exp(x[2]) * x[0]).sum()

    def hand_gradient(x):
        return np.array([x[1] ** 2 + np.exp(x[2]), 2 * x[0] * x[1], np.exp(x[2]) * x[0]])

    def hand_hessian(x):
        return np.array([[0, 2 * x[1], np.exp(x[2])], [2 * x[1], 2 * x[0], 0], [np.exp(x[2]), 0, np.exp(x[2]) * x[0]]])

    report = check_gradient(f, hand_gradient, x0, hessian=hand_hessian)
    assert report, str(report)
    assert [check.name for check in report.inputs] == ["Hessian of x", "x"]

    def halved_off_diagonal(x):
        h = hand_hessian(x)
        h[0, 1] /= 2  # forgot that ∂²/∂x0∂x1 of x0·x1² is 2·x1, and only in one place
        return h

    report = check_gradient(f, None, x0, hessian=halved_off_diagonal)
    assert not report
    (check,) = report.inputs
    assert check.worst_index == (0, 1)
    assert check.values["hand-written"] == x0[1] and check.values["autodiff"] == 2 * x0[1]
    assert any("not symmetric" in note for note in check.notes)
