"""Reductions along axes: ``sum``, ``mean``, ``max``, ``min``, ``logsumexp``.

Each takes NumPy's ``axis=`` (None, an int or a tuple; negative counts from the end) and
``keepdims=``. The backward first puts the reduced axes back as size-1 axes (``keepdims``
shape), then broadcasts the gradient over them.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import ShapeError, format_shape, normalize_axes
from ..engine.function import Function, named
from ..engine.tensor import Tensor
from .activation import shifted_down
from .elementwise import exp
from .shape import broadcast_to

Axis = int | Sequence[int] | None


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over ``axes`` has with keepdims=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if axis in axes else size for axis, size in enumerate(shape))


def reduction_formula(symbol: str, names, options) -> str:
    """``Σ x`` for a full reduction, ``Σ(x, axis=1)`` along an axis."""
    axis = options.get("axis")
    return f"{symbol} {names[0]}" if axis is None else f"{symbol}({names[0]}, axis={axis})"


class Sum(Function):
    """d/dxᵢ Σⱼ xⱼ = 1"""

    # trace's scalar replays have 0-d values only: the sum of one number is that number, but NumPy's
    # sum starts from +0, so −0 sums to +0
    scalar_forward, scalar_backward = "0.0 + {0}", ("{grad}",)

    def formula(self, names):
        return reduction_formula("Σ", names, self.options)

    def forward(self, x, axis, keepdims):
        self.shape = x.shape
        self.axes = normalize_axes("sum", axis, x.ndim, x.shape)
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, grad_out):
        grad = np.empty(self.shape, grad_out.dtype)  # a new array: nothing to copy later
        grad[...] = grad_out if self.axes is None else grad_out.reshape(kept_shape(self.shape, self.axes))
        return grad

    def vjp(self, grad_out, x):
        return spread(grad_out, self.shape, self.axes)

    def jvp(self, tangents, x):
        return sum(tangents[0], axis=self.axes, keepdims=self.options["keepdims"])


class Mean(Function):
    """d/dxᵢ (1/n) Σⱼ xⱼ = 1/n"""

    def formula(self, names):
        return reduction_formula("mean", names, self.options)

    def forward(self, x, axis, keepdims):
        self.shape = x.shape
        self.axes = normalize_axes("mean", axis, x.ndim, x.shape)
        self.count = x.size if self.axes is None else int(np.prod([x.shape[a] for a in self.axes]))
        if self.count == 0:  # nothing to average: an error, unless no mean is asked for at all
            empty = x.sum(axis=self.axes, keepdims=keepdims)
            if empty.size:
                along = ""
                if self.axes is not None:
                    along = f" along axis {self.axes[0]}" if len(self.axes) == 1 else f" along axes {self.axes}"
                raise ShapeError(
                    f"mean: a tensor of shape {format_shape(x.shape)} has no elements to average{along}; "
                    "the mean of nothing is undefined"
                )
            return empty
        return x.mean(axis=self.axes, keepdims=keepdims)

    def backward(self, grad_out):
        grad = np.empty(self.shape, grad_out.dtype)
        grad[...] = (
            grad_out if self.axes is None else grad_out.reshape(kept_shape(self.shape, self.axes))
        ) / self.count
        return grad

    def vjp(self, grad_out, x):
        return spread(grad_out, self.shape, self.axes) / self.count

    def jvp(self, tangents, x):
        return mean(tangents[0], axis=self.axes, keepdims=self.options["keepdims"])


class Max(Function):
    """d/dxᵢ max x = 1 at the maximum (split evenly between ties), 0 elsewhere"""

    def formula(self, names):
        return reduction_formula(self.name, names, self.options)  # "max" or "min"

    reduce = staticmethod(np.max)

    def forward(self, x, axis, keepdims):
        self.axes = normalize_axes(self.name, axis, x.ndim, x.shape)
        if x.size == 0:
            raise ShapeError(f"{self.name}: a tensor with no elements has no {self.name}")
        out = self.reduce(x, axis=self.axes, keepdims=True)
        self.winners = x == out
        return out if keepdims else np.squeeze(out, axis=self.axes)

    def backward(self, grad_out):
        ties = self.winners.sum(axis=self.axes, keepdims=True).astype(grad_out.dtype)
        kept = kept_shape(self.winners.shape, self.axes)
        return self.winners * (grad_out.reshape(kept) / ties)

    def vjp(self, grad_out, x):
        return spread(grad_out, self.winners.shape, self.axes) * self._shares(grad_out.dtype)

    def jvp(self, tangents, x):  # the mean of the tangents of the tied winners, as torch.amax's
        return sum(tangents[0] * self._shares(tangents[0].dtype), axis=self.axes, keepdims=self.options["keepdims"])

    def _shares(self, dtype: np.dtype) -> np.ndarray:
        """The part of the gradient each element gets: 1/(number of ties) at the winners, 0 elsewhere (a constant)."""
        return (self.winners / self.winners.sum(axis=self.axes, keepdims=True)).astype(dtype)


class Min(Max):
    """d/dxᵢ min x = 1 at the minimum (split evenly between ties), 0 elsewhere"""

    reduce = staticmethod(np.min)


class LogSumExp(Function):
    """d/dxᵢ log Σⱼ exp xⱼ = softmax(x)ᵢ (computed as exp(xᵢ − m) / Σ exp(xⱼ − m), m = max x)"""

    def formula(self, names):
        return reduction_formula("logsumexp", names, self.options)

    def forward(self, x, axis, keepdims):
        self.x = x
        self.axes = normalize_axes("logsumexp", axis, x.ndim, x.shape)
        if not x.size:  # log Σ over no terms: log 0 = −inf (as PyTorch); the gradient is empty
            self.out = np.full(np.sum(x, axis=self.axes, keepdims=True).shape, -np.inf, dtype=x.dtype)
            return self.out if keepdims else np.squeeze(self.out, axis=self.axes)
        shift = x.max(axis=self.axes, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0)
        total = np.exp(shifted_down(x, shift)).sum(axis=self.axes, keepdims=True)
        self.out = np.log(total) + shift
        return self.out if keepdims else np.squeeze(self.out, axis=self.axes)

    def backward(self, grad_out):
        grad = grad_out.reshape(self.out.shape)
        return grad * np.exp(shifted_down(self.x, self.out))

    def vjp(self, grad_out, x):
        return grad_out.reshape(self.out.shape) * self._softmax(x)

    def jvp(self, tangents, x):
        return sum(tangents[0] * self._softmax(x), axis=self.axes, keepdims=self.options["keepdims"])

    @np.errstate(over="ignore")  # x − logsumexp(x) is −inf, silently, for inputs further apart than the float range
    def _softmax(self, x: Tensor) -> Tensor:
        """exp(x − logsumexp(x)) along the axes, recomputed with a graph: the derivative of logsumexp."""
        return exp(x - logsumexp(x, axis=self.axes, keepdims=True))


def spread(grad_out: Tensor, shape: tuple[int, ...], axes: tuple[int, ...] | None) -> Tensor:
    """A reduction's gradient put back over the axes it reduced: reshaped to keep them, broadcast to ``shape``."""
    return broadcast_to(grad_out.reshape(kept_shape(shape, axes)), shape)


