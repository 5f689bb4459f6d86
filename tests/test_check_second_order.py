"""chainrule.check: gradgradcheck and hand-written Hessians (check_gradient(..., hessian=))."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_gradient, gradgradcheck, jvpcheck
from oracles import Cube


def test_gradgradcheck_passes_on_a_network_of_built_in_ops(rng: np.random.Generator) -> None:
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    report = gradgradcheck(lambda x, w: cr.softplus(cr.tanh(x @ w) * x.sum()).sum(), x, w)
    assert report, str(report)
    assert str(report).startswith("gradgradcheck: passed")


class CubeWithConstantSlope(Cube):
    """d/dx x³ = 3x² (its vjp reads 3x² from the forward: right values, but no dependence on x)"""

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


class WrongVjpAfterAReduction(Cube):
    """d/dx x³ = 3x² (a scalar op after a sum: its vjp is wrong, 2x² instead of 3x²)"""

    def vjp(self, grad_out, x):
        return grad_out * 2 * x * x


def test_gradgradcheck_names_a_wrong_op_that_follows_ops_of_other_shapes() -> None:
    for f in (
        lambda x: WrongVjpAfterAReduction.apply(x.sum()),
        lambda x: WrongVjpAfterAReduction.apply((x @ np.ones((3, 2)))[1]),
    ):
        report = gradgradcheck(f, np.array([0.5, 1.0, -0.3]))
        assert not report
        assert "wrongvjpafterareduction: its vjp gives values other than its backward" in report.culprit


def test_a_hand_written_hessian_of_the_wrong_shape_or_kind_is_said_plainly() -> None:
    def f(x):
        return (x**3).sum()

    report = check_gradient(f, None, np.ones(3), hessian=lambda x: np.zeros(9))
    assert "the hand-written Hessian has shape (9,); the Hessian of x of shape (3,) has shape (3, 3)" in str(report)
    with pytest.raises(TypeError, match="check_gradient: hessian must be a function of x"):
        check_gradient(f, None, np.ones(3), hessian=np.zeros((3, 3)))
    with pytest.raises(
        TypeError, match=r"check_gradient: hessian returned NoneType; return an array of shape \(3, 3\)"
    ):
        check_gradient(f, None, np.ones(3), hessian=lambda x: None)


class CubeWithWrongJvp(Cube):
    """d/dx x³ = 3x² (its jvp says 2x²: cr.jvp and forward-mode Jacobians would be wrong)"""

    def vjp(self, grad_out, x):
        return grad_out * 3 * x * x

    def jvp(self, tangents, x):
        return tangents[0] * 2 * x * x


def test_jvpcheck_passes_on_built_in_ops_and_names_a_wrong_jvp(rng: np.random.Generator) -> None:
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    assert jvpcheck(lambda x, w: cr.log_softmax(cr.tanh(x @ w) * x.sum(), axis=1).sum(), x, w)
    report = jvpcheck(lambda x: cr.exp(CubeWithWrongJvp.apply(x * 0.5)).sum(), rng.uniform(0.5, 1.5, size=3))
    assert not report and str(report).startswith("jvpcheck: FAILED")
    assert "first op whose jvp disagrees with its backward is cubewithwrongjvp (op 2 of the graph)" in report.culprit
    assert gradgradcheck(lambda x: cr.exp(CubeWithWrongJvp.apply(x * 0.5)).sum(), rng.uniform(0.5, 1.5, size=3))


def test_gradcheck_checks_a_gradient_penalty_that_differentiates_inside_f(torch) -> None:
    def penalty(w):
        (gradient,) = cr.autograd.grad(cr.softplus(w * w).sum(), w, create_graph=True)
        return (gradient * gradient).sum()

    w0 = np.array([0.3, -0.7])
    report = cr.check.gradcheck(penalty, w0)
    assert report, str(report)
    tw = torch.tensor(w0, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.softplus(tw * tw).sum(), tw, create_graph=True)
    (expected,) = torch.autograd.grad((tg * tg).sum(), tw)
    np.testing.assert_allclose(report.inputs[0].values["autodiff"], expected.numpy()[report.inputs[0].worst_index])
