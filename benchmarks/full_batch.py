"""Full-batch steps over Dask workers against one process: ``python benchmarks/full_batch.py`` (``--quick``).

The workload is the seed's three-matrix network (batch gradient descent, lr 0.01) on N
samples. One process computes the mean loss of all N and its gradient and takes the step;
with K worker processes (an embedded ``LocalCluster`` on 127.0.0.1) the N samples live in K
partitions, one per worker, and each step scatters the parameters, computes the partitions'
sums where they live, adds them as a tree and steps once (``chainrule.distributed.FullBatch``).
Before timing, each distributed step is checked against the one-process step (1e-10).

The scheduler's overhead per step is the time of a distributed step on partitions of 10
samples (nothing to compute); it is measured for several partition counts to see how it grows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import data, optim  # noqa: E402
from chainrule.examples import three_matrix  # noqa: E402


def _seed_parameters() -> list[cr.Tensor]:
    return [cr.tensor(m, requires_grad=True) for m in (three_matrix.SEED_A, three_matrix.SEED_B, three_matrix.SEED_C)]


def one_process_step(samples: int):
    """A step as one process takes it: the mean loss of every sample, backward, the update."""
    inputs = cr.tensor(data.three_matrix_inputs(samples, seed=0))
    params = _seed_parameters()
    optimizer = optim.SGD(params, lr=0.01)

    def step() -> tuple[float, list[np.ndarray]]:
        optimizer.zero_grad()
        loss = three_matrix.loss_rows(inputs, *params)
        loss.backward()
        grads = [p.grad.copy() for p in params]
        optimizer.step()
        return loss.item(), grads

    return step


def distributed_step(samples: int, partitions: int, client):
    """The same step with the samples in ``partitions`` parts on the workers; returns (step, close)."""
    from chainrule.distributed import FullBatch, three_matrix_partitions, three_matrix_sum

    params = _seed_parameters()
    optimizer = optim.SGD(params, lr=0.01)
    batch = FullBatch(params, three_matrix_sum, three_matrix_partitions(samples, partitions, seed=0), client)

    def step() -> tuple[float, list[np.ndarray]]:
        loss = batch.backward()
        grads = [p.grad.copy() for p in params]
        optimizer.step()
        return loss, grads

    return step, batch.close


def check_agreement(samples: int, partitions: int, client, steps: int = 3) -> float:
    """The largest difference of loss and gradients between the two ways over ``steps`` steps (must be ≤ 1e-10)."""
    serial = one_process_step(samples)
    distributed, close = distributed_step(samples, partitions, client)
    worst = 0.0
    try:
        for _ in range(steps):
            (loss, grads), (other_loss, other_grads) = serial(), distributed()
            worst = max(
                [worst, abs(loss - other_loss), *(float(np.max(np.abs(a - b))) for a, b in zip(grads, other_grads))]
            )
    finally:
        close()
    if not worst <= 1e-10:
        raise AssertionError(
            f"distributed step differs from one process by {worst:.3g} ({samples} samples, {partitions} partitions)"
        )
    return worst


def interleaved(steps: dict[str, object], rounds: int, batch: float) -> dict[str, float]:
    """Median seconds per call of each step over ``rounds`` rounds, the steps taken in turn in each round.

    In each round every step runs for about ``batch`` seconds after one untimed call; taking
    them in turn lets a slow spell of this shared machine touch all of them alike.
    """
    for step in steps.values():
        step()  # first calls: caches, imports, the workers' first tasks
    samples: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            step = steps[name]
            step()
            count, started = 0, time.perf_counter()
            while count < 2 or time.perf_counter() - started < batch:
                step()
                count += 1
            samples[name].append((time.perf_counter() - started) / count)
    return {name: statistics.median(values) for name, values in samples.items()}


def one_process(sizes: list[int], rounds: int, batch: float) -> dict[int, list[float]]:
    """Runs in a fresh process without Dask: seconds per one-process step, one value per round."""
    steps = {samples: one_process_step(samples) for samples in sizes}
    per_round: dict[int, list[float]] = {samples: [] for samples in sizes}
    for _ in range(rounds):
        times = interleaved({str(samples): step for samples, step in steps.items()}, 1, batch)
        for samples in sizes:
            per_round[samples].append(times[str(samples)])
    return per_round


def one_process_in_fresh_process(sizes: list[int], rounds: int, batch: float) -> dict[int, list[float]]:
    arguments = ["--one-process", ",".join(map(str, sizes)), "--rounds", str(rounds), "--batch", str(batch)]
    result = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the one-process benchmark failed:\n{result.stderr}")
    return {int(key): value for key, value in json.loads(result.stdout.strip().splitlines()[-1]).items()}


def measure(quick: bool) -> dict[str, object]:
    """One process (a fresh process without Dask, before and after), then 1 worker, then 2 workers.

    The one-process step runs in a process of its own: beside a Dask client and its idle
    workers its large steps measured up to four times slower on this 2-core machine than alone.
    """
    from chainrule.distributed import connect

    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    rounds, batch = (3, 0.2) if quick else (9, 0.5)
    before = one_process_in_fresh_process(sizes, (rounds + 1) // 2, batch)
    result: dict[str, object] = {"cores": os.cpu_count(), "sizes": sizes, "workers": {}}
    agreement = 0.0
    for workers in (1, 2):
        with connect(workers=workers) as client:
            agreement = max(agreement, check_agreement(2_000, workers, client))
            steps: dict[str, object] = {}
            closers = []
            for samples in sizes:
                steps[f"workers {samples}"], close = distributed_step(samples, workers, client)
                closers.append(close)
            if workers == 2:
                for partitions in (2, 8, 32):
                    steps[f"overhead {partitions}"], close = distributed_step(10 * partitions, partitions, client)
                    closers.append(close)
            times = interleaved(steps, rounds, batch)
            for close in closers:
                close()
        result["workers"][workers] = {samples: times[f"workers {samples}"] for samples in sizes}
    after = one_process_in_fresh_process(sizes, (rounds + 1) // 2, batch)
    result["one process"] = {samples: statistics.median(before[samples] + after[samples]) for samples in sizes}
    result["overhead"] = {partitions: times[f"overhead {partitions}"] for partitions in (2, 8, 32)}
    result["agreement"] = agreement
    return result


def report(result: dict[str, object]) -> str:
    ms = lambda seconds: f"{seconds * 1e3:.1f} ms"  # noqa: E731
    lines = [
        f"Each distributed step agrees with the one-process step to {result['agreement']:.1e}.",
        "",
        "| samples | one process | 1 worker | 2 workers | 2 workers against one process |",
        "|---:|---:|---:|---:|---:|",
    ]
    one, workers = result["one process"], result["workers"]
    for samples in result["sizes"]:
        lines.append(
            f"| {samples:,} | {ms(one[samples])} | {ms(workers[1][samples])} | {ms(workers[2][samples])} | "
            f"{one[samples] / workers[2][samples]:.2f}× |"
        )
    overhead = result["overhead"]
    largest = result["sizes"][-1]
    per_sample = one[largest] / largest
    base = overhead[2]
    per_partition = (overhead[32] - overhead[2]) / 30
    break_even = 2 * base / per_sample  # t(N) > base + t(N)/2 with t(N) = N · per_sample
    lines += [
        "",
        "Scheduler overhead per step (2 workers, partitions of 10 samples): "
        + ", ".join(f"{count} partitions {ms(seconds)}" for count, seconds in overhead.items())
        + f"; about {per_partition * 1e3:.2f} ms more per partition.",
        f"One process computes a sample's share of a step in {per_sample * 1e9:.0f} ns (at {largest:,} samples), so two "
        f"workers start to pay at about {break_even:,.0f} samples ({break_even / 2:,.0f} per partition), "
        "where half the compute saves the overhead.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, shorter timings")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON too")
    parser.add_argument("--one-process", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=float, default=0.5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_process:
        print(json.dumps(one_process([int(n) for n in args.one_process.split(",")], args.rounds, args.batch)))
        return 0
    result = measure(args.quick)
    print(report(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
