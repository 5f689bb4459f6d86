"""Full-batch gradients over partitions that stay on the workers.

The loss of the whole batch is a sum over its samples, so its gradient is the sum of the
partitions' gradients. Each step: the parameters' current values are scattered to the workers
once; each worker computes the summed loss and gradients of its partitions (consecutive
indices, added in order) with chainrule, where they live; the workers' sums are added pairwise
as a tree (always the same grouping and tree, so the numbers do not depend on which worker did
what); the driver divides by the number of samples (the mean) and takes one optimizer step. The
model and the loss function are scattered once, at the start.

A worker that dies costs a retry: its partitions are loaded again from their source on
another worker and its tasks run again, with the same numbers.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from ..errors import ChainruleError, DivergenceError, check_integer, describe_value
from ..optim import Optimizer
from .cluster import connect, require_dask
from .partitions import PartitionError, Partitions

RETRIES = 3  # steps retried after a lost worker, before the error is passed on
RETRY_PAUSE = 0.5  # seconds, times the attempt's number
LossFn = Callable[[Any, np.ndarray, Any], Tensor]


@dataclass
class _Job:
    """What every partition's task needs besides the data and the parameters' values: scattered once."""

    model: Any
    loss_fn: LossFn


def _parameters(model: Any) -> list[Tensor]:
    """The tensors to differentiate: a Module's parameters, or a list of tensors as given."""
    if callable(getattr(model, "parameters", None)):
        return list(model.parameters())
    if isinstance(model, (list, tuple)) and model and all(isinstance(t, Tensor) for t in model):
        return list(model)
    raise TypeError(f"FullBatch: model must be a Module or a list of tensors, got {describe_value(model)}")


def _check_summed(job: _Job, model: Any, inputs: np.ndarray, targets: Any, loss: float, where: str) -> None:
    """Refuse a loss_fn that averages: the loss of a partition must be the sum of its halves' losses.

    A mean (``cross_entropy``'s default reduction) would make the partitions' sum a wrong
    full-batch loss and gradient, silently; checked once, at the first step, on each group's first
    partition.
    """
    half = len(inputs) // 2
    if half == 0:
        return
    with no_grad():
        parts = [
            job.loss_fn(model, inputs[rows], None if targets is None else targets[rows]).item()
            for rows in (slice(None, half), slice(half, None))
        ]
    if not np.isclose(loss, parts[0] + parts[1], rtol=1e-6, atol=1e-12):
        raise ValueError(
            f"FullBatch: loss_fn must return the summed loss of a partition's samples (reduction='sum'), not their "
            f"mean: on {where} it gives {loss:.6g} for its {len(inputs)} rows but {parts[0]:.6g} + {parts[1]:.6g} "
            "for its two halves; FullBatch(reduction='mean') divides the total by the number of samples itself"
        )


def _group_sums(
    job: _Job,
    values: list[np.ndarray],
    partitions: list[tuple[np.ndarray, Any]],
    names: list[str],
    check_summed: bool = False,
) -> tuple[Any, ...]:
    """Runs on a worker: the summed loss, rows and gradients of its group of partitions, added in order.

    A loss function that fails on a partition's data is a PartitionError naming it.
    """
    model = copy.deepcopy(job.model)  # the scattered model is shared by the tasks of a worker: never changed
    parameters = _parameters(model)
    for parameter, value in zip(parameters, values):
        parameter.data = value.copy()
    total: tuple[Any, ...] | None = None
    for (inputs, targets), where in zip(partitions, names):
        for parameter in parameters:
            parameter.grad = None
        try:
            loss = job.loss_fn(model, inputs, targets)
        except (ChainruleError, ValueError, TypeError, IndexError) as error:
            raise PartitionError(f"{where}: loss_fn failed on its data: {type(error).__name__}: {error}") from None
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            raise TypeError(
                f"FullBatch: loss_fn must return the partition's summed loss as a 0-d tensor, got {describe_value(loss)}"
            )
        if check_summed and total is None:
            _check_summed(job, model, inputs, targets, float(loss.item()), where)
        loss.backward()
        sums = (float(loss.item()), len(inputs), [parameter.grad for parameter in parameters])
        total = sums if total is None else _add(total, sums)
    return total


