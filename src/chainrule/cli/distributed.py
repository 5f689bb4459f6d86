"""The command line's Dask options: ``compare iris --workers K [--scheduler ADDRESS]`` and
``demo abc --samples N --partitions P --workers K``. The work is in ``chainrule.distributed``;
nothing here imports Dask until one of these options is given.
"""

from __future__ import annotations

import argparse
import copy
import functools
from typing import Any, Callable

from ..errors import ChainruleError


def add_options(parser: argparse.ArgumentParser, positive_int: Callable[[str], int], partitions: bool = False) -> None:
    """``--workers`` and ``--scheduler`` (and ``--partitions`` for the demo)."""
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="run on an embedded Dask cluster of this many worker processes, or with --scheduler wait for this many "
        'workers (Dask comes with pip install ".[distributed]" in the chainrule folder)',
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786"
    )
    if partitions:
        parser.add_argument(
            "--partitions",
            type=positive_int,
            default=None,
            help="train on the workers with the samples in this many partitions (default: one per worker)",
        )


def wanted(args: argparse.Namespace) -> bool:
    """Whether the command runs on Dask."""
    return any(getattr(args, name, None) is not None for name in ("workers", "scheduler", "partitions"))


def _require_dask(args: argparse.Namespace) -> None:
    """One line naming the option given, when Dask is not installed."""
    from ..distributed import require_dask

    given = [f"--{name}" for name in ("workers", "scheduler", "partitions") if getattr(args, name, None) is not None]
    require_dask(" and ".join(given))


def compare_runs(
    args: argparse.Namespace, names: list[str], seeds: list[int], run: Callable[..., Any]
) -> dict[str, list[Any]]:
    """``run(args, optimizer, seed)`` for every optimizer and seed as Dask tasks, grouped as the serial loop groups them."""
    from ..distributed import connect, sweep

    _require_dask(args)
    quiet = copy.copy(args)
    quiet.quiet = True  # the workers draw no bars of their own; the sweep's bar counts finished runs
    grid = [{"optimizer": name, "seed": seed} for name in names for seed in seeds]
    with connect(workers=args.workers, scheduler=args.scheduler) as client:
        records = sweep(functools.partial(run, quiet), grid, client=client, progress=False if args.quiet else None)
    for record in records:  # the first failure in the serial order, as the serial loop would raise it
        error = record["error"]
        if isinstance(error, (ChainruleError, ValueError, OSError, ImportError, RuntimeError)):
            raise error
        if error is not None:  # a lost worker (KilledWorker), a cancelled task: one line all the same
            raise RuntimeError(
                f"the run of {record['optimizer']} with seed {record['seed']} failed: {type(error).__name__}: {error}"
            )
    return {name: [record["result"] for record in records if record["optimizer"] == name] for name in names}


def demo_abc(args: argparse.Namespace) -> float:
    """``chainrule demo abc`` with the batch gradient descent over partitions on the workers; returns the demo's worst difference."""
    from ..distributed import connect, train_three_matrix
    from ..distributed.cluster import worker_addresses
    from ..examples import three_matrix

    _require_dask(args)
    placement: dict[str, int] = {}
    if args.partitions is not None and args.partitions > args.samples:
        raise ValueError(
            f"--partitions {args.partitions} is more than --samples {args.samples}: at most one partition per sample"
        )
    with connect(workers=args.workers, scheduler=args.scheduler) as client:
        count = args.partitions or min(len(worker_addresses(client)), args.samples)
        trainer = functools.partial(train_three_matrix, partitions=count, client=client, placement=placement)
        worst = three_matrix.demo(steps=args.steps, lr=args.lr, samples=args.samples, seed=args.seed, trainer=trainer)
    held = sorted(placement.values(), reverse=True)
    print(
        f"trained in {count} partitions on {len(held)} Dask worker{'s' if len(held) != 1 else ''}: each generated and "
        f"kept its own samples (at most {held[0]} of the {args.samples} in one worker), and the driver held none"
    )
    return worst
