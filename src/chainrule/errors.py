"""The exceptions chainrule raises, each with a one-line message a student can act on.

Every error is raised at the user's own line: shapes are checked when an op is *called*
(the forward pass), not later inside ``backward()``.
"""

from __future__ import annotations

from typing import Sequence


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
    axes = (axis,) if isinstance(axis, (int,)) or hasattr(axis, "__index__") else tuple(axis)
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
