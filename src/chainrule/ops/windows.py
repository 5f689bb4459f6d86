"""Pooling's windows: the padded input, a view of every window of it, and each window's gradient added back.

The padding is ``padding`` rows (columns) on each side, and with ``ceil_mode`` ``overhang`` more
after the bottom (right) one, where its last windows reach past it.

>>> import numpy as np
>>> x = padded(np.arange(5.0).reshape(1, 1, 1, 5), (0, 0), overhang=(0, 1))  # ceil_mode's 2-wide windows
>>> windows(x, (1, 2), (1, 2), (1, 1)).reshape(3, 2)
array([[0., 1.],
       [2., 3.],
       [4., 0.]])
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .sizes import Pair, span_of


def padded(x: np.ndarray, padding: Pair, value: float = 0.0, overhang: Pair = (0, 0)) -> np.ndarray:
    """``x`` (N, C, H, W) with ``padding`` rows and columns of ``value`` on each side and ``overhang`` more after
    the bottom and right ones (x itself for no padding)."""
    if padding == (0, 0) and overhang == (0, 0):
        return x
    height, width = x.shape[2] + 2 * padding[0] + overhang[0], x.shape[3] + 2 * padding[1] + overhang[1]
    out = np.full((*x.shape[:2], height, width), value, dtype=x.dtype)
    out[:, :, padding[0] : padding[0] + x.shape[2], padding[1] : padding[1] + x.shape[3]] = x
    return out


def padded_shape(x_shape: tuple[int, ...], batch: tuple[int, ...], padding: Pair, overhang: Pair) -> tuple[int, ...]:
    """The shape ``padded`` gives an input of ``x_shape``, with the leading axes ``batch``."""
    return (*batch, x_shape[2] + 2 * padding[0] + overhang[0], x_shape[3] + 2 * padding[1] + overhang[1])


def pad_value_for(dtype: np.dtype) -> float | int:
    """The value max pooling pads with: one no window's maximum can be (−inf, or an integer dtype's least value)."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def cropped(grad: np.ndarray, padding: Pair, overhang: Pair = (0, 0)) -> np.ndarray:
    """The part of a padded array's gradient that belongs to the unpadded input (padding's backward)."""
    if padding == (0, 0) and overhang == (0, 0):
        return grad
    bottom, right = grad.shape[2] - padding[0] - overhang[0], grad.shape[3] - padding[1] - overhang[1]
    return grad[:, :, padding[0] : bottom, padding[1] : right]


def windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """A view (N, C, out_h, out_w, kh, kw) of every window of the padded input ``xp`` (N, C, H, W)."""
    view = sliding_window_view(xp, span_of(kernel, dilation), axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1], :: dilation[0], :: dilation[1]]


def scatter_windows(grad_windows: np.ndarray, shape: tuple[int, ...], stride: Pair, dilation: Pair) -> np.ndarray:
    """The adjoint of ``windows``: each window's gradient added onto the pixels it covers.

    ``grad_windows`` is laid out (kh, kw, A, B, out_h, out_w), kernel offsets first, and the
    result (A, B, H, W). One vectorised addition per kernel offset (kh·kw of them, each over
    every sample, channel and output pixel at once, reading whole rows of pixels); overlapping
    windows add up.
    """
    kh, kw, _, _, out_h, out_w = grad_windows.shape
    grad = np.zeros(shape, dtype=grad_windows.dtype)
    for i in range(kh):
        top = i * dilation[0]
        rows = slice(top, top + stride[0] * (out_h - 1) + 1, stride[0])
        for j in range(kw):
            left = j * dilation[1]
            grad[:, :, rows, left : left + stride[1] * (out_w - 1) + 1 : stride[1]] += grad_windows[i, j]
    return grad
