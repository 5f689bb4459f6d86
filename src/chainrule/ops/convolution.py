"""Convolutions (``conv1d``, ``conv2d``) and zero padding (``pad``), in PyTorch's layout.

A convolution is one matrix product: the input's windows, laid out as the rows of a matrix
(im2col: one row per output pixel, one column per (channel, kernel row, kernel column)), times
the weight as a matrix. Its backward is two matrix products too: the weight's gradient is
``gradᵀ @ windows`` and the windows' gradient ``grad @ weight`` is added back onto the input
pixels each window was cut from (``scatter_windows``).

Windows come from ``numpy.lib.stride_tricks.sliding_window_view``: a view, copied once into
the matrix.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..engine.function import Function, named
from ..engine.tensor import Tensor
from ..errors import ShapeError, describe_value, format_shape
from .linalg import matmul_2d

Pair = tuple[int, int]


def pair(op: str, name: str, value: Any, minimum: int = 1) -> Pair:
    """An int or a pair of ints as a pair, each at least ``minimum``, or a one-line error naming ``op``."""
    items = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    wanted = "a positive integer" if minimum == 1 else "a non-negative integer"
    if not isinstance(items, (tuple, list)) or len(items) != 2:
        raise TypeError(f"{op}: {name} must be {wanted} or a pair of them, got {describe_value(value)}")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{op}: {name} must be {wanted} or a pair of them, got {describe_value(value)}")
        if item < minimum:
            raise ValueError(f"{op}: {name} must be {wanted} or a pair of them, got {value!r}")
    return int(items[0]), int(items[1])


def single(op: str, name: str, value: Any, minimum: int = 1) -> Pair:
    """An int (or a 1-tuple) for a 1-D op, as the pair (1 or 0, value) that the 2-D code takes."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        wanted = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise TypeError(f"{op}: {name} must be {wanted}, got {describe_value(value)}")
    return pair(op, name, (minimum, value), minimum)


def output_size(op: str, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Pair:
    """The output's height and width, or a ShapeError when the (dilated) kernel is larger than the padded input."""
    padded = (shape[2] + 2 * padding[0], shape[3] + 2 * padding[1])
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    if padded[0] < span[0] or padded[1] < span[1]:
        dilated = f" (dilated to {span})" if span != tuple(kernel) else ""
        raise ShapeError(
            f"{op}: kernel {tuple(kernel)}{dilated} is larger than the padded input {padded} "
            f"(input shape {format_shape(shape)}, padding {tuple(padding)})"
        )
    return (padded[0] - span[0]) // stride[0] + 1, (padded[1] - span[1]) // stride[1] + 1


def padded(x: np.ndarray, padding: Pair, value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) with ``padding`` rows and columns of ``value`` on each side (x itself for no padding)."""
    if padding == (0, 0):
        return x
    out = np.full((*x.shape[:2], x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]), value, dtype=x.dtype)
    out[:, :, padding[0] : padding[0] + x.shape[2], padding[1] : padding[1] + x.shape[3]] = x
    return out


def pad_value_for(dtype: np.dtype) -> float | int:
    """The value max pooling pads with: one no window's maximum can be (−inf, or an integer dtype's least value)."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def cropped(grad: np.ndarray, padding: Pair) -> np.ndarray:
    """The part of a padded array's gradient that belongs to the unpadded input (padding's backward)."""
    if padding == (0, 0):
        return grad
    return grad[:, :, padding[0] : grad.shape[2] - padding[0], padding[1] : grad.shape[3] - padding[1]]


def windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """A view (N, C, out_h, out_w, kh, kw) of every window of the padded input ``xp`` (N, C, H, W)."""
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    view = sliding_window_view(xp, span, axis=(2, 3))
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


