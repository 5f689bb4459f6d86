"""The scalar network of the hand-derivation seed, built from named scalar tensors.

    h₁ = σ(x₁w₁ + x₂w₂),  h₂ = σ(x₃w₃ + x₄w₄),  ŷ = σ(h₁w₅ + h₂w₆),  Div = (ŷ − y)²

with x = (−0.7, 1.2, 1.1, −2), w = (−1.7, 0.1, −0.6, −1.8, −0.2, 0.5) and y = 0.5. The report
derived ∂Div/∂w₁ = 0.0008989 by hand, step by step; ``chainrule explain seed-004`` writes out
the same derivation, for all six weights.
"""

from __future__ import annotations

import chainrule as cr

X = (-0.7, 1.2, 1.1, -2.0)
W = (-1.7, 0.1, -0.6, -1.8, -0.2, 0.5)
Y = 0.5

# The report's hand-computed values, as printed there (rounded).
SEED_VALUES = {"h1": 0.78751, "h2": 0.9498, "yhat": 0.57869, "Div": 0.006192, "s3": 0.317}
SEED_BACKWARD = {
    "dDiv/dyhat": 0.15738,
    "dDiv/ds3": 0.03837,
    "dDiv/dh1": -0.007674,
    "dDiv/ds1": -0.001284,
    "dDiv/dw1": 0.0008989,
}


def build(w: tuple = W) -> tuple[cr.Tensor, dict[str, cr.Tensor]]:
    """The divergence and every named tensor of the network (weights: numbers, or tensors to use as they are)."""
    x1, x2, x3, x4 = (cr.tensor(value, name=f"x{i}") for i, value in enumerate(X, start=1))
    w1, w2, w3, w4, w5, w6 = (
        value.named(f"w{i}") if isinstance(value, cr.Tensor) else cr.tensor(value, requires_grad=True, name=f"w{i}")
        for i, value in enumerate(w, start=1)
    )
    s1 = (x1 * w1 + x2 * w2).named("s1")
    h1 = cr.sigmoid(s1).named("h1")
    s2 = (x3 * w3 + x4 * w4).named("s2")
    h2 = cr.sigmoid(s2).named("h2")
    s3 = (h1 * w5 + h2 * w6).named("s3")
    yhat = cr.sigmoid(s3).named("yhat")
    divergence = ((yhat - cr.tensor(Y, name="y")) ** 2).named("Div")
    nodes = {t.name: t for t in (x1, x2, x3, x4, w1, w2, w3, w4, w5, w6, s1, h1, s2, h2, s3, yhat, divergence)}
    return divergence, nodes


def divergence(w1=W[0], w2=W[1], w3=W[2], w4=W[3], w5=W[4], w6=W[5]):  # noqa: ANN001, ANN201
    """Div as a function of the six weights, the report's by default (for ``chainrule explain/gradcheck``)."""
    return build((w1, w2, w3, w4, w5, w6))[0]
