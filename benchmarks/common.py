"""What every benchmark workload shares: the problem (data, initial weights) and a JAX helper.

Every implementation is a factory ``make(problem) -> step`` where ``step()`` performs one
training step (forward, backward, gradient-descent update) and returns ``(loss, gradients)``:
the loss before the update and the gradients it used, as NumPy values, so that the
implementations can be checked against each other before they are timed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Step = Callable[[], tuple[float, dict[str, np.ndarray]]]


@dataclass
class Problem:
    """Inputs, targets, initial parameters and learning rate shared by every implementation."""

    inputs: np.ndarray
    targets: np.ndarray | None
    params: dict[str, np.ndarray]
    lr: float

    def fresh_params(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.params.items()}


# --------------------------------------------------------------------------- problems
def three_matrix_problem(samples: int = 1000, seed: int = 0) -> Problem:
    from chainrule.examples import three_matrix as abc

    rng = np.random.default_rng(seed)
    inputs = rng.random((samples, 3)) if samples > 1 else abc.SEED_X.copy()
    return Problem(inputs, None, {"A": abc.SEED_A.copy(), "B": abc.SEED_B.copy(), "C": abc.SEED_C.copy()}, 0.01)


def iris_problem(hidden: int = 16, seed: int = 0) -> Problem:
    from chainrule import data

    iris = data.load_iris()
    inputs = data.Standardizer().fit(iris.features).transform(iris.features)
    rng = np.random.default_rng(seed)
    params = {
        "W0": rng.normal(0, 0.1, (hidden, 4)),
        "b0": rng.normal(0, 0.1, hidden),
        "W1": rng.normal(0, 0.1, (3, hidden)),
        "b1": rng.normal(0, 0.1, 3),
    }
    return Problem(inputs, iris.labels.copy(), params, 0.01)


def wide_mlp_problem(
    batch: int = 256, sizes: tuple[int, ...] = (784, 512, 512, 10), seed: int = 0, dtype: Any = np.float32
) -> Problem:
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        bound = 1 / np.sqrt(fan_in)
        params[f"W{layer}"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype)
        params[f"b{layer}"] = rng.uniform(-bound, bound, fan_out).astype(dtype)
    inputs = rng.normal(size=(batch, sizes[0])).astype(dtype)
    return Problem(inputs, rng.integers(0, sizes[-1], batch), params, 0.01)


def scalar_problem() -> Problem:
    from chainrule.examples import scalar_network as seed

    return Problem(np.array(seed.X), np.array(seed.Y), {f"w{i}": np.array(w) for i, w in enumerate(seed.W, 1)}, 0.1)


# --------------------------------------------------------------------------- shared
def _jax_stepper(loss_fn: Callable[[Any], Any], problem: Problem, lr: float) -> Step:
    import jax
    import jax.numpy as jnp

    @jax.jit
    def update(params):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss, grads

    state = {"params": {k: jnp.asarray(v) for k, v in problem.fresh_params().items()}}

    def step():
        state["params"], loss, grads = update(state["params"])
        return float(loss), grads

    return step


def chainrule_stepper(loss_fn: Callable[[], Any], params: dict[str, Any], lr: float, traced: bool = False) -> Step:
    """A training step as a user writes it: clear the gradients, ``loss_fn()``, backward (which a
    traced loss does itself), ``optim.SGD``'s update."""
    from chainrule import optim

    optimizer = optim.SGD(params.values(), lr=lr)

    def step():
        optimizer.zero_grad()
        loss = loss_fn()
        if not traced:
            loss.backward()
        optimizer.step()
        return loss.item(), {name: p.grad for name, p in params.items()}

    return step


def hand_update_stepper(loss_fn: Callable[[], Any], params: dict[str, Any], lr: float, traced: bool = False) -> Step:
    """The step as the README's tutorial writes it, without an optimizer: ``loss_fn()``, backward
    (which a traced loss does itself), ``w -= lr * w.grad`` inside ``cr.no_grad()``, then ``.grad``
    reset to None, so that the next backward makes fresh gradient arrays."""
    import chainrule as cr

    weights = list(params.values())

    def step():
        loss = loss_fn()
        if not traced:
            loss.backward()
        grads = {name: p.grad for name, p in params.items()}
        with cr.no_grad():
            for p in weights:
                p -= lr * p.grad
        for p in weights:
            p.grad = None
        return loss.item(), grads

    return step


def torch_stepper(loss_fn: Callable[[], Any], params: dict[str, Any], lr: float) -> Step:
    """The same step in PyTorch: backward, update without recording, then clear the gradients."""
    import torch

    def step():
        loss = loss_fn()
        loss.backward()
        with torch.no_grad():
            for p in params.values():
                p -= lr * p.grad
        grads = {name: p.grad for name, p in params.items()}
        for p in params.values():
            p.grad = None
        return loss.item(), grads

    return step


def chainrule_ways(
    build: Callable[[Problem], tuple[Callable[..., Any], dict[str, Any], tuple]],
    stepper: Callable[..., Step] = chainrule_stepper,
) -> tuple[Callable, Callable]:
    """The eager and the traced chainrule step of one model.

    ``build(problem)`` returns ``(loss_fn, params, args)``: the loss as a function of ``args``
    (the data), and the parameters it reads. ``stepper`` makes the step around the loss:
    ``chainrule_stepper`` (``optim.SGD``) or ``hand_update_stepper`` (the user's own update).
    """

    def eager(problem: Problem) -> Step:
        loss_fn, params, args = build(problem)
        return stepper(lambda: loss_fn(*args), params, problem.lr)

    def traced(problem: Problem) -> Step:
        import chainrule as cr

        loss_fn, params, args = build(problem)
        replay = cr.trace(loss_fn)
        return stepper(lambda: replay(*args), params, problem.lr, traced=True)

    return eager, traced


def hand_softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits, by hand in NumPy."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
    grad = exp / total
    grad[rows, labels] -= 1
    grad /= len(labels)
    return loss, grad
