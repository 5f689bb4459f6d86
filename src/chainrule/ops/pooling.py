"""Pooling over windows of (N, C, H, W) inputs: ``max_pool2d`` and ``avg_pool2d``, as in PyTorch.

Both cut the same windows a convolution does (``convolution.windows``) and send each window's
gradient back onto the pixels it covers (``convolution.scatter_windows``). Max pooling with
windows that tile the input (stride = kernel, no padding or dilation: the common ``max_pool2d(x, 2)``)
takes a shorter path, a maximum of strided views and a mask of each block's first maximum
(``_max_blocks``).

With ``ceil_mode`` the output size is rounded up (``sizes.pool_output_size``) and the last windows
may reach past the bottom and right padding (``routing["overhang"]``): max pooling pads there with
−inf, average pooling with zeros that its divisor leaves out, as PyTorch's does.
"""

from __future__ import annotations

import math

from typing import Any

import numpy as np

from ..engine.function import Function, named
from ..engine.tensor import Tensor
from ..errors import DTypeError, ShapeError, check_flag, format_shape
from .shape import reshape
from .sizes import Pair, is_unbatched, overhang, pair, pool_output_size
from .windows import cropped, pad_value_for, padded, padded_shape, scatter_windows, windows


def _checked_size(
    op: str, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, ceil_mode: bool
) -> Pair:
    """A pooling's output height and width, after one-line errors naming the input's ``shape`` (a batch or one image)."""
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ShapeError(
            f"{op}: padding {tuple(padding)} must be at most half the kernel {tuple(kernel)} "
            f"(input shape {format_shape(shape)})"
        )
    return pool_output_size(op, shape, kernel, stride, padding, dilation, ceil_mode)


def _check_batched(op: str, x: np.ndarray) -> None:
    """The op itself takes a batch: ``max_pool2d`` (``avg_pool2d``) gives it one image with a batch axis of 1."""
    if x.ndim != 4:
        raise ShapeError(f"{op}: expects a 4-D input (N, C, H, W), got shape {format_shape(x.shape)}")


def _window_values(x: np.ndarray, routing: dict, fill: float) -> np.ndarray:
    """Every window of x padded with ``fill``, as (kh·kw, N, C, out_h, out_w): each kernel offset a whole image."""
    kernel, stride, dilation = routing["kernel_size"], routing["stride"], routing["dilation"]
    cut = windows(padded(x, routing["padding"], fill, routing["overhang"]), kernel, stride, dilation)
    return cut.transpose(4, 5, 0, 1, 2, 3).reshape(kernel[0] * kernel[1], *cut.shape[:4])  # -1 fails on N = 0


def _torch_winners(flat: np.ndarray, routing: dict) -> np.ndarray:
    """The index (1, N, C, out_h, out_w) of each window's chosen pixel among its kh·kw values ``flat``, by PyTorch's
    rule: scanning the window's input pixels in reading order, take one that is greater than the choice so far or NaN.

    So the first maximum; the last NaN where there is one (argmax takes the first); the first input pixel where
    all are −inf (argmax could take the padding's −inf before it). Both corrections look at the output only.
    """
    winner = flat.argmax(axis=0)[np.newaxis]  # the first maximum, a NaN counting as the largest
    largest = np.take_along_axis(flat, winner, axis=0)[0]
    if flat.dtype.kind == "f":
        nan = np.isnan(largest)
        if nan.any():
            last_nan = flat.shape[0] - 1 - np.isnan(flat[::-1]).argmax(axis=0)
            winner = np.where(nan, last_nan, winner)
    if routing["padding"] != (0, 0) or routing["overhang"] != (0, 0):
        at_floor = largest == pad_value_for(flat.dtype)  # every input pixel −inf (or the dtype's least integer)
        if at_floor.any():
            winner = np.where(at_floor, _first_input_pixel(routing, flat.shape[-2:]), winner)
    return winner


