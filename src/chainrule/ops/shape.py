"""Ops that move values around without arithmetic: reshape, transpose, indexing, joining.

Their backwards route each gradient element back to where its value came from.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import AxisError, DTypeError, ShapeError, format_shape, normalize_axes
from ..engine.function import Function, _apply_without_gradient, named
from ..engine.accumulation import unbroadcast
from ..engine.tensor import Tensor


class Reshape(Function):
    """d/dx reshape(x) = the gradient reshaped back to x's shape"""

    template = "reshape({0}, {shape})"

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {format_shape(x.shape)} "
                f"({x.size} elements) into shape {tuple(shape)}"
            ) from None

    def backward(self, grad_out):
        return grad_out.reshape(self.shape)

    def vjp(self, grad_out, x):
        return Reshape.apply(grad_out, shape=self.shape)

    def jvp(self, tangents, x):
        return Reshape.apply(tangents[0], shape=self.options["shape"])


class BroadcastTo(Function):
    """d/dx broadcast_to(x, shape) = the gradient summed back to x's shape (unbroadcast)"""

    template = "broadcast_to({0}, {shape})"

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(
                f"broadcast_to: a tensor of shape {format_shape(x.shape)} cannot be broadcast to {tuple(shape)}"
            ) from None

    def backward(self, grad_out):
        return unbroadcast(grad_out, self.shape, self.name)

    def vjp(self, grad_out, x):
        return sum_to(grad_out, self.shape)

    def jvp(self, tangents, x):
        return broadcast_to(tangents[0], self.options["shape"])


class SumTo(Function):
    """d/dx sum_to(x, shape) = the gradient broadcast back to x's shape

    ``sum_to`` sums over the axes along which a tensor of ``shape`` would be broadcast to x's
    shape: the engine's ``unbroadcast`` as an op, so that it can be differentiated again.
    """

    template = "sum_to({0}, {shape})"

    def forward(self, x, shape):
        self.shape = x.shape
        return unbroadcast(x, tuple(shape), self.name)

    def backward(self, grad_out):
        return np.broadcast_to(grad_out, self.shape)

    def vjp(self, grad_out, x):
        return broadcast_to(grad_out, self.shape)

    def jvp(self, tangents, x):
        return sum_to(tangents[0], self.options["shape"])


class Transpose(Function):
    """d/dx transpose(x, axes) = the gradient transposed by the inverse permutation"""

    def formula(self, names):
        axes = self.options.get("axes")
        return f"{names[0]}ᵀ" if axes is None else f"transpose({names[0]}, {axes})"

    def forward(self, x, axes):
        if axes is not None:
            in_range = [int(axis) % x.ndim for axis in axes if -x.ndim <= int(axis) < x.ndim]
            if sorted(in_range) != list(range(x.ndim)):
                raise AxisError(
                    f"transpose: axes {tuple(axes)} are not a permutation of the "
                    f"{x.ndim} axes of a tensor of shape {format_shape(x.shape)}"
                )
            axes = tuple(in_range)
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, grad_out):
        if self.axes is None:
            return np.transpose(grad_out)
        return np.transpose(grad_out, np.argsort(self.axes))

    def vjp(self, grad_out, x):
        return Transpose.apply(grad_out, axes=None if self.axes is None else tuple(np.argsort(self.axes).tolist()))

    def jvp(self, tangents, x):
        return Transpose.apply(tangents[0], axes=self.axes)


class GetItem(Function):
    """d/dx x[index] = the gradient scattered into zeros at ``index`` (added where repeated)

    Tensors inside the index (labels, masks) are further inputs of the op, which get no
    gradient: ``chainrule.trace`` recomputes them at each replay. A tensor mask makes the
    result's shape depend on the mask's values (``shape_depends_on_values``).
    """

    def formula(self, names):
        parts = self.options["index"] if isinstance(self.options["index"], tuple) else (self.options["index"],)
        texts = [names[1 + part.position] if isinstance(part, _Slot) else _index_text(part) for part in parts]
        return f"{names[0]}[{', '.join(texts)}]"

    name = "index"

    def forward(self, x, *tensors, index):
        if tensors:
            index = _filled(index, tensors)
            self.shape_depends_on_values = any(t.dtype == bool for t in tensors)
        self.shape, self.index, self.tensor_count = x.shape, index, len(tensors)
        try:
            return x[index]
        except IndexError as error:
            raise IndexError(f"index: {error} (tensor shape {format_shape(x.shape)})") from None

    def backward(self, grad_out):
        grad = np.zeros(self.shape, dtype=grad_out.dtype)
        if _picks_each_element_once(self.index):
            grad[self.index] = grad_out
        else:
            np.add.at(grad, self.index, grad_out)  # integer arrays may repeat an element
        return (grad,) + (None,) * self.tensor_count if self.tensor_count else grad

    def vjp(self, grad_out, x, *tensors):
        grad = ScatterAdd.apply(grad_out, *tensors, index=self.options["index"], shape=self.shape)
        return (grad,) + (None,) * self.tensor_count if self.tensor_count else grad

    def jvp(self, tangents, x, *tensors):
        return GetItem.apply(tangents[0], *tensors, index=self.options["index"])


