"""The benchmark workloads, each written several ways over the same data and initial weights.

Every implementation is a factory ``make(problem) -> step`` where ``step()`` performs one
training step (forward, backward, gradient-descent update) and returns ``(loss, gradients)``:
the loss before the update and the gradients it used, as NumPy values, so that the
implementations can be checked against each other before they are timed. They live in
``small_networks.py`` and ``mlps.py``, named ``<workload>_<way>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import numpy as np

from benchmarks import cnns, mlps
from benchmarks import small_networks as small
from benchmarks.common import Problem, Step, iris_problem, scalar_problem, three_matrix_problem, wide_mlp_problem

WAYS = {"chainrule": "chainrule", "chainrule-traced": "traced", "numpy": "numpy", "torch": "torch", "jax": "jax"}


@dataclass
class Workload:
    name: str
    title: str
    problem: Callable[[], Problem]
    tiny: Callable[[], Problem]  # a small version for the test suite
    implementations: dict[str, Callable[[Problem], Step]]
    tolerance: float = 1e-10  # relative agreement required between implementations


def _ways(module: ModuleType, prefix: str) -> dict[str, Callable[[Problem], Step]]:
    return {way: getattr(module, f"{prefix}_{suffix}") for way, suffix in WAYS.items()}


WORKLOADS = {
    "three-matrix": Workload(
        "three-matrix",
        "three-matrix network, batch of 1000",
        lambda: three_matrix_problem(1000),
        lambda: three_matrix_problem(7),
        _ways(small, "three_matrix"),
    ),
    "three-matrix-single": Workload(
        "three-matrix-single",
        "three-matrix network, one sample (the seed's x)",
        lambda: three_matrix_problem(1),
        lambda: three_matrix_problem(1),
        _ways(small, "three_matrix"),
    ),
    "iris": Workload(
        "iris",
        "Iris MLP 4-16-3 softplus/softmax, 150 samples",
        iris_problem,
        lambda: iris_problem(hidden=5),
        _ways(mlps, "iris"),
    ),
    "wide-mlp": Workload(
        "wide-mlp",
        "MLP 784-512-512-10 relu, batch 256, float32",
        wide_mlp_problem,
        lambda: wide_mlp_problem(batch=8, sizes=(20, 16, 12, 4)),
        _ways(mlps, "wide"),
        tolerance=2e-4,
    ),
    "scalar": Workload(
        "scalar", "scalar network of 004_* (6 weights)", scalar_problem, scalar_problem, _ways(small, "scalar")
    ),
    "digits-cnn": Workload(
        "digits-cnn",
        "digits CNN 1→16→32 channels, 8×8, batch 64",
        cnns.digits_problem,
        lambda: cnns.cnn_problem(batch=5, size=8, channels=(3, 4)),
        {way: getattr(cnns, f"cnn_{suffix}") for way, suffix in WAYS.items() if way != "jax"},
    ),
    "wide-cnn": Workload(
        "wide-cnn",
        "CNN 1→32→64 channels, 28×28, batch 64, float32",
        cnns.wide_problem,
        lambda: cnns.cnn_problem(batch=4, size=12, channels=(4, 6), dtype=np.float32),
        {way: getattr(cnns, f"cnn_{suffix}") for way, suffix in WAYS.items() if way != "jax"},
        tolerance=2e-4,
    ),
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
