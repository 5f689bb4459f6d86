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
    """The loss at each step of both methods from w = 0, Newton's final weights, and the minimum itself."""

    newton: list[float]
    gradient_descent: list[float]
    newton_weights: np.ndarray
    learning_rate: float
    minimum: float


def minimum() -> float:
    """The loss at the minimum: Newton's method from w = 0 until the gradient is below 1e-12 (or 50 steps)."""
    features, signs = problem()

    def objective(w):
        return loss(w, features, signs)

    weights = np.zeros(features.shape[1])
    for _ in range(50):
        gradient = cr.grad(objective)(weights)
        if np.linalg.norm(gradient) < 1e-12:
            break
        weights = weights - np.linalg.solve(cr.hessian(objective)(weights), gradient)
    return objective(cr.tensor(weights)).item()


def run(steps: int = 8, descent_steps: int = 2000, learning_rate: float = 1.0) -> Runs:
    """``steps`` Newton steps and ``descent_steps`` gradient-descent steps, both from w = 0.

    Gradient descent stops early when its loss is no longer finite (a learning rate too large).
    """
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
    with np.errstate(over="ignore", invalid="ignore"):  # a divergence is reported by demo(), in words
        for step in range(descent_steps + 1):
            value, gradient = value_and_gradient(weights)
            descent.append(value)
            if not np.isfinite(value):
                break
            weights = weights - learning_rate * gradient
    lowest = min([minimum(), *newton])  # the lowest loss seen: differences below it are rounding (1e-17)
    return Runs(newton, descent, newton_weights, learning_rate, lowest)


def steps_to_reach(losses: list[float], minimum: float, tolerance: float) -> int | None:
    """The first step whose loss is within ``tolerance`` of ``minimum``, or None."""
    return next((step for step, value in enumerate(losses) if value - minimum <= tolerance), None)


def demo(steps: int = 8, learning_rate: float = 1.0) -> bool:
    """Print both convergence curves; True when Newton's method reached the minimum and gradient descent did not diverge."""
    features, signs = problem()
    report = gradgradcheck(lambda w: loss(w, features, signs), np.full(features.shape[1], 0.1))
    print(f"Hessian of the loss checked against finite differences of its gradient: {'ok' if report else 'FAILED'}")
    if not report:
        print(report)
        return False
    runs = run(steps, learning_rate=learning_rate)
    lowest = runs.minimum
    print(f"logistic regression, versicolor vs virginica: {len(signs)} flowers, 5 weights, ridge λ = {RIDGE:g}")
    print(f"minimum loss {lowest:.15f} (Newton's method run to a gradient below 1e-12)")
    print(
        f"{'step':>4}  {'Newton loss':>18}  {'− minimum':>9}  {f'GD loss (lr {learning_rate:g})':>18}  {'− minimum':>9}"
    )
    for step in range(steps + 1):
        newton = runs.newton[step]
        descent = runs.gradient_descent[step] if step < len(runs.gradient_descent) else float("nan")
        print(f"{step:>4}  {newton:>18.15f}  {newton - lowest:>9.2e}  {descent:>18.6g}  {descent - lowest:>9.2e}")
    if not np.isfinite(runs.gradient_descent[-1]) or runs.gradient_descent[-1] > runs.gradient_descent[0]:
        print(f"gradient descent diverged with lr {learning_rate:g}; lower --lr (1 converges)")
        return False
    newton_steps = steps_to_reach(runs.newton, lowest, 1e-10)
    descent_steps = steps_to_reach(runs.gradient_descent, lowest, 1e-10)
    newton_text = f"after {newton_steps} steps" if newton_steps is not None else f"not yet after {steps} steps"
    descent_text = (
        f"after {descent_steps} steps"
        if descent_steps is not None
        else (f"not yet after {len(runs.gradient_descent) - 1} steps")
    )
    print(f"within 1e-10 of the minimum: Newton {newton_text}, gradient descent {descent_text}")
    return newton_steps is not None