# ------------------------------------------------------------------------- public functions
def sum(x: Any, axis: Axis = None, keepdims: bool = False, name: str | None = None) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes by default).

    >>> import chainrule as cr
    >>> cr.sum(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([4., 6.])
    """
    return named(Sum.apply(x, axis=axis, keepdims=keepdims), name)


def mean(x: Any, axis: Axis = None, keepdims: bool = False, name: str | None = None) -> Tensor:
    """Arithmetic mean over ``axis`` (all axes by default); over no elements it is a ShapeError, not nan."""
    return named(Mean.apply(x, axis=axis, keepdims=keepdims), name)


def max(x: Any, axis: Axis = None, keepdims: bool = False, name: str | None = None) -> Tensor:  # noqa: A001
    """Largest value over ``axis``; ties share the gradient evenly."""
    return named(Max.apply(x, axis=axis, keepdims=keepdims), name)


def min(x: Any, axis: Axis = None, keepdims: bool = False, name: str | None = None) -> Tensor:  # noqa: A001
    """Smallest value over ``axis``; ties share the gradient evenly."""
    return named(Min.apply(x, axis=axis, keepdims=keepdims), name)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False, name: str | None = None) -> Tensor:
    """log Σ exp(x) over ``axis``, computed without overflow: finite and silent for every finite input."""
    return named(LogSumExp.apply(x, axis=axis, keepdims=keepdims), name)
