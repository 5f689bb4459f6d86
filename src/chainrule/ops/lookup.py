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
            raise DTypeError(_not_integers(indices))
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
        return None, _rows_added(grad_out, self.indices, self.weight_shape, self.padding_idx)

    def vjp(self, grad_out, indices, weight):
        options = {"indices": self.indices, "weight_shape": self.weight_shape, "padding_idx": self.padding_idx}
        return None, EmbeddingGrad.apply(grad_out, **options)

    def jvp(self, tangents, indices, weight):
        return Embedding.apply(indices, tangents[1], padding_idx=self.padding_idx)


def _not_integers(indices: np.ndarray) -> str:
    """Why indices that are not integers are refused (as PyTorch refuses them), and how to make integer ones."""
    given = f"embedding: indices must be integers, got {indices.dtype} (shape {format_shape(indices.shape)})"
    if indices.dtype.kind == "f":
        fraction = indices[np.isfinite(indices) & (indices != np.round(indices))]
        if fraction.size or not np.isfinite(indices).all():
            wrong = fraction.flat[0] if fraction.size else indices[~np.isfinite(indices)].flat[0]
            return f"{given} holding {wrong}, which indexes no row"
        return (
            f"{given}: cr.tensor makes floats unless given a dtype; make them with cr.tensor(indices, dtype=np.int64) "
            "or indices.astype(np.int64)"
        )
    return f"{given}: make them with cr.tensor(indices, dtype=np.int64) or indices.astype(np.int64)"


def _rows_added(grad_out: np.ndarray, indices: np.ndarray, weight_shape: tuple, padding_idx: int | None) -> np.ndarray:
    """Each looked-up row's gradient added into the row it came from (padding_idx's row left 0)."""
    grad = np.zeros(weight_shape, dtype=grad_out.dtype)
    np.add.at(grad, indices.reshape(-1), grad_out.reshape(-1, weight_shape[1]))
    if padding_idx is not None:
        grad[padding_idx] = 0
    return grad


class EmbeddingGrad(Function):
    """d/dG rows_added(G) · U = U[indices] (0 for padding_idx's row): the embedding's backward as an op, linear in G"""

    name = "embedding_grad"

    def forward(self, grad_out, indices, weight_shape, padding_idx):
        return _rows_added(grad_out, indices, weight_shape, padding_idx)

    def _kept(self, upstream):
        padding_idx = self.options["padding_idx"]
        if padding_idx is None:
            return upstream
        mask = np.ones((upstream.shape[0], 1), dtype=upstream.dtype)
        mask[padding_idx] = 0
        return upstream * mask

    def backward(self, upstream):
        return self._kept(upstream)[self.options["indices"]]

    def vjp(self, upstream, grad_out):
        indices = Tensor(self.options["indices"], dtype=self.options["indices"].dtype)
        return Embedding.apply(indices, self._kept(upstream), padding_idx=None)

    def jvp(self, tangents, grad_out):
        return EmbeddingGrad.apply(tangents[0], **self.options)


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
