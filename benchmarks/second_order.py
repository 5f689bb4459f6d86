"""Second derivatives of the Iris MLP (131 parameters): Hessian-vector product and full Hessian.

``python benchmarks/second_order.py [--rounds N]`` times, in one process and interleaved round
by round, the loss of the Iris MLP (4 → 16 softplus → 3, cross-entropy over 150 flowers) as a
function of its 131 parameters in one flat vector:

* chainrule: ``cr.hvp`` (two backward passes, the second through the first) and ``cr.hessian``
  (one backward pass through the recorded gradient per parameter);
* PyTorch: ``torch.autograd.functional.hvp`` and ``torch.func.hessian``;
* JAX (when installed): ``jax.jvp`` of ``jax.grad`` and ``jax.hessian``, both jitted;
* finite differences of chainrule's gradient: 2 gradients for an HVP, 2 × 131 for a Hessian.

All are first checked to agree (1e-8 relative; finite differences 1e-5). The table gives the
median time of one call and its ratio to PyTorch's, the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.common import iris_problem  # noqa: E402

SHAPES = {"W0": (16, 4), "b0": (16,), "W1": (3, 16), "b1": (3,)}


def unflatten(theta: Any) -> list[Any]:
    parts, start = [], 0
    for shape in SHAPES.values():
        size = int(np.prod(shape))
        parts.append(theta[start : start + size].reshape(shape))
        start += size
    return parts


def chainrule_ways(x: np.ndarray, labels: np.ndarray) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    import chainrule as cr

    inputs = cr.tensor(x)

    def loss(theta):
        w0, b0, w1, b1 = unflatten(theta)
        return cr.cross_entropy(cr.linear(cr.softplus(cr.linear(inputs, w0, b0)), w1, b1), labels)

    gradient = cr.grad(loss)
    hessian = cr.hessian(loss)

    def finite_hvp(theta, v, eps=1e-6):
        return (gradient(theta + eps * v) - gradient(theta - eps * v)) / (2 * eps)

    def finite_hessian(theta, v, eps=1e-6):
        columns = []
        for index in range(theta.size):
            step = np.zeros_like(theta)
            step[index] = eps
            columns.append((gradient(theta + step) - gradient(theta - step)) / (2 * eps))
        return np.stack(columns, axis=1)

    return {
        "chainrule hvp": lambda theta, v: cr.hvp(loss, theta, v),
        "chainrule hessian": lambda theta, v: hessian(theta),
        "finite-difference hvp": finite_hvp,
        "finite-difference hessian": finite_hessian,
    }


def torch_ways(x: np.ndarray, labels: np.ndarray) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    import torch
    import torch.nn.functional as functional

    # One intra-op thread: with its default two on this 2-core machine, each call took ~300 ms
    # (its threads spin against each other); the products here are far too small to share.
    torch.set_num_threads(1)
    inputs, targets = torch.tensor(x), torch.tensor(labels)

    def loss(theta):
        w0, b0, w1, b1 = unflatten(theta)
        return functional.cross_entropy(
            functional.linear(functional.softplus(functional.linear(inputs, w0, b0)), w1, b1), targets
        )

    hessian = torch.func.hessian(loss)
    return {
        "torch hvp": lambda theta, v: torch.autograd.functional.hvp(loss, torch.tensor(theta), torch.tensor(v))[
            1
        ].numpy(),
        "torch hessian": lambda theta, v: hessian(torch.tensor(theta)).numpy(),
    }


def jax_ways(x: np.ndarray, labels: np.ndarray) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    try:
        import jax
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    inputs, targets = jnp.asarray(x), jnp.asarray(labels)

    def loss(theta):
        w0, b0, w1, b1 = unflatten(theta)
        logits = jax.nn.softplus(inputs @ w0.T + b0) @ w1.T + b1
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(targets)), targets])

    hvp = jax.jit(lambda theta, v: jax.jvp(jax.grad(loss), (theta,), (v,))[1])
    hessian = jax.jit(jax.hessian(loss))
    return {
        "jax hvp (jit)": lambda theta, v: np.asarray(hvp(jnp.asarray(theta), jnp.asarray(v))),
        "jax hessian (jit)": lambda theta, v: np.asarray(hessian(jnp.asarray(theta))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    args = parser.parse_args()
    problem = iris_problem()
    theta = np.concatenate([problem.params[name].ravel() for name in SHAPES])
    direction = np.random.default_rng(1).normal(size=theta.size)
    ways = {
        **chainrule_ways(problem.inputs, problem.targets),
        **torch_ways(problem.inputs, problem.targets),
        **jax_ways(problem.inputs, problem.targets),
    }
    reference_hvp = ways["torch hvp"](theta, direction)
    reference_hessian = ways["torch hessian"](theta, direction)
    for name, way in ways.items():
        result = way(theta, direction)
        expected = reference_hvp if "hvp" in name else reference_hessian
        tolerance = 1e-5 if name.startswith("finite") else 1e-8
        error = np.max(np.abs(result - expected)) / np.max(np.abs(expected))
        assert error < tolerance, f"{name} disagrees with PyTorch: relative error {error:.1e}"
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            calls, started = 0, time.perf_counter()
            while calls == 0 or time.perf_counter() - started < 0.2:
                way(theta, direction)
                calls += 1
            times[name].append((time.perf_counter() - started) / calls)
    print(f"Iris MLP, {theta.size} parameters, {len(problem.targets)} samples, float64; {args.rounds} rounds")
    print(f"{'what':<28} {'median time':>12} {'× PyTorch':>10}")
    for name, samples in times.items():
        kind = "hvp" if "hvp" in name else "hessian"
        ratios = [mine / theirs for mine, theirs in zip(samples, times[f"torch {kind}"])]
        print(f"{name:<28} {statistics.median(samples) * 1e3:>9.2f} ms {statistics.median(ratios):>9.2f}×")


if __name__ == "__main__":
    main()
