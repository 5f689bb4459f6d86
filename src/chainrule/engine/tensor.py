"""``Tensor``: a NumPy array that remembers how it was computed.

A tensor holds its value in ``.data`` (an ``ndarray``), its gradient in ``.grad`` (filled by
``backward()``) and, when it is the result of an op on tensors that require grad, the graph
node that made it in ``.grad_fn``. Arithmetic operators and methods such as ``.sum()`` are
attached by ``chainrule.ops`` (see ``ops/methods.py``), which keeps this module free of any
op's mathematics.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import grad_mode, graph, observers, versions
from .anomaly import UserLocation, user_location
from ..errors import DTypeError, GraphError, ShapeError, check_flag, describe_value, format_shape, tensor_label

if TYPE_CHECKING:  # pragma: no cover
    from .function import Function

DEFAULT_DTYPE = np.dtype(np.float64)
FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


class Tensor:
    """An n-dimensional array of numbers with reverse-mode automatic differentiation.

    Create tensors with :func:`chainrule.tensor`.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> loss = (x * x).sum()
    >>> loss.backward()
    >>> x.grad
    array([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "__weakref__")
    # Make NumPy hand ``ndarray + tensor`` over to ``Tensor.__radd__`` instead of looping.
    __array_ufunc__ = None

    data: np.ndarray
    grad: np.ndarray | None
    requires_grad: bool
    grad_fn: Function | None
    name: str | None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        if type(requires_grad) is not bool:  # cr.tensor(x, np.float32): the second argument is not a dtype
            if isinstance(requires_grad, (type, np.dtype)):
                raise TypeError(f"tensor: requires_grad must be True or False, got {requires_grad!r}: pass dtype=...")
            requires_grad = check_flag("tensor", "requires_grad", requires_grad)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"tensor: name must be a string, got {describe_value(name)}")
        array = _as_array(data, dtype)
        if requires_grad and array.dtype not in FLOAT_DTYPES:
            raise DTypeError(
                f"tensor: requires_grad=True needs floating-point numbers, got dtype {array.dtype}; "
                "leave dtype out (numbers become float64) or pass a floating dtype"
            )
        self.data = array
        self.grad = None
        self.requires_grad = requires_grad
        self.grad_fn = None
        self.name = name

    @classmethod
    def _from_op(cls, data: np.ndarray, grad_fn: Function | None) -> Tensor:
        """Fast constructor used by ops: no validation, no copy."""
        return _make_tensor(data, grad_fn)

    if TYPE_CHECKING:  # attached by chainrule.ops.methods at import; declared here for type checkers
        T: Tensor

        def __add__(self, other: Any) -> Tensor: ...
        def __radd__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __rsub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __rmul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...
        def __rtruediv__(self, other: Any) -> Tensor: ...
        def __pow__(self, other: Any) -> Tensor: ...
        def __rpow__(self, other: Any) -> Tensor: ...
        def __matmul__(self, other: Any) -> Tensor: ...
        def __rmatmul__(self, other: Any) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __getitem__(self, index: Any) -> Tensor: ...
        def __lt__(self, other: Any) -> Tensor: ...
        def __le__(self, other: Any) -> Tensor: ...
        def __gt__(self, other: Any) -> Tensor: ...
        def __ge__(self, other: Any) -> Tensor: ...
        def __eq__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def matmul(self, other: Any) -> Tensor: ...
        def exp(self) -> Tensor: ...
        def log(self) -> Tensor: ...
        def sqrt(self) -> Tensor: ...
        def abs(self) -> Tensor: ...
        def clip(self, min: float | None = None, max: float | None = None) -> Tensor: ...
        def maximum(self, other: Any) -> Tensor: ...
        def minimum(self, other: Any) -> Tensor: ...
        def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def max(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def min(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def reshape(self, *shape: Any) -> Tensor: ...
        def flatten(self) -> Tensor: ...
        def transpose(self, *axes: Any) -> Tensor: ...
        def astype(self, dtype: Any) -> Tensor: ...
        def detach(self) -> Tensor: ...
        def sigmoid(self) -> Tensor: ...
        def tanh(self) -> Tensor: ...
        def relu(self) -> Tensor: ...
        def leaky_relu(self, slope: float = 0.01) -> Tensor: ...
        def softplus(self) -> Tensor: ...
        def softmax(self, axis: int = -1) -> Tensor: ...
        def log_softmax(self, axis: int = -1) -> Tensor: ...

    # ----------------------------------------------------------------- array-like properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op recorded in a graph."""
        return self.grad_fn is None

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (shared, not copied; use ``.copy()`` to keep it)."""
        if observers._threads_on:
            observers.value_read(self, ".numpy()")
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if observers._threads_on:
            observers.value_read(self, ".item()")
        return self._item()

    def _item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ShapeError(
                f"item: only a tensor with one element can become a Python number; "
                f"this one has shape {format_shape(self.shape)}"
            )
        return self.data.item()

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):  # type: ignore[no-untyped-def]
        for index in range(len(self)):
            yield self[index]  # type: ignore[index]

    def __float__(self) -> float:
        if observers._threads_on:
            observers.value_read(self, "float()")
        return float(self._item())

    def __int__(self) -> int:
        if observers._threads_on:
            observers.value_read(self, "int()")
        return int(self._item())

    def __index__(self) -> int:
        """A 0-d integer tensor as a Python int, where Python wants one: ``w[i:j]``, ``reshape(n, -1)``, ``range(n)``."""
        if observers._threads_on:
            observers.value_read(self, "an index, size or slice bound (w[i:j], reshape(n, ...), range(n))")
        if self.data.ndim or self.data.dtype.kind not in "iu":  # NumPy's rule: a 0-d integer array (a (1,) one
            raise TypeError(  # would make a NumPy array indexed by it lose an axis: a[t] of shape (3,), not (1, 3))
                f"a tensor used as an index, size or slice bound must be one integer of shape (); this one holds "
                f"{self.data.dtype} numbers of shape {format_shape(self.data.shape)}"
            )
        return int(self.data)

    def __bool__(self) -> bool:
        if observers._threads_on:
            observers.value_read(self, "bool() (an if, while, and, or, not on its value)")
        if self.data.size != 1:
            raise ShapeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use t.data.any() or t.data.all()"
            )
        return bool(self.data)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError(
            "tensor[...] = value: chainrule tensors are not changed in place (the graph may still need "
            "the old values); build a new tensor, e.g. with cr.where, or change t.data of a tensor "
            "that needs no gradient"
        )

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(tensor)`` gives the values (no gradient follows them)."""
        if observers._threads_on:
            observers.value_read(self, "np.asarray() (or another NumPy function)")
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    __hash__ = object.__hash__  # ``==`` is elementwise (ops/methods.py); identity hashing stays

    # ----------------------------------------------------------------- changes in place
    def __iadd__(self, other: Any) -> Tensor:
        return _update_in_place(self, other, np.add, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return _update_in_place(self, other, np.subtract, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return _update_in_place(self, other, np.multiply, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return _update_in_place(self, other, np.true_divide, "/=")

    def __ipow__(self, other: Any) -> Tensor:
        return _update_in_place(self, other, np.power, "**=")

    def __imatmul__(self, other: Any) -> Tensor:
        raise TypeError("@=: a matrix product is not made in place in chainrule; write t = t @ m for a new tensor")

    # ----------------------------------------------------------------- graph
    def backward(self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Gradients are *added* to each leaf's ``.grad`` (calling ``backward()`` twice doubles
        them, as in PyTorch); clear them with ``zero_grad()``. Without ``retain_graph=True``
        the graph's saved values are freed as the pass goes.

        With ``create_graph=True`` the backward pass is recorded too: each leaf's ``.grad`` is
        then a *tensor* with a graph of its own (not an array), which can be differentiated
        again (``(w.grad ** 2).sum().backward()``), and the graph is kept unless
        ``retain_graph=False``. Optimizers read its values.

        ``grad`` is needed only when this tensor is not a scalar: it is the vector in the
        vector-Jacobian product, of this tensor's shape.
        """
        if not self.requires_grad:
            raise GraphError(
                "backward: this tensor does not require grad; create the tensors you want "
                "gradients for with requires_grad=True (and not inside no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise GraphError(
                    f"backward: the tensor has shape {format_shape(self.shape)}, not a scalar; "
                    "reduce it first (.sum() or .mean()) or pass grad= of the same shape"
                )
            if self.data.ndim:
                grad_out = np.array(1, dtype=self.data.dtype).reshape(self.data.shape)
            else:  # a NumPy scalar 1, as trace's replays seed a 0-d loss: the root's backward then computes on
                grad_out = self.data.dtype.type(1)  # a number, not a 0-d array (scalar network 44.3 -> 43.0 µs)
        else:
            try:
                grad_out = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            except (TypeError, ValueError):
                raise DTypeError(
                    f"backward: grad must be numbers of the tensor's shape {format_shape(self.shape)}, got {grad!r:.40}"
                ) from None
            if grad_out.shape != self.data.shape:
                raise ShapeError(
                    f"backward: grad has shape {format_shape(grad_out.shape)} but the tensor has "
                    f"shape {format_shape(self.shape)}"
                )
        if create_graph:
            from . import autograd

            keep = isinstance(grad, Tensor) and grad.data.dtype == self.data.dtype  # its graph too, when it has one
            root_grad = grad if keep else Tensor._from_op(grad_out, None)
            retain = True if retain_graph is None else retain_graph
            autograd.walk([self], [root_grad], create_graph=True, retain_graph=retain, targets=None)
            return
        graph.backward(self, grad_out, retain_graph=bool(retain_graph))

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Switch gradient tracking of a leaf on or off, in place; returns the tensor."""
        if self.grad_fn is not None and not requires_grad:
            raise GraphError("requires_grad_: only leaf tensors can stop requiring grad; use detach()")
        if requires_grad and self.data.dtype not in FLOAT_DTYPES:
            raise DTypeError(f"requires_grad_: needs floating-point numbers, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    def named(self, name: str) -> Tensor:
        """Give the tensor a name (shown by repr and by explanations); returns the tensor."""
        self.name = name
        return self

    # ----------------------------------------------------------------- printing
    def __repr__(self) -> str:
        prefix = "tensor("
        body = np.array2string(self.data, separator=", ", prefix=prefix, threshold=200, edgeitems=3)
        extras = []
        if self.data.dtype != DEFAULT_DTYPE:
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name is not None:
            extras.append(f"name={self.name!r}")
        return prefix + body + "".join(", " + extra for extra in extras) + ")"


def _update_in_place(target: Tensor, other: Any, ufunc: np.ufunc, symbol: str) -> Tensor:
    """``target += other`` and the like: change ``target``'s array in place, outside any graph.

    This is the update every tutorial writes, ``with cr.no_grad(): w -= lr * w.grad``: ``w`` stays
    the same tensor (same array, still requiring grad). While a graph is being recorded, a change
    in place of a tensor that requires grad would break it, so that is an error, as in PyTorch.
    The change is stamped (``versions``): a backward that saved the old values refuses to run.
    """
    if observers._threads_on:  # a recording trace refuses: a replay would skip the change
        observers.changed_in_place(target, symbol, user_location())
    other_requires_grad = isinstance(other, Tensor) and other.requires_grad
    # grad_mode.is_grad_enabled(), inline (as in Function.apply): inside no_grad() it reads the thread-local
    if (target.requires_grad or other_requires_grad) and (not grad_mode._threads_off or grad_mode._state.enabled):
        if target.grad_fn is None and target.requires_grad:
            what = (
                f"{tensor_label(target)} is a leaf that requires grad, and changing it in place would break the graph"
            )
        else:
            what = (
                "in-place operations are not recorded in the graph, so the gradient of "
                f"{tensor_label(target)} would be lost"
            )
        raise GraphError(
            f"{symbol}: {what}; make the update inside a cr.no_grad() block (as an optimizer step does), "
            f"or write t = t {symbol[:-1]} ... for a new tensor"
        )
    value = other.data if isinstance(other, Tensor) else other
    if type(value) not in _PLAIN_VALUES and not isinstance(value, (np.ndarray, np.generic, float, int)):
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise DTypeError(f"{symbol}: {other!r:.40} is not numbers; pass a tensor, an array or a number")
    array = target.data
    try:
        scalar_operator = _SCALAR_OPERATORS.get(ufunc) if array.ndim == 0 else None
        if scalar_operator is not None and array.dtype is DEFAULT_DTYPE and type(value) in _FLOAT64_NUMBERS:
            # One float64 number: ``w -= lr * w.grad`` of the scalar network. The ufunc with out= takes
            # 2.2 µs on a 0-d array, the same IEEE operation on NumPy scalars 0.18 µs (the user-written
            # step of the scalar network 80.8 -> 62.0 µs); + − × ÷ round the same either way.
            array[()] = scalar_operator(array[()], value)
        else:
            ufunc(array, value, out=array)
    except TypeError:  # NumPy's casting error: a float into an integer tensor
        result = np.result_type(target.data, value)
        raise DTypeError(
            f"{symbol}: the result would be {result} but {tensor_label(target)} holds {target.data.dtype} numbers; "
            f"convert it first (t = t.astype(...)) or write t = t {symbol[:-1]} ... for a new tensor"
        ) from None
    except ValueError as error:
        if not target.data.flags.writeable:
            raise ValueError(
                f"{symbol}: {tensor_label(target)}'s array is read-only; write t = t {symbol[:-1]} ..."
            ) from None
        shapes = f"shapes {format_shape(target.shape)} and {format_shape(np.shape(value))}"
        raise ShapeError(
            f"{symbol}: {shapes} do not fit: a change in place keeps {tensor_label(target)}'s shape, so the other "
            f"side must broadcast to {format_shape(target.shape)}"
        ) from error
    versions.stamp(target.data, where=UserLocation(f"{symbol} at "))  # written out only if a message shows it
    return target


_new_tensor = object.__new__
_SCALAR_OPERATORS = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul}
_SCALAR_OPERATORS[np.true_divide] = operator.truediv
_FLOAT64_NUMBERS = (float, np.float64)
#: the values a change in place nearly always gets, accepted by their type alone (an isinstance of four
#: types, two of them NumPy's abstract classes, took 0.18 µs for a NumPy float)
_PLAIN_VALUES = frozenset({np.ndarray, np.float64, np.float32, float, int})


def _make_tensor(data: Any, grad_fn: Function | None) -> Tensor:
    """A tensor around an op's result, without validation or copy (the hot path of every op)."""
    out = _new_tensor(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)
    out.grad = None
    out.requires_grad = grad_fn is not None
    out.grad_fn = grad_fn
    out.name = None
    return out


def gradient_values(grad: np.ndarray | Tensor | float) -> np.ndarray:
    """A parameter's ``.grad`` as an array (optimizers read this).

    After ``backward(create_graph=True)`` it is a tensor; a user may also have set it to a number
    (``w.grad = 0.5``) or a NumPy scalar, which become arrays; anything that is not numbers is refused.
    """
    array = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
    if array.dtype.kind not in "biuf":  # complex numbers would lose their imaginary part in the update, silently
        raise DTypeError(f"a parameter's .grad is {grad!r:.40}, not real numbers; set it to an array of floats or None")
    return array


def _as_array(data: Any, dtype: Any) -> np.ndarray:
    """NumPy array for ``tensor()``: float64 unless the data is already floating or dtype is given."""
    if isinstance(data, Tensor):
        if observers._threads_on:
            observers.value_read(data, "cr.tensor() (a copy)")
        data = data.data
    if dtype is not None:
        array = np.array(data, dtype=dtype)
    else:
        array = np.array(data)
        if array.dtype not in FLOAT_DTYPES:
            if array.dtype.kind not in "biuf":
                raise DTypeError(f"tensor: chainrule tensors hold real numbers; got data of dtype {array.dtype}")
            array = array.astype(DEFAULT_DTYPE)
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"tensor: chainrule tensors hold real numbers; got dtype {array.dtype}")
    return array


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None) -> Tensor:
    """Make a tensor from numbers, nested lists or a NumPy array (always copied).

    ``dtype=None`` keeps floating arrays as they are (float32 stays float32) and turns
    everything else (Python numbers, integer lists) into float64. Pass ``dtype=np.int64`` for
    integer data such as class labels; integer tensors cannot require grad.

    >>> import chainrule as cr
    >>> cr.tensor([[1, 2], [3, 4]])
    tensor([[1., 2.],
            [3., 4.]])
    >>> cr.tensor([1.5], requires_grad=True, name="w")
    tensor([1.5], requires_grad=True, name='w')
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)
