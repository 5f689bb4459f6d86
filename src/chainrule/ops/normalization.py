"""Normalisation: ``batch_norm`` (per channel, over the batch) and ``layer_norm`` (per sample, over features).

Both compute x̂ = (x − μ) / √(σ² + ε) over some axes, then γ·x̂ + β. The backward of x̂ with the
batch's own μ and σ² is one formula (``normalized_backward``):

    dx = (1/√(σ² + ε)) · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)),   the means over the same axes.

``batch_norm`` in training mode also updates the running statistics it is given, in place,
as PyTorch does: mean ← (1 − m)·mean + m·μ, var ← (1 − m)·var + m·σ²·n/(n − 1). The update is
part of the op's forward, so a ``chainrule.trace`` replay makes it too; the run of ``f`` that a
trace records (and then replays at once) leaves it out, so each call updates them once.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from ..engine.recording import recording_trace
from ..engine.function import Function, named
from ..engine.tensor import Tensor
from .elementwise import sqrt
from .reduce import mean
from ..errors import DTypeError, ShapeError, check_flag, check_number, describe_value, format_shape


def normalized(x: np.ndarray, axes: tuple[int, ...], eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x̂, 1/√(σ² + ε), σ²) with μ and the biased σ² taken over ``axes`` (kept as size-1 axes)."""
    centered = x - x.mean(axis=axes, keepdims=True)
    variance = np.mean(centered * centered, axis=axes, keepdims=True)
    inverse_std = 1 / np.sqrt(variance + np.asarray(eps, dtype=variance.dtype))
    centered *= inverse_std
    return centered, inverse_std, variance


def normalized_backward(
    grad_normalized: np.ndarray, normalized_x: np.ndarray, inverse_std: np.ndarray, axes: tuple[int, ...]
) -> np.ndarray:
    """dL/dx from dL/dx̂ when μ and σ² are the statistics of x itself over ``axes``."""
    mean_grad = grad_normalized.mean(axis=axes, keepdims=True)
    mean_projection = (grad_normalized * normalized_x).mean(axis=axes, keepdims=True)
    grad = grad_normalized - mean_grad
    grad -= normalized_x * mean_projection
    grad *= inverse_std
    return grad


def _normalized_tensor(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor]:
    """(x̂, 1/√(σ² + ε)) of ``normalized``, with chainrule ops: tensors that can be differentiated again."""
    centered = x - mean(x, axis=axes, keepdims=True)
    inverse_std = 1 / sqrt(mean(centered * centered, axis=axes, keepdims=True) + eps)
    return centered * inverse_std, inverse_std


def _projected(grad: Tensor, normalized_x: Tensor, inverse_std: Tensor, axes: tuple[int, ...]) -> Tensor:
    """``normalized_backward`` with chainrule ops. The Jacobian of x ↦ x̂ is symmetric, so this is its JVP too."""
    projection = mean(grad * normalized_x, axis=axes, keepdims=True)
    return inverse_std * (grad - mean(grad, axis=axes, keepdims=True) - normalized_x * projection)


