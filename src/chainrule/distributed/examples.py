"""The seed's three-matrix network trained by full-batch gradient descent over partitions.

The same steps as ``chainrule.examples.three_matrix.train``, with the inputs generated
partition by partition on the workers: with ``samples=1_000_000`` no process holds them all.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.examples.three_matrix import SEED_A, SEED_B, SEED_C, outputs_rows

from .full_batch import train_full_batch
from .partitions import three_matrix_partitions


def three_matrix_sum(params: list[cr.Tensor], inputs: np.ndarray, targets: Any = None) -> cr.Tensor:
    """The summed loss Σ‖w‖² of a partition's rows (the network has no targets)."""
    return cr.squared_norm(outputs_rows(cr.tensor(inputs), *params))


def train_three_matrix(
    samples: int = 1000,
    steps: int = 100,
    lr: float = 0.01,
    seed: int = 0,
    report: Callable[[int, float], None] | None = None,
    partitions: int = 2,
    client: Any = None,
    workers: int | None = None,
    placement: dict[str, int] | None = None,
) -> tuple[list[float], tuple[np.ndarray, ...]]:
    """``three_matrix.train``'s batch gradient descent with the batch in ``partitions`` parts on the workers.

    Returns the loss before each step plus the final loss, and the final A, B, C; equal to
    ``three_matrix.train(samples, steps, lr, seed)`` to rounding. ``placement``, if given, is
    filled with how many samples each worker held.
    """
    params = [cr.tensor(m, requires_grad=True) for m in (SEED_A, SEED_B, SEED_C)]
    history = train_full_batch(
        params,
        three_matrix_sum,
        three_matrix_partitions(samples, partitions, seed),
        optim.SGD(params, lr=lr),
        steps,
        client=client,
        workers=workers,
        report=report,
        placement=placement,
    )
    return history, tuple(p.data for p in params)
