"""Convolution and pooling layers with PyTorch's names, arguments and attributes: ``Conv1d``, ``Conv2d``,
``MaxPool2d``, ``AvgPool2d`` and ``Flatten``.

>>> import numpy as np
>>> from chainrule import nn
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10, rng=1))
>>> net(np.zeros((2, 1, 8, 8))).shape
(2, 10)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import ops
from ..engine.tensor import Tensor
from ..errors import ShapeError, check_flag, check_integer, format_shape
from ..ops.sizes import check_padding_string, pair, single
from ..random import as_generator
from . import init as initializers
from .module import Module, Parameter


class Conv2d(Module):
    """A 2-D convolution layer: weight (out_channels, in_channels/groups, kh, kw) and bias (out_channels,).

    Weights and biases start as PyTorch's: U(−1/√fan_in, 1/√fan_in) with fan_in = in_channels/groups·kh·kw
    (``init`` names another scheme of ``chainrule.nn.init``); ``rng`` is a seed or a generator,
    the default one (``chainrule.manual_seed``) without it.

    >>> from chainrule import nn
    >>> nn.Conv2d(3, 8, 3, stride=2, padding=1)
    Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))  # 224 parameters

    ``padding="same"`` (stride 1 only) keeps the input's size and ``"valid"`` pads nothing; the
    layer keeps the string, as PyTorch's does.

    >>> nn.Conv2d(3, 8, 4, padding="same")
    Conv2d(3, 8, kernel_size=(4, 4), stride=(1, 1), padding=same)  # 392 parameters
    """

    dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] | str = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        *,  # PyTorch's next positional argument is padding_mode, not init: keywords only
        init: str | Callable[..., np.ndarray] = "default",
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.in_channels = check_integer(owner, "in_channels", in_channels)
        self.out_channels = check_integer(owner, "out_channels", out_channels)
        self.groups = check_integer(owner, "groups", groups)
        check_flag(owner, "bias", bias)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{owner}: groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
            )
        sizes = pair if self.dims == 2 else lambda op, name, value, minimum=1: single(op, name, value, minimum)[1:]
        self.kernel_size = sizes(owner, "kernel_size", kernel_size)
        self.stride = sizes(owner, "stride", stride)
        self.dilation = sizes(owner, "dilation", dilation)
        self.padding: tuple[int, ...] | str
        if isinstance(padding, str):
            check_padding_string(owner, padding, self.stride)
            self.padding = padding
        else:
            self.padding = sizes(owner, "padding", padding, 0)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        fan_in = int(np.prod(shape[1:]))
        fan_out = out_channels // groups * int(np.prod(self.kernel_size))
        generator = as_generator(rng)
        weight_init = initializers.resolve(init, owner)
        self.weight = Parameter(weight_init(shape, fan_in, fan_out, generator), dtype=dtype)
        self.bias: Parameter | None = None
        if bias:
            bias_init = initializers.resolve(init if init == "default" or callable(init) else "zeros", owner)
            self.bias = Parameter(bias_init((out_channels,), fan_in, fan_out, generator), dtype=dtype)

    def forward(self, x: Any) -> Tensor:
        convolve = ops.conv2d if self.dims == 2 else ops.conv1d
        options = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation, "groups": self.groups}
        if self.dims == 1:
            options = {key: value[0] if isinstance(value, tuple) else value for key, value in options.items()}
        return convolve(x, self.weight, self.bias, **options)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str) or any(self.padding):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
        }


class Conv1d(Conv2d):
    """A 1-D convolution layer on (N, C, L): weight (out_channels, in_channels/groups, k).

    >>> from chainrule import nn
    >>> nn.Conv1d(2, 4, 3, rng=0)(np.zeros((5, 2, 10))).shape
    (5, 4, 8)
    """

    dims = 1


class MaxPool2d(Module):
    """The largest value of each window, as ``torch.nn.MaxPool2d`` (``stride`` defaults to ``kernel_size``).

    ``ceil_mode=True`` rounds the output size up (see ``chainrule.max_pool2d``). ``return_indices``
    keeps PyTorch's argument order; chainrule gives no indices, so only False is taken.

    >>> from chainrule import nn
    >>> nn.MaxPool2d(2, ceil_mode=True)(np.zeros((3, 5, 5))).shape
    (3, 3, 3)
    """

    function = staticmethod(ops.max_pool2d)

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        pair(owner, "kernel_size", kernel_size)  # checked here, where the mistake is made
        if stride is not None:
            pair(owner, "stride", stride)
        pair(owner, "padding", padding, 0)
        pair(owner, "dilation", dilation)
        if check_flag(owner, "return_indices", return_indices):
            raise ValueError(f"{owner}: return_indices=True is not supported: chainrule's max pooling gives no indices")
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.ceil_mode = check_flag(owner, "ceil_mode", ceil_mode)
        if stride is None:
            self.stride = kernel_size

    def forward(self, x: Any) -> Tensor:
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")

    def config(self) -> dict[str, Any]:
        return {
            "type": "MaxPool2d",
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            **_non_default(ceil_mode=self.ceil_mode),
        }


class AvgPool2d(MaxPool2d):
    """The mean of each window, as ``torch.nn.AvgPool2d``: padding zeros counted unless ``count_include_pad=False``.

    >>> from chainrule import nn
    >>> nn.AvgPool2d(2, padding=1, count_include_pad=False)(np.ones((1, 3, 3)))
    tensor([[[1., 1.],
             [1., 1.]]])
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode)
        self.count_include_pad = check_flag(type(self).__name__, "count_include_pad", count_include_pad)

    def forward(self, x: Any) -> Tensor:
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")

    def config(self) -> dict[str, Any]:
        return {
            "type": "AvgPool2d",
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            **_non_default(ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad),
        }


#: The pooling options added after the first model files: written only when not the default, so that
#: a file of default pools stays the file an earlier chainrule wrote and can read.
_POOL_DEFAULTS = {"ceil_mode": False, "count_include_pad": True}


def _non_default(**options: bool) -> dict[str, bool]:
    return {name: value for name, value in options.items() if value != _POOL_DEFAULTS[name]}


class Flatten(Module):
    """Axes ``start_dim`` to ``end_dim`` merged into one, as ``torch.nn.Flatten`` ((N, C, H, W) → (N, C·H·W))."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = check_integer("Flatten", "start_dim", start_dim, minimum=None)
        self.end_dim = check_integer("Flatten", "end_dim", end_dim, minimum=None)

    def forward(self, x: Any) -> Tensor:
        shape = tuple(np.shape(x.data if isinstance(x, Tensor) else x))
        ndim = max(len(shape), 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim) or start % ndim > end % ndim:
            raise ShapeError(
                f"Flatten: start_dim={start} and end_dim={end} do not name a range of axes of shape {format_shape(shape)}"
            )
        start, end = start % ndim, end % ndim
        merged = int(np.prod(shape[start : end + 1]))
        return ops.reshape(x, (*shape[:start], merged, *shape[end + 1 :]))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def config(self) -> dict[str, Any]:
        return {"type": "Flatten", "start_dim": self.start_dim, "end_dim": self.end_dim}
