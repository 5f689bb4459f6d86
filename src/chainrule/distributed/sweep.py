"""Sweeps: one independent training run per point of a grid, each a Dask task.

>>> grid_points({"lr": [0.1, 0.01], "seed": [0, 1]})
[{'lr': 0.1, 'seed': 0}, {'lr': 0.1, 'seed': 1}, {'lr': 0.01, 'seed': 0}, {'lr': 0.01, 'seed': 1}]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from ..errors import describe_value
from .cluster import connect, require_dask

RESERVED = ("result", "error")  # the keys a record adds to its point


def grid_points(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The points of ``grid``: every combination of a mapping of name → values (the last name varying
    fastest), or a sequence of points (mappings of keyword arguments) taken as it is."""
    if isinstance(grid, Mapping):
        for name, values in grid.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise TypeError(f"sweep: the values of {name!r} must be a list, got {describe_value(values)}")
        points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        for index, point in enumerate(grid):
            if not isinstance(point, Mapping):
                raise TypeError(
                    f"sweep: point {index} of the grid must be a dict of arguments, got {describe_value(point)}"
                )
        points = [dict(point) for point in grid]
    else:
        raise TypeError(f"sweep: grid must be a dict of name → values or a list of dicts, got {describe_value(grid)}")
    if not points:
        raise ValueError("sweep: the grid has no points")
    for index, point in enumerate(points):
        bad = [key for key in point if not isinstance(key, str) or key in RESERVED]
        if bad:
            raise ValueError(
                f"sweep: point {index} has the argument name {bad[0]!r}; names must be strings other than "
                f"{' and '.join(map(repr, RESERVED))} (the keys a record adds)"
            )
    return points


def _call(train_fn: Callable[..., Any], point: dict[str, Any]) -> Any:
    """Runs on a worker: one point of the grid."""
    return train_fn(**point)


def sweep(
    train_fn: Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    client: Any = None,
    progress: bool | None = None,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Run ``train_fn(**point)`` for every point of ``grid`` as Dask tasks; one record per point, in grid order.

    A record is the point's arguments plus ``"result"`` (what ``train_fn`` returned; None if it
    raised) and ``"error"`` (None, or the exception it raised): a failing point never loses the
    others. Without ``client`` an embedded cluster of ``workers`` (default one per core) runs
    the sweep and is closed afterwards. ``train_fn`` and its results travel by pickle
    (cloudpickle: lambdas and closures work); on a remote cluster the workers need chainrule
    and whatever ``train_fn`` imports. A progress bar counts finished runs (``progress=None``:
    only on a terminal).

    >>> records = sweep(lambda lr, seed: lr * seed, {"lr": [0.1], "seed": [1, 2]})  # doctest: +SKIP
    >>> [(r["seed"], r["result"], r["error"]) for r in records]  # doctest: +SKIP
    [(1, 0.1, None), (2, 0.2, None)]
    """
    if not callable(train_fn):
        raise TypeError(f"sweep: train_fn must be a function of the grid's arguments, got {describe_value(train_fn)}")
    points = grid_points(grid)
    require_dask("sweep")
    from distributed import as_completed

    from ..training.train import _progress_bar

    with connect(client, workers=workers) as active:
        futures = [active.submit(_call, train_fn, point, pure=False) for point in points]
        bar = _progress_bar(len(futures), "runs", progress, unit="run", owner="sweep")
        try:
            for _ in as_completed(futures):
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return [{**point, **_outcome(future)} for point, future in zip(points, futures)]


def _outcome(future: Any) -> dict[str, Any]:
    """``{"result": ..., "error": None}`` for a finished task, ``{"result": None, "error": exception}`` otherwise."""
    try:
        return {"result": future.result(), "error": None}
    except Exception as error:  # noqa: BLE001 - each point's failure is reported in its record
        return {"result": None, "error": error}
