"""What issue 14's eager and hand-update targets leave for chainrule's own Python, measured.

    python benchmarks/floors.py

An eager step does the same NumPy work as its traced replay (the same ops, the same numbers bit for
bit) and builds and walks the graph besides. So an eager target "at most limit × hand NumPy"
leaves ``limit × hand − traced`` for the graph, shared among its ops:

    budget per op = (limit × hand NumPy step − traced step) / ops in the graph

Each line sets it beside what chainrule spends per op now, ``(eager − traced) / ops``. For scale,
the first line gives what the micrograd-style engine of ``pure_python.py`` spends per op on the
scalar network, ``(its step − the hand pure-Python step) / its ops``: an engine a learner writes,
not a lower bound (a tape kept in creation order instead of its depth-first sort, or nodes with
``__slots__``, cost less). For a hand-update step the traced step includes chainrule's update
path, so its budget is what is left after that path as it is now.

The second line measures that path on the scalar network: the six updates a user writes, ``with
cr.no_grad(): w -= lr * w.grad``, as a share of hand NumPy's whole step, against the traced
hand-update limit (0.4×).

Times are the best of 9 interleaved rounds of about 50 ms each with one BLAS thread, in one
process (``timeit``); run it on a quiet machine. ``--only scalar,iris`` picks workloads.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads: one thread, as ab.py times
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # as run.py: the checkout's chainrule and benchmarks

import numpy as np  # noqa: E402

from benchmarks import mlps, pure_python  # noqa: E402
from benchmarks import small_networks as small  # noqa: E402
from benchmarks.common import Problem  # noqa: E402
from benchmarks.report import TARGETS  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

#: The model builders of the eager steps: (loss_fn, params, args) for the SGD step and the hand-update step.
MODELS = {
    "three-matrix": (small.three_matrix_model, small.three_matrix_user_model),
    "three-matrix-single": (small.three_matrix_model, small.three_matrix_user_model),
    "iris": (mlps.iris_model, mlps.iris_model),
    "scalar": (small.scalar_model, small.scalar_model),
}
#: Each eager step and the traced step that does its NumPy work.
PAIRS = {"chainrule": "chainrule-traced", "chainrule-user": "chainrule-traced-user"}


def best_times(steps: dict[str, Callable[[], object]], seconds: float = 0.05, rounds: int = 9) -> dict[str, float]:
    """Seconds per call of each step: the best of ``rounds`` interleaved batches of about ``seconds`` each.

    Interleaved, so that a slow spell of the machine does not land on one step only. Not run.py's
    ``time_steps``, whose mean of each batch (garbage collection on) is the step a user runs but moves
    by more than these per-op differences between runs; ``timeit``'s best batch (collection off) is steadier.
    """
    numbers = {}
    for name, step in steps.items():
        for _ in range(3):
            step()  # warm up: traces record on their first calls
        numbers[name] = max(1, int(seconds / max(min(timeit.repeat(step, number=1, repeat=5)), 1e-7)))
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(rounds):
        for name, step in steps.items():
            best[name] = min(best[name], timeit.timeit(step, number=numbers[name]) / numbers[name])
    return best


def graph_ops(build: Callable[[Problem], tuple], problem: Problem) -> int:
    """The number of ops (graph nodes) of one eager forward pass."""
    from chainrule.engine.graph import topological_order

    loss_fn, _, args = build(problem)
    return len(topological_order(loss_fn(*args).grad_fn))


def micrograd_ops(problem: Problem) -> int:
    """The number of values made by an op in the micrograd-style engine's loss (its graph nodes)."""
    weights = [pure_python.Value(float(value)) for value in problem.params.values()]
    loss = pure_python.micrograd_loss(weights, tuple(float(v) for v in problem.inputs), float(problem.targets))
    seen, stack = set(), [loss]
    while stack:
        value = stack.pop()
        if id(value) not in seen and value.inputs:
            seen.add(id(value))
            stack.extend(value.inputs)
    return len(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(MODELS), help=f"workloads, of: {', '.join(MODELS)}")
    names = parser.parse_args(argv).only.split(",")
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(MODELS)}")

    scalar = WORKLOADS["scalar"]
    problem = scalar.problem()
    import chainrule as cr

    weights = [cr.tensor(0.5, requires_grad=True) for _ in range(6)]
    for weight in weights:
        weight.grad = np.array(0.01)  # a 0-d array, as backward leaves it

    def user_update() -> None:  # hand_update_stepper's update, with the gradients kept for the next call
        with cr.no_grad():
            for weight in weights:
                weight -= 0.1 * weight.grad

    ways = ("numpy", "micrograd", "python")
    times = best_times({**{way: scalar.implementations[way](problem) for way in ways}, "update": user_update})
    micrograd_per_op = (times["micrograd"] - times["python"]) / micrograd_ops(problem)
    print(
        f"micrograd-style engine, scalar network: {micrograd_per_op * 1e6:.2f} µs of Python per op (forward and backward)"
    )
    limit = next(t.limit for t in TARGETS["scalar"] if t.implementation == "chainrule-traced-user")
    print(
        f"scalar network: the user's six updates, `with cr.no_grad(): w -= lr * w.grad`, take "
        f"{times['update'] / times['numpy']:.2f}× hand NumPy's whole step; the traced hand-update step's limit is {limit}×"
    )
    print()
    print("| workload | step | ops | limit | hand NumPy | traced | eager now | budget per op | chainrule per op now |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        workload = WORKLOADS[name]
        problem = workload.problem()
        ways = ("numpy", *PAIRS, *PAIRS.values())
        times = best_times({way: workload.implementations[way](problem) for way in ways})
        hand = times["numpy"]
        for (eager, traced), build in zip(PAIRS.items(), MODELS[name]):
            limit = next(t.limit for t in TARGETS[name] if t.implementation == eager and t.reference == "numpy")
            ops = graph_ops(build, problem)
            budget = (limit * hand - times[traced]) / ops
            now = (times[eager] - times[traced]) / ops
            print(
                f"| {name} | {eager} | {ops} | {limit}× | {hand * 1e6:.1f} µs | {times[traced] / hand:.2f}× "
                f"| {times[eager] / hand:.2f}× | {budget * 1e6:.2f} µs | {now * 1e6:.2f} µs |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
