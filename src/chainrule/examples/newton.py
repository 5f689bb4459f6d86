"""Newton's method against gradient descent: logistic regression on two Iris species.

Versicolor against virginica (100 flowers, 4 standardised measurements and a bias), the
mean logistic loss plus a small ridge term λ/2‖w‖² so that the minimum is unique:

    L(w) = mean log(1 + exp(−sᵢ xᵢ·w)) + λ/2 ‖w‖²,   sᵢ = ±1.

Gradient descent steps w ← w − η ∇L(w). Newton's method steps w ← w − H⁻¹ ∇L(w), with the
Hessian H = ∇²L(w) from ``cr.hessian`` (the derivative of the recorded backward pass), and
converges quadratically near the minimum: the number of correct digits doubles each step.
``chainrule demo newton`` prints both curves; the Hessian is checked against finite
differences of the gradient (``gradgradcheck``) before the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import chainrule as cr
from chainrule import data
from chainrule.check import gradgradcheck

RIDGE = 1e-3


def problem() -> tuple[np.ndarray, np.ndarray]:
    """Versicolor (−1) and virginica (+1): standardised features with a bias column, and the signs."""
    iris = data.load_iris()
    keep = iris.labels > 0
    features = iris.features[keep]
    features = (features - features.mean(axis=0)) / features.std(axis=0)
    signs = np.where(iris.labels[keep] == 2, 1.0, -1.0)
    return np.concatenate([features, np.ones((len(features), 1))], axis=1), signs


def loss(weights: cr.Tensor, features: np.ndarray, signs: np.ndarray) -> cr.Tensor:
    """mean log(1 + exp(−s x·w)) + λ/2 ‖w‖², with softplus for a loss that stays finite."""
    margins = (cr.tensor(features) @ weights) * cr.tensor(signs)
    return cr.softplus(-margins).mean() + RIDGE / 2 * (weights * weights).sum()


@dataclass
class Runs:
    """The loss at each step of both methods from w = 0, and Newton's final weights."""

    newton: list[float]
    gradient_descent: list[float]
    newton_weights: np.ndarray
    learning_rate: float

    @property
    def minimum(self) -> float:
        return min(self.newton + self.gradient_descent)


def run(steps: int = 8, descent_steps: int = 2000, learning_rate: float = 1.0) -> Runs:
    """``steps`` Newton steps and ``descent_steps`` gradient-descent steps, both from w = 0."""
    features, signs = problem()

    def objective(w):
        return loss(w, features, signs)

    value_and_gradient = cr.value_and_grad(objective)
    hessian = cr.hessian(objective)
    weights = np.zeros(features.shape[1])
    newton = []
    for step in range(steps + 1):
        value, gradient = value_and_gradient(weights)
        newton.append(value)
        if step < steps:
            weights = weights - np.linalg.solve(hessian(weights), gradient)
    newton_weights = weights
    descent = []
    weights = np.zeros(features.shape[1])
    for step in range(descent_steps + 1):
        value, gradient = value_and_gradient(weights)
        descent.append(value)
        weights = weights - learning_rate * gradient
    return Runs(newton, descent, newton_weights, learning_rate)


def steps_to_reach(losses: list[float], minimum: float, tolerance: float) -> int | None:
    """The first step whose loss is within ``tolerance`` of ``minimum``, or None."""
    return next((step for step, value in enumerate(losses) if value - minimum <= tolerance), None)


def demo(steps: int = 8, learning_rate: float = 1.0) -> float:
    """Print both convergence curves; returns the norm of the gradient at Newton's last iterate (0 at the minimum)."""
    features, signs = problem()
    report = gradgradcheck(lambda w: loss(w, features, signs), np.full(features.shape[1], 0.1))
    print(f"Hessian of the loss checked against finite differences of its gradient: {'ok' if report else 'FAILED'}")
    runs = run(steps, learning_rate=learning_rate)
    minimum = runs.minimum
    print(f"logistic regression, versicolor vs virginica: {len(signs)} flowers, 5 weights, ridge λ = {RIDGE:g}")
    print(
        f"{'step':>4}  {'Newton loss':>18}  {'− minimum':>9}  {f'GD loss (lr {learning_rate:g})':>18}  {'− minimum':>9}"
    )
    for step in range(steps + 1):
        newton, descent = runs.newton[step], runs.gradient_descent[step]
        print(f"{step:>4}  {newton:>18.15f}  {newton - minimum:>9.2e}  {descent:>18.15f}  {descent - minimum:>9.2e}")
    newton_steps = steps_to_reach(runs.newton, minimum, 1e-10)
    descent_steps = steps_to_reach(runs.gradient_descent, minimum, 1e-10)
    descent_text = (
        f"{descent_steps} steps" if descent_steps is not None else f"more than {len(runs.gradient_descent) - 1}"
    )
    print(f"within 1e-10 of the minimum: Newton after {newton_steps} steps, gradient descent after {descent_text}")
    if not report:
        print(report)
        return float("inf")
    gradient = cr.grad(lambda w: loss(w, features, signs))(runs.newton_weights)
    return float(np.linalg.norm(gradient))