def _check_conv(op: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, groups: int, dims: int) -> None:
    """One-line errors for a convolution's shapes, naming both."""
    layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if x.ndim != dims + 2:
        single_one = "; for one sample add the batch axis: x[None]" if x.ndim == dims + 1 else ""
        raise ShapeError(f"{op}: expects a {dims + 2}-D input {layout}, got shape {format_shape(x.shape)}{single_one}")
    if weight.ndim != dims + 2:
        kernel = "(out, C/groups, k)" if dims == 1 else "(out, C/groups, kh, kw)"
        raise ShapeError(f"{op}: expects a {dims + 2}-D weight {kernel}, got shape {format_shape(weight.shape)}")
    channels, out_channels = x.shape[1], weight.shape[0]
    if channels % groups or out_channels % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide both the input's {channels} channels and the weight's "
            f"{out_channels} output channels (input {format_shape(x.shape)}, weight {format_shape(weight.shape)})"
        )
    if weight.shape[1] * groups != channels:
        raise ShapeError(
            f"{op}: input of shape {format_shape(x.shape)} has {channels} channels but the weight of shape "
            f"{format_shape(weight.shape)} expects {weight.shape[1] * groups} ({weight.shape[1]} per group × {groups})"
        )
    if bias is not None and bias.shape != (out_channels,):
        raise ShapeError(
            f"{op}: bias must have shape ({out_channels},), one per output channel of the weight "
            f"{format_shape(weight.shape)}, got {format_shape(bias.shape)}"
        )


