"""Ops that select among values: maximum, minimum, clip, where, and comparisons.

Their gradients go to the values selected (split half and half at a tie of ``maximum`` and
``minimum``); a comparison gives booleans and no gradient. Arithmetic is in ``elementwise``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DTypeError
from ..engine import observers
from ..engine.function import Function, _apply_without_gradient, named, plain_number
from ..engine.tensor import Tensor


class Maximum(Function):
    """d/da max(a, b) = 1 where a > b, ½ where a = b, 0 elsewhere (and the same for b)"""

    template = "max({0}, {1})"
    pick, wins = staticmethod(np.maximum), staticmethod(np.greater)  # Minimum: np.minimum, np.less

    def forward(self, a, b):
        self.a, self.b = a, b
        return self.pick(a, b)

    def backward(self, grad_out):
        share_a = self.share_of_first(self.a, self.b, grad_out.dtype)
        needs_a, needs_b = self.needs_input_grad
        return (grad_out * share_a if needs_a else None), (grad_out * (1 - share_a) if needs_b else None)

    def vjp(self, grad_out, a, b):
        share_a = self.share_of_first(a.data, b.data, grad_out.dtype)  # a constant array: no second derivative
        needs_a, needs_b = self.needs_input_grad
        return (grad_out * share_a if needs_a else None), (grad_out * (1 - share_a) if needs_b else None)

    def jvp(self, tangents, a, b):
        share_a = self.share_of_first(a.data, b.data, tangents[0].dtype)
        return tangents[0] * share_a + tangents[1] * (1 - share_a)

    def share_of_first(self, a: np.ndarray, b: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """The part of the gradient that goes to ``a``: 1 where it wins, ½ at ties, 0 elsewhere."""
        return np.where(self.wins(a, b), 1.0, np.where(a == b, 0.5, 0.0)).astype(dtype)


class Minimum(Maximum):
    """d/da min(a, b) = 1 where a < b, ½ where a = b, 0 elsewhere (and the same for b)"""

    template = "min({0}, {1})"
    pick, wins = staticmethod(np.minimum), staticmethod(np.less)


class Clip(Function):
    """d/dx clip(x, lo, hi) = 1 where lo ≤ x ≤ hi, 0 outside"""

    template = "clip({0}, {low}, {high})"

    def forward(self, x, low, high):
        self.inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            self.inside &= x >= low
        if high is not None:
            self.inside &= x <= high
        return np.clip(x, low, high)

    def backward(self, grad_out):
        return grad_out * self.inside

    def vjp(self, grad_out, x):
        return grad_out * self.inside

    def jvp(self, tangents, x):
        return tangents[0] * self.inside


class Where(Function):
    """d/da where(c, a, b) = c, d/db where(c, a, b) = not c (the condition c gets no gradient)"""

    template = "where({0}, {1}, {2})"

    def forward(self, condition, a, b):
        self.condition = condition
        return np.where(condition, a, b)

    def backward(self, grad_out):
        _, needs_a, needs_b = self.needs_input_grad
        grad_a = np.where(self.condition, grad_out, 0) if needs_a else None
        grad_b = np.where(self.condition, 0, grad_out) if needs_b else None
        return None, grad_a, grad_b

    def vjp(self, grad_out, condition, a, b):
        _, needs_a, needs_b = self.needs_input_grad
        grad_a = Where.apply(condition, grad_out, 0) if needs_a else None
        grad_b = Where.apply(condition, 0, grad_out) if needs_b else None
        return None, grad_a, grad_b

    def jvp(self, tangents, condition, a, b):
        return Where.apply(condition, tangents[1], tangents[2])


class Compare(Function):
    """d/da (a < b) = 0: a comparison is true or false, with no gradient

    Applied without recording a node (``function._apply_without_gradient``), it is still an op
    on its inputs: ``chainrule.trace`` recomputes it at each replay.
    """

    def forward(self, a, b=None, *, ufunc, other=None):
        return ufunc(a, other if b is None else b)

    def backward(self, grad_out):
        return np.zeros_like(grad_out)


# ------------------------------------------------------------------------- public functions


def maximum(a: Any, b: Any, name: str | None = None) -> Tensor:
    """Elementwise maximum; at ties the gradient is split half and half."""
    return named(Maximum.apply(a, b), name)


def minimum(a: Any, b: Any, name: str | None = None) -> Tensor:
    """Elementwise minimum; at ties the gradient is split half and half."""
    return named(Minimum.apply(a, b), name)


def clip(x: Any, min: float | None = None, max: float | None = None, name: str | None = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; the gradient is 1 inside (bounds included), 0 outside.

    >>> import chainrule as cr
    >>> cr.clip(cr.tensor([-2.0, 0.5, 3.0]), 0.0, 1.0)
    tensor([0. , 0.5, 1. ])
    """
    if min is None and max is None:
        raise ValueError("clip: give min=, max= or both")
    return named(Clip.apply(x, low=_bound(min, "min"), high=_bound(max, "max")), name)


def _bound(value: Any, which: str) -> Any:
    """A clip bound as a number or an array: a tensor's values, refused if it wants a gradient."""
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise DTypeError(
                f"clip: {which}= gets no gradient; pass numbers, or use cr.maximum/cr.minimum for a bound that needs one"
            )
        if observers._threads_on:  # its values become an option of the op: a trace could not follow a change
            observers.value_read(value, f"clip's {which}=")
        return value.data
    return plain_number(value)


def where(condition: Any, a: Any, b: Any, name: str | None = None) -> Tensor:
    """``a`` where ``condition`` is true, else ``b`` (the condition gets no gradient)."""
    if not isinstance(condition, Tensor):
        condition = np.asarray(condition, dtype=bool)
    elif condition.data.dtype != bool:
        condition = compare(np.not_equal, condition, 0)  # what NumPy's bool() of each number gives
    return named(Where.apply(condition, a, b), name)


def compare(ufunc: np.ufunc, a: Tensor, other: Any) -> Tensor:
    """``ufunc(a, other)`` for a comparison ufunc (``np.less``…): a boolean tensor without gradient."""
    node = Compare()
    node.name = ufunc.__name__
    if isinstance(other, Tensor):
        return _apply_without_gradient(node, (a, other), {"ufunc": ufunc})
    return _apply_without_gradient(node, (a,), {"ufunc": ufunc, "other": other})
