"""The benchmark workloads, each written several ways over the same data and initial weights.

Every implementation is a factory ``make(problem) -> step`` where ``step()`` performs one
training step (forward, backward, gradient-descent update) and returns ``(loss, gradients)``:
the loss before the update and the gradients it used, as NumPy values, so that the
implementations can be checked against each other before they are timed. They live in
``small_networks.py``, ``mlps.py``, ``cnns.py`` and ``pure_python.py``, named ``<workload>_<way>``
(``WAYS``: way → suffix).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import numpy as np

from benchmarks import cnns, mlps, pure_python
from benchmarks import small_networks as small
from benchmarks.common import Problem, Step, iris_problem, scalar_problem, three_matrix_problem, wide_mlp_problem

WAYS = {
    "numpy": "numpy",
    "chainrule": "chainrule",
    "chainrule-user": "user",
    "chainrule-traced": "traced",
    "chainrule-traced-user": "traced_user",
    "micrograd": "micrograd",
    "python": "python",
    "torch": "torch",
    "jax": "jax",
}
#: Implementations that need nothing beyond NumPy and chainrule.
ALWAYS_AVAILABLE = (
    "numpy",
    "chainrule",
    "chainrule-user",
    "chainrule-traced",
    "chainrule-traced-user",
    "micrograd",
    "python",
)


@dataclass
class Workload:
    name: str
    title: str
    problem: Callable[[], Problem]
    tiny: Callable[[], Problem]  # a small version for the test suite
    implementations: dict[str, Callable[[Problem], Step]]
    tolerance: float = 1e-10  # relative agreement required between implementations


def _ways(*modules: ModuleType, prefix: str) -> dict[str, Callable[[Problem], Step]]:
    """Every ``<prefix>_<way>`` the modules define, in the order of ``WAYS``."""
    return {
        way: getattr(module, f"{prefix}_{suffix}")
        for way, suffix in WAYS.items()
        for module in modules
        if hasattr(module, f"{prefix}_{suffix}")
    }


WORKLOADS = {
    "three-matrix": Workload(
        "three-matrix",
        "three-matrix network, batch of 1000",
        lambda: three_matrix_problem(1000),
        lambda: three_matrix_problem(7),
        _ways(small, prefix="three_matrix"),
    ),
    "three-matrix-single": Workload(
        "three-matrix-single",
        "three-matrix network, one sample (the seed's x)",
        lambda: three_matrix_problem(1),
        lambda: three_matrix_problem(1),
        _ways(small, prefix="three_matrix"),
    ),
    "iris": Workload(
        "iris",
        "Iris MLP 4-16-3 softplus/softmax, 150 samples",
        iris_problem,
        lambda: iris_problem(hidden=5),
        _ways(mlps, prefix="iris"),
    ),
    "wide-mlp": Workload(
        "wide-mlp",
        "MLP 784-512-512-10 relu, batch 256, float32",
        wide_mlp_problem,
        lambda: wide_mlp_problem(batch=8, sizes=(20, 16, 12, 4)),
        _ways(mlps, prefix="wide"),
        tolerance=2e-4,
    ),
    "scalar": Workload(
        "scalar",
        "scalar network of 004_* (6 weights)",
        scalar_problem,
        scalar_problem,
        _ways(small, pure_python, prefix="scalar"),
    ),
    "digits-cnn": Workload(
        "digits-cnn",
        "digits CNN 1→16→32 channels, 8×8, batch 64",
        cnns.digits_problem,
        lambda: cnns.cnn_problem(batch=5, size=8, channels=(3, 4)),
        _ways(cnns, prefix="cnn"),
    ),
    "wide-cnn": Workload(
        "wide-cnn",
        "CNN 1→32→64 channels, 28×28, batch 64, float32",
        cnns.wide_problem,
        lambda: cnns.cnn_problem(batch=4, size=12, channels=(4, 6), dtype=np.float32),
        _ways(cnns, prefix="cnn"),
        tolerance=2e-4,
    ),
}


def available(implementation: str) -> bool:
    """Whether the library an implementation needs can be imported here."""
    if implementation in ALWAYS_AVAILABLE:
        return True
    try:
        __import__(implementation)
    except ImportError:
        return False
    return True


def check_agreement(
    workload: Workload, problem: Problem, implementations: list[str], steps: int = 2
) -> dict[str, float]:
    """``steps`` steps of each implementation from the same start: the largest relative difference
    from hand NumPy's losses and gradients. The second step starts from the first one's update, so
    an update that differs (or gradients left to accumulate) shows too."""
    reference = workload.implementations["numpy"](problem)
    reference_steps = [reference() for _ in range(steps)]
    differences = {}
    for name in implementations:
        step, worst = workload.implementations[name](problem), 0.0
        for reference_loss, reference_grads in reference_steps:
            loss, grads = step()
            worst = max(worst, abs(loss - reference_loss) / max(abs(reference_loss), 1e-300))
            for key, expected in reference_grads.items():
                actual = np.asarray(grads[key], dtype=np.float64)
                expected = np.asarray(expected, dtype=np.float64)
                scale = max(float(np.max(np.abs(expected))), 1e-300)
                worst = max(worst, float(np.max(np.abs(actual - expected))) / scale)
        differences[name] = worst
        if worst > workload.tolerance:
            raise AssertionError(f"{workload.name}: {name} differs from hand NumPy by {worst:.3g} (relative)")
    return differences
