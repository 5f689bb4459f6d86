"""Embedding: rows of a weight matrix looked up by integer indices, as ``torch.nn.functional.embedding``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.function import Function, named
from ..engine.tensor import Tensor
from ..errors import DTypeError, ShapeError, check_integer, format_shape


class Embedding(Function):
    """d/dW embedding(i, W) · G = G's rows added into the rows of W they were looked up from (0 for padding_idx)"""

    def formula(self, names):
        return f"{names[1]}[{names[0]}]"

    def forward(self, indices, weight, padding_idx):
        if indices.dtype.kind not in "iu":
            raise DTypeError(
                f"embedding: indices must be integers, got {indices.dtype} (shape {format_shape(indices.shape)})"
            )
        if weight.ndim != 2:
            raise ShapeError(
                f"embedding: weight must be a 2-D (num_embeddings, dim) matrix, got shape {format_shape(weight.shape)}"
            )
        count = weight.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= count):
            wrong = int(indices.min()) if indices.min() < 0 else int(indices.max())
            raise ValueError(
                f"embedding: index {wrong} is out of range for a weight of {count} rows (0 to {count - 1})"
            )
        self.indices, self.weight_shape, self.padding_idx = indices, weight.shape, padding_idx
        return weight[indices]

    def backward(self, grad_out):
        grad = np.zeros(self.weight_shape, dtype=grad_out.dtype)
        np.add.at(grad, self.indices.reshape(-1), grad_out.reshape(-1, self.weight_shape[1]))
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return None, grad


def embedding(indices: Any, weight: Any, padding_idx: int | None = None, name: str | None = None) -> Tensor:
    """``weight[indices]``: one row of ``weight`` (num_embeddings, dim) per integer index; ``padding_idx``'s row learns nothing.

    >>> import chainrule as cr
    >>> cr.embedding(cr.tensor([2, 0], dtype=int), [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor([[4., 5.],
            [0., 1.]])
    """
    if not isinstance(indices, (Tensor, np.ndarray)):
        indices = np.asarray(indices)  # a list of ints stays integers (a list would become floats as an op input)
    if padding_idx is not None:
        padding_idx = check_integer("embedding", "padding_idx", padding_idx, minimum=None)
        rows = np.shape(weight.data if isinstance(weight, Tensor) else weight)[0]
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for a weight of {rows} rows")
        padding_idx %= rows
    return named(Embedding.apply(indices, weight, padding_idx=padding_idx), name)
