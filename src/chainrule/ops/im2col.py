"""The NumPy kernels of a convolution, channels-last: windows as the rows of a matrix (im2col) and back.

The ops take and give PyTorch's (N, C, H, W) arrays, but these kernels keep the pixels of each
sample channels-last in memory (N, H, W, C), as a hand-written NumPy convolution does:

- the windows matrix has one row per output pixel (sample, row, column) and one column per
  (group, kernel row, kernel column, channel of the group): each row is copied from whole runs
  of a pixel's channels, and the convolution is one product ``rows @ Wᵀ`` per group;
- that product, (N·out_h·out_w, out), *is* the output channels-last: the op returns it as an
  (N, out, out_h, out_w) view (``np.transpose``), without a copy; the ops after it (relu,
  pooling) keep that layout, NumPy's ufuncs follow their input's memory order, and the next
  convolution takes its input's channels-last pixels as they are (``channels_last``);
- the input's gradient is kh·kw products of the output's gradient by the weight's blocks,
  each added onto the input at its shifted place: the gradient of the whole windows matrix is
  never made (col2im fused with the product).

Measured on the wide benchmark CNN (batch 64, float32; layers 1→32 channels on 28×28 and
32→64 on 14×14) against the previous layout (windows matrix channel·offset × sample·pixel,
outputs copied to contiguous (N, C, H, W), window gradients made whole then scattered), one
BLAS thread, best of 20, three alternating runs: forward 4.7–5.1 → 1.8–2.2 ms (first layer)
and 8.5–12.3 → 7.7–8.5 ms (second), backward of the second 15.8–17.6 → 13.7–14.1 ms, the
same as the hand-written NumPy step's products (benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Pair = tuple[int, int]


def channels_last(x: np.ndarray) -> np.ndarray:
    """x (N, C, H, W) as an (N, H, W, C) C-contiguous array: a view when x's memory is channels-last, else a copy."""
    moved = x.transpose(0, 2, 3, 1)
    return moved if moved.flags.c_contiguous else np.ascontiguousarray(moved)


def channels_first_view(pixels: np.ndarray) -> np.ndarray:
    """An (N, H, W, C) array seen as (N, C, H, W), without a copy."""
    return pixels.transpose(0, 3, 1, 2)


def padded_pixels(x: np.ndarray, padding: Pair) -> np.ndarray:
    """x (N, C, H, W) channels-last, with ``padding`` rows and columns of zeros on each side: (N, H', W', C)."""
    pixels = channels_last(x)
    if padding == (0, 0):
        return pixels
    count, height, width, channels = pixels.shape
    out = np.zeros((count, height + 2 * padding[0], width + 2 * padding[1], channels), dtype=x.dtype)
    out[:, padding[0] : padding[0] + height, padding[1] : padding[1] + width] = pixels
    return out