def conv_columns(x: np.ndarray, kernel: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """The windows matrix of x (N, C, H, W): rows (channel, kernel row, kernel column), columns (sample, output pixel)."""
    batch, channels = x.shape[:2]
    cut = windows(padded(x, padding), kernel, stride, dilation)  # (N, C, out_h, out_w, kh, kw)
    return cut.transpose(1, 4, 5, 0, 2, 3).reshape(channels * kernel[0] * kernel[1], -1)


def conv_output(columns: np.ndarray, weight: np.ndarray, batch: int, out_size: Pair, groups: int) -> np.ndarray:
    """W (out, C/g·kh·kw) @ windows per group, as the (N, out, out_h, out_w) output, without the bias."""
    matrix = weight.reshape(weight.shape[0], -1)
    out = _product(_blocks(matrix, groups), _blocks(columns, groups)).reshape(-1, columns.shape[1])
    return out.reshape(-1, batch, *out_size)


def _rows(grad_out: np.ndarray) -> np.ndarray:
    """The output's gradient (N, out, out_h, out_w) as a matrix (out, N·out_h·out_w), columns as in the windows."""
    return np.ascontiguousarray(grad_out.transpose(1, 0, 2, 3)).reshape(grad_out.shape[1], -1)


def conv_input_grad(grad_out: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], geometry: dict) -> np.ndarray:
    """dL/dx of a convolution: Wᵀ @ the output's gradient, each column a window's gradient added back onto x."""
    stride, padding, dilation, groups = (geometry[key] for key in ("stride", "padding", "dilation", "groups"))
    batch, out_channels, out_h, out_w = grad_out.shape
    kernel = weight.shape[2:]
    matrix = _blocks(weight.reshape(out_channels, -1), groups).transpose(0, 2, 1)
    grad_columns = _product(matrix, _blocks(_rows(grad_out), groups))  # (G, C/g·kh·kw, N·oh·ow)
    grad_windows = grad_columns.reshape(-1, *kernel, batch, out_h, out_w).transpose(1, 2, 0, 3, 4, 5)
    channels_first = (x_shape[1], batch, x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    return cropped(scatter_windows(grad_windows, channels_first, stride, dilation).transpose(1, 0, 2, 3), padding)


def conv_weight_grad(
    columns: np.ndarray, grad_out: np.ndarray, weight_shape: tuple[int, ...], groups: int
) -> np.ndarray:
    """dL/dW of a convolution: the output's gradient @ the windows matrixᵀ, per group."""
    rows = _rows(grad_out)
    # as (windows @ gradᵀ)ᵀ: OpenBLAS runs this product about twice as fast as grad @ windowsᵀ (25 against
    # 47 ms for 64×32×28×28 inputs, 3×3 kernels); the same numbers up to rounding
    transposed = _product(_blocks(columns, groups), _blocks(rows, groups).transpose(0, 2, 1))
    return transposed.transpose(0, 2, 1).reshape(weight_shape)


class Conv2d(Function):
    """d/dx conv2d(x, W) · G = Σ windows of (Wᵀ @ G) added back onto x, d/dW = G @ windows(x)ᵀ, d/db = Σ G

    Forward: out[n, o, i, j] = b[o] + Σ_c,p,q W[o, c, p, q] · x_padded[n, g·C/g + c, i·s + p·d, j·s + q·d]
    for output channel o in group g; computed as W (out, C/g·kh·kw) @ windows (C/g·kh·kw, N·out_h·out_w)
    per group: the windows matrix has one column per output pixel, its rows ordered (channel,
    kernel row, kernel column), so that every copy and addition runs along rows of pixels. The
    differentiable backward (``vjp``) applies the two gradients as ops of their own,
    ``ConvInputGrad`` and ``ConvWeightGrad``, whose own gradients are convolutions again.
    """

    def formula(self, names):
        return f"{self.name}({', '.join(names)}, stride={self.options['stride']}, padding={self.options['padding']})"

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        _check_conv(self.name, x, weight, bias, groups, 2)
        out_size = output_size(self.name, x.shape, weight.shape[2:], stride, padding, dilation)
        self.x_shape, self.weight = x.shape, weight
        self.columns = conv_columns(x, weight.shape[2:], stride, padding, dilation)
        out = conv_output(self.columns, weight, x.shape[0], out_size, groups)
        if bias is not None:
            out += bias.reshape(-1, 1, 1, 1)
        return np.ascontiguousarray(out.transpose(1, 0, 2, 3))

    def backward(self, grad_out):
        needs, options = self.needs_input_grad, self.options
        grad_x = conv_input_grad(grad_out, self.weight, self.x_shape, options) if needs[0] else None
        grad_weight = None
        if needs[1]:
            grad_weight = conv_weight_grad(self.columns, grad_out, self.weight.shape, options["groups"])
        if len(needs) == 3:
            return grad_x, grad_weight, grad_out.sum(axis=(0, 2, 3)) if needs[2] else None
        return grad_x, grad_weight

    def vjp(self, grad_out, x, weight, bias=None):
        needs, options = self.needs_input_grad, self.options
        grad_x = ConvInputGrad.apply(grad_out, weight, x_shape=x.shape, **options) if needs[0] else None
        grad_weight = ConvWeightGrad.apply(x, grad_out, weight_shape=weight.shape, **options) if needs[1] else None
        if bias is None:
            return grad_x, grad_weight
        return grad_x, grad_weight, grad_out.sum(axis=(0, 2, 3)) if needs[2] else None

    def jvp(self, tangents, x, weight, bias=None):
        cls = type(self)
        moved_x = (
            cls.apply(tangents[0], weight, **self.options)
            if bias is None
            else cls.apply(tangents[0], weight, tangents[2], **self.options)
        )
        return moved_x + cls.apply(x, tangents[1], **self.options)


class ConvInputGrad(Function):
    """d/dG T(G, W) · U = conv2d(U, W), d/dW T(G, W) · U = ConvWeightGrad(U, G), where T(G, W) = conv2d's dL/dx

    The input gradient of a convolution as an op of its own (a transposed convolution), so that a
    gradient can be differentiated again: ⟨U, T(G, W)⟩ = ⟨conv2d(U, W), G⟩ gives both rules.
    """

    name = "conv2d_input_grad"

    def forward(self, grad_out, weight, *, x_shape, stride, padding, dilation, groups):
        self.grad_out, self.weight = grad_out, weight
        return conv_input_grad(grad_out, weight, x_shape, self.options_of(stride, padding, dilation, groups))

    @staticmethod
    def options_of(stride, padding, dilation, groups) -> dict:
        return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}

    def _geometry(self) -> dict:
        return {key: self.options[key] for key in ("stride", "padding", "dilation", "groups")}

    def backward(self, upstream):
        needs, geometry = self.needs_input_grad, self._geometry()
        kernel, groups = self.weight.shape[2:], geometry["groups"]
        columns = conv_columns(upstream, kernel, geometry["stride"], geometry["padding"], geometry["dilation"])
        grad_g = None
        if needs[0]:
            grad_g = conv_output(columns, self.weight, upstream.shape[0], self.grad_out.shape[2:], groups)
            grad_g = np.ascontiguousarray(grad_g.transpose(1, 0, 2, 3))
        grad_w = conv_weight_grad(columns, self.grad_out, self.weight.shape, groups) if needs[1] else None
        return grad_g, grad_w

    def vjp(self, upstream, grad_out, weight):
        needs, geometry = self.needs_input_grad, self._geometry()
        grad_g = Conv2d.apply(upstream, weight, **geometry) if needs[0] else None
        grad_w = ConvWeightGrad.apply(upstream, grad_out, weight_shape=weight.shape, **geometry) if needs[1] else None
        return grad_g, grad_w

    def jvp(self, tangents, grad_out, weight):
        cls, options = type(self), self.options
        return cls.apply(tangents[0], weight, **options) + cls.apply(grad_out, tangents[1], **options)