class ScatterAdd(Function):
    """d/dv scatter_add(v, index, shape) = the gradient gathered at ``index``: the reverse of ``x[index]``

    Zeros of ``shape`` with the values added at ``index`` (where the index repeats an element, its
    values add up): ``GetItem``'s backward as an op, so that it can be differentiated again.
    """

    name = "scatter_add"

    def formula(self, names):
        return f"scatter_add({names[0]}, {self.options['shape']})"

    def forward(self, values, *tensors, index, shape):
        if tensors:
            index = _filled(index, tensors)
        self.index, self.tensor_count = index, len(tensors)
        out = np.zeros(shape, dtype=values.dtype)
        if _picks_each_element_once(index):
            out[index] = values
        else:
            np.add.at(out, index, values)
        return out

    def backward(self, grad_out):
        grad = grad_out[self.index]
        return (grad,) + (None,) * self.tensor_count if self.tensor_count else grad

    def vjp(self, grad_out, values, *tensors):
        grad = GetItem.apply(grad_out, *tensors, index=self.options["index"])
        return (grad,) + (None,) * self.tensor_count if self.tensor_count else grad

    def jvp(self, tangents, values, *tensors):
        return ScatterAdd.apply(tangents[0], *tensors, index=self.options["index"], shape=self.options["shape"])


class _Slot:
    """The place in an index of ``GetItem``'s input ``1 + position``: a tensor of labels or a mask."""

    __slots__ = ("position",)

    def __init__(self, position: int) -> None:
        self.position = position

    def __eq__(self, other: object) -> bool:
        return type(other) is _Slot and other.position == self.position

    def __hash__(self) -> int:
        return self.position

    def __repr__(self) -> str:
        return f"<input {1 + self.position}>"


def _filled(index: Any, tensors: tuple[np.ndarray, ...]) -> Any:
    """The index with each ``_Slot`` replaced by its input's array."""
    if isinstance(index, tuple):
        return tuple(_filled(part, tensors) for part in index)
    return tensors[index.position] if isinstance(index, _Slot) else index


def _index_text(part: Any) -> str:
    """One part of an index as it is written in code: ``1:3``, ``...``, ``[0 2 2]``."""
    if isinstance(part, slice):
        text = ("" if part.start is None else str(part.start)) + ":" + ("" if part.stop is None else str(part.stop))
        return text + (f":{part.step}" if part.step is not None else "")
    if part is Ellipsis:
        return "..."
    if isinstance(part, np.ndarray):
        return np.array2string(part, threshold=6, edgeitems=2, separator=" ")
    return str(part)


def _picks_each_element_once(index: Any) -> bool:
    """True for ints, slices, None, Ellipsis and boolean masks, which never repeat an element."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        part is None
        or part is Ellipsis
        or isinstance(part, (int, np.integer, slice))
        or (isinstance(part, np.ndarray) and part.dtype == bool)
        for part in parts
    )


class Concatenate(Function):
    """d/dxₖ concatenate(x₁, …, xₙ) = the slice of the gradient that xₖ filled"""

    exact_gradients = False  # a tuple even for one input

    template = "concatenate([{inputs}], axis={axis})"

    def forward(self, *arrays, axis):
        self.axis = normalize_axes("concatenate", axis, arrays[0].ndim, arrays[0].shape)[0]
        self.sizes = [array.shape[self.axis] for array in arrays]
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, grad_out):
        return tuple(np.split(grad_out, np.cumsum(self.sizes)[:-1], axis=self.axis))

    def vjp(self, grad_out, *inputs):
        ends = np.cumsum(self.sizes).tolist()
        before = (slice(None),) * self.axis
        return tuple(
            getitem(grad_out, before + (slice(end - size, end),)) if needed else None
            for end, size, needed in zip(ends, self.sizes, self.needs_input_grad)
        )

    def jvp(self, tangents, *inputs):
        return Concatenate.apply(*tangents, axis=self.axis)


class Stack(Function):
    """d/dxₖ stack(x₁, …, xₙ) = the k-th slice of the gradient along the new axis"""

    exact_gradients = False  # a tuple even for one input

    template = "stack([{inputs}], axis={axis})"

    def forward(self, *arrays, axis):
        ndim = arrays[0].ndim + 1
        self.axis = normalize_axes("stack", axis, ndim, arrays[0].shape + (1,))[0]
        shapes = {array.shape for array in arrays}
        if len(shapes) > 1:
            raise ShapeError(
                "stack: all tensors need the same shape, got "
                + ", ".join(format_shape(array.shape) for array in arrays)
            )
        self.count = len(arrays)
        return np.stack(arrays, axis=self.axis)

    def backward(self, grad_out):
        return tuple(np.take(grad_out, k, axis=self.axis) for k in range(self.count))

    def vjp(self, grad_out, *inputs):
        before = (slice(None),) * self.axis
        return tuple(
            getitem(grad_out, before + (k,)) if needed else None for k, needed in enumerate(self.needs_input_grad)
        )

    def jvp(self, tangents, *inputs):
        return Stack.apply(*tangents, axis=self.axis)


class Detach(Function):
    """d/dx detach(x) = 0: the same values, through which no gradient flows

    Applied by ``Tensor.detach`` without recording a node (``function._apply_without_gradient``),
    it is still an op on its input: ``chainrule.trace`` recomputes it at each replay.
    """

    def forward(self, x):
        return x

    def backward(self, grad_out):
        return np.zeros_like(grad_out)


class AsType(Function):
    """d/dx astype(x) = the gradient cast back to x's dtype"""

    template = "{0} as {dtype}"

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad_out):
        return grad_out.astype(self.dtype)

    def vjp(self, grad_out, x):
        return AsType.apply(grad_out, dtype=self.dtype)

    def jvp(self, tangents, x):
        return AsType.apply(tangents[0], dtype=self.options["dtype"])


