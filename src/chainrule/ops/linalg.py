"""Matrix products: ``a @ b`` for vectors, matrices and batches of matrices."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, format_shape
from ..engine.function import Function, named
from ..engine.accumulation import unbroadcast
from ..engine.tensor import Tensor
from .shape import sum_to, transpose


def matmul_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D arrays, with a small ``b`` made C-contiguous first when ``a`` has many rows.

    OpenBLAS multiplies by a small transposed matrix (``W.T``, a view) about half as fast as by
    a contiguous one: a (1000, 3) array by a 3×3 ``W.T`` takes 4.9 µs, by its copy 2.6 µs. The
    copy costs about 0.4 µs, so it pays only for a ``b`` of at most 256 numbers against an
    ``a`` of at least 64 rows (measured in benchmarks/README.md); otherwise BLAS takes ``b`` as
    it is. The same products are summed either way, though BLAS may add them in another order for
    the two layouts (the last bit of some results differs), as it may for another number of rows.
    """
    if b.size <= 256 and a.shape[0] >= 64 and not b.flags.c_contiguous:
        b = b.copy()
    return a @ b


class MatMul(Function):
    """d/dA (A @ B) · G = G @ Bᵀ, d/dB (A @ B) · G = Aᵀ @ G

    A 1-D left operand is a row vector and a 1-D right operand a column vector, as in NumPy;
    the backward puts the missing axis back so the same two formulas serve every case. Batch
    axes broadcast, and the engine sums their gradients back.
    """

    template = "{0} @ {1}"

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return matmul_2d(a, b) if a.ndim == 2 == b.ndim else np.matmul(a, b)
        except ValueError:  # checked only on failure: the common case pays nothing
            raise _matmul_error(a, b) from None

    def backward(self, grad_out):
        a, b = self.a, self.b
        needs_a, needs_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without the general case's reshaping
            return (matmul_2d(grad_out, b.T) if needs_a else None), (a.T @ grad_out if needs_b else None)
        if a.ndim == 1 and b.ndim == 1:  # dot product: a scalar
            return (grad_out * b if needs_a else None), (grad_out * a if needs_b else None)
        if a.ndim == 1 and b.ndim == 2:  # one sample's row times a matrix: the general case's products, shortly
            # dB = aᵀ G, an (n, 1) @ (1, m) product whose every entry is one product a_i·g_j: the outer
            # product gives the same numbers (a zero's sign as PyTorch gives it, where BLAS may give +0)
            # without the matmul's reshaping (one-sample three-matrix
            # network: this backward 1.65 -> 1.38 µs, and 2.9 -> 2.7 µs with dA too)
            grad_a = np.matmul(grad_out[np.newaxis, :], b.T)[0] if needs_a else None  # the general case's matmul
            return grad_a, (a[:, np.newaxis] * grad_out if needs_b else None)
        # Restore the axes that 1-D operands lost, so the result is a (..., m, n) matrix.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        grad2 = grad_out
        if a.ndim == 1:
            grad2 = grad2[..., np.newaxis, :]
        if b.ndim == 1:
            grad2 = grad2[..., np.newaxis]
        grad_a = grad_b = None
        if needs_a:
            grad_a = np.matmul(grad2, b2.swapaxes(-1, -2))
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if needs_b:
            grad_b = np.matmul(a2.swapaxes(-1, -2), grad2)
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b

    def vjp(self, grad_out, a, b):
        needs_a, needs_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product: a scalar
            return (grad_out * b if needs_a else None), (grad_out * a if needs_b else None)
        # the same two formulas as backward, with the axes that 1-D operands lost put back by reshaping
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        grad2 = grad_out
        if a.ndim == 1:
            grad2 = grad2.reshape(grad2.shape[:-1] + (1, grad2.shape[-1]))
        if b.ndim == 1:
            grad2 = grad2.reshape(grad2.shape + (1,))
        grad_a = grad_b = None
        if needs_a:
            grad_a = MatMul.apply(grad2, _swap_last_axes(b2))
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if needs_b:
            grad_b = MatMul.apply(_swap_last_axes(a2), grad2)
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b

    def jvp(self, tangents, a, b):
        return MatMul.apply(tangents[0], b) + MatMul.apply(a, tangents[1])