class _Affine(Function):
    """Shared by both norms: γ·x̂ + β with γ and β optional inputs, and their gradients.

    A subclass says how x̂ is made from the input tensor (``_statistics``: x̂ and 1/√(σ² + ε) as tensors,
    and whether they are the input's own, so that x̂ depends on x through them) and the shape γ and β
    broadcast as (``_parameter_shape``).
    """

    def _statistics(self, x: Tensor) -> tuple[Tensor, Tensor, bool, tuple[int, ...]]:
        raise NotImplementedError

    def _parameters(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor | None, Tensor | None, int]:
        """γ, β (None when absent) and how many inputs they and x take."""
        rest = list(inputs[1:])
        weight = rest.pop(0) if self.options["has_weight"] else None
        bias = rest.pop(0) if self.options["has_bias"] else None
        return weight, bias, 1 + (weight is not None) + (bias is not None)

    def vjp(self, grad_out, *inputs):
        x, needs, shape = inputs[0], self.needs_input_grad, self._parameter_shape(inputs[0])
        weight, bias, used = self._parameters(inputs)
        normalized_x, inverse_std, own, axes = self._statistics(x)
        grads: list = [None]
        if needs[0]:
            grad_normalized = grad_out if weight is None else grad_out * weight.reshape(shape)
            grads[0] = (
                _projected(grad_normalized, normalized_x, inverse_std, axes) if own else grad_normalized * inverse_std
            )
        if weight is not None:
            grads.append((grad_out * normalized_x).sum(axis=self.sum_axes).reshape(weight.shape) if needs[1] else None)
        if bias is not None:
            grads.append(grad_out.sum(axis=self.sum_axes).reshape(bias.shape) if needs[used - 1] else None)
        grads += [None] * (len(inputs) - used)
        return tuple(grads) if len(grads) > 1 else grads[0]

    def jvp(self, tangents, *inputs):
        x, shape = inputs[0], self._parameter_shape(inputs[0])
        weight, bias, _ = self._parameters(inputs)
        normalized_x, inverse_std, own, axes = self._statistics(x)
        moved = _projected(tangents[0], normalized_x, inverse_std, axes) if own else tangents[0] * inverse_std
        out = moved if weight is None else moved * weight.reshape(shape) + normalized_x * tangents[1].reshape(shape)
        if bias is not None:
            out = out + tangents[1 + (weight is not None)].reshape(shape)
        return out

    def _scale_and_shift(self, normalized_x, weight, bias, shape):
        out = normalized_x if weight is None else normalized_x * weight.reshape(shape)
        if bias is not None:
            out = out + bias.reshape(shape)
        return out

    def _affine_grads(self, grad_out, weight, shape, positions):
        """(dL/dx̂, dL/dγ, dL/dβ): γ's and β's gradients summed over every axis they were broadcast along."""
        needs, axes = self.needs_input_grad, self.sum_axes
        grad_weight = grad_bias = None
        if positions[0] is not None and needs[positions[0]]:
            grad_weight = (grad_out * self.normalized_x).sum(axis=axes).reshape(weight.shape)
        if positions[1] is not None and needs[positions[1]]:
            grad_bias = grad_out.sum(axis=axes).reshape(self.bias_shape)
        grad_normalized = grad_out if weight is None else grad_out * weight.reshape(shape)
        return grad_normalized, grad_weight, grad_bias


class BatchNorm(_Affine):
    """d/dx batch_norm(x) = γ/√(σ² + ε) · (G − mean(G) − x̂·mean(G·x̂)) with batch statistics; γ/√(var + ε) · G with running ones

    The means run over every axis but the channels (axis 1); d/dγ = Σ G·x̂, d/dβ = Σ G.
    """

    name = "batch_norm"

    def forward(self, x, *arrays, has_weight, has_bias, has_stats, counted, training, momentum, eps):
        arrays = list(arrays)
        weight = arrays.pop(0) if has_weight else None
        bias = arrays.pop(0) if has_bias else None
        running_mean, running_var = (arrays.pop(0), arrays.pop(0)) if has_stats else (None, None)
        batches = arrays.pop(0) if counted else None
        _check_batch_norm(x, weight, bias, running_mean, running_var)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        axes = (0,) + tuple(range(2, x.ndim))
        self.sum_axes, self.bias_shape, self.weight, self.training = (
            axes,
            None if bias is None else bias.shape,
            weight,
            training,
        )
        if training:
            count = x.size // x.shape[1]
            if count < 2:
                raise ValueError(
                    f"batch_norm: training needs more than one value per channel, got input of shape "
                    f"{format_shape(x.shape)}; use a batch of several samples, or eval() mode"
                )
            self.normalized_x, self.inverse_std, variance = normalized(x, axes, eps)
            if has_stats and not recording_trace():  # a trace's recording run leaves them to its replay
                if batches is not None:
                    batches += 1
                factor = 1.0 / float(batches) if momentum is None else momentum
                mean = x.mean(axis=axes)
                running_mean *= 1 - factor
                running_mean += factor * mean
                running_var *= 1 - factor
                running_var += factor * variance.reshape(-1) * (count / (count - 1))
        else:
            inverse_std = 1 / np.sqrt(running_var.astype(x.dtype) + np.asarray(eps, dtype=x.dtype))
            self.inverse_std = inverse_std.reshape(shape)
            self.running_mean = running_mean.astype(x.dtype).reshape(shape)  # copies: the stored values may move
            self.normalized_x = (x - self.running_mean) * self.inverse_std
        return self._scale_and_shift(self.normalized_x, weight, bias, shape)

    def backward(self, grad_out):
        options = self.options
        shape = (1, grad_out.shape[1]) + (1,) * (grad_out.ndim - 2)
        positions = (1 if options["has_weight"] else None, 1 + options["has_weight"] if options["has_bias"] else None)
        grad_normalized, grad_weight, grad_bias = self._affine_grads(grad_out, self.weight, shape, positions)
        grad_x = None
        if self.needs_input_grad[0]:
            if self.training:
                grad_x = normalized_backward(grad_normalized, self.normalized_x, self.inverse_std, self.sum_axes)
            else:
                grad_x = grad_normalized * self.inverse_std
        grads = [grad_x]
        if options["has_weight"]:
            grads.append(grad_weight)
        if options["has_bias"]:
            grads.append(grad_bias)
        grads += [None] * (len(self.needs_input_grad) - len(grads))  # the running statistics: no gradient
        return tuple(grads) if len(grads) > 1 else grads[0]

    def _parameter_shape(self, x: Tensor) -> tuple[int, ...]:
        return (1, x.shape[1]) + (1,) * (x.ndim - 2)

    def _statistics(self, x):
        if self.training:
            return (*_normalized_tensor(x, self.sum_axes, self.options["eps"]), True, self.sum_axes)
        inverse_std = Tensor(self.inverse_std)  # the running statistics: constants
        return (x - Tensor(self.running_mean)) * inverse_std, inverse_std, False, self.sum_axes


