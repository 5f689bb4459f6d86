"""A/B of two source trees on the benchmark steps: is a change faster, and by how much?

    python benchmarks/ab.py BEFORE_TREE AFTER_TREE [--rounds 3] [--only scalar:chainrule-traced,iris:numpy]

Each tree is a checkout of this repository (``git worktree add --detach ../before HEAD~1``). The
two trees' steps run in alternating fresh processes, ``--rounds`` times each; every process times
each step as the best of many short batches by *process* time, so other jobs on a shared machine
count less than in wall-clock time. The report gives each step's best time per tree and the ratio
after / before. The small networks run with one BLAS thread, as their steps are too small for two.
The full benchmark (``run.py``) judges the targets; this tool measures one change.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

#: The steps timed unless --only says otherwise: workload:implementation (run.py's names)
DEFAULT_STEPS = [
    f"{workload}:{way}"
    for workload in ("scalar", "three-matrix-single", "three-matrix", "iris")
    for way in ("numpy", "chainrule", "chainrule-user", "chainrule-traced", "chainrule-traced-user")
]

CHILD = r"""
import os, sys, time
root, names, batches, batch = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
sys.path[:0] = [root, os.path.join(root, "src")]
import chainrule
from benchmarks.workloads import WORKLOADS
for module in (chainrule, sys.modules["benchmarks.workloads"]):  # this tree's code, not an installed copy
    if not os.path.abspath(module.__file__).startswith(root + os.sep):
        sys.exit(f"{module.__name__} was imported from {module.__file__}, not from this tree")
steps = {}
for name in names:
    workload, way = name.split(":")
    if workload not in WORKLOADS or way not in WORKLOADS[workload].implementations:
        known = ", ".join(f"{w}:{i}" for w in WORKLOADS for i in WORKLOADS[w].implementations)
        sys.exit(f"no step {name!r} in this tree; the steps are {known}")
    steps[name] = WORKLOADS[workload].implementations[way](WORKLOADS[workload].problem())
results = []
for name, step in steps.items():
    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for _ in range(batch):
            step()
        best = min(best, (time.process_time() - start) / batch)
    results.append(f"{name}={best}")
print(" ".join(results))
"""


def measure(tree: str, steps: list[str], batches: int, batch: int) -> dict[str, float]:
    """One fresh process of ``tree``: each step's best time per step, in seconds."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-c", CHILD, tree, ",".join(steps), str(batches), str(batch)],
        capture_output=True,
        text=True,
        cwd=tree,
        env=environment,
    )
    if run.returncode:
        last = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit status {run.returncode}"
        raise SystemExit(f"ab: {tree}: {last}")
    return {name: float(value) for name, value in (item.split("=") for item in run.stdout.split())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="the tree before the change")
    parser.add_argument("after", help="the tree after the change")
    parser.add_argument("--rounds", type=int, default=3, help="alternating processes per tree (default 3)")
    parser.add_argument("--only", help="comma-separated workload:implementation steps (default: the small networks)")
    parser.add_argument("--batches", type=int, default=150, help="batches per step and process (default 150)")
    parser.add_argument("--batch", type=int, default=20, help="steps per batch (default 20)")
    options = parser.parse_args(argv)
    for count in ("rounds", "batches", "batch"):
        if getattr(options, count) < 1:
            parser.error(f"--{count}: expected a whole number, at least 1, got {getattr(options, count)}")
    steps = [step.strip() for step in options.only.split(",")] if options.only else DEFAULT_STEPS
    for step in steps:
        if step.count(":") != 1 or not all(step.split(":")):
            parser.error(f"--only: {step!r} is not a step; write workload:implementation, e.g. scalar:chainrule-traced")
    trees = []
    for tree in (options.before, options.after):
        path = os.path.realpath(tree)
        if not os.path.isdir(os.path.join(path, "src", "chainrule")):
            parser.error(f"{tree} is not a checkout of chainrule (no src/chainrule in it)")
        if not os.path.isfile(os.path.join(path, "benchmarks", "workloads.py")):
            parser.error(f"{tree} has no benchmarks/workloads.py: too old a checkout for this tool")
        trees.append(path)
    if trees[0] == trees[1]:
        parser.error("the two trees are the same folder; make a second checkout (git worktree add ...) to compare")
    options.before, options.after = trees
    best: dict[str, dict[str, float]] = {options.before: {}, options.after: {}}
    for _ in range(options.rounds):
        for tree in (options.before, options.after):
            for name, seconds in measure(tree, steps, options.batches, options.batch).items():
                best[tree][name] = min(seconds, best[tree].get(name, float("inf")))
    for label, tree in (("before", options.before), ("after", options.after)):
        commit = subprocess.run(["git", "-C", tree, "log", "-1", "--format=%h %s"], capture_output=True, text=True)
        print(f"{label}: {tree} ({commit.stdout.strip()[:70] or 'not a git checkout'})")
    print(f"{'step':42s} {'before':>10s} {'after':>10s}  after/before")
    for name in steps:
        before, after = best[options.before][name], best[options.after][name]
        print(f"{name:42s} {before * 1e6:8.2f}µs {after * 1e6:8.2f}µs  {after / before:.3f}")


if __name__ == "__main__":
    main()
