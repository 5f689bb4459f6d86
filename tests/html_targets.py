"""Targets for the HTML page's tests: the three-matrix network of the seeds on a batch, with a broadcast bias.

    y = XA + b,  u = σ(y),  v = XB,  z = u + v,  w = zC,  L = Σ(w · w) / 4

X holds four samples (rows); the bias b of shape (3,) is broadcast over them, so its gradient
is ∂L/∂y summed over axis 0; w is used twice by w · w, so ∂L/∂w is the sum of two contributions.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.examples import three_matrix as seed

X = np.vstack([seed.SEED_X, seed.SEED_X[::-1], 1 - seed.SEED_X, seed.SEED_X / 2])
BIAS = np.array([0.1, -0.2, 0.3])


def network() -> tuple[cr.Tensor, dict[str, cr.Tensor]]:
    """The loss and the named tensors of the network."""
    A, B, C = (cr.tensor(m, requires_grad=True, name=n) for n, m in zip("ABC", (seed.SEED_A, seed.SEED_B, seed.SEED_C)))
    b = cr.tensor(BIAS, requires_grad=True, name="b")
    x = cr.tensor(X, name="X")
    y = (x @ A + b).named("y")
    u = cr.sigmoid(y).named("u")
    z = (u + (x @ B).named("v")).named("z")
    w = (z @ C).named("w")
    loss = ((w * w).sum() / 4).named("L")
    return loss, {"A": A, "B": B, "C": C, "b": b, "X": x, "y": y, "w": w}


def three_matrix_batch() -> cr.Tensor:
    """The loss alone (``chainrule explain tests/html_targets.py:three_matrix_batch``)."""
    return network()[0]


class WrongSigmoid(cr.Function):
    """d/dx σ(x) = σ(x)(1 − σ(x)), written wrongly in backward as σ(x)"""

    template = "σ({0})"

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, grad_out):
        return grad_out * self.out


def wrong_network(w1=-1.7, w2=0.1) -> cr.Tensor:  # noqa: ANN001
    """h = σ(x₁w₁ + x₂w₂) with a wrong sigmoid, L = (h − 0.5)²: gradcheck fails and names the sigmoid."""
    w1, w2 = (
        value.named(name) if isinstance(value, cr.Tensor) else cr.tensor(value, requires_grad=True, name=name)
        for name, value in (("w1", w1), ("w2", w2))
    )
    s = (cr.tensor(-0.7, name="x1") * w1 + cr.tensor(1.2, name="x2") * w2).named("s")
    h = WrongSigmoid.apply(s).named("h")
    return ((h - 0.5) ** 2).named("L")