def _first_input_pixel(routing: dict, out_size: tuple[int, ...]) -> np.ndarray:
    """The index (out_h, out_w) among kh·kw of each window's first pixel off the padding (0 for a window wholly on it).

    Rows and columns are on the padding independently, so the first input pixel in reading order is
    at the window's first input row and first input column.
    """
    firsts = []
    for axis in (0, 1):
        offsets = np.arange(routing["kernel_size"][axis])[:, np.newaxis] * routing["dilation"][axis]
        starts = np.arange(out_size[axis]) * routing["stride"][axis]
        position = starts + offsets - routing["padding"][axis]  # (k, out): the input row (column) each offset reads
        firsts.append(((position >= 0) & (position < routing["x_shape"][2 + axis])).argmax(axis=0))
    return firsts[0][:, np.newaxis] * routing["kernel_size"][1] + firsts[1]


def _gather(x: np.ndarray, routing: dict) -> np.ndarray:
    """The value of x at each window's chosen pixel (``routing["winner"]``): max pooling's forward at fixed winners."""
    return np.take_along_axis(_window_values(x, routing, 0.0), _winner(routing), axis=0)[0]


def _scatter(grad_out: np.ndarray, routing: dict) -> np.ndarray:
    """Each output's gradient put back on its window's chosen pixel (the adjoint of ``_gather``)."""
    if "chosen" in routing:
        return _scatter_blocks(grad_out, routing)
    kernel, padding, beyond = routing["kernel_size"], routing["padding"], routing["overhang"]
    grad_windows = np.zeros((kernel[0] * kernel[1], *grad_out.shape), dtype=grad_out.dtype)
    np.put_along_axis(grad_windows, routing["winner"], grad_out[np.newaxis], axis=0)
    grad_windows = grad_windows.reshape(*kernel, *grad_out.shape)
    shape = padded_shape(routing["x_shape"], grad_out.shape[:2], padding, beyond)
    return cropped(scatter_windows(grad_windows, shape, routing["stride"], routing["dilation"]), padding, beyond)


def _tiles(options: dict) -> bool:
    """Whether the windows tile the input: stride = kernel, no padding or dilation (a remainder is cut off)."""
    kernel = options["kernel_size"]
    return (
        options["stride"] == kernel
        and options["padding"] == (0, 0)
        and options["overhang"] == (0, 0)
        and (options["dilation"] == (1, 1) or kernel == (1, 1))
    )


def _blocks(x: np.ndarray, kernel: Pair) -> np.ndarray:
    """x (N, C, H, W) cut into whole kh×kw blocks, as the view (N, C, H/kh, kh, W/kw, kw) (a remainder cut off)."""
    count, channels, height, width = x.shape
    rows, columns = height // kernel[0], width // kernel[1]
    whole = x[:, :, : rows * kernel[0], : columns * kernel[1]]
    return whole.reshape(count, channels, rows, kernel[0], columns, kernel[1])


def _max_blocks(x: np.ndarray, kernel: Pair) -> tuple[np.ndarray, np.ndarray | None]:
    """Max pooling of windows that tile x: the maxima, and a mask (N, C, H/kh, kh, W/kw, kw) of each block's first
    maximum in reading order (as PyTorch picks it among ties, −0.0 and +0.0 included); no mask when a block holds a NaN.

    np.maximum of the kh·kw strided views of a reshaped x, then the mask by comparison, in the
    input's memory order (channels-last from a convolution): no windows copied, no argmax, no
    gather or scatter. Both max-pools of the wide benchmark CNN, forward and backward, one BLAS
    thread, best of 20: 28.6–32.8 → 3.6–5.7 ms per step (benchmarks/README.md).
    """
    blocks = _blocks(x, kernel)
    offsets = [(row, column) for row in range(kernel[0]) for column in range(kernel[1])]  # reading order
    largest = blocks[:, :, :, 0, :, 0].copy(order="K")  # "K": in x's memory order, as every array here
    for row, column in offsets[1:]:  # np.maximum of strided views: 2×2 on 64×32×28×28, 0.9 ms; .max(axis=(3, 5)) 3.1
        np.maximum(largest, blocks[:, :, :, row, :, column], out=largest)
    chosen = blocks == largest[:, :, :, np.newaxis, :, np.newaxis]  # every maximum of each block
    taken = chosen[:, :, :, 0, :, 0].copy(order="K")
    for row, column in offsets[1:]:  # later ties lose to the first maximum
        here = chosen[:, :, :, row, :, column]
        here &= ~taken
        taken |= here
    if not taken.all():
        return largest, None  # a NaN equals nothing: the general path routes it
    # −0.0 ties +0.0 and np.maximum may return either, but the value must be the first maximum's, where the gradient
    # goes: each maximum is given its first maximum's sign, which changes only such ties. Only when some maximum is
    # zero and x has a sign bit set. After a relu (zero maxima, no sign bits) the checks cost 0.15–0.3 ms on the wide
    # CNN's first pool (64×32×28×28 float32, ~2 ms); on an input with negatives and zero maxima the fix ~1.5 ms more.
    if largest.dtype.kind == "f" and (largest == 0).any() and _has_sign_bit(x):
        negative_blocks = _blocks(np.signbit(x), kernel)
        negative_blocks &= chosen  # the first maximum, where its sign bit is set
        first_negative = negative_blocks[:, :, :, 0, :, 0].copy(order="K")
        for row, column in offsets[1:]:
            first_negative |= negative_blocks[:, :, :, row, :, column]
        np.copysign(largest, 1 - 2 * first_negative.view(np.int8), out=largest)
    return largest, chosen