def _check_statistics_dtype(label: str, values: np.ndarray | Tensor) -> None:
    """A one-line DTypeError unless running statistics can hold their averages: floating point, as PyTorch requires
    (an integer array would refuse the in-place update, or truncate it)."""
    if values.dtype.kind != "f":
        size = values.shape[0] if values.ndim else "C"
        raise DTypeError(
            f"batch_norm: {label} holds {values.dtype} numbers; running statistics are averages, updated in place, "
            f"and must be floating point (as in PyTorch): create them as np.zeros({size}) and np.ones({size})"
        )


def _check_batch_norm(x, weight, bias, running_mean, running_var) -> None:
    if x.ndim < 2:
        raise ShapeError(
            f"batch_norm: expects an input (N, C, …) with a channel axis, got shape {format_shape(x.shape)}"
        )
    channels = x.shape[1]
    for label, values in (
        ("weight", weight),
        ("bias", bias),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        if values is not None and values.shape != (channels,):
            raise ShapeError(
                f"batch_norm: {label} must have shape ({channels},), one per channel of the input "
                f"{format_shape(x.shape)}, got {format_shape(values.shape)}"
            )


class LayerNorm(_Affine):
    """d/dx layer_norm(x) = γ/√(σ² + ε) · (G − mean(G) − x̂·mean(G·x̂)), the means over the normalised axes

    d/dγ = Σ G·x̂ and d/dβ = Σ G over the other (batch) axes.
    """

    name = "layer_norm"

    def _parameter_shape(self, x: Tensor) -> tuple[int, ...]:
        return self.options["normalized_shape"]

    def _statistics(self, x):
        return (*_normalized_tensor(x, self.norm_axes, self.options["eps"]), True, self.norm_axes)

    def forward(self, x, *arrays, normalized_shape, has_weight, has_bias, eps):
        arrays = list(arrays)
        weight = arrays.pop(0) if has_weight else None
        bias = arrays.pop(0) if has_bias else None
        count = len(normalized_shape)
        if x.shape[x.ndim - count :] != normalized_shape or x.ndim < count:
            raise ShapeError(
                f"layer_norm: normalized_shape {normalized_shape} must be the last axes of the input, got shape "
                f"{format_shape(x.shape)}"
            )
        for label, values in (("weight", weight), ("bias", bias)):
            if values is not None and values.shape != normalized_shape:
                raise ShapeError(
                    f"layer_norm: {label} must have the normalized shape {normalized_shape}, got "
                    f"{format_shape(values.shape)}"
                )
        axes = tuple(range(x.ndim - count, x.ndim))
        self.sum_axes = tuple(range(x.ndim - count))
        self.norm_axes, self.weight, self.bias_shape = axes, weight, normalized_shape
        self.normalized_x, self.inverse_std, _ = normalized(x, axes, eps)
        return self._scale_and_shift(self.normalized_x, weight, bias, normalized_shape)

    def backward(self, grad_out):
        options = self.options
        positions = (1 if options["has_weight"] else None, 1 + options["has_weight"] if options["has_bias"] else None)
        grad_normalized, grad_weight, grad_bias = self._affine_grads(
            grad_out, self.weight, options["normalized_shape"], positions
        )
        grad_x = None
        if self.needs_input_grad[0]:
            grad_x = normalized_backward(grad_normalized, self.normalized_x, self.inverse_std, self.norm_axes)
        grads = [grad_x]
        if options["has_weight"]:
            grads.append(grad_weight)
        if options["has_bias"]:
            grads.append(grad_bias)
        return tuple(grads) if len(grads) > 1 else grad_x


def batch_norm(
    x: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    num_batches_tracked: Any = None,
    name: str | None = None,
) -> Tensor:
    """Batch normalisation over every axis but the channels (axis 1), as ``torch.nn.functional.batch_norm``.

    In training mode (or without running statistics) x is normalised with its own mean and
    variance, and ``running_mean``/``running_var`` (arrays or tensors, updated in place) move
    towards them by ``momentum``; with ``momentum=None`` they are the cumulative average over
    ``num_batches_tracked`` (a 0-d integer array, counted up in place). In evaluation mode the
    running statistics normalise.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0], [3.0]])
    >>> mean, var = np.zeros(1), np.ones(1)
    >>> cr.batch_norm(x, mean, var, training=True, eps=0.0)
    tensor([[-1.],
            [ 1.]])
    >>> mean, var
    (array([0.2]), array([1.1]))
    """
    check_flag("batch_norm", "training", training)
    eps = check_number("batch_norm", "eps", eps)
    if momentum is not None:
        momentum = check_number("batch_norm", "momentum", momentum)
    has_stats = running_mean is not None
    if has_stats != (running_var is not None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if not has_stats and not training:
        raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean and running_var")
    if momentum is None and num_batches_tracked is None and has_stats and training:
        raise ValueError("batch_norm: momentum=None (a cumulative average) needs num_batches_tracked")
    inputs = [x] + [item for item in (weight, bias) if item is not None]
    if has_stats:
        for label, values in (("running_mean", running_mean), ("running_var", running_var)):
            if not isinstance(values, (np.ndarray, Tensor)) or getattr(values, "requires_grad", False):
                raise TypeError(
                    f"batch_norm: {label} must be an array or a tensor that does not require grad (it is updated "
                    f"in place), got {describe_value(values)}"
                )
            _check_statistics_dtype(label, values)
        inputs += [running_mean, running_var]
    counted = has_stats and num_batches_tracked is not None
    if counted:
        inputs.append(num_batches_tracked)
    options = {
        "has_weight": weight is not None,
        "has_bias": bias is not None,
        "has_stats": has_stats,
        "counted": counted,
        "training": bool(training),
        "momentum": momentum,
        "eps": eps,
    }
    return named(BatchNorm.apply(*inputs, **options), name)


def layer_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
    name: str | None = None,
) -> Tensor:
    """Normalise each sample over its last axes (``normalized_shape``), as ``torch.nn.functional.layer_norm``.

    >>> import chainrule as cr
    >>> cr.layer_norm(cr.tensor([[1.0, 3.0]]), 2, eps=0.0)
    tensor([[-1.,  1.]])
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(size, numbers.Integral) and not isinstance(size, bool) and size > 0 for size in shape
    ):
        raise TypeError(
            f"layer_norm: normalized_shape must be a positive integer or a tuple of them, got "
            f"{describe_value(normalized_shape)}"
        )
    eps = check_number("layer_norm", "eps", eps)
    inputs = [x] + [item for item in (weight, bias) if item is not None]
    options = {
        "normalized_shape": tuple(int(size) for size in shape),
        "has_weight": weight is not None,
        "has_bias": bias is not None,
        "eps": eps,
    }
    return named(LayerNorm.apply(*inputs, **options), name)