class ConvWeightGrad(Function):
    """d/dx V(x, G) · U = ConvInputGrad(G, U), d/dG V(x, G) · U = conv2d(x, U), where V(x, G) = conv2d's dL/dW

    The weight gradient of a convolution as an op of its own: ⟨U, V(x, G)⟩ = ⟨conv2d(x, U), G⟩.
    """

    name = "conv2d_weight_grad"

    def forward(self, x, grad_out, *, weight_shape, stride, padding, dilation, groups):
        self.x, self.grad_out = x, grad_out
        self.columns = conv_columns(x, weight_shape[2:], stride, padding, dilation)
        return conv_weight_grad(self.columns, grad_out, weight_shape, groups)

    def backward(self, upstream):
        needs, options = self.needs_input_grad, self.options
        geometry = {key: options[key] for key in ("stride", "padding", "dilation", "groups")}
        grad_x = conv_input_grad(self.grad_out, upstream, self.x.shape, geometry) if needs[0] else None
        grad_g = None
        if needs[1]:
            grad_g = conv_output(self.columns, upstream, self.x.shape[0], self.grad_out.shape[2:], options["groups"])
            grad_g = np.ascontiguousarray(grad_g.transpose(1, 0, 2, 3))
        return grad_x, grad_g

    def vjp(self, upstream, x, grad_out):
        needs, options = self.needs_input_grad, self.options
        geometry = {key: options[key] for key in ("stride", "padding", "dilation", "groups")}
        grad_x = ConvInputGrad.apply(grad_out, upstream, x_shape=x.shape, **geometry) if needs[0] else None
        grad_g = Conv2d.apply(x, upstream, **geometry) if needs[1] else None
        return grad_x, grad_g

    def jvp(self, tangents, x, grad_out):
        cls, options = type(self), self.options
        return cls.apply(tangents[0], grad_out, **options) + cls.apply(x, tangents[1], **options)


