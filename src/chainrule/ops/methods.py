"""Operators and methods of ``Tensor``, each a one-line call of an op.

They are attached here, not written in ``tensor.py``, so that the engine does not depend on
the ops; after ``import chainrule`` every tensor has them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from . import activation, elementwise, linalg, reduce, selection, shape


def _compare(ufunc: np.ufunc):  # type: ignore[no-untyped-def]
    def compare(self: Tensor, other: Any) -> Tensor:
        return selection.compare(ufunc, self, other)

    compare.__doc__ = f"Elementwise ``{ufunc.__name__}`` as a boolean tensor (no gradient)."
    return compare


def _transpose(self: Tensor, *axes: Any) -> Tensor:
    """``x.transpose()``, ``x.transpose(1, 0, 2)`` or ``x.transpose((1, 0, 2))``."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return shape.transpose(self, axes or None)


# The forward operators call the ops' apply directly: one Python call less on the hot path.
_add, _sub, _mul = elementwise.Add.apply, elementwise.Sub.apply, elementwise.Mul.apply
_div, _matmul = elementwise.Div.apply, linalg.MatMul.apply

METHODS: dict[str, Any] = {
    # arithmetic operators, both sides
    "__add__": lambda self, other: _add(self, other),
    "__radd__": lambda self, other: elementwise.add(other, self),
    "__sub__": lambda self, other: _sub(self, other),
    "__rsub__": lambda self, other: elementwise.sub(other, self),
    "__mul__": lambda self, other: _mul(self, other),
    "__rmul__": lambda self, other: elementwise.mul(other, self),
    "__truediv__": lambda self, other: _div(self, other),
    "__rtruediv__": lambda self, other: elementwise.div(other, self),
    "__pow__": lambda self, other: elementwise.pow(self, other),
    "__rpow__": lambda self, other: elementwise.pow(other, self),
    "__matmul__": lambda self, other: _matmul(self, other),
    "__rmatmul__": lambda self, other: linalg.matmul(other, self),
    "__neg__": lambda self: elementwise.Neg.apply(self),
    "__pos__": lambda self: self,
    "__abs__": lambda self: elementwise.abs(self),
    "__getitem__": lambda self, index: shape.getitem(self, index),
    # comparisons give boolean tensors, as in NumPy and PyTorch
    "__lt__": _compare(np.less),
    "__le__": _compare(np.less_equal),
    "__gt__": _compare(np.greater),
    "__ge__": _compare(np.greater_equal),
    "__eq__": _compare(np.equal),
    "__ne__": _compare(np.not_equal),
    # methods
    "matmul": linalg.matmul,
    "exp": elementwise.exp,
    "log": elementwise.log,
    "sqrt": elementwise.sqrt,
    "abs": elementwise.abs,
    "clip": selection.clip,
    "maximum": selection.maximum,
    "minimum": selection.minimum,
    "sum": reduce.sum,
    "mean": reduce.mean,
    "max": reduce.max,
    "min": reduce.min,
    "logsumexp": reduce.logsumexp,
    "reshape": shape.reshape,
    "flatten": lambda self: shape.reshape(self, -1),
    "transpose": _transpose,
    "astype": shape.astype,
    "detach": shape.detach,
    "sigmoid": activation.sigmoid,
    "tanh": activation.tanh,
    "relu": activation.relu,
    "leaky_relu": activation.leaky_relu,
    "softplus": activation.softplus,
    "softmax": activation.softmax,
    "log_softmax": activation.log_softmax,
}


def install() -> None:
    """Attach every entry of ``METHODS`` to ``Tensor``, plus the ``.T`` property."""
    for name, function in METHODS.items():
        setattr(Tensor, name, function)
    Tensor.T = property(lambda self: shape.transpose(self), doc="The tensor with its axes reversed.")  # type: ignore[attr-defined,assignment]
