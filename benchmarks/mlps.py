"""The Iris MLP and the wide float32 MLP, each written several ways."""

from __future__ import annotations


import numpy as np

from benchmarks.common import (
    Problem,
    Step,
    _jax_stepper,
    chainrule_ways,
    hand_softmax_cross_entropy,
    hand_update_stepper,
    torch_stepper,
)


# --------------------------------------------------------------------------- Iris MLP
def iris_model(problem: Problem) -> tuple:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    W0, b0, W1, b1 = params["W0"], params["b0"], params["W1"], params["b1"]

    def loss_fn(x, labels):
        return cr.cross_entropy(cr.linear(cr.softplus(cr.linear(x, W0, b0)), W1, b1), labels)

    return loss_fn, params, (cr.tensor(problem.inputs), problem.targets)


iris_chainrule, iris_traced = chainrule_ways(iris_model)
iris_user, iris_traced_user = chainrule_ways(iris_model, hand_update_stepper)


def iris_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()
    W0, b0, W1, b1 = params["W0"], params["b0"], params["W1"], params["b1"]
    x, labels, lr = problem.inputs, problem.targets, problem.lr
    rows = np.arange(len(labels))

    def step():
        z0 = x @ W0.T + b0
        h = np.maximum(z0, 0) + np.log1p(np.exp(-np.abs(z0)))  # softplus, stable
        z1 = h @ W1.T + b1
        loss, grad_z1 = hand_softmax_cross_entropy(z1, labels, rows)
        grad_w1, grad_b1 = grad_z1.T @ h, grad_z1.sum(axis=0)
        grad_z0 = (grad_z1 @ W1) / (1 + np.exp(-z0))  # softplus' = σ
        grad_w0, grad_b0 = grad_z0.T @ x, grad_z0.sum(axis=0)
        W0.__isub__(lr * grad_w0)
        b0.__isub__(lr * grad_b0)
        W1.__isub__(lr * grad_w1)
        b1.__isub__(lr * grad_b1)
        return loss, {"W0": grad_w0, "b0": grad_b0, "W1": grad_w1, "b1": grad_b1}

    return step


def iris_torch(problem: Problem) -> Step:
    import torch
    import torch.nn.functional as functional

    params = {k: torch.tensor(v, requires_grad=True) for k, v in problem.fresh_params().items()}
    x, labels, lr = torch.tensor(problem.inputs), torch.tensor(problem.targets), problem.lr

    def loss_fn():
        hidden = functional.softplus(functional.linear(x, params["W0"], params["b0"]))
        return functional.cross_entropy(functional.linear(hidden, params["W1"], params["b1"]), labels)

    return torch_stepper(loss_fn, params, lr)


def iris_jax(problem: Problem) -> Step:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x, labels = jnp.asarray(problem.inputs), jnp.asarray(problem.targets)

    def loss_fn(params):
        hidden = jax.nn.softplus(x @ params["W0"].T + params["b0"])
        logits = hidden @ params["W1"].T + params["b1"]
        log_probabilities = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_probabilities, labels[:, None], axis=1))

    return _jax_stepper(loss_fn, problem, problem.lr)


# --------------------------------------------------------------------------- wide MLP (float32)
def _layer_names(problem: Problem) -> list[tuple[str, str]]:
    return [(f"W{i}", f"b{i}") for i in range(len(problem.params) // 2)]


def wide_model(problem: Problem) -> tuple:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    layers = [(params[w], params[b]) for w, b in _layer_names(problem)]

    def loss_fn(x, labels):
        h = x
        for index, (weight, bias) in enumerate(layers):
            h = cr.linear(h, weight, bias)
            if index < len(layers) - 1:
                h = cr.relu(h)
        return cr.cross_entropy(h, labels)

    return loss_fn, params, (cr.tensor(problem.inputs), problem.targets)


wide_chainrule, wide_traced = chainrule_ways(wide_model)
wide_user, wide_traced_user = chainrule_ways(wide_model, hand_update_stepper)


def wide_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()
    layers = [(params[w], params[b]) for w, b in _layer_names(problem)]
    x, labels, lr = problem.inputs, problem.targets, np.float32(problem.lr)
    rows = np.arange(len(labels))

    def step():
        activations, masks = [x], []
        h = x
        for index, (weight, bias) in enumerate(layers):
            h = h @ weight.T
            h += bias
            if index < len(layers) - 1:
                mask = h > 0
                h *= mask
                masks.append(mask)
            activations.append(h)
        loss, grad = hand_softmax_cross_entropy(h, labels, rows)
        grads = {}
        for index in range(len(layers) - 1, -1, -1):
            weight, _ = layers[index]
            grads[f"W{index}"] = grad.T @ activations[index]
            grads[f"b{index}"] = grad.sum(axis=0)
            if index:
                grad = grad @ weight
                grad *= masks[index - 1]
        for index, (weight, bias) in enumerate(layers):
            weight -= lr * grads[f"W{index}"]
            bias -= lr * grads[f"b{index}"]
        return loss, grads

    return step


def wide_torch(problem: Problem) -> Step:
    import torch
    import torch.nn.functional as functional

    params = {k: torch.tensor(v, requires_grad=True) for k, v in problem.fresh_params().items()}
    layers = [(params[w], params[b]) for w, b in _layer_names(problem)]
    x, labels, lr = torch.tensor(problem.inputs), torch.tensor(problem.targets), problem.lr

    def loss_fn():
        h = x
        for index, (weight, bias) in enumerate(layers):
            h = functional.linear(h, weight, bias)
            if index < len(layers) - 1:
                h = torch.relu(h)
        return functional.cross_entropy(h, labels)

    return torch_stepper(loss_fn, params, lr)


def wide_jax(problem: Problem) -> Step:
    import jax
    import jax.numpy as jnp

    x, labels = jnp.asarray(problem.inputs), jnp.asarray(problem.targets)
    names = _layer_names(problem)

    def loss_fn(params):
        h = x
        for index, (w, b) in enumerate(names):
            h = h @ params[w].T + params[b]
            if index < len(names) - 1:
                h = jax.nn.relu(h)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(h), labels[:, None], axis=1))

    return _jax_stepper(loss_fn, problem, problem.lr)
