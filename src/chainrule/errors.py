"""The exceptions chainrule raises, each with a one-line message a student can act on.

Every error is raised at the user's own line: shapes are checked when an op is *called*
(the forward pass), not later inside ``backward()``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError):
    """Two shapes do not fit together (``matmul: shapes (3, 4) and (3, 3) do not line up``)."""


class AxisError(ChainruleError, ValueError, IndexError):
    """An ``axis=`` that the tensor does not have."""


class DTypeError(ChainruleError, TypeError):
    """A dtype chainrule cannot differentiate or store (integers with ``requires_grad``...)."""


class GraphError(ChainruleError, RuntimeError):
    """A misuse of the graph: backward from a non-scalar, through a freed graph, and so on."""


class DivergenceError(ChainruleError, FloatingPointError):
    """Training made the loss NaN or infinite (``fit`` stops before the step that would spread it)."""


def format_shape(shape: Sequence[int]) -> str:
    """``(3,)`` for a 1-D shape and ``()`` for a scalar, as NumPy prints them."""
    return str(tuple(int(size) for size in shape))


def normalize_axes(
    op: str, axis: int | Sequence[int] | None, ndim: int, shape: Sequence[int]
) -> tuple[int, ...] | None:
    """Turn ``axis=`` into a sorted tuple of non-negative axes, or None for "all axes".

    Raises AxisError naming the op when an axis is out of range or repeated.
    """
    if axis is None:
        return None
    if isinstance(axis, (int,)) or hasattr(axis, "__index__"):
        axes: Sequence[Any] = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise AxisError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
    normalized = []
    for item in axes:
        if not hasattr(item, "__index__"):
            raise AxisError(f"{op}: axis must be an int or a tuple of ints, got {item!r}")
        index = int(item)
        if not -ndim <= index < ndim:
            raise AxisError(
                f"{op}: axis {index} is out of range for a tensor of shape {format_shape(shape)} "
                f"({ndim} dimension{'s' if ndim != 1 else ''})"
            )
        normalized.append(index % ndim)
    if len(set(normalized)) != len(normalized):
        raise AxisError(f"{op}: axis {axis!r} names the same axis twice")
    return tuple(sorted(normalized))


def tensor_label(tensor: Any, unnamed: str = "the tensor") -> str:
    """How a message names a tensor: ``'w'`` when it has a name, else ``the tensor of shape (2, 3)``."""
    return f"'{tensor.name}'" if tensor.name else f"{unnamed} of shape {format_shape(tensor.data.shape)}"


def describe_value(value: Any) -> str:
    """How an error message names a value the user passed: ``4.5``, ``the string '0.1'``, ``a list``."""
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None or isinstance(value, numbers.Number):
        return repr(value)
    return f"a {type(value).__name__}"


def check_integer(owner: str, name: str, value: Any, minimum: int | None = 1) -> int:
    """``value`` as an int, or a one-line error naming ``owner`` and ``name`` (``DataLoader: batch_size ...``).

    >>> check_integer("Linear", "in_features", 4.5)
    Traceback (most recent call last):
    TypeError: Linear: in_features must be a positive integer, got 4.5
    """
    wanted = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer of at least {minimum}"
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be {wanted}, got {describe_value(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {name} must be {wanted}, got {value}")
    return int(value)


def check_number(owner: str, name: str, value: Any, minimum: float | None = 0.0) -> float:
    """``value`` as a finite float (at least ``minimum``), or a one-line error naming ``owner`` and ``name``.

    >>> check_number("SGD", "lr", float("nan"))
    Traceback (most recent call last):
    ValueError: SGD: lr must be a finite number, got nan
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {describe_value(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{owner}: {name} must be a finite number, got {number}")
    if minimum is not None and number < minimum:
        bound = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        raise ValueError(f"{owner}: {name} {bound}, got {value}")
    return number


def check_flag(owner: str, name: str, value: Any) -> bool:
    """``value`` if it is True or False (NumPy's bool too), else a one-line TypeError naming ``owner`` and ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {describe_value(value)}")
    return bool(value)