def _groups(place: list[list[str]]) -> list[list[int]]:
    """The partitions in runs of consecutive indices kept by the same worker (fixed once the data is loaded).

    >>> _groups([["a"], ["a"], ["b"], ["b"], ["b"]])
    [[0, 1], [2, 3, 4]]
    """
    groups: list[list[int]] = []
    for index, where in enumerate(place):
        if groups and place[groups[-1][0]] == where:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _add(left: tuple[Any, ...], right: tuple[Any, ...]) -> tuple[Any, ...]:
    """Runs on a worker: two partial sums added (a parameter without a gradient counts as zero)."""
    grads = [b if a is None else a if b is None else a + b for a, b in zip(left[2], right[2])]
    return left[0] + right[0], left[1] + right[1], grads


def tree_sum(client: Any, futures: list[Any], place: list[list[str]] | None = None) -> Any:
    """The pairwise sum of ``futures`` as a tree of tasks: (0+1) + (2+3), …; the same tree for the same count.

    ``place`` (the worker of each future) runs each sum where its left operand is.
    """
    level = list(zip(futures, place or [None] * len(futures)))
    while len(level) > 1:
        paired = [
            (client.submit(_add, left, right, pure=False, workers=where, allow_other_workers=True), where)
            for (left, where), (right, _) in zip(level[::2], level[1::2])
        ]
        level = paired + level[len(level) - len(level) % 2 :]
    return level[0][0]


class FullBatch:
    """The full-batch loss and gradient of ``model`` over ``partitions`` kept on the workers of ``client``.

    ``model`` is a Module or a list of tensors; ``loss_fn(model, inputs, targets)`` returns the
    *summed* loss of one partition's samples as a 0-d tensor (``reduction="sum"``, or
    ``squared_norm``). ``reduction="mean"`` divides the total by the number of samples, so the
    result equals the mean loss of all the samples in one process (to rounding). Use it as a
    context manager, or ``close()`` it, to free the workers' memory.

    >>> with FullBatch(model, loss_fn, partitions, client) as batch:  # doctest: +SKIP
    ...     loss = batch.backward()      # every parameter's .grad is now the full-batch gradient
    ...     optimizer.step()
    """

    def __init__(
        self, model: Any, loss_fn: LossFn, partitions: Partitions, client: Any, reduction: str = "mean"
    ) -> None:
        require_dask("FullBatch")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"FullBatch: reduction must be 'mean' or 'sum', got {reduction!r}")
        if not callable(loss_fn):
            raise TypeError(
                f"FullBatch: loss_fn must be a function of (model, inputs, targets), got {describe_value(loss_fn)}"
            )
        if not isinstance(partitions, Partitions):
            raise TypeError(
                f"FullBatch: partitions must be a chainrule.distributed.Partitions, got {describe_value(partitions)}"
            )
        self.model, self.parameters, self.client, self.reduction = model, _parameters(model), client, reduction
        self.partitions = partitions
        self._data, self._place = partitions.load_on(client)
        self._groups = _groups(self._place)  # one task per group and step: fewer tasks, the same sums
        self._job_object = _Job(copy.deepcopy(model), loss_fn)
        self._job = client.scatter(self._job_object, broadcast=True, hash=False)
        self.samples: int | None = None

    def backward(self) -> float:
        """Set every parameter's ``.grad`` to the full-batch gradient at its current value; returns the full-batch loss.

        A worker lost during the step (its connection closed, its scattered data gone) costs a
        retry of the step, after the model is scattered again; its partitions are loaded again
        by Dask from their source. The numbers are the same: the same sums in the same tree.
        """
        from concurrent.futures import CancelledError

        for attempt in range(RETRIES + 1):
            try:
                return self._backward()
            except (OSError, CancelledError):
                if attempt == RETRIES:
                    raise
                time.sleep(RETRY_PAUSE * (attempt + 1))  # let the scheduler notice the lost worker
                self._job = self.client.scatter(self._job_object, broadcast=True, hash=False)
        raise AssertionError("unreachable")

    def _backward(self) -> float:
        values = self.client.scatter([p.data.copy() for p in self.parameters], broadcast=True, hash=False)
        sums = [
            self.client.submit(
                _group_sums,
                self._job,
                values,
                [self._data[index] for index in group],
                [f"partition {index} ({self.partitions.names[index]})" for index in group],
                self.samples is None,  # the first step checks that loss_fn sums (_check_summed)
                pure=False,
                workers=self._place[group[0]],
                allow_other_workers=True,
            )
            for group in self._groups
        ]
        try:
            loss, rows, grads = tree_sum(self.client, sums, [self._place[group[0]] for group in self._groups]).result()
        except (PartitionError, ValueError):  # name the first bad partition in order, whichever failed first
            from distributed import wait

            wait(sums)
            failed = [future.exception() for future in sums if future.status == "error"]
            if not failed:
                raise
            raise failed[0] from None
        self.samples = rows
        scale = 1 / rows if self.reduction == "mean" else 1.0
        for parameter, grad in zip(self.parameters, grads):
            parameter.grad = None if grad is None else grad * scale if scale != 1.0 else grad
        return loss * scale

    def placement(self) -> dict[str, int]:
        """How many samples each worker holds: worker address → rows of its partitions."""
        rows = self.client.gather(
            [
                self.client.submit(len_inputs, f, pure=False, workers=where, allow_other_workers=True)
                for f, where in zip(self._data, self._place)
            ]
        )
        held: dict[str, int] = {}
        for future, count in zip(self._data, rows):
            for worker in self.client.who_has([future])[future.key]:
                held[worker] = held.get(worker, 0) + count
        return held

    def close(self) -> None:
        """Release the partitions and the scattered model on the workers."""
        self._data, self._place, self._job = [], [], None

    def __enter__(self) -> FullBatch:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def len_inputs(partition: tuple[np.ndarray, Any]) -> int:
    return len(partition[0])