def _has_sign_bit(x: np.ndarray) -> bool:
    """Whether any element of the float array x has its sign bit set (a negative, −0.0 or a NaN so marked).

    The largest of x's bits read as unsigned integers: a reduction, without the boolean array of
    ``np.signbit(x).any()`` (on 64×32×28×28 float32, 0.1 against 0.3 ms in a pooling's forward).
    """
    unsigned = {2: np.uint16, 4: np.uint32, 8: np.uint64}.get(x.dtype.itemsize)
    if unsigned is None or x.size == 0:  # long double
        return bool(np.signbit(x).any())
    return int(x.view(unsigned).max()) >> (8 * x.dtype.itemsize - 1) == 1


def _scatter_blocks(grad_out: np.ndarray, routing: dict) -> np.ndarray:
    """``_scatter`` for windows that tile the input: the gradient times the first-maximum mask, in its memory order."""
    chosen, x_shape = routing["chosen"], routing["x_shape"]
    first = chosen[:, :, :, 0, :, 0]
    if _memory_order(grad_out) != _memory_order(first):
        # a product of two operands in different memory orders (an (N, C, h, w) gradient from a flatten, a mask
        # channels-last from a convolution) runs 20 times slower: 64×64×14×14, 6.5 → 0.36 ms with this copy
        moved = np.empty_like(first, dtype=grad_out.dtype)
        moved[...] = grad_out
        grad_out = moved
    grad = np.empty_like(chosen, dtype=grad_out.dtype)  # the mask's (the input's) memory order
    spread = grad_out[:, :, :, np.newaxis, :, np.newaxis]
    if _all_finite(grad_out):
        np.multiply(chosen, spread, out=grad)
    else:  # an inf gradient: False · inf would be nan; the pixels that lost get 0, as on the general path
        grad.fill(0)  # and in PyTorch (a rare, slower path)
        np.copyto(grad, np.broadcast_to(spread, chosen.shape), where=chosen)
    count, channels, rows, kh, columns, kw = chosen.shape
    grad = grad.reshape(count, channels, rows * kh, columns * kw)
    if grad.shape == x_shape:
        return grad
    whole = np.zeros_like(grad, shape=x_shape)  # a remainder cut off by the windows gets no gradient
    whole[:, :, : rows * kh, : columns * kw] = grad
    return whole


@np.errstate(over="ignore", invalid="ignore")
def _all_finite(values: np.ndarray) -> bool:
    """Whether every value is finite, in one pass without a temporary array: only then is their sum finite
    (a sum that overflows says no too, and takes the exact path)."""
    return math.isfinite(np.add.reduce(values, axis=None))


def _memory_order(array: np.ndarray) -> list[int]:
    """The axes of ``array`` from the one with the largest stride to the smallest."""
    return sorted(range(array.ndim), key=lambda axis: -abs(array.strides[axis]))