def _swap_last_axes(x: Tensor) -> Tensor:
    """The matrices of ``x`` transposed: its last two axes swapped (``.T`` of a matrix)."""
    return transpose(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def _matmul_error(a: np.ndarray, b: np.ndarray) -> ShapeError:
    """The reason ``a @ b`` failed, with both shapes."""
    if a.ndim == 0 or b.ndim == 0:
        return ShapeError(
            f"matmul: operands must have at least one dimension, got shapes "
            f"{format_shape(a.shape)} and {format_shape(b.shape)}; use * to scale by a number"
        )
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        return ShapeError(
            f"matmul: shapes {format_shape(a.shape)} and {format_shape(b.shape)} do not line up "
            f"({_count(a.shape[-1], 'column')} against {_count(inner_b, 'row')})"
        )
    return ShapeError(
        f"matmul: shapes {format_shape(a.shape)} and {format_shape(b.shape)} cannot be broadcast together"
    )


def matmul(a: Any, b: Any, name: str | None = None) -> Tensor:
    """Matrix product ``a @ b`` (vector·matrix, matrix·vector, matrix·matrix, batched).

    >>> import chainrule as cr
    >>> A = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x = cr.tensor([1.0, 1.0])
    >>> (A @ x).sum().backward(); A.grad
    array([[1., 1.],
           [1., 1.]])
    """
    return named(MatMul.apply(a, b), name)


class Linear(Function):
    """d/dx (x Wᵀ + b) · G = G W, d/dW = Gᵀ x, d/db = G summed back to b's shape (one fused op for a dense layer)

    The bias broadcasts exactly as in ``x @ W.T + b``: one per output feature (out,), a row (1, out),
    one per sample (n, out), a single number, or a shape that adds axes; the product's gradient and
    the bias's are each summed back to their own shapes.
    """

    def formula(self, names):
        return f"{names[0]} @ {names[1]}ᵀ" + (f" + {names[2]}" if len(names) > 2 else "")

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        try:
            out = matmul_2d(x, weight.T) if x.ndim == 2 == weight.ndim else np.matmul(x, weight.T)
        except ValueError:  # checked only on failure: the common case pays nothing
            out = None
        if out is None or weight.ndim != 2:
            raise ShapeError(
                f"linear: input of shape {format_shape(x.shape)} does not fit a weight of shape "
                f"{format_shape(weight.shape)} (the input's last axis must have {weight.shape[-1]} features)"
            )
        if bias is not None:
            self.product_shape, self.bias_shape = out.shape, bias.shape
            try:
                out += bias  # in place where the bias fits the product's shape: the common case
            except ValueError:  # a bias that adds axes or lengthens one: a new array, as x @ W.T + b makes
                try:
                    out = np.add(out, bias, dtype=out.dtype)  # the dtype the in-place sum keeps
                except ValueError:
                    raise ShapeError(
                        f"linear: a bias of shape {format_shape(bias.shape)} does not broadcast to the shape "
                        f"{format_shape(out.shape)} of input {format_shape(x.shape)} @ weight "
                        f"{format_shape(weight.shape)}ᵀ"
                    ) from None
        return out

    def backward(self, grad_out):
        x, weight = self.x, self.weight
        needs = self.needs_input_grad
        grad_bias = None
        if len(needs) == 3:
            if needs[2] and grad_out.ndim == 2 and self.bias_shape == grad_out.shape[1:]:
                grad_bias = grad_out.sum(axis=0)  # one bias per output feature: the common case, quickly
            elif needs[2]:
                grad_bias = unbroadcast(grad_out, self.bias_shape, "linear")
            if grad_out.shape != self.product_shape:  # the bias added axes: sum them away first
                grad_out = unbroadcast(grad_out, self.product_shape, "linear")
        grad_x = np.matmul(grad_out, weight) if needs[0] else None
        if needs[1]:
            if x.ndim != 2:  # one sample, or a batch with several leading axes: flatten them
                x = x.reshape(-1, x.shape[-1])
                grad_out = grad_out.reshape(-1, grad_out.shape[-1])
            grad_weight = grad_out.T @ x
        else:
            grad_weight = None
        if len(needs) == 2:  # no bias
            return grad_x, grad_weight
        return grad_x, grad_weight, grad_bias

    def vjp(self, grad_out, x, weight, bias=None):
        needs = self.needs_input_grad
        grad_bias = grad_out if bias is not None and needs[2] else None  # the engine sums it back to the bias's shape
        if bias is not None and grad_out.shape != self.product_shape:  # the bias added axes: sum them away first
            grad_out = sum_to(grad_out, self.product_shape)
        grad_x = MatMul.apply(grad_out, weight) if needs[0] else None
        grad_weight = None
        if needs[1]:  # every leading axis of the input is a sample: Gᵀ x over all of them
            rows = grad_out.reshape(-1, weight.shape[0])
            grad_weight = MatMul.apply(_swap_last_axes(rows), x.reshape(-1, weight.shape[1]))
        return (grad_x, grad_weight) if bias is None else (grad_x, grad_weight, grad_bias)

    def jvp(self, tangents, x, weight, bias=None):
        tangent_x, tangent_weight = tangents[0], tangents[1]
        moved_x = Linear.apply(tangent_x, weight) if bias is None else Linear.apply(tangent_x, weight, tangents[2])
        return moved_x + Linear.apply(x, tangent_weight)


def linear(x: Any, weight: Any, bias: Any = None, name: str | None = None) -> Tensor:
    """A dense layer ``x @ weight.T + bias`` as one op; ``weight`` has shape (out, in), as in PyTorch.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.linear(cr.tensor([[1.0, 2.0]]), np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]), np.ones(3))
    tensor([[2., 4., 5.]])
    """
    if bias is None:
        return named(Linear.apply(x, weight), name)
    return named(Linear.apply(x, weight, bias), name)


def _count(number: int, noun: str) -> str:
    """``1 row``, ``3 rows``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