# ------------------------------------------------------------------------- public functions
def reshape(x: Any, *shape: Any, name: str | None = None) -> Tensor:
    """Same values in a new shape (one size may be -1): ``reshape(x, (2, 3))`` or ``reshape(x, 2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return named(Reshape.apply(x, shape=shape), name)


def broadcast_to(x: Any, shape: Sequence[int], name: str | None = None) -> Tensor:
    """``x`` repeated along new and size-1 axes to ``shape``, as ``np.broadcast_to``.

    >>> import chainrule as cr
    >>> cr.broadcast_to(cr.tensor([1.0, 2.0]), (2, 2)).data
    array([[1., 2.],
           [1., 2.]])
    """
    return named(BroadcastTo.apply(x, shape=tuple(shape)), name)


def sum_to(x: Any, shape: Sequence[int], name: str | None = None) -> Tensor:
    """``x`` summed over the axes along which ``shape`` was broadcast to x's shape (the reverse of ``broadcast_to``).

    >>> import chainrule as cr
    >>> cr.sum_to(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), (1, 2)).data
    array([[4., 6.]])
    """
    return named(SumTo.apply(x, shape=tuple(shape)), name)


def transpose(x: Any, axes: Sequence[int] | None = None, name: str | None = None) -> Tensor:
    """Permute the axes (reverse them by default), as ``np.transpose``."""
    return named(Transpose.apply(x, axes=None if axes is None else tuple(axes)), name)


def getitem(x: Any, index: Any, name: str | None = None) -> Tensor:
    """``x[index]`` with slices, integers, integer arrays and boolean masks."""
    tensors: list[Tensor] = []
    index = _plain_index(index, tensors)
    return named(GetItem.apply(x, *tensors, index=index), name)


def _plain_index(index: Any, tensors: list[Tensor]) -> Any:
    """The index with each tensor in it (a mask, a tensor of labels) moved to ``tensors``, a ``_Slot`` in its place."""
    if isinstance(index, tuple):
        return tuple(_plain_index(part, tensors) for part in index)
    if isinstance(index, Tensor):
        tensors.append(index)
        return _Slot(len(tensors) - 1)
    if isinstance(index, list):
        array = np.asarray(index)
        return array.astype(np.intp) if array.size == 0 else array  # x[[]] picks nothing, as in NumPy
    return index


def concatenate(tensors: Sequence[Any], axis: int = 0, name: str | None = None) -> Tensor:
    """Join tensors along an existing axis, as ``np.concatenate``."""
    if len(tensors) == 0:
        raise ValueError("concatenate: needs at least one tensor")
    return named(Concatenate.apply(*tensors, axis=axis), name)


def stack(tensors: Sequence[Any], axis: int = 0, name: str | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis, as ``np.stack``."""
    if len(tensors) == 0:
        raise ValueError("stack: needs at least one tensor")
    return named(Stack.apply(*tensors, axis=axis), name)


def detach(x: Tensor) -> Tensor:
    """The same values (shared memory) cut from the graph: no grad_fn, no requires_grad.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x.detach()).sum().backward(); x.grad
    array([1., 2.])
    """
    return _apply_without_gradient(Detach(), (x,), {})


def astype(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """The values converted to ``dtype`` (float32 ↔ float64); gradients flow back converted.

    A cast to integers or booleans is a step function: its result gets no gradient (as in PyTorch).
    """
    try:
        target = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"astype: {dtype!r} is not a NumPy dtype (try np.float32 or 'float64')") from None
    if target.kind != "f":
        if not isinstance(x, Tensor):
            x = Tensor(x)
        return named(_apply_without_gradient(AsType(), (x,), {"dtype": target}), name)
    return named(AsType.apply(x, dtype=target), name)