def window_rows(
    x: np.ndarray, kernel: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair, groups: int
) -> np.ndarray:
    """im2col: the windows matrix of x (N, C, H, W), rows (sample, out row, out col), columns (group, kh, kw, channel).

    One copy of a strided view of the padded channels-last input; its innermost runs are a
    pixel's C/groups channels, contiguous in memory. (A view made with ``as_strided`` directly
    instead of ``sliding_window_view`` saves 8 µs a call: not worth the stride arithmetic.)
    """
    pixels = padded_pixels(x, padding)
    count, _, _, channels = pixels.shape
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    view = sliding_window_view(pixels, span, axis=(1, 2))  # (N, out_h', out_w', C, span_h, span_w)
    view = view[:, :: stride[0], :: stride[1], :, :: dilation[0], :: dilation[1]]
    _, out_h, out_w = view.shape[:3]
    view = view.reshape(count, out_h, out_w, groups, channels // groups, kernel[0], kernel[1])
    return view.transpose(0, 1, 2, 3, 5, 6, 4).reshape(count * out_h * out_w, channels * kernel[0] * kernel[1])


def weight_blocks(weight: np.ndarray, groups: int) -> np.ndarray:
    """The weight (out, C/g, kh, kw) as one matrix per group, (groups, out/g, kh·kw·C/g), columns as in ``window_rows``."""
    out_channels = weight.shape[0]
    blocks = weight.reshape(groups, out_channels // groups, *weight.shape[1:]).transpose(0, 1, 3, 4, 2)
    return blocks.reshape(groups, out_channels // groups, -1)


def grouped(rows: np.ndarray, groups: int) -> np.ndarray:
    """A matrix's columns split into ``groups`` equal blocks, as a stack (groups, rows, columns/groups) (a view)."""
    return rows.reshape(rows.shape[0], groups, rows.shape[1] // groups).transpose(1, 0, 2)


def ungrouped(stack: np.ndarray) -> np.ndarray:
    """The inverse of ``grouped``: a stack (groups, rows, k) as one matrix (rows, groups·k)."""
    if stack.shape[0] == 1:
        return stack[0]
    return stack.transpose(1, 0, 2).reshape(stack.shape[1], stack.shape[0] * stack.shape[2])


def rows_times_weight(rows: np.ndarray, weight: np.ndarray, groups: int) -> np.ndarray:
    """``rows @ Wᵀ`` per group: (N·out_h·out_w, out), the convolution's output channels-last, without the bias."""
    blocks = weight_blocks(weight, groups)
    if groups == 1:
        return rows @ blocks[0].T
    return ungrouped(np.matmul(grouped(rows, groups), blocks.transpose(0, 2, 1)))


def gradient_rows(grad_out: np.ndarray) -> np.ndarray:
    """The output's gradient (N, out, out_h, out_w) as the matrix (N·out_h·out_w, out): a view when channels-last."""
    return channels_last(grad_out).reshape(-1, grad_out.shape[1])


def weight_gradient(rows: np.ndarray, grad_rows: np.ndarray, weight_shape: tuple[int, ...], groups: int) -> np.ndarray:
    """dL/dW = Gᵀ @ rows per group, as a fresh (out, C/g, kh, kw) array."""
    out_channels, group_channels, kh, kw = weight_shape
    if groups == 1:
        product = (grad_rows.T @ rows)[np.newaxis]
    else:
        product = np.matmul(grouped(grad_rows, groups).transpose(0, 2, 1), grouped(rows, groups))
    return product.reshape(out_channels, kh, kw, group_channels).transpose(0, 3, 1, 2).copy()


def input_gradient(
    grad_rows: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], geometry: dict, out_size: Pair
) -> np.ndarray:
    """dL/dx (N, C, H, W), a view of channels-last memory: for each kernel offset, G @ that offset's block of W,
    added onto the padded input where those windows were cut from, the padding then cropped.

    Fused col2im: each product and each addition runs over contiguous (pixel, channel) runs, and
    the gradient of the windows matrix, kh·kw times the input's size, is never made whole (the
    backward of the wide CNN's second convolution, this and the weight's gradient: 15.8–17.6 →
    13.7–14.1 ms; the step's peak memory 57.0 → 45.5 MiB with the pooling below).
    """
    stride, padding, dilation, groups = (geometry[key] for key in ("stride", "padding", "dilation", "groups"))
    count, channels, height, width = x_shape
    out_h, out_w = out_size
    kh, kw = weight.shape[2:]
    blocks = weight_blocks(weight, groups).reshape(groups, -1, kh, kw, channels // groups)
    grad = np.zeros((count, height + 2 * padding[0], width + 2 * padding[1], channels), dtype=grad_rows.dtype)
    stacked = None if groups == 1 else grouped(grad_rows, groups)
    for i in range(kh):
        top = i * dilation[0]
        rows = slice(top, top + stride[0] * (out_h - 1) + 1, stride[0])
        for j in range(kw):
            left = j * dilation[1]
            if groups == 1:
                shifted = grad_rows @ blocks[0, :, i, j]
            else:
                shifted = ungrouped(np.matmul(stacked, blocks[:, :, i, j]))
            columns = slice(left, left + stride[1] * (out_w - 1) + 1, stride[1])
            grad[:, rows, columns] += shifted.reshape(count, out_h, out_w, channels)
    grad = grad[:, padding[0] : padding[0] + height, padding[1] : padding[1] + width]
    return channels_first_view(grad)
