"""How gradients add up: the rules every backward pass follows, written once.

``graph.backward`` (``loss.backward()``), ``autograd.grad``, the code ``trace`` generates and
``explain``/``draw`` all call the functions below, so a gradient is fitted, summed and stored the
same way whichever of them computes it:

* ``fit_gradient``: what an op's backward returned for an input becomes an array of that input's
  shape: a number or list is made an array; a gradient of the broadcast shape is summed back
  (``unbroadcast``).
* ``add_gradient``: a second contribution to one tensor's gradient is added; in place only into a
  sum the walk made itself, an array no one else holds.
* ``store_leaf_gradient``: a leaf's ``.grad`` keeps the first array it gets unless someone else may
  hold that array too; else it gets a copy, and later contributions a new array (``accumulate_leaf``).

    >>> import numpy as np
    >>> unbroadcast(np.ones((2, 3)), (3,))  # x of shape (3,) was used twice, once per row
    array([2., 2., 2.])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DTypeError, GraphError, ShapeError, format_shape, tensor_label

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor

ndarray = np.ndarray
#: NumPy's arithmetic on 0-d arrays returns these scalars: gradients as good as arrays (a leaf gets an array)
FLOAT_SCALARS = frozenset({np.float64, np.float32, np.float16})
FLOAT64 = np.dtype(np.float64)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...], op: str = "op") -> np.ndarray:
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast.

    If ``x`` of shape (3, 1) was broadcast to (2, 3, 4) in the forward pass, every element of
    ``x`` was used 2 * 4 times, so its gradient is the sum over those copies: sum axis 0 (added
    in front) and axis 2 (stretched from 1), keeping the result's shape (3, 1).
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ShapeError(
            f"{op}: backward returned a gradient of shape {format_shape(grad.shape)} "
            f"for an input of shape {format_shape(shape)}"
        )
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ShapeError(
            f"{op}: backward returned a gradient of shape {format_shape(grad.shape)} "
            f"that does not broadcast to its input's shape {format_shape(shape)}"
        )
    return grad


def as_gradient_array(grad: Any, dtype: np.dtype, op: str) -> np.ndarray:
    """A gradient a backward returned as something other than an ndarray, made one (of ``dtype`` unless floating).

    NumPy hands back scalars for 0-d arithmetic (``a * b`` of two 0-d arrays is a ``numpy.float64``);
    a user's backward may return a number, a list or a chainrule Tensor (its values are used).
    """
    if hasattr(grad, "grad_fn") and hasattr(grad, "data"):  # a Tensor: its values (no graph of the backward)
        grad = grad.data
    try:
        array = np.asarray(grad, dtype=dtype)
    except (TypeError, ValueError):
        raise GraphError(
            f"{op}: backward returned {type(grad).__name__} {grad!r:.40} as a gradient; return a NumPy array"
        ) from None
    return array


def fit_gradient(grad: Any, shape: tuple[int, ...], dtype: np.dtype, op: str) -> np.ndarray:
    """What an op's backward returned for an input of ``shape`` and ``dtype``, as an array of that shape.

    A number, a list or a Tensor becomes an array (``as_gradient_array``); a gradient of the
    broadcast shape is summed back (``unbroadcast``). An ndarray (or NumPy float scalar) of the
    right shape comes back as it is: callers on a hot path skip the call when that is so.
    """
    kind = type(grad)
    if kind is not ndarray and kind not in FLOAT_SCALARS:
        grad = as_gradient_array(grad, dtype, op)
    if grad.shape != shape:
        grad = unbroadcast(np.asarray(grad), shape, op)
    return grad


def add_gradient(total: Any, grad: Any, owned: bool) -> Any:
    """``total + grad``, two contributions to one gradient; in place into ``total`` when ``owned``.

    ``owned`` says ``total`` is a sum this walk made (by an earlier call) that no one else holds:
    adding into it in place changes no array an op or a user was given. Only an ndarray of one
    or more dimensions is changed in place (NumPy's ``+=`` is slow on 0-d arrays, and a sum of
    0-d arrays comes back as an immutable NumPy scalar), and only when the dtypes agree (a
    float32 sum meeting a float64 gradient promotes, as ``total + grad`` does).
    """
    if owned and type(total) is ndarray and total.ndim and total.dtype == grad.dtype:
        total += grad
        return total
    return total + grad


def store_leaf_gradient(leaf: Tensor, grad: Any, grad_out: Any, earlier: tuple | list = (), fresh: bool = True) -> None:
    """Add ``grad``, an op's gradient for ``leaf``, to ``leaf.grad``.

    An empty ``.grad`` keeps the very array when no one else may hold it: not ``grad_out`` (the
    gradient the op was given, which ``a + b`` passes on to both inputs), not a view of another
    array, not one of the arrays the same op handed to its ``earlier`` leaves (``x * x``), and of
    the leaf's dtype; and only from an op whose backward makes its arrays afresh (``fresh``:
    ``trusted_op``; a user's backward may return an array it keeps, such as an input's data).
    Otherwise ``accumulate_leaf`` stores a copy or a new sum.
    """
    if (
        leaf.grad is None
        and fresh
        and type(grad) is ndarray
        and grad.dtype is leaf.data.dtype
        and grad.flags.writeable
        and grad is not grad_out
        and grad.base is None
        and not (earlier and any(grad is other for other in earlier))
    ):
        leaf.grad = grad
    else:
        accumulate_leaf(leaf, grad)


def accumulate_leaf(leaf: Tensor, grad: Any) -> None:
    """Add ``grad`` to ``leaf.grad`` as a new array of the leaf's dtype: a copy if ``.grad`` was empty, else a sum.

    ``.grad`` never becomes an array someone else may hold, and an array handed to a leaf is never
    changed in place behind the back of whoever else holds it.
    """
    dtype = leaf.data.dtype
    if type(grad) is float and dtype is FLOAT64 and leaf.grad is None:  # a float replay's gradient (scalar_replay)
        leaf.grad = np.array(grad)  # the same array as below, quicker: the float replay 3.1 -> 2.8 µs
        return
    if dtype.kind != "f":  # .data was replaced by integers: a gradient cast to them would be truncated
        raise DTypeError(
            f"backward: {tensor_label(leaf, 'a leaf')} requires grad but its .data now holds {dtype} "
            "numbers; assign a floating-point array to .data (e.g. .astype(np.float64))"
        )
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=dtype)
        return
    if type(grad) is float:  # a float replay's gradient: a float64 number, as NumPy's float64 scalar in eager mode
        grad = np.float64(grad)  # (a Python float would not promote a float32 .grad to float64)
    total = leaf.grad + grad
    if type(total) is not ndarray or total.dtype != dtype:  # 0-d sums come back as scalars
        total = np.asarray(total, dtype=dtype)
    leaf.grad = total


#: ``accumulate_leaf(leaf, value)`` as the float replay writes it (``scalar_replay``) for a float64 leaf and a
#: Python float: its first case inline, where a leaf's ``.grad`` is empty (every step after ``zero_grad``).
#: Inline, the scalar network's float replay takes 2.9 µs instead of 3.6 µs (six leaves).
FLOAT_LEAF_STORE = "if {leaf}.grad is None:\n    {leaf}.grad = ARRAY({value})\nelse:\n    ACCUMULATE({leaf}, {value})"


_TRUSTED: dict[type, bool] = {}


def trusted_op(node: Any) -> bool:
    """Whether ``node``'s backward is chainrule's own and keeps ``Function.exact_gradients``'s promise.

    Only the class that defines ``backward`` can promise it: a user's subclass of a built-in op
    that writes its own backward inherits the flag but not the guarantee. Remembered per class.
    """
    kind = type(node)
    trusted = _TRUSTED.get(kind)
    if trusted is None:
        owner = next(k for k in kind.__mro__ if "backward" in vars(k))
        trusted = _TRUSTED[kind] = bool(vars(owner).get("exact_gradients", False)) and kind.exact_gradients
    return trusted
