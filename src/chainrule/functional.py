"""JAX-style function transformations: ``grad`` and ``value_and_grad``."""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from .errors import GraphError, format_shape
from .engine.grad_mode import enable_grad
from .engine.tensor import FLOAT_DTYPES, Tensor


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., tuple[float, Any]]:
    """Turn ``f`` (returning a scalar tensor) into a function returning ``(value, gradient)``.

    The arguments named by ``argnums`` may be tensors, arrays or numbers; each is copied into a
    fresh float leaf, so the caller's tensors are never touched. The gradient is an ndarray of
    the argument's shape, or a tuple of them when ``argnums`` is a tuple.

    >>> import chainrule as cr
    >>> f = lambda x, y: (x * y).sum()
    >>> value, (dx, dy) = cr.value_and_grad(f, argnums=(0, 1))([1.0, 2.0], [3.0, 4.0])
    >>> value, dx, dy
    (11.0, array([3., 4.]), array([1., 2.]))
    """
    single = isinstance(argnums, int)
    positions: tuple[int, ...] = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    name = getattr(f, "__name__", "f")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> tuple[float, Any]:
        args_list = list(args)
        for position in positions:
            if not -len(args) <= position < len(args):
                raise IndexError(f"grad: argnums {position} is out of range for {len(args)} positional arguments")
            args_list[position] = _fresh_leaf(args_list[position])
        with enable_grad():
            out = f(*args_list, **kwargs)
            if not isinstance(out, Tensor):
                raise GraphError(
                    f"grad: {name} must return a scalar chainrule tensor computed from its inputs; "
                    f"it returned {type(out).__name__}"
                )
            if out.size != 1:
                raise GraphError(f"grad: {name} must return a scalar; it returned shape {format_shape(out.shape)}")
            if out.requires_grad:
                out.backward()
        grads = tuple(
            leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data)
            for leaf in (args_list[position] for position in positions)
        )
        return out.item(), (grads[0] if single else grads)

    return wrapped


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn ``f`` (returning a scalar tensor) into a function returning its gradient.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: (x ** 3).sum())([1.0, 2.0])
    array([ 3., 12.])
    """
    with_value = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return with_value(*args, **kwargs)[1]

    return wrapped


def _fresh_leaf(value: Any) -> Tensor:
    """A new leaf requiring grad with ``value``'s numbers (float64 unless already floating)."""
    data = value.data if isinstance(value, Tensor) else value
    array = np.array(data)
    if array.dtype not in FLOAT_DTYPES:
        array = array.astype(np.float64)
    return Tensor(array, requires_grad=True)
