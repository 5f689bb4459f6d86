"""The three-matrix network and the scalar network of the seeds, each written several ways."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from benchmarks.common import Problem, Step, _jax_stepper, chainrule_ways, hand_update_stepper, torch_stepper


# --------------------------------------------------------------------------- three-matrix network
def three_matrix_model(problem: Problem) -> tuple:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    A, B, C = params["A"], params["B"], params["C"]

    def loss_fn(x):
        w = (cr.sigmoid(x @ A) + x @ B) @ C
        return cr.squared_norm(w) / w.shape[0] if w.ndim == 2 else cr.squared_norm(w)

    return loss_fn, params, (cr.tensor(problem.inputs),)


three_matrix_chainrule, three_matrix_traced = chainrule_ways(three_matrix_model)


def three_matrix_user_model(problem: Problem) -> tuple:
    """The same network with the loss as a user writes it: ``(w * w).sum()`` instead of ``cr.squared_norm(w)``."""
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    A, B, C = params["A"], params["B"], params["C"]

    def loss_fn(x):
        w = (cr.sigmoid(x @ A) + x @ B) @ C
        return (w * w).sum() / w.shape[0] if w.ndim == 2 else (w * w).sum()

    return loss_fn, params, (cr.tensor(problem.inputs),)


three_matrix_user, three_matrix_traced_user = chainrule_ways(three_matrix_user_model, hand_update_stepper)


def three_matrix_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()
    A, B, C, x, lr = params["A"], params["B"], params["C"], problem.inputs, problem.lr
    batch = x.ndim == 2
    xt = x.T if batch else x[:, None]
    scale = 2 / len(x) if batch else 2.0

    def step():
        y = x @ A
        u = 1 / (1 + np.exp(-y))
        z = u + x @ B
        w = z @ C
        loss = float(np.sum(w * w)) * (scale / 2)
        grad_w = scale * w
        grad_z = grad_w @ C.T
        if batch:
            grad_c, grad_b, grad_a = z.T @ grad_w, xt @ grad_z, xt @ (grad_z * u * (1 - u))
        else:
            grad_c, grad_b, grad_a = np.outer(z, grad_w), np.outer(x, grad_z), np.outer(x, grad_z * u * (1 - u))
        A.__isub__(lr * grad_a)
        B.__isub__(lr * grad_b)
        C.__isub__(lr * grad_c)
        return loss, {"A": grad_a, "B": grad_b, "C": grad_c}

    return step


def three_matrix_torch(problem: Problem) -> Step:
    import torch

    params = {k: torch.tensor(v, requires_grad=True) for k, v in problem.fresh_params().items()}
    A, B, C, lr = params["A"], params["B"], params["C"], problem.lr
    x = torch.tensor(problem.inputs)
    batch = x.ndim == 2

    def loss_fn():
        w = (torch.sigmoid(x @ A) + x @ B) @ C
        return (w * w).sum() / w.shape[0] if batch else (w * w).sum()

    return torch_stepper(loss_fn, params, lr)


def three_matrix_jax(problem: Problem) -> Step:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x, lr, batch = jnp.asarray(problem.inputs), problem.lr, problem.inputs.ndim == 2

    def loss_fn(params):
        w = (jax.nn.sigmoid(x @ params["A"]) + x @ params["B"]) @ params["C"]
        return jnp.sum(w * w) / (w.shape[0] if batch else 1)

    return _jax_stepper(loss_fn, problem, lr)


# --------------------------------------------------------------------------- scalar network
def scalar_model(problem: Problem) -> tuple:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    x1, x2, x3, x4 = (cr.tensor(v) for v in problem.inputs)
    w1, w2, w3, w4, w5, w6 = params.values()
    y = float(problem.targets)

    def loss_fn():
        h1 = cr.sigmoid(x1 * w1 + x2 * w2)
        h2 = cr.sigmoid(x3 * w3 + x4 * w4)
        return (cr.sigmoid(h1 * w5 + h2 * w6) - y) ** 2

    return loss_fn, params, ()


scalar_chainrule, scalar_traced = chainrule_ways(scalar_model)
scalar_user, scalar_traced_user = chainrule_ways(scalar_model, hand_update_stepper)


def scalar_hand_gradients(
    weights: Sequence[Any], inputs: Sequence[Any], y: float, exp: Callable[[Any], Any]
) -> tuple[Any, tuple[Any, ...]]:
    """The loss and the six weights' gradients, derived by hand; ``exp`` is ``np.exp`` (on 0-d arrays and
    NumPy scalars) or ``math.exp`` (on Python floats, ``pure_python.scalar_python``)."""
    w1, w2, w3, w4, w5, w6 = weights
    x1, x2, x3, x4 = inputs
    h1 = 1 / (1 + exp(-(x1 * w1 + x2 * w2)))
    h2 = 1 / (1 + exp(-(x3 * w3 + x4 * w4)))
    yhat = 1 / (1 + exp(-(h1 * w5 + h2 * w6)))
    loss = (yhat - y) ** 2
    grad_s3 = 2 * (yhat - y) * yhat * (1 - yhat)
    grad_s1 = grad_s3 * w5 * h1 * (1 - h1)
    grad_s2 = grad_s3 * w6 * h2 * (1 - h2)
    return loss, (grad_s1 * x1, grad_s1 * x2, grad_s2 * x3, grad_s2 * x4, grad_s3 * h1, grad_s3 * h2)


def scalar_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()  # 0-d float64 arrays, updated in place
    names, weights, inputs = list(params), tuple(params.values()), tuple(problem.inputs)
    y, lr = float(problem.targets), problem.lr

    def step():
        loss, grads = scalar_hand_gradients(weights, inputs, y, np.exp)
        for value, grad in zip(weights, grads):
            value -= lr * grad
        return float(loss), dict(zip(names, grads))

    return step


def scalar_torch(problem: Problem) -> Step:
    import torch

    params = {k: torch.tensor(v, requires_grad=True) for k, v in problem.fresh_params().items()}
    w1, w2, w3, w4, w5, w6 = params.values()
    x1, x2, x3, x4 = (torch.tensor(v) for v in problem.inputs)
    y, lr = float(problem.targets), problem.lr

    def loss_fn():
        h1 = torch.sigmoid(x1 * w1 + x2 * w2)
        h2 = torch.sigmoid(x3 * w3 + x4 * w4)
        return (torch.sigmoid(h1 * w5 + h2 * w6) - y) ** 2

    return torch_stepper(loss_fn, params, lr)


def scalar_jax(problem: Problem) -> Step:
    import jax

    jax.config.update("jax_enable_x64", True)
    x1, x2, x3, x4 = (float(v) for v in problem.inputs)
    y = float(problem.targets)

    def loss_fn(p):
        h1 = jax.nn.sigmoid(x1 * p["w1"] + x2 * p["w2"])
        h2 = jax.nn.sigmoid(x3 * p["w3"] + x4 * p["w4"])
        return (jax.nn.sigmoid(h1 * p["w5"] + h2 * p["w6"]) - y) ** 2

    return _jax_stepper(loss_fn, problem, problem.lr)
