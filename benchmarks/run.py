"""Run the benchmarks: ``python benchmarks/run.py`` (``--quick`` for a short run, ``--runs 3`` for three full runs).

Each workload runs in a fresh process, its implementations interleaved round by round so that
they share the machine's state; all are first checked to give the same losses and gradients over
two steps. The table gives the median time of one training step (forward, backward, update) and
its ratio to the hand-written NumPy version: the median over rounds of the two times' ratio in
each round. With ``--runs N`` the whole run is repeated N times; the table shows each ratio's
median over the runs and its worst, and a target counts as met only if the worst run meets it.
``--json FILE`` keeps every run's samples, ``--from FILE`` prints the report of a kept run again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.report import (  # noqa: E402
    IMPLEMENTATIONS,
    format_time,
    machine,
    medians,
    paired_ratios,
    table,
    targets_report,
)
from benchmarks.workloads import WORKLOADS, available, check_agreement  # noqa: E402

#: Seconds of untimed steps before each timed batch. PyTorch's, JAX's and OpenBLAS's worker
#: threads keep spinning for a while after a call returns and slow whatever runs next.
WARM_UP = 0.02


def balanced_orders(count: int) -> list[list[int]]:
    """Orders of ``count`` items in which each item comes right after each other one equally often.

    Williams' design: the first order is 0, 1, n−1, 2, n−2, …; the others add 1, 2, … to it
    modulo n; for an odd n their reverses are needed too. (A rotation of one order would keep
    the same neighbours: whatever follows PyTorch, whose threads stay busy for a while after it
    returns, would always be the same implementation.)
    """
    first, low, high = [0], 1, count - 1
    while len(first) < count:
        first.append(low)
        low += 1
        if len(first) < count:
            first.append(high)
            high -= 1
    orders = [[(item + shift) % count for item in first] for shift in range(count)]
    return orders + [order[::-1] for order in orders] if count % 2 else orders


def time_steps(steps: dict[str, object], rounds: int, budget: float) -> dict[str, list[float]]:
    """Seconds per step of each implementation in each of at least ``rounds`` interleaved rounds.

    The rounds go through whole cycles of ``balanced_orders`` (``rounds`` rounded up), so that
    each implementation follows each other one equally often.
    """
    per_call = {}
    for name, step in steps.items():  # warm up (JAX compiles here) and size the batches
        for _ in range(3):
            step()
        started = time.perf_counter()
        step()
        per_call[name] = max(time.perf_counter() - started, 1e-7)
    repeats = {name: max(1, int(budget / per_call[name])) for name in steps}
    samples: dict[str, list[float]] = {name: [] for name in steps}
    names, orders = list(steps), balanced_orders(len(steps))
    for round_number in range(-(-rounds // len(orders)) * len(orders)):
        for name in (names[index] for index in orders[round_number % len(orders)]):
            step, count = steps[name], repeats[name]
            warm_until = time.perf_counter() + WARM_UP
            step()  # untimed, for at least WARM_UP seconds: caches warm again after the previous
            while time.perf_counter() < warm_until:  # implementation, and its threads go quiet
                step()
            started = time.perf_counter()
            for _ in range(count):
                step()
            samples[name].append((time.perf_counter() - started) / count)
    return samples


def worker(name: str, quick: bool) -> dict[str, object]:
    """Runs in its own process: check, then time one workload."""
    workload = WORKLOADS[name]
    implementations = [i for i in workload.implementations if available(i)]
    problem = workload.problem()
    agreement = check_agreement(workload, problem, implementations)
    steps = {i: workload.implementations[i](problem) for i in IMPLEMENTATIONS if i in implementations}
    samples = time_steps(steps, rounds=5 if quick else 30, budget=0.01 if quick else 0.05)
    return {
        "name": name,
        "title": workload.title,
        "times": medians(samples),
        "ratios": paired_ratios(samples),
        "samples": samples,
        "agreement": agreement,
    }


def gradient_cost(quick: bool) -> dict[str, float]:
    """Backprop against central finite differences on the Iris MLP (two forward passes per parameter)."""
    import numpy as np

    from benchmarks.common import iris_problem
    from benchmarks.mlps import iris_chainrule

    problem = iris_problem()
    x, labels = problem.inputs, problem.targets
    rows = np.arange(len(labels))
    params = problem.fresh_params()

    def forward() -> float:  # hand-written NumPy forward pass: the cheapest way to evaluate the loss
        z0 = x @ params["W0"].T + params["b0"]
        h = np.maximum(z0, 0) + np.log1p(np.exp(-np.abs(z0)))
        z1 = h @ params["W1"].T + params["b1"]
        shifted = z1 - z1.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[rows, labels]))

    def finite_differences() -> None:
        for value in params.values():
            flat = value.reshape(-1)
            for index in range(flat.size):
                original = flat[index]
                flat[index] = original + 1e-6
                above = forward()
                flat[index] = original - 1e-6
                below = forward()
                flat[index] = original
                _ = (above - below) / 2e-6

    backprop = iris_chainrule(problem)
    times = medians(
        time_steps(
            {"backprop": backprop, "finite differences": finite_differences},
            rounds=3 if quick else 7,
            budget=0.02 if quick else 0.1,
        )
    )
    count = sum(v.size for v in params.values())
    return {"parameters": count, **times}


def peak_memory(problem: object, implementations: dict[str, object]) -> dict[str, float]:
    """Peak memory (tracemalloc, MiB) of the second training step of each implementation, one after the other."""
    import tracemalloc

    result = {}
    for name, make in implementations.items():
        step = make(problem)
        step()  # first step: gradient buffers come into being
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        step()
        result[name] = (tracemalloc.get_traced_memory()[1] - baseline) / 2**20
        tracemalloc.stop()
        del step
    return result


def memory(quick: bool) -> dict[str, float]:
    """Peak memory of one training step of a 50-layer MLP, width 512, batch 256."""
    import numpy as np

    from benchmarks.common import wide_mlp_problem
    from benchmarks.mlps import wide_chainrule, wide_numpy

    depth = 10 if quick else 50
    problem = wide_mlp_problem(batch=256, sizes=(512,) * depth + (10,), dtype=np.float64)
    return {"layers": depth, **peak_memory(problem, {"numpy": wide_numpy, "chainrule": wide_chainrule})}


def cnn_memory(quick: bool) -> dict[str, float]:
    """Peak memory of one training step of the wide CNN (28×28, 32 and 64 channels, batch 64, float32)."""
    import numpy as np

    from benchmarks.cnns import cnn_chainrule, cnn_numpy, cnn_problem, cnn_traced

    problem = cnn_problem(batch=16 if quick else 64, size=28, channels=(32, 64), dtype=np.float32)
    implementations = {"numpy": cnn_numpy, "chainrule": cnn_chainrule, "chainrule-traced": cnn_traced}
    return {"batch": len(problem.targets), **peak_memory(problem, implementations)}


def run_in_fresh_process(arguments: list[str]) -> object:
    result = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark process {' '.join(arguments)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_all(names: list[str], runs: int, quick: bool, keep: Path | None = None) -> dict[str, object]:
    """``runs`` full runs of the workloads, one after the other, then the cost and memory jobs once.

    ``keep``: a file the report is written to (JSON) after each run, so that a long series that
    stops half-way keeps the runs it finished.
    """
    flag = ["--quick"] if quick else []
    report: dict[str, object] = {"machine": machine(), "quick": quick, "runs": [], "extras": {}}
    print(describe_machine(report["machine"]), flush=True)
    for number in range(1, runs + 1):
        results = []
        for name in names:
            results.append(run_in_fresh_process(["--worker", name, *flag]))
            agreement = max(results[-1]["agreement"].values())
            print(f"  run {number}/{runs}, {name}: implementations agree to {agreement:.1e}", flush=True)
        report["runs"].append(results)
        if keep is not None:
            keep.write_text(json.dumps(report), encoding="utf-8")
    if set(names) == set(WORKLOADS):
        for job in ("gradient-cost", "memory", "cnn-memory"):
            report["extras"][job] = run_in_fresh_process(["--worker", job, *flag])
    report["load at end"] = " ".join(f"{load:.2f}" for load in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    if keep is not None:
        keep.write_text(json.dumps(report), encoding="utf-8")
    return report


def describe_machine(info: dict[str, str]) -> str:
    return "chainrule benchmarks on " + ", ".join(f"{key} {value}" for key, value in info.items())


def print_report(report: dict[str, object], columns: list[str] | None = None) -> None:
    runs = report["runs"]
    count = len(runs)
    print()
    if report.get("quick"):
        print("(--quick: few short rounds, for trying the harness; the ratios are not for judging)")
    print(
        "Median time per training step (forward + backward + update) and the median over rounds of its ratio"
        " to hand-written NumPy's time in the same round"
        + (f"; the median over {count} full runs, the worst in parentheses" if count > 1 else "")
        + ":\n"
    )
    print(table(runs, columns))
    if report.get("load at end"):
        print(f"\n(load average at the end: {report['load at end']}; at the start: see the first line)")
    print()
    print(targets_report(runs, quick=bool(report.get("quick"))))
    extras = report["extras"]
    if "gradient-cost" in extras:
        cost = extras["gradient-cost"]
        ratio = cost["finite differences"] / cost["backprop"]
        print(
            f"\nThe cost of a gradient (Iris MLP, {cost['parameters']} parameters): backprop "
            f"{format_time(cost['backprop'])} per step; central finite differences with hand-NumPy forward "
            f"passes {format_time(cost['finite differences'])}, {ratio:.0f}× more."
        )
    if "memory" in extras:
        peak = extras["memory"]
        print(
            f"Peak memory of one training step, {peak['layers']}-layer MLP (width 512, batch 256, float64): "
            f"hand NumPy {peak['numpy']:.1f} MiB, chainrule {peak['chainrule']:.1f} MiB "
            f"({peak['chainrule'] / peak['numpy']:.2f}×; target ≤ 1.3×)."
        )
    if "cnn-memory" in extras:
        peak = extras["cnn-memory"]
        print(
            f"Peak memory of one training step, CNN 1→32→64 channels on 28×28 (batch {peak['batch']}, float32): "
            f"hand NumPy {peak['numpy']:.1f} MiB, chainrule {peak['chainrule']:.1f} MiB "
            f"({peak['chainrule'] / peak['numpy']:.2f}×; target ≤ 1.5×), traced {peak['chainrule-traced']:.1f} MiB "
            f"({peak['chainrule-traced'] / peak['numpy']:.2f}×)."
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", help=f"comma-separated workloads: {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--runs", type=int, default=1, help="full runs, one after the other (default 1)")
    parser.add_argument("--json", metavar="FILE", help="also write every run's results and samples to FILE, run by run")
    parser.add_argument("--from", dest="saved", metavar="FILE", help="print the report of runs kept by --json")
    parser.add_argument(
        "--columns",
        help="comma-separated columns of the table: implementations and 'targets' (default: all that ran, then targets)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        job = {"gradient-cost": gradient_cost, "memory": memory, "cnn-memory": cnn_memory}.get(args.worker)
        print(json.dumps(job(args.quick) if job else worker(args.worker, args.quick)))
        return 0
    columns = args.columns.split(",") if args.columns else None
    unknown = [column for column in columns or [] if column not in (*IMPLEMENTATIONS, "targets")]
    if unknown:
        parser.error(f"--columns: unknown column {unknown[0]!r}; the columns are {', '.join(IMPLEMENTATIONS)}, targets")
    if args.saved:
        try:
            report = json.loads(Path(args.saved).read_text(encoding="utf-8"))
            report["runs"], report["machine"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            parser.error(f"--from: {args.saved} is not a report kept by --json ({type(error).__name__}: {error})")
        print(describe_machine(report["machine"]))
        print_report(report, columns)
        return 0

    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"--only: unknown workload {unknown[0]!r}; the workloads are {', '.join(WORKLOADS)}")
    if args.runs < 1:
        parser.error(f"--runs: expected a whole number of runs, at least 1, got {args.runs}")
    report = run_all(names, args.runs, args.quick, Path(args.json) if args.json else None)
    print_report(report, columns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
