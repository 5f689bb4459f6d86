"""Layers that behave differently in training and evaluation: ``BatchNorm1d``, ``BatchNorm2d``, ``Dropout``;
and ``LayerNorm``. ``model.train()`` and ``model.eval()`` switch them, as in PyTorch.

A batch norm layer keeps ``running_mean``, ``running_var`` and ``num_batches_tracked`` as buffers:
saved in ``state_dict()`` and model files, updated by every forward in training mode, used
instead of the batch's statistics in evaluation mode.

>>> import numpy as np
>>> from chainrule import nn
>>> bn = nn.BatchNorm2d(3)
>>> sorted(bn.state_dict())
['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
>>> _ = bn(np.arange(24.0).reshape(2, 3, 2, 2))
>>> bn.running_mean, int(bn.num_batches_tracked)
(array([0.75, 1.15, 1.55]), 1)
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import ops
from ..engine.tensor import Tensor, _make_tensor
from ..errors import DTypeError, ShapeError, check_flag, check_integer, check_number, describe_value, format_shape
from .module import Module, Parameter


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; ``dims`` says which input ranks each takes."""

    dims: tuple[int, ...] = ()
    layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.num_features = check_integer(owner, "num_features", num_features)
        self.eps = check_number(owner, "eps", eps)
        self.momentum = None if momentum is None else check_number(owner, "momentum", momentum)
        self.affine = check_flag(owner, "affine", affine)
        self.track_running_stats = check_flag(owner, "track_running_stats", track_running_stats)
        if np.dtype(dtype).kind != "f":  # the weights' and the running statistics' (averages, updated in place)
            raise DTypeError(
                f"{owner}: dtype must be a floating-point type (float32 or float64), got {np.dtype(dtype)}"
            )
        self.weight: Parameter | None = Parameter(np.ones(num_features), dtype=dtype) if affine else None
        self.bias: Parameter | None = Parameter(np.zeros(num_features), dtype=dtype) if affine else None
        self.buffer_names = ("running_mean", "running_var", "num_batches_tracked") if track_running_stats else ()
        self.running_mean: np.ndarray | None = None
        self.running_var: np.ndarray | None = None
        self.num_batches_tracked: np.ndarray | None = None
        if track_running_stats:
            self.running_mean = np.zeros(num_features, dtype=dtype)
            self.running_var = np.ones(num_features, dtype=dtype)
            self.num_batches_tracked = np.array(0, dtype=np.int64)
        self._statistics: tuple[Tensor, ...] = ()

    def reset_running_stats(self) -> None:
        """Back to mean 0, variance 1 and no batches seen."""
        if self.track_running_stats:
            self.running_mean[...], self.running_var[...], self.num_batches_tracked[...] = 0, 1, 0

    def _statistic_tensors(self) -> tuple[Tensor, ...]:
        """The buffers as tensors sharing their arrays, made again only when a buffer was replaced.

        The same tensors at every call let ``chainrule.trace`` replay a training step, which reads
        them afresh each time and lets the op update them in place.
        """
        arrays = (self.running_mean, self.running_var, self.num_batches_tracked)
        if len(self._statistics) != 3 or any(t.data is not a for t, a in zip(self._statistics, arrays)):
            self._statistics = tuple(_make_tensor(a, None) for a in arrays)
        return self._statistics

    def forward(self, x: Any) -> Tensor:
        shape = tuple(np.shape(x.data if isinstance(x, Tensor) else x))
        owner = type(self).__name__
        if len(shape) not in self.dims:
            raise ShapeError(f"{owner}: expects a {self.layout} input, got shape {format_shape(shape)}")
        if shape[1] != self.num_features:
            raise ShapeError(
                f"{owner}({self.num_features}): input of shape {format_shape(shape)} has {shape[1]} channels "
                f"(axis 1), expected {self.num_features}"
            )
        if self.track_running_stats:
            running_mean, running_var, batches = self._statistic_tensors()
        else:
            running_mean = running_var = batches = None
        return ops.batch_norm(
            x,
            running_mean,
            running_var,
            self.weight,
            self.bias,
            training=self.training or not self.track_running_stats,
            momentum=self.momentum,
            eps=self.eps,
            num_batches_tracked=batches,
        )

    def cast_buffers(self, dtype: np.dtype) -> None:
        """The running statistics follow ``astype`` (num_batches_tracked stays an integer), as PyTorch's ``.float()``."""
        if self.track_running_stats:
            self.running_mean = self.running_mean.astype(dtype)
            self.running_var = self.running_var.astype(dtype)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
        }


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C, as ``torch.nn.BatchNorm1d``."""

    dims = (2, 3)
    layout = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C, as ``torch.nn.BatchNorm2d``."""

    dims = (4,)
    layout = "4-D (N, C, H, W)"


class LayerNorm(Module):
    """Normalisation of each sample over its last axes, as ``torch.nn.LayerNorm``.

    >>> from chainrule import nn
    >>> nn.LayerNorm(4)
    LayerNorm((4,), eps=1e-05, elementwise_affine=True)  # 8 parameters
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
        if not isinstance(shape, (tuple, list)) or not shape:
            raise TypeError(
                f"LayerNorm: normalized_shape must be a positive integer or a tuple of them, got "
                f"{describe_value(normalized_shape)}"
            )
        self.normalized_shape = tuple(check_integer("LayerNorm", "normalized_shape", size) for size in shape)
        self.eps = check_number("LayerNorm", "eps", eps)
        self.elementwise_affine = check_flag("LayerNorm", "elementwise_affine", elementwise_affine)
        check_flag("LayerNorm", "bias", bias)
        self.weight: Parameter | None = None
        self.bias: Parameter | None = None
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape), dtype=dtype)
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape), dtype=dtype)

    def forward(self, x: Any) -> Tensor:
        return ops.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

    def config(self) -> dict[str, Any]:
        return {
            "type": "LayerNorm",
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self.bias is not None,
        }


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode (scaling the rest by 1/(1 − p)); nothing in eval mode.

    ``rng``: None draws from the default generator (``chainrule.manual_seed``); a seed or a
    generator gives this layer its own stream.

    >>> from chainrule import nn
    >>> layer = nn.Dropout(0.5, rng=0)
    >>> layer(np.ones(4))
    tensor([2., 0., 0., 0.])
    >>> layer.eval()(np.ones(4))
    tensor([1., 1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1), got {describe_value(p)}")
        seed = isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0
        if not (rng is None or seed or isinstance(rng, np.random.Generator)):
            raise TypeError(
                f"Dropout: rng must be a seed (a non-negative integer) or a numpy.random.Generator, "
                f"got {describe_value(rng)}"
            )
        self.p = float(p)
        self.rng = np.random.default_rng(rng) if seed else rng

    def forward(self, x: Any) -> Tensor:
        return ops.dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def config(self) -> dict[str, Any]:
        return {"type": "Dropout", "p": self.p}