def _blocks(matrix: np.ndarray, groups: int) -> np.ndarray:
    """A matrix's rows split into ``groups`` equal blocks: (groups, rows/groups, columns)."""
    return matrix.reshape(groups, matrix.shape[0] // groups, -1)


def _product(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Block-by-block matrix product of two (groups, m, k) and (groups, k, n) stacks; one BLAS call for one group."""
    if left.shape[0] == 1:
        return matmul_2d(left[0], right[0])[np.newaxis]
    return np.matmul(left, right)


class Conv1d(Conv2d):
    """d/dx conv1d(x, W) · G = Σ windows of (G @ W) added back onto x, d/dW = Gᵀ @ windows(x), d/db = Σ G

    A 1-D convolution is a 2-D one on inputs of height 1: (N, C, L) is seen as (N, C, 1, L).
    """

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        _check_conv(self.name, x, weight, bias, groups, 1)
        span = dilation[1] * (weight.shape[2] - 1) + 1
        if x.shape[2] + 2 * padding[1] < span:
            dilated = f" (dilated to {span})" if span != weight.shape[2] else ""
            raise ShapeError(
                f"{self.name}: kernel {weight.shape[2]}{dilated} is larger than the padded input's length "
                f"{x.shape[2] + 2 * padding[1]} (input shape {format_shape(x.shape)}, padding {padding[1]})"
            )
        out = super().forward(
            x[:, :, np.newaxis],
            weight[:, :, np.newaxis],
            bias,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
        )
        return out[:, :, 0]

    def backward(self, grad_out):
        grads = super().backward(grad_out[:, :, np.newaxis])
        grad_x = None if grads[0] is None else grads[0][:, :, 0]
        grad_weight = None if grads[1] is None else grads[1][:, :, 0]
        return (grad_x, grad_weight, *grads[2:])

    def vjp(self, grad_out, x, weight, bias=None):
        grads = Conv2d.vjp(self, _with_height(grad_out), _with_height(x), _with_height(weight), bias)
        return tuple(g if g is None or g.ndim == 1 else g.reshape(g.shape[:2] + g.shape[3:]) for g in grads)


def _with_height(t: Tensor) -> Tensor:
    """A 1-D convolution's (N, C, L) tensor as the (N, C, 1, L) one the 2-D ops take."""
    return t.reshape(t.shape[:2] + (1,) + t.shape[2:])


def _conv(op: type[Conv2d], sizes: Any, tensors: tuple[Any, ...], geometry: tuple[Any, ...], name) -> Tensor:
    """Check a convolution's options (``sizes`` makes each a pair: ``pair`` for 2-D, ``single`` for 1-D) and apply it."""
    x, weight, bias = tensors
    stride, padding, dilation, groups = geometry
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"{op.name}: groups must be a positive integer, got {describe_value(groups)}")
    if groups < 1:
        raise ValueError(f"{op.name}: groups must be a positive integer, got {groups}")
    options = {
        "stride": sizes(op.name, "stride", stride),
        "padding": sizes(op.name, "padding", padding, minimum=0),
        "dilation": sizes(op.name, "dilation", dilation),
        "groups": int(groups),
    }
    if bias is None:
        return named(op.apply(x, weight, **options), name)
    return named(op.apply(x, weight, bias, **options), name)


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
    name: str | None = None,
) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of x (N, C, H, W) with weight (out, C/groups, kh, kw).

    ``stride``, ``padding`` (zeros) and ``dilation`` are an int or a (height, width) pair; with
    ``groups`` > 1 the channels are split into that many groups, each with its own filters.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> x = cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> cr.conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    """
    return _conv(Conv2d, pair, (x, weight, bias), (stride, padding, dilation, groups), name)


def conv1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    name: str | None = None,
) -> Tensor:
    """1-D convolution of x (N, C, L) with weight (out, C/groups, k), as ``torch.nn.functional.conv1d``.

    >>> import chainrule as cr
    >>> cr.conv1d(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), [[[1.0, -1.0]]])
    tensor([[[-1., -1., -1.]]])
    """
    return _conv(Conv1d, single, (x, weight, bias), (stride, padding, dilation, groups), name)


class Pad(Function):
    """d/dx pad(x) = the gradient with the padding cut off (and zeros where a negative pad cut x)"""

    def formula(self, names):
        return f"pad({names[0]}, {self.options['pad']})"

    def forward(self, x, pad, value):
        self.x_shape = x.shape
        if len(pad) > 2 * x.ndim:
            raise ShapeError(
                f"pad: {len(pad)} pad sizes need {len(pad) // 2} axes, a tensor of shape {format_shape(x.shape)} has "
                f"{x.ndim}"
            )
        shape, self.source, self.target = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for position in range(len(pad) // 2):  # pairs from the last axis backwards, as in PyTorch
            axis = x.ndim - 1 - position
            before, after = pad[2 * position], pad[2 * position + 1]
            size = x.shape[axis] + before + after
            if size < 0:
                raise ShapeError(
                    f"pad: pads ({before}, {after}) leave axis {axis} of a tensor of shape {format_shape(x.shape)} "
                    f"with a negative length {size}"
                )
            shape[axis] = size
            self.source[axis] = slice(max(-before, 0), x.shape[axis] - max(-after, 0))
            self.target[axis] = slice(max(before, 0), size - max(after, 0))
        out = np.full(shape, value, dtype=x.dtype)
        self.source, self.target = tuple(self.source), tuple(self.target)
        out[self.target] = x[self.source]
        return out

    def backward(self, grad_out):
        grad = np.zeros(self.x_shape, dtype=grad_out.dtype)
        grad[self.source] = grad_out[self.target]
        return grad

    def vjp(self, grad_out, x):  # the opposite pads: what was added is cut, what was cut comes back as zeros
        return Pad.apply(grad_out, pad=tuple(-size for size in self.options["pad"]), value=0.0)

    def jvp(self, tangents, x):
        return Pad.apply(tangents[0], pad=self.options["pad"], value=0.0)


def pad(x: Any, pad: Sequence[int], value: float = 0.0, name: str | None = None) -> Tensor:
    """Pad with ``value`` as ``torch.nn.functional.pad``: ``pad`` = (left, right, top, bottom, …), last axis first.

    Negative sizes cut instead.

    >>> import chainrule as cr
    >>> cr.pad(cr.tensor([[1.0, 2.0]]), (1, 2))
    tensor([[0., 1., 2., 0., 0.]])
    """
    if (
        not isinstance(pad, (tuple, list))
        or len(pad) % 2
        or not all(isinstance(size, numbers.Integral) and not isinstance(size, bool) for size in pad)
    ):
        raise TypeError(f"pad: pad must be a tuple of an even number of integers, got {describe_value(pad)}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"pad: value must be a number, got {describe_value(value)}")
    return named(Pad.apply(x, pad=tuple(int(size) for size in pad), value=float(value)), name)