def _winner(routing: dict) -> np.ndarray:
    """The index (1, N, C, out_h, out_w) of each window's chosen pixel among its kh·kw, made from the mask if needed."""
    if "winner" not in routing:
        chosen = routing["chosen"]
        count, channels, rows, kh, columns, kw = chosen.shape
        flat = chosen.transpose(3, 5, 0, 1, 2, 4).reshape(kh * kw, count, channels, rows, columns)
        routing["winner"] = flat.argmax(axis=0)[np.newaxis]
    return routing["winner"]


class MaxPool2d(Function):
    """d/dx max_pool2d(x) · G = G routed to the largest value of each window (the first, if tied), 0 elsewhere

    As PyTorch's CPU kernel: a window holding NaN has the value NaN and routes to its last NaN; a
    window whose input pixels are all −inf routes to the first of them (``_torch_winners``). A
    dilated window can fall wholly on padding: its maximum is −inf and its gradient goes nowhere
    (PyTorch sends it to an input pixel outside the window). Windows that tile the input take
    ``_max_blocks`` and route by its first-maximum mask, the others by argmax over the copied
    windows. The differentiable backward routes with ``PoolScatter``, at the winners this
    forward found (constants, as relu's mask).
    """

    name = "max_pool2d"

    def formula(self, names):
        return f"max_pool2d({names[0]}, {self.options['kernel_size']}, stride={self.options['stride']})"

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode=False):
        _check_batched(self.name, x)
        out_size = _checked_size(self.name, x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        if x.dtype.kind == "b":  # as PyTorch: a maximum of truth values is any(), not a pooling of numbers
            raise DTypeError(f"{self.name}: the input holds bool values; convert it to numbers first (x.astype(float))")
        beyond = overhang(x.shape, out_size, kernel_size, stride, padding, dilation) if ceil_mode else (0, 0)
        self.routing = {**self._options(kernel_size, stride, padding, dilation), "x_shape": x.shape, "overhang": beyond}
        if _tiles(self.routing):
            largest, chosen = _max_blocks(x, kernel_size)
            if chosen is not None:
                self.routing["chosen"] = chosen
                return largest
        flat = _window_values(x, self.routing, pad_value_for(x.dtype))
        self.routing["winner"] = _torch_winners(flat, self.routing)
        return np.take_along_axis(flat, self.routing["winner"], axis=0)[0]

    @staticmethod
    def _options(kernel_size, stride, padding, dilation) -> dict:
        return {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation}

    def backward(self, grad_out):
        return _scatter(grad_out, self.routing)

    def vjp(self, grad_out, x):
        return PoolScatter.apply(grad_out, routing=self.routing)

    def jvp(self, tangents, x):
        return PoolGather.apply(tangents[0], routing=self.routing)


class PoolGather(Function):
    """d/dx gather(x) · G = G put back on the chosen pixels (PoolScatter): max pooling at fixed winners, linear in x"""

    name = "pool_gather"

    def forward(self, x, routing):
        return _gather(x, routing)

    def backward(self, grad_out):
        return _scatter(grad_out, self.options["routing"])

    def vjp(self, grad_out, x):
        return PoolScatter.apply(grad_out, **self.options)

    def jvp(self, tangents, x):
        return PoolGather.apply(tangents[0], **self.options)


class PoolScatter(Function):
    """d/dG scatter(G) · U = U at the chosen pixels (PoolGather): max pooling's backward, linear in G"""

    name = "pool_scatter"

    def forward(self, grad_out, routing):
        return _scatter(grad_out, routing)

    def backward(self, upstream):
        return _gather(upstream, self.options["routing"])

    def vjp(self, upstream, grad_out):
        return PoolGather.apply(upstream, **self.options)

    def jvp(self, tangents, grad_out):
        return PoolScatter.apply(tangents[0], **self.options)


def _averaging(x_shape: tuple[int, ...], out_size: Pair, dtype: np.dtype, options: dict) -> tuple[Pair, np.ndarray]:
    """Average pooling's overhang (``ceil_mode``) and divisor: kh·kw for every window when no window reaches past
    the padding and padding zeros count, else one per window (out_h, out_w), as PyTorch's CPU kernel counts it.

    Along each axis a window starting at s (−padding ≤ s < the input's size) counts its rows up to the end of the
    padding (``count_include_pad``) or of the input, from s or from the input's first row; the divisor is the
    product of both axes' counts.
    """
    kernel, stride, padding, include_pad = (
        options[key] for key in ("kernel_size", "stride", "padding", "count_include_pad")
    )
    beyond = overhang(x_shape, out_size, kernel, stride, padding, (1, 1)) if options["ceil_mode"] else (0, 0)
    if beyond == (0, 0) and (include_pad or padding == (0, 0)):
        return beyond, np.asarray(kernel[0] * kernel[1], dtype=dtype)
    counts = []
    for axis in (0, 1):
        size, starts = x_shape[2 + axis], np.arange(out_size[axis]) * stride[axis] - padding[axis]
        ends = np.minimum(starts + kernel[axis], size + padding[axis] if include_pad else size)
        counts.append(ends - (starts if include_pad else np.maximum(starts, 0)))
    return beyond, (counts[0][:, np.newaxis] * counts[1]).astype(dtype)


def _average(x: np.ndarray, options: dict, beyond: Pair, divisor: np.ndarray) -> np.ndarray:
    """The sum of each window of x (zeros on the padding and overhang) / its divisor: average pooling's forward."""
    kernel, stride, padding = options["kernel_size"], options["stride"], options["padding"]
    return windows(padded(x, padding, 0.0, beyond), kernel, stride, (1, 1)).sum(axis=(-2, -1)) / divisor


def _spread(grad_out: np.ndarray, options: dict, beyond: Pair, divisor: np.ndarray) -> np.ndarray:
    """Average pooling's backward: each output's gradient / its divisor added onto every pixel of its window."""
    kernel, padding = options["kernel_size"], options["padding"]
    grad_windows = np.broadcast_to(grad_out / divisor, (*kernel, *grad_out.shape))  # the same share at every offset
    shape = padded_shape(options["x_shape"], grad_out.shape[:2], padding, beyond)
    return cropped(scatter_windows(grad_windows, shape, options["stride"], (1, 1)), padding, beyond)


class AvgPool2d(Function):
    """d/dx avg_pool2d(x) · G = G / (each window's divisor) spread over the window's pixels

    The divisor is kh·kw, or with ``ceil_mode`` or ``count_include_pad=False`` the window's pixels
    on the input and padding (on the input only), as PyTorch counts them (``_averaging``).
    """

    name = "avg_pool2d"

    def formula(self, names):
        return f"avg_pool2d({names[0]}, {self.options['kernel_size']}, stride={self.options['stride']})"

    def forward(self, x, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True):
        _check_batched(self.name, x)
        self.spreading = AvgPoolSpread.options_dict(kernel_size, stride, padding, x.shape, ceil_mode, count_include_pad)
        out_size = _checked_size(self.name, x.shape, kernel_size, stride, padding, (1, 1), ceil_mode)
        self.overhang, self.divisor = _averaging(x.shape, out_size, x.dtype, self.spreading)
        return _average(x, self.spreading, self.overhang, self.divisor)

    def backward(self, grad_out):
        return _spread(grad_out, self.spreading, self.overhang, self.divisor)

    def vjp(self, grad_out, x):
        return AvgPoolSpread.apply(grad_out, **self.spreading)

    def jvp(self, tangents, x):
        return AvgPool2d.apply(tangents[0], **self.options)


class AvgPoolSpread(Function):
    """d/dG spread(G) · U = avg_pool2d(U): average pooling's backward as an op, linear in G"""

    name = "avg_pool2d_spread"

    def forward(self, grad_out, kernel_size, stride, padding, x_shape, ceil_mode=False, count_include_pad=True):
        self.spreading = self.options_dict(kernel_size, stride, padding, x_shape, ceil_mode, count_include_pad)
        self.overhang, self.divisor = _averaging(x_shape, grad_out.shape[2:], grad_out.dtype, self.spreading)
        return _spread(grad_out, self.spreading, self.overhang, self.divisor)

    @staticmethod
    def options_dict(kernel_size, stride, padding, x_shape, ceil_mode=False, count_include_pad=True) -> dict:
        return {
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "x_shape": x_shape,
            "ceil_mode": ceil_mode,
            "count_include_pad": count_include_pad,
        }

    def _pool_options(self) -> dict:
        return {key: value for key, value in self.spreading.items() if key != "x_shape"}

    def backward(self, upstream):
        return _average(upstream, self.spreading, self.overhang, self.divisor.astype(upstream.dtype, copy=False))

    def vjp(self, upstream, grad_out):
        return AvgPool2d.apply(upstream, **self._pool_options())

    def jvp(self, tangents, grad_out):
        return AvgPoolSpread.apply(tangents[0], **self.options)


def _pool(function: type[Function], x: Any, options: dict, name: str | None) -> Tensor:
    """Apply a pooling to a batch (N, C, H, W), or to one image (C, H, W): checked first, so that the errors name
    its shape, then given a batch axis of 1 that the result loses again, as PyTorch takes it."""
    shape = x.data.shape if isinstance(x, Tensor) else np.shape(x)
    if len(shape) == 4 or not is_unbatched(function.name, shape, 2):
        return named(function.apply(x, **options), name)
    kernel, stride, padding = options["kernel_size"], options["stride"], options["padding"]
    _checked_size(function.name, shape, kernel, stride, padding, options.get("dilation", (1, 1)), options["ceil_mode"])
    out = function.apply(reshape(x, (1, *shape)), **options)
    return named(out.reshape(out.shape[1:]), name)


def max_pool2d(
    x: Any,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    ceil_mode: bool = False,
    *,
    name: str | None = None,
) -> Tensor:
    """The largest value of each kh×kw window of x (N, C, H, W) or (C, H, W); ``stride`` defaults to the kernel size.

    With ``ceil_mode`` the output size is rounded up: a last window that starts on the input or the
    left (top) padding is kept though it reaches past the end, as in PyTorch.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.max_pool2d(cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    >>> cr.max_pool2d(cr.tensor(np.arange(9.0).reshape(1, 3, 3)), 2, ceil_mode=True)
    tensor([[[4., 5.],
             [7., 8.]]])
    """
    kernel = pair("max_pool2d", "kernel_size", kernel_size)
    options = {
        "kernel_size": kernel,
        "stride": kernel if stride is None else pair("max_pool2d", "stride", stride),
        "padding": pair("max_pool2d", "padding", padding, minimum=0),
        "dilation": pair("max_pool2d", "dilation", dilation),
        "ceil_mode": check_flag("max_pool2d", "ceil_mode", ceil_mode),
    }
    return _pool(MaxPool2d, x, options, name)


def avg_pool2d(
    x: Any,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    *,
    name: str | None = None,
) -> Tensor:
    """The mean of each kh×kw window of x (N, C, H, W) or (C, H, W); ``stride`` defaults to the kernel.

    Padding zeros count unless ``count_include_pad=False``; with ``ceil_mode`` the output size is
    rounded up as in ``max_pool2d``, and the part of a last window past the padding does not count.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.avg_pool2d(cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]])
    >>> cr.avg_pool2d(cr.tensor(np.arange(9.0).reshape(1, 3, 3)), 2, ceil_mode=True)
    tensor([[[2. , 3.5],
             [6.5, 8. ]]])
    """
    kernel = pair("avg_pool2d", "kernel_size", kernel_size)
    options = {
        "kernel_size": kernel,
        "stride": kernel if stride is None else pair("avg_pool2d", "stride", stride),
        "padding": pair("avg_pool2d", "padding", padding, minimum=0),
        "ceil_mode": check_flag("avg_pool2d", "ceil_mode", ceil_mode),
        "count_include_pad": check_flag("avg_pool2d", "count_include_pad", count_include_pad),
    }
    return _pool(AvgPool2d, x, options, name)
