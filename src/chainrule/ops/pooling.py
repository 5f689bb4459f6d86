"""Pooling over windows of (N, C, H, W) inputs: ``max_pool2d`` and ``avg_pool2d``, as in PyTorch.

Both cut the same windows a convolution does (``convolution.windows``) and send each window's
gradient back onto the pixels it covers (``convolution.scatter_windows``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.function import Function, named
from ..engine.tensor import Tensor
from ..errors import ShapeError, format_shape
from .convolution import Pair, cropped, output_size, pad_value_for, padded, pair, scatter_windows, windows


def _check_pool(op: str, x: np.ndarray, kernel: Pair, padding: Pair) -> None:
    if x.ndim != 4:
        single = "; for one image add the batch axis: x[None]" if x.ndim == 3 else ""
        raise ShapeError(f"{op}: expects a 4-D input (N, C, H, W), got shape {format_shape(x.shape)}{single}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ShapeError(
            f"{op}: padding {tuple(padding)} must be at most half the kernel {tuple(kernel)} "
            f"(input shape {format_shape(x.shape)})"
        )


class MaxPool2d(Function):
    """d/dx max_pool2d(x) · G = G routed to the largest value of each window (the first, if tied), 0 elsewhere

    A dilated window can fall wholly on padding: its maximum is −inf and its gradient goes nowhere
    (PyTorch sends it to an input pixel outside the window).
    """

    name = "max_pool2d"

    def formula(self, names):
        return f"max_pool2d({names[0]}, {self.options['kernel_size']}, stride={self.options['stride']})"

    def forward(self, x, kernel_size, stride, padding, dilation):
        _check_pool(self.name, x, kernel_size, padding)
        out_h, out_w = output_size(self.name, x.shape, kernel_size, stride, padding, dilation)
        self.geometry, self.padding = (stride, dilation), padding
        xp = padded(x, padding, pad_value_for(x.dtype))
        self.padded_shape, self.kernel = xp.shape, kernel_size
        # (kh·kw, N, C, out_h, out_w): the window's values along axis 0, each offset a whole image
        flat = (
            windows(xp, kernel_size, stride, dilation)
            .transpose(4, 5, 0, 1, 2, 3)
            .reshape(-1, *x.shape[:2], out_h, out_w)
        )
        self.winner = flat.argmax(axis=0)[np.newaxis]
        return np.take_along_axis(flat, self.winner, axis=0)[0]

    def backward(self, grad_out):
        grad_windows = np.zeros((self.kernel[0] * self.kernel[1], *grad_out.shape), dtype=grad_out.dtype)
        np.put_along_axis(grad_windows, self.winner, grad_out[np.newaxis], axis=0)
        grad_windows = grad_windows.reshape(*self.kernel, *grad_out.shape)
        return cropped(scatter_windows(grad_windows, self.padded_shape, *self.geometry), self.padding)


class AvgPool2d(Function):
    """d/dx avg_pool2d(x) · G = G / (kh·kw) spread over each window's pixels"""

    name = "avg_pool2d"

    def formula(self, names):
        return f"avg_pool2d({names[0]}, {self.options['kernel_size']}, stride={self.options['stride']})"

    def forward(self, x, kernel_size, stride, padding):
        _check_pool(self.name, x, kernel_size, padding)
        output_size(self.name, x.shape, kernel_size, stride, padding, (1, 1))
        self.stride, self.padding, self.kernel = stride, padding, kernel_size
        xp = padded(x, padding)
        self.padded_shape = xp.shape
        count = kernel_size[0] * kernel_size[1]  # padding zeros count, as PyTorch's count_include_pad=True
        return windows(xp, kernel_size, stride, (1, 1)).sum(axis=(-2, -1)) / np.asarray(count, dtype=x.dtype)

    def backward(self, grad_out):
        share = grad_out / np.asarray(self.kernel[0] * self.kernel[1], dtype=grad_out.dtype)
        grad_windows = np.broadcast_to(share, (*self.kernel, *grad_out.shape))  # the same share at every offset
        return cropped(scatter_windows(grad_windows, self.padded_shape, self.stride, (1, 1)), self.padding)


def max_pool2d(
    x: Any,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    name: str | None = None,
) -> Tensor:
    """The largest value of each kh×kw window of x (N, C, H, W); ``stride`` defaults to the kernel size.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.max_pool2d(cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    kernel = pair("max_pool2d", "kernel_size", kernel_size)
    options = {
        "kernel_size": kernel,
        "stride": kernel if stride is None else pair("max_pool2d", "stride", stride),
        "padding": pair("max_pool2d", "padding", padding, minimum=0),
        "dilation": pair("max_pool2d", "dilation", dilation),
    }
    return named(MaxPool2d.apply(x, **options), name)


def avg_pool2d(
    x: Any, kernel_size: int | Pair, stride: int | Pair | None = None, padding: int | Pair = 0, name: str | None = None
) -> Tensor:
    """The mean of each kh×kw window of x (N, C, H, W), padding zeros counted; ``stride`` defaults to the kernel.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.avg_pool2d(cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]])
    """
    kernel = pair("avg_pool2d", "kernel_size", kernel_size)
    options = {
        "kernel_size": kernel,
        "stride": kernel if stride is None else pair("avg_pool2d", "stride", stride),
        "padding": pair("avg_pool2d", "padding", padding, minimum=0),
    }
    return named(AvgPool2d.apply(x, **options), name)
