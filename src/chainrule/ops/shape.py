"""Ops that move values around without arithmetic: reshape, transpose, indexing, joining.

Their backwards route each gradient element back to where its value came from.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import AxisError, ShapeError, format_shape, normalize_axes
from ..function import Function, named
from ..tensor import Tensor


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


class GetItem(Function):
    """d/dx x[index] = the gradient scattered into zeros at ``index`` (added where repeated)"""

    def formula(self, names):
        parts = self.options["index"] if isinstance(self.options["index"], tuple) else (self.options["index"],)
        return f"{names[0]}[{', '.join(_index_text(part) for part in parts)}]"

    name = "index"

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
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
        return grad


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


class AsType(Function):
    """d/dx astype(x) = the gradient cast back to x's dtype"""

    template = "{0} as {dtype}"

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad_out):
        return grad_out.astype(self.dtype)


# ------------------------------------------------------------------------- public functions
def reshape(x: Any, *shape: Any, name: str | None = None) -> Tensor:
    """Same values in a new shape (one size may be -1): ``reshape(x, (2, 3))`` or ``reshape(x, 2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return named(Reshape.apply(x, shape=shape), name)


def transpose(x: Any, axes: Sequence[int] | None = None, name: str | None = None) -> Tensor:
    """Permute the axes (reverse them by default), as ``np.transpose``."""
    return named(Transpose.apply(x, axes=None if axes is None else tuple(axes)), name)


def getitem(x: Any, index: Any, name: str | None = None) -> Tensor:
    """``x[index]`` with slices, integers, integer arrays and boolean masks."""
    return named(GetItem.apply(x, index=_plain_index(index)), name)


def _plain_index(index: Any) -> Any:
    """Replace tensors inside an index by their arrays (a tensor mask, a tensor of labels)."""
    if isinstance(index, tuple):
        return tuple(_plain_index(part) for part in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
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


def astype(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """The values converted to ``dtype`` (float32 ↔ float64); gradients flow back converted."""
    return named(AsType.apply(x, dtype=np.dtype(dtype)), name)