def train_full_batch(
    model: Any,
    loss_fn: LossFn,
    partitions: Partitions,
    optimizer: Optimizer,
    steps: int,
    client: Any = None,
    workers: int | None = None,
    report: Callable[[int, float], None] | None = None,
    placement: dict[str, int] | None = None,
) -> list[float]:
    """``steps`` full-batch optimizer steps over ``partitions``; returns the loss before each step and the final loss.

    Without ``client`` an embedded cluster of ``workers`` (default one per core) runs it and
    is closed afterwards. ``report(step, loss)`` is called with each loss as it comes;
    ``placement``, if given, is filled with how many samples each worker holds.
    """
    steps = check_integer("train_full_batch", "steps", steps, minimum=0)
    _check_optimizer_holds(model, optimizer)
    history: list[float] = []
    with connect(client, workers=workers) as active, FullBatch(model, loss_fn, partitions, active) as batch:
        if placement is not None:
            placement.update(batch.placement())
        for step in range(steps + 1):
            loss = batch.backward()
            if not math.isfinite(loss):
                raise DivergenceError(
                    f"train_full_batch: the loss became {loss} at step {step}; lower the learning rate "
                    f"(the partitions' data were checked finite)"
                )
            history.append(loss)
            if report is not None:
                report(step, loss)
            if step < steps:
                optimizer.step()
    return history


def _check_optimizer_holds(model: Any, optimizer: Any) -> None:
    """An optimizer of other parameters would train nothing: say so before the first step."""
    held = {id(parameter) for parameter in getattr(optimizer, "params", [])}
    if not callable(getattr(optimizer, "step", None)) or not any(id(p) in held for p in _parameters(model)):
        raise ValueError(
            "train_full_batch: the optimizer holds none of the model's parameters, so training would change nothing; "
            "build it from them: optim.SGD(model.parameters(), lr=...)"
        )
