"""Where the data of a full-batch gradient lives: partitions that each worker loads and keeps.

A partition is a pair (inputs, targets) of arrays with one row per sample (targets may be
None). ``Partitions`` says how to get partition ``i`` on a worker: generate it from a seed,
read ``.npy`` shards, or compute a block of a dask array. Each is checked where it is loaded
(numbers, finite, as many targets as inputs) and all of them against each other (the same row
shape); a bad one stops the run with a one-line ``PartitionError`` naming it.

The three-matrix network's inputs, generated partition by partition from the same random
stream as ``data.three_matrix_inputs``:

>>> import numpy as np
>>> from chainrule import data
>>> rows = [three_matrix_rows(0, start, stop) for start, stop in [(0, 4), (4, 10)]]
>>> np.array_equal(np.concatenate(rows), data.three_matrix_inputs(10, seed=0))
True
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import ChainruleError, check_integer, describe_value, format_shape
from .cluster import require_dask, worker_addresses


class PartitionError(ChainruleError, ValueError):
    """A partition whose data cannot be trained on (not numbers, NaN or inf, a wrong shape), named."""


@dataclass(frozen=True)
class Partitions:
    """``count`` partitions; ``load(i)`` (run on a worker) gives partition i, ``names[i]`` says where it comes from.

    Build them with ``Partitions.generate``, ``Partitions.from_npy`` or ``Partitions.from_dask_array``.
    """

    count: int
    load: Callable[[int], Any] | None
    names: tuple[str, ...]
    blocks: tuple[Any, ...] = ()  # dask arrays' blocks as delayed pairs, when the data is a dask array

    @classmethod
    def generate(cls, make: Callable[[int], Any], count: int, name: str = "generated") -> Partitions:
        """Partition i is ``make(i)``, run on the worker that keeps it: (inputs, targets), or inputs alone."""
        if not callable(make):
            raise TypeError(f"Partitions.generate: make must be a function of the index, got {describe_value(make)}")
        count = check_integer("Partitions.generate", "count", count)
        return cls(count, make, tuple(f"{name} partition {index}" for index in range(count)))

    @classmethod
    def from_npy(
        cls, inputs: Sequence[str | os.PathLike], targets: Sequence[str | os.PathLike] | None = None
    ) -> Partitions:
        """One partition per ``.npy`` shard (and its targets' shard), read by the worker that keeps it.

        The paths must be readable by the workers (the same file system, on a cluster).
        """
        inputs = [os.fspath(path) for path in inputs]
        if not inputs:
            raise ValueError("Partitions.from_npy: no shards given")
        if targets is not None:
            targets = [os.fspath(path) for path in targets]
            if len(targets) != len(inputs):
                raise ValueError(f"Partitions.from_npy: {len(inputs)} input shards but {len(targets)} target shards")
        load = functools.partial(_read_shards, tuple(inputs), None if targets is None else tuple(targets))
        return cls(len(inputs), load, tuple(f"shard {path}" for path in inputs))

    @classmethod
    def from_dask_array(cls, inputs: Any, targets: Any = None) -> Partitions:
        """One partition per block of rows of a dask array (chunked along the first axis only)."""
        require_dask("Partitions.from_dask_array")
        import dask

        blocks = _row_blocks("inputs", inputs)
        if targets is not None:
            target_blocks = _row_blocks("targets", targets)
            if [block.shape[0] for block in blocks] != [block.shape[0] for block in target_blocks]:
                raise ValueError(
                    f"Partitions.from_dask_array: inputs and targets are chunked differently along the rows "
                    f"({inputs.chunks[0]} and {targets.chunks[0]})"
                )
        pairs = tuple(
            dask.delayed(tuple)([block, None if targets is None else target_blocks[index]])
            for index, block in enumerate(blocks)
        )
        return cls(len(blocks), None, tuple(f"block {index} of the dask array" for index in range(len(blocks))), pairs)

    def load_on(self, client: Any) -> tuple[list[Any], list[list[str]]]:
        """Futures of the checked partitions kept on the workers, and the worker of each (as a one-element list).

        The first ``count / workers`` partitions go to the first worker, and so on; tasks on a
        partition should ask for its worker (``workers=place, allow_other_workers=True``), so
        that its data never travels (another worker takes over only if that one is gone).
        Raises PartitionError naming the first bad partition.
        """
        workers = worker_addresses(client)
        if not workers:
            raise OSError("the Dask cluster has no workers to hold the partitions; start workers, then try again")
        place = [[workers[index * len(workers) // self.count]] for index in range(self.count)]
        if self.blocks:
            raw = [
                client.compute(pair, workers=where, allow_other_workers=True) for pair, where in zip(self.blocks, place)
            ]
            futures = [
                client.submit(
                    _checked, index, self.names[index], pair, pure=False, workers=where, allow_other_workers=True
                )
                for index, (pair, where) in enumerate(zip(raw, place))
            ]
        else:
            futures = [
                client.submit(
                    _load, self.load, index, self.names[index], pure=False, workers=where, allow_other_workers=True
                )
                for index, where in enumerate(place)
            ]
        summaries = client.gather(
            [
                client.submit(_summary, future, pure=False, workers=where, allow_other_workers=True)
                for future, where in zip(futures, place)
            ]
        )
        check_agreement(self.names, summaries)
        return futures, place


def _row_blocks(what: str, array: Any) -> list[Any]:
    chunks = getattr(array, "chunks", None)
    if chunks is None or not hasattr(array, "to_delayed"):
        raise TypeError(f"Partitions.from_dask_array: {what} must be a dask array, got {describe_value(array)}")
    if any(len(axis) != 1 for axis in chunks[1:]):
        raise ValueError(
            f"Partitions.from_dask_array: {what} of shape {format_shape(array.shape)} is chunked along more than the "
            f"rows ({chunks}); rechunk it as {what}.rechunk({{1: -1}}) so each block holds whole rows"
        )
    return [array.blocks[index] for index in range(len(chunks[0]))]


def _read_shards(inputs: tuple[str, ...], targets: tuple[str, ...] | None, index: int) -> tuple[Any, Any]:
    """Runs on a worker: the arrays of shard ``index``."""
    return np.load(inputs[index], allow_pickle=False), None if targets is None else np.load(
        targets[index], allow_pickle=False
    )


def _load(load: Callable[[int], Any], index: int, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Runs on a worker: partition ``index``, loaded and checked; a failure to load names the partition."""
    try:
        loaded = load(index)
    except (OSError, ValueError) as error:
        raise PartitionError(f"partition {index} ({name}) could not be loaded: {error}") from None
    return _checked(index, name, loaded)


def _checked(index: int, name: str, loaded: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """The partition as (inputs, targets) arrays, or a PartitionError saying what is wrong with it."""
    inputs, targets = loaded if isinstance(loaded, (tuple, list)) and len(loaded) == 2 else (loaded, None)
    where = f"partition {index} ({name})"
    inputs = np.asarray(inputs)
    if inputs.dtype.kind != "f":
        raise PartitionError(f"{where}: inputs must be floating-point numbers, got dtype {inputs.dtype}")
    if inputs.ndim == 0 or len(inputs) == 0:
        raise PartitionError(f"{where}: inputs of shape {format_shape(inputs.shape)} hold no rows (samples)")
    _check_finite(where, "inputs", inputs)
    if targets is not None:
        targets = np.asarray(targets)
        if targets.dtype.kind not in "biuf":
            raise PartitionError(f"{where}: targets must be numbers, got dtype {targets.dtype}")
        if targets.ndim == 0 or len(targets) != len(inputs):
            raise PartitionError(
                f"{where}: {len(inputs)} input rows but targets of shape {format_shape(targets.shape)} "
                f"(inputs {format_shape(inputs.shape)})"
            )
        if targets.dtype.kind == "f":
            _check_finite(where, "targets", targets)
    return inputs, targets


def _check_finite(where: str, what: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        value = values.reshape(len(values), -1)[row][bad.reshape(len(values), -1)[row]][0]
        raise PartitionError(
            f"{where}: {what} hold {value} in row {row} (of {len(values)}); every value must be finite"
        )


def _summary(
    partition: tuple[np.ndarray, np.ndarray | None],
) -> tuple[int, tuple[int, ...], str, tuple[int, ...] | None]:
    """Runs on a worker: rows, input row shape and dtype, target row shape of a partition (a few numbers travel)."""
    inputs, targets = partition
    return len(inputs), inputs.shape[1:], str(inputs.dtype), None if targets is None else targets.shape[1:]


def check_agreement(names: Sequence[str], summaries: Sequence[tuple[Any, ...]]) -> None:
    """A PartitionError naming the first partition whose rows differ from most partitions' (shape, dtype, targets)."""
    for position, what in ((1, "input rows of shape"), (2, "inputs of dtype"), (3, "target rows of shape")):
        values = [summary[position] for summary in summaries]
        usual, _ = Counter(values).most_common(1)[0]
        for index, value in enumerate(values):
            if value != usual:
                shown = (lambda v: "none" if v is None else format_shape(v)) if position != 2 else str
                raise PartitionError(
                    f"partition {index} ({names[index]}) has {what} {shown(value)} where "
                    f"{'the others have' if values.count(usual) > 1 else f'partition {values.index(usual)} has'} "
                    f"{shown(usual)}"
                )


def three_matrix_rows(seed: int, start: int, stop: int) -> np.ndarray:
    """Rows ``start`` to ``stop`` of ``data.three_matrix_inputs(samples, seed)`` for any ``samples ≥ stop``, made alone.

    ``default_rng(seed).random`` takes one 64-bit draw of its PCG64 stream per number, so
    advancing the stream by ``3 * start`` draws starts it at row ``start``.
    """
    bits = np.random.PCG64(seed)
    bits.advance(3 * start)
    return np.random.Generator(bits).random((stop - start, 3))


def three_matrix_partitions(samples: int, count: int, seed: int = 0) -> Partitions:
    """The inputs of ``data.three_matrix_inputs(samples, seed)`` in ``count`` partitions, each generated on its worker."""
    samples = check_integer("three_matrix_partitions", "samples", samples)
    count = check_integer("three_matrix_partitions", "count", count)
    if count > samples:
        raise ValueError(f"three_matrix_partitions: {count} partitions for {samples} samples; at most one per sample")
    bounds = [index * samples // count for index in range(count + 1)]
    return Partitions(
        count,
        functools.partial(_three_matrix_partition, seed, tuple(bounds)),
        tuple(
            f"rows {bounds[index]}–{bounds[index + 1] - 1} of three_matrix_inputs({samples}, seed={seed})"
            for index in range(count)
        ),
    )


def _three_matrix_partition(seed: int, bounds: tuple[int, ...], index: int) -> np.ndarray:
    return three_matrix_rows(seed, bounds[index], bounds[index + 1])
