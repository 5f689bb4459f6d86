"""The single-layer network of the delta-rule question: which weight update is right?

One layer, inputs x with a bias column appended, net = [x, 1] W, output z = f(net) with f the
sigmoid, error e = t − z, sensitivity δ = e ⊙ f′(net), loss L = ½‖t − z‖². Then

    ∂L/∂W = −[x, 1]ᵀ δ,   so the gradient-descent update is ΔW = η [x, 1]ᵀ δ,

the inputs (with the bias column) times the sensitivities. The guide's
``kronecker(transpose(outputs), delta)`` multiplies the *outputs* instead: it has the wrong
shape, and it would have the wrong values even where the shape happened to fit.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import chainrule as cr

INPUTS = 3
OUTPUTS = 2


def example(seed: int = 0, samples: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random input batch (samples × 3), targets (samples × 2) and weights (3 + 1 bias) × 2."""
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(samples, INPUTS)),
        rng.uniform(size=(samples, OUTPUTS)),
        rng.normal(size=(INPUTS + 1, OUTPUTS)),
    )


def with_bias(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def loss(weights: cr.Tensor, x: np.ndarray, target: np.ndarray) -> cr.Tensor:
    """L = ½‖t − σ([x, 1] W)‖², summed over the samples."""
    z = cr.sigmoid(with_bias(x) @ weights)
    return 0.5 * cr.squared_norm(target - z)


def hand_update_terms(weights: np.ndarray, x: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """The quantities of the question, computed by hand: outputs, δ, and both candidate updates."""
    net = with_bias(x) @ weights
    z = 1 / (1 + np.exp(-net))
    delta = (target - z) * z * (1 - z)
    return {
        "outputs": z,
        "delta": delta,
        "inputs_times_delta": with_bias(x).T @ delta,  # [x, 1]ᵀ δ
        "kronecker_of_outputs": np.kron(z.T, delta),  # the guide's formula
    }


def demo(seed: int = 0, echo: Callable[[str], None] = print) -> float:
    """Print the comparison; returns max |−∂L/∂W − [x, 1]ᵀ δ| (zero up to rounding)."""
    x, target, weights0 = example(seed)
    weights = cr.tensor(weights0, requires_grad=True, name="W")
    loss(weights, x, target).backward()
    terms = hand_update_terms(weights0, x, target)
    difference = float(np.max(np.abs(-weights.grad - terms["inputs_times_delta"])))
    with np.printoptions(precision=6, suppress=True):
        echo("Single layer: net = [x, 1] W, z = σ(net), L = ½‖t − z‖², δ = (t − z) ⊙ σ′(net)")
        echo(f"x = {x[0]},  t = {target[0]},  W has shape {weights0.shape} (3 inputs + bias → 2 outputs)\n")
        echo(f"−∂L/∂W from chainrule's backward():\n{-weights.grad}\n")
        echo(f"[x, 1]ᵀ δ (inputs with the bias column, times the sensitivities):\n{terms['inputs_times_delta']}")
        echo(f"largest difference: {difference:.3g}  → the update is ΔW = η [x, 1]ᵀ δ\n")
        kron = terms["kronecker_of_outputs"]
        echo(f"kronecker(transpose(outputs), δ) has shape {kron.shape}:\n{kron}")
        echo(
            f"it cannot update W of shape {weights0.shape}: the update of W[j, k] is input j times δ[k],"
            " and the outputs z are not the inputs of this layer."
        )

    X, T, _ = example(seed + 1, samples=5)
    batch = cr.tensor(weights0, requires_grad=True)
    loss(batch, X, T).backward()
    batch_terms = hand_update_terms(weights0, X, T)
    batch_difference = float(np.max(np.abs(-batch.grad - batch_terms["inputs_times_delta"])))
    echo(
        f"\nFor a batch of 5 samples, [X, 1]ᵀ Δ sums the per-sample updates: largest difference {batch_difference:.3g}"
    )
    return max(difference, batch_difference)
