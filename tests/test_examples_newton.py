"""chainrule demo newton: Newton's method with cr.hessian against gradient descent, and its numbers checked."""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
from chainrule.cli import main
from chainrule.examples import newton


def test_newtons_method_converges_quadratically_and_gradient_descent_does_not() -> None:
    runs = newton.run(steps=8, descent_steps=50)
    errors = [value - runs.minimum for value in runs.newton]
    assert errors[-1] <= 1e-15 and errors[6] < 1e-5
    for before, after in zip(errors[4:7], errors[5:8]):  # near the minimum the error is about squared each step
        assert after < 50 * before**2  # (a linear rate would leave 1e-6 after 1.9e-4)
    assert runs.gradient_descent[8] - runs.minimum > 0.1  # first-order steps are far behind after 8 steps
    features, signs = newton.problem()
    gradient = cr.grad(lambda w: newton.loss(w, features, signs))(runs.newton_weights)
    assert np.linalg.norm(gradient) < 1e-9  # (0.64 at w = 0)


def test_the_hessian_it_uses_matches_torch(torch: Any) -> None:
    features, signs = newton.problem()
    w0 = np.linspace(-0.5, 0.5, features.shape[1])
    mine = cr.hessian(lambda w: newton.loss(w, features, signs))(w0)

    def torch_loss(w):
        margins = (torch.tensor(features) @ w) * torch.tensor(signs)
        return torch.nn.functional.softplus(-margins).mean() + newton.RIDGE / 2 * (w * w).sum()

    x = torch.tensor(w0)
    expected = torch.autograd.functional.hessian(torch_loss, x).numpy()
    np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-15)


def test_demo_newton_prints_both_curves(capsys) -> None:
    assert main(["demo", "newton", "--steps", "4"]) == 1  # after 4 steps Newton is not at the minimum yet
    out = capsys.readouterr().out
    assert "Hessian of the loss checked against finite differences of its gradient: ok" in out
    assert "Newton loss" in out and "GD loss (lr 1)" in out
    assert main(["demo", "newton"]) == 0
    out = capsys.readouterr().out
    assert "within 1e-10 of the minimum: Newton after 7 steps" in out
