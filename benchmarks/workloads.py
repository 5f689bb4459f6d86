"""The benchmark workloads, each written several ways over the same data and initial weights.

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
    params = {"W0": rng.normal(0, 0.1, (hidden, 4)), "b0": rng.normal(0, 0.1, hidden),
              "W1": rng.normal(0, 0.1, (3, hidden)), "b1": rng.normal(0, 0.1, 3)}
    return Problem(inputs, iris.labels.copy(), params, 0.01)


def wide_mlp_problem(batch: int = 256, sizes: tuple[int, ...] = (784, 512, 512, 10), seed: int = 0,
                     dtype: Any = np.float32) -> Problem:
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


# --------------------------------------------------------------------------- three-matrix network
def three_matrix_chainrule(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    x, lr = cr.tensor(problem.inputs), problem.lr
    A, B, C = params["A"], params["B"], params["C"]
    batch = x.ndim == 2

    def step():
        for p in (A, B, C):
            p.grad = None
        w = (cr.sigmoid(x @ A) + x @ B) @ C
        loss = cr.squared_norm(w) / w.shape[0] if batch else cr.squared_norm(w)
        loss.backward()
        for p in (A, B, C):
            p.data -= lr * p.grad
        return loss.item(), {"A": A.grad, "B": B.grad, "C": C.grad}

    return step


def three_matrix_traced(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    x, lr = problem.inputs, problem.lr
    A, B, C = params["A"], params["B"], params["C"]
    batch = x.ndim == 2

    def loss_fn(inputs):
        w = (cr.sigmoid(inputs @ A) + inputs @ B) @ C
        return cr.squared_norm(w) / w.shape[0] if batch else cr.squared_norm(w)

    traced = cr.trace(loss_fn)

    def step():
        for p in (A, B, C):
            p.grad = None
        loss = traced(x)
        for p in (A, B, C):
            p.data -= lr * p.grad
        return loss.item(), {"A": A.grad, "B": B.grad, "C": C.grad}

    return step


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

    def step():
        w = (torch.sigmoid(x @ A) + x @ B) @ C
        loss = (w * w).sum() / w.shape[0] if batch else (w * w).sum()
        loss.backward()
        with torch.no_grad():
            for p in (A, B, C):
                p -= lr * p.grad
        grads = {"A": A.grad, "B": B.grad, "C": C.grad}
        for p in (A, B, C):
            p.grad = None
        return loss.item(), grads

    return step


def three_matrix_jax(problem: Problem) -> Step:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x, lr, batch = jnp.asarray(problem.inputs), problem.lr, problem.inputs.ndim == 2

    def loss_fn(params):
        w = (jax.nn.sigmoid(x @ params["A"]) + x @ params["B"]) @ params["C"]
        return jnp.sum(w * w) / (w.shape[0] if batch else 1)

    return _jax_stepper(loss_fn, problem, lr)


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


# --------------------------------------------------------------------------- Iris MLP
def iris_chainrule(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    W0, b0, W1, b1 = params["W0"], params["b0"], params["W1"], params["b1"]
    x, labels, lr = cr.tensor(problem.inputs), problem.targets, problem.lr

    def step():
        for p in (W0, b0, W1, b1):
            p.grad = None
        loss = cr.cross_entropy(cr.linear(cr.softplus(cr.linear(x, W0, b0)), W1, b1), labels)
        loss.backward()
        for p in (W0, b0, W1, b1):
            p.data -= lr * p.grad
        return loss.item(), {name: p.grad for name, p in params.items()}

    return step


def iris_traced(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    W0, b0, W1, b1 = params["W0"], params["b0"], params["W1"], params["b1"]
    x, labels, lr = problem.inputs, problem.targets, problem.lr
    traced = cr.trace(lambda inputs, targets: cr.cross_entropy(cr.linear(cr.softplus(cr.linear(inputs, W0, b0)), W1, b1),
                                                               targets))

    def step():
        for p in (W0, b0, W1, b1):
            p.grad = None
        loss = traced(x, labels)
        for p in (W0, b0, W1, b1):
            p.data -= lr * p.grad
        return loss.item(), {name: p.grad for name, p in params.items()}

    return step


def iris_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()
    W0, b0, W1, b1 = params["W0"], params["b0"], params["W1"], params["b1"]
    x, labels, lr = problem.inputs, problem.targets, problem.lr
    rows = np.arange(len(labels))
    count = len(labels)

    def step():
        z0 = x @ W0.T + b0
        h = np.maximum(z0, 0) + np.log1p(np.exp(-np.abs(z0)))  # softplus, stable
        z1 = h @ W1.T + b1
        shifted = z1 - z1.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
        grad_z1 = exp / total
        grad_z1[rows, labels] -= 1
        grad_z1 /= count
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

    def step():
        hidden = functional.softplus(functional.linear(x, params["W0"], params["b0"]))
        loss = functional.cross_entropy(functional.linear(hidden, params["W1"], params["b1"]), labels)
        loss.backward()
        with torch.no_grad():
            for p in params.values():
                p -= lr * p.grad
        grads = {k: p.grad for k, p in params.items()}
        for p in params.values():
            p.grad = None
        return loss.item(), grads

    return step


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


def wide_chainrule(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    layers = [(params[w], params[b]) for w, b in _layer_names(problem)]
    x, labels, lr = cr.tensor(problem.inputs), problem.targets, problem.lr

    def step():
        for p in params.values():
            p.grad = None
        h = x
        for index, (weight, bias) in enumerate(layers):
            h = cr.linear(h, weight, bias)
            if index < len(layers) - 1:
                h = cr.relu(h)
        loss = cr.cross_entropy(h, labels)
        loss.backward()
        for p in params.values():
            p.data -= lr * p.grad
        return loss.item(), {name: p.grad for name, p in params.items()}

    return step


def wide_traced(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    layers = [(params[w], params[b]) for w, b in _layer_names(problem)]
    x, labels, lr = problem.inputs, problem.targets, problem.lr

    def loss_fn(inputs, targets):
        h = inputs
        for index, (weight, bias) in enumerate(layers):
            h = cr.linear(h, weight, bias)
            if index < len(layers) - 1:
                h = cr.relu(h)
        return cr.cross_entropy(h, targets)

    traced = cr.trace(loss_fn)

    def step():
        for p in params.values():
            p.grad = None
        loss = traced(x, labels)
        for p in params.values():
            p.data -= lr * p.grad
        return loss.item(), {name: p.grad for name, p in params.items()}

    return step


def wide_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()
    layers = [(params[w], params[b]) for w, b in _layer_names(problem)]
    x, labels, lr = problem.inputs, problem.targets, np.float32(problem.lr)
    rows, count = np.arange(len(labels)), len(labels)

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
        shifted = h - h.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
        grad = exp / total
        grad[rows, labels] -= 1
        grad /= count
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

    def step():
        h = x
        for index, (weight, bias) in enumerate(layers):
            h = functional.linear(h, weight, bias)
            if index < len(layers) - 1:
                h = torch.relu(h)
        loss = functional.cross_entropy(h, labels)
        loss.backward()
        with torch.no_grad():
            for p in params.values():
                p -= lr * p.grad
        grads = {k: p.grad for k, p in params.items()}
        for p in params.values():
            p.grad = None
        return loss.item(), grads

    return step


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


# --------------------------------------------------------------------------- scalar network
def scalar_chainrule(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    x1, x2, x3, x4 = (cr.tensor(v) for v in problem.inputs)
    w1, w2, w3, w4, w5, w6 = params.values()
    y, lr = float(problem.targets), problem.lr

    def step():
        for p in params.values():
            p.grad = None
        h1 = cr.sigmoid(x1 * w1 + x2 * w2)
        h2 = cr.sigmoid(x3 * w3 + x4 * w4)
        loss = (cr.sigmoid(h1 * w5 + h2 * w6) - y) ** 2
        loss.backward()
        for p in params.values():
            p.data -= lr * p.grad
        return loss.item(), {name: p.grad for name, p in params.items()}

    return step


def scalar_traced(problem: Problem) -> Step:
    import chainrule as cr

    params = {name: cr.tensor(value, requires_grad=True) for name, value in problem.fresh_params().items()}
    x1, x2, x3, x4 = (cr.tensor(v) for v in problem.inputs)
    w1, w2, w3, w4, w5, w6 = params.values()
    y, lr = float(problem.targets), problem.lr

    def loss_fn():
        h1 = cr.sigmoid(x1 * w1 + x2 * w2)
        h2 = cr.sigmoid(x3 * w3 + x4 * w4)
        return (cr.sigmoid(h1 * w5 + h2 * w6) - y) ** 2

    traced = cr.trace(loss_fn)

    def step():
        for p in params.values():
            p.grad = None
        loss = traced()
        for p in params.values():
            p.data -= lr * p.grad
        return loss.item(), {name: p.grad for name, p in params.items()}

    return step


def scalar_numpy(problem: Problem) -> Step:
    params = problem.fresh_params()  # 0-d float64 arrays, updated in place
    w1, w2, w3, w4, w5, w6 = params.values()
    x1, x2, x3, x4 = problem.inputs
    y, lr = float(problem.targets), problem.lr

    def step():
        h1 = 1 / (1 + np.exp(-(x1 * w1 + x2 * w2)))
        h2 = 1 / (1 + np.exp(-(x3 * w3 + x4 * w4)))
        yhat = 1 / (1 + np.exp(-(h1 * w5 + h2 * w6)))
        loss = (yhat - y) ** 2
        grad_s3 = 2 * (yhat - y) * yhat * (1 - yhat)
        grad_s1 = grad_s3 * w5 * h1 * (1 - h1)
        grad_s2 = grad_s3 * w6 * h2 * (1 - h2)
        grads = {"w1": grad_s1 * x1, "w2": grad_s1 * x2, "w3": grad_s2 * x3, "w4": grad_s2 * x4,
                 "w5": grad_s3 * h1, "w6": grad_s3 * h2}
        for name, value in params.items():
            value -= lr * grads[name]
        return float(loss), grads

    return step


def scalar_torch(problem: Problem) -> Step:
    import torch

    params = {k: torch.tensor(v, requires_grad=True) for k, v in problem.fresh_params().items()}
    w1, w2, w3, w4, w5, w6 = params.values()
    x1, x2, x3, x4 = (torch.tensor(v) for v in problem.inputs)
    y, lr = float(problem.targets), problem.lr

    def step():
        h1 = torch.sigmoid(x1 * w1 + x2 * w2)
        h2 = torch.sigmoid(x3 * w3 + x4 * w4)
        loss = (torch.sigmoid(h1 * w5 + h2 * w6) - y) ** 2
        loss.backward()
        with torch.no_grad():
            for p in params.values():
                p -= lr * p.grad
        grads = {k: p.grad for k, p in params.items()}
        for p in params.values():
            p.grad = None
        return loss.item(), grads

    return step


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


# --------------------------------------------------------------------------- the table of workloads
@dataclass
class Workload:
    name: str
    title: str
    problem: Callable[[], Problem]
    tiny: Callable[[], Problem]  # a small version for the test suite
    implementations: dict[str, Callable[[Problem], Step]]
    tolerance: float = 1e-10  # relative agreement required between implementations


WORKLOADS = {
    "three-matrix": Workload(
        "three-matrix", "three-matrix network, batch of 1000", lambda: three_matrix_problem(1000),
        lambda: three_matrix_problem(7),
        {"chainrule": three_matrix_chainrule, "chainrule-traced": three_matrix_traced, "numpy": three_matrix_numpy, "torch": three_matrix_torch,
         "jax": three_matrix_jax}),
    "three-matrix-single": Workload(
        "three-matrix-single", "three-matrix network, one sample (the seed's x)", lambda: three_matrix_problem(1),
        lambda: three_matrix_problem(1),
        {"chainrule": three_matrix_chainrule, "chainrule-traced": three_matrix_traced, "numpy": three_matrix_numpy, "torch": three_matrix_torch,
         "jax": three_matrix_jax}),
    "iris": Workload(
        "iris", "Iris MLP 4-16-3 softplus/softmax, 150 samples", iris_problem, lambda: iris_problem(hidden=5),
        {"chainrule": iris_chainrule, "chainrule-traced": iris_traced, "numpy": iris_numpy, "torch": iris_torch, "jax": iris_jax}),
    "wide-mlp": Workload(
        "wide-mlp", "MLP 784-512-512-10 relu, batch 256, float32", wide_mlp_problem,
        lambda: wide_mlp_problem(batch=8, sizes=(20, 16, 12, 4)),
        {"chainrule": wide_chainrule, "chainrule-traced": wide_traced, "numpy": wide_numpy, "torch": wide_torch, "jax": wide_jax}, tolerance=2e-4),
    "scalar": Workload(
        "scalar", "scalar network of 004_* (6 weights)", scalar_problem, scalar_problem,
        {"chainrule": scalar_chainrule, "chainrule-traced": scalar_traced, "numpy": scalar_numpy, "torch": scalar_torch, "jax": scalar_jax}),
}


def available(implementation: str) -> bool:
    """Whether the library an implementation needs can be imported here."""
    if implementation in ("chainrule", "chainrule-traced", "numpy"):
        return True
    try:
        __import__(implementation)
    except ImportError:
        return False
    return True


def check_agreement(workload: Workload, problem: Problem, implementations: list[str]) -> dict[str, float]:
    """One step of each implementation from the same start: the largest relative difference from NumPy's."""
    reference_loss, reference_grads = workload.implementations["numpy"](problem)()
    differences = {}
    for name in implementations:
        loss, grads = workload.implementations[name](problem)()
        worst = abs(loss - reference_loss) / max(abs(reference_loss), 1e-300)
        for key, expected in reference_grads.items():
            actual = np.asarray(grads[key], dtype=np.float64)
            expected = np.asarray(expected, dtype=np.float64)
            scale = max(float(np.max(np.abs(expected))), 1e-300)
            worst = max(worst, float(np.max(np.abs(actual - expected))) / scale)
        differences[name] = worst
        if worst > workload.tolerance:
            raise AssertionError(f"{workload.name}: {name} differs from hand NumPy by {worst:.3g} (relative)")
    return differences
