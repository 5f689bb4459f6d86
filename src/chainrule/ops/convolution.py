"""Convolutions (``conv1d``, ``conv2d``) and zero padding (``pad``), in PyTorch's layout.

A convolution is one matrix product: the input's windows, laid out as the rows of a matrix
(im2col: one row per output pixel, one column per (kernel row, kernel column, channel)), times
the weight as a matrix. Its backward is matrix products too: the weight's gradient is
``gradᵀ @ windows``, and the input's gradient one product of the gradient by each kernel
offset's block of the weight, added back onto the pixels those windows were cut from.

The arrays are PyTorch's (N, C, H, W), but the kernels (``im2col``) keep pixels channels-last
in memory, as a hand-written NumPy convolution does: a convolution's output is a transposed
view of its product, and the next layers keep that memory order (see ``im2col``).
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from ..engine.function import Function, _as_tensors, named
from ..engine.tensor import Tensor
from ..errors import DTypeError, ShapeError, describe_value, format_shape
from .im2col import (
    channels_first_view,
    gradient_rows,
    input_gradient,
    rows_times_weight,
    weight_gradient,
    window_rows,
)
from .sizes import Pair, check_padding_string, is_unbatched, output_size, pair, same_padding, single


def geometry_of(stride: Pair, padding: Pair, dilation: Pair, groups: int) -> dict:
    """A convolution's geometry, kept by each forward for its backward (``check_graph`` runs a backward on a node
    that only ran forward, without the options ``apply`` records)."""
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def promoted(*arrays: np.ndarray | None) -> list[np.ndarray | None]:
    """The arrays (None kept) in NumPy's promoted dtype of them all, as ``x @ w + b`` would compute: a mixed
    convolution computes in it, and its backward casts each gradient back to its input's dtype."""
    dtype = np.result_type(*[array.dtype for array in arrays if array is not None])
    return [None if array is None else array.astype(dtype, copy=False) for array in arrays]


def _check_conv(op: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, groups: int, dims: int) -> None:
    """One-line errors for a convolution's shapes, naming both, and for integer arrays (they would overflow silently).

    ``x`` is a batch or one sample (its channels are axis −dims − 1): the shapes named are those the user gave.
    """
    for role, array in (("input", x), ("weight", weight), ("bias", bias)):
        if array is not None and array.dtype.kind != "f":
            raise DTypeError(
                f"{op}: the {role} holds {array.dtype} numbers; a convolution computes in floating point "
                "(integers would overflow silently): convert it first, e.g. x.astype(np.float32)"
            )
    is_unbatched(op, x.shape, dims)
    if weight.ndim != dims + 2:
        kernel = "(out, C/groups, k)" if dims == 1 else "(out, C/groups, kh, kw)"
        raise ShapeError(f"{op}: expects a {dims + 2}-D weight {kernel}, got shape {format_shape(weight.shape)}")
    channels, out_channels = x.shape[-dims - 1], weight.shape[0]
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


def _checked_size(
    op: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, options: dict, dims: int
) -> Pair:
    """The output's height and width (1 for a 1-D convolution) after ``_check_conv``, or a ShapeError when the
    (dilated) kernel is larger than the padded input."""
    _check_conv(op, x, weight, bias, options["groups"], dims)
    stride, padding, dilation = options["stride"], options["padding"], options["dilation"]
    if dims == 1:
        span = dilation[1] * (weight.shape[2] - 1) + 1
        if x.shape[-1] + 2 * padding[1] < span:
            dilated = f" (dilated to {span})" if span != weight.shape[2] else ""
            raise ShapeError(
                f"{op}: kernel {weight.shape[2]}{dilated} is larger than the padded input's length "
                f"{x.shape[-1] + 2 * padding[1]} (input shape {format_shape(x.shape)}, padding {padding[1]})"
            )
        return output_size(op, (1, x.shape[-1]), (1, weight.shape[2]), stride, padding, dilation)
    return output_size(op, x.shape, weight.shape[2:], stride, padding, dilation)


def _check_batched(op: str, x: np.ndarray, dims: int) -> None:
    """The op itself takes a batch: ``conv2d`` (``conv1d``) gives it one sample with a batch axis of 1."""
    if x.ndim != dims + 2:
        layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
        raise ShapeError(f"{op}: expects a {dims + 2}-D input {layout}, got shape {format_shape(x.shape)}")


def conv_columns(
    x: np.ndarray, kernel: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair, groups: int
) -> np.ndarray:
    """The windows matrix of x (N, C, H, W): rows (sample, output pixel), columns (group, kernel row, kernel column,
    channel), copied from x's pixels channels-last (``im2col.window_rows``)."""
    return window_rows(x, kernel, stride, padding, dilation, groups)


def conv_output(
    columns: np.ndarray, weight: np.ndarray, batch: int, out_size: Pair, groups: int, bias: np.ndarray | None = None
) -> np.ndarray:
    """windows @ Wᵀ per group (+ bias), as the (N, out, out_h, out_w) output: a view of channels-last memory."""
    out = rows_times_weight(columns, weight, groups)
    if bias is not None:
        out += bias
    return channels_first_view(out.reshape(batch, *out_size, weight.shape[0]))


def conv_input_grad(grad_out: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], geometry: dict) -> np.ndarray:
    """dL/dx of a convolution: G @ W by blocks, each kernel offset's product added back onto x (``im2col``)."""
    return input_gradient(gradient_rows(grad_out), weight, x_shape, geometry, grad_out.shape[2:])


def conv_weight_grad(
    columns: np.ndarray, grad_out: np.ndarray, weight_shape: tuple[int, ...], groups: int
) -> np.ndarray:
    """dL/dW of a convolution: the output's gradientᵀ @ the windows matrix, per group."""
    return weight_gradient(columns, gradient_rows(grad_out), weight_shape, groups)


class Conv2d(Function):
    """d/dx conv2d(x, W) · G = Σ windows of (Wᵀ @ G) added back onto x, d/dW = G @ windows(x)ᵀ, d/db = Σ G

    Forward: out[n, o, i, j] = b[o] + Σ_c,p,q W[o, c, p, q] · x_padded[n, g·C/g + c, i·s + p·d, j·s + q·d]
    for output channel o in group g; computed as windows (N·out_h·out_w, kh·kw·C/g) @ Wᵀ per group:
    the windows matrix has one row per output pixel, its columns ordered (kernel row, kernel
    column, channel), copied from channels-last pixels so that every copy and addition runs
    along a pixel's channels; the result is the output channels-last, returned as a view. The
    differentiable backward (``vjp``) applies the two gradients as ops of their own,
    ``ConvInputGrad`` and ``ConvWeightGrad``, whose own gradients are convolutions again. Mixed
    float dtypes compute in NumPy's promoted one, as ``x @ w + b`` (``promoted``); each gradient
    comes back in its input's dtype.
    """

    dims = 2  # spatial axes

    def formula(self, names):
        return f"{self.name}({', '.join(names)}, stride={self.options['stride']}, padding={self.options['padding']})"

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        self.geometry = geometry_of(stride, padding, dilation, groups)
        _check_batched(self.name, x, 2)
        out_size = _checked_size(self.name, x, weight, bias, self.geometry, 2)
        self.dtypes = None
        if x.dtype != weight.dtype or bias is not None and bias.dtype != weight.dtype:
            self.dtypes = [array.dtype for array in (x, weight, bias) if array is not None]
            x, weight, bias = promoted(x, weight, bias)
        self.x_shape, self.weight = x.shape, weight
        self.columns = conv_columns(x, weight.shape[2:], stride, padding, dilation, groups)
        return conv_output(self.columns, weight, x.shape[0], out_size, groups, bias)  # channels-last memory

    def backward(self, grad_out):
        needs, options = self.needs_input_grad, self.geometry
        grad_rows = gradient_rows(grad_out)  # (N·out_h·out_w, out): a view when grad_out is channels-last
        grad_x = input_gradient(grad_rows, self.weight, self.x_shape, options, grad_out.shape[2:]) if needs[0] else None
        grad_weight = None
        if needs[1]:
            grad_weight = weight_gradient(self.columns, grad_rows, self.weight.shape, options["groups"])
        grad_bias = grad_rows.sum(axis=0) if len(needs) == 3 and needs[2] else None
        grads = (grad_x, grad_weight, grad_bias)[: len(needs)]
        if self.dtypes is None:
            return grads
        return tuple(
            None if grad is None else grad.astype(dtype, copy=False) for grad, dtype in zip(grads, self.dtypes)
        )

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
        self.grad_out, self.weight, self.geometry = grad_out, weight, geometry_of(stride, padding, dilation, groups)
        return conv_input_grad(grad_out, weight, x_shape, self.geometry)

    def backward(self, upstream):
        needs, geometry = self.needs_input_grad, self.geometry
        kernel, groups = self.weight.shape[2:], geometry["groups"]
        columns = conv_columns(upstream, kernel, geometry["stride"], geometry["padding"], geometry["dilation"], groups)
        grad_g = None
        if needs[0]:
            grad_g = conv_output(columns, self.weight, upstream.shape[0], self.grad_out.shape[2:], groups)
        grad_w = conv_weight_grad(columns, self.grad_out, self.weight.shape, groups) if needs[1] else None
        return grad_g, grad_w

    def vjp(self, upstream, grad_out, weight):
        needs, geometry = self.needs_input_grad, self.geometry
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
        self.x, self.grad_out, self.geometry = x, grad_out, geometry_of(stride, padding, dilation, groups)
        self.columns = conv_columns(x, weight_shape[2:], stride, padding, dilation, groups)
        return conv_weight_grad(self.columns, grad_out, weight_shape, groups)

    def backward(self, upstream):
        needs, geometry = self.needs_input_grad, self.geometry
        grad_x = conv_input_grad(self.grad_out, upstream, self.x.shape, geometry) if needs[0] else None
        grad_g = None
        if needs[1]:
            grad_g = conv_output(self.columns, upstream, self.x.shape[0], self.grad_out.shape[2:], geometry["groups"])
        return grad_x, grad_g

    def vjp(self, upstream, x, grad_out):
        needs, geometry = self.needs_input_grad, self.geometry
        grad_x = ConvInputGrad.apply(grad_out, upstream, x_shape=x.shape, **geometry) if needs[0] else None
        grad_g = Conv2d.apply(x, upstream, **geometry) if needs[1] else None
        return grad_x, grad_g

    def jvp(self, tangents, x, grad_out):
        cls, options = type(self), self.options
        return cls.apply(tangents[0], grad_out, **options) + cls.apply(x, tangents[1], **options)


class Conv1d(Conv2d):
    """d/dx conv1d(x, W) · G = Σ windows of (G @ W) added back onto x, d/dW = Gᵀ @ windows(x), d/db = Σ G

    A 1-D convolution is a 2-D one on inputs of height 1: (N, C, L) is seen as (N, C, 1, L).
    """

    dims = 1

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        _check_batched(self.name, x, 1)
        _checked_size(self.name, x, weight, bias, geometry_of(stride, padding, dilation, groups), 1)
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
    """Check a convolution's options (``sizes`` makes each a pair: ``pair`` for 2-D, ``single`` for 1-D) and apply it.

    A batch goes straight to the op. One sample (no batch axis) and a padding given as "same" or
    "valid" are checked here first, so that the errors name the shapes given; the sample is then
    given a batch axis of 1 (taken off the result), and an odd "same" padding its extra zero after
    (on the right and bottom), as PyTorch does.
    """
    x, weight, bias = tensors
    stride, padding, dilation, groups = geometry
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"{op.name}: groups must be a positive integer, got {describe_value(groups)}")
    if groups < 1:
        raise ValueError(f"{op.name}: groups must be a positive integer, got {groups}")
    options = {
        "stride": sizes(op.name, "stride", stride),
        "padding": (0, 0),
        "dilation": sizes(op.name, "dilation", dilation),
        "groups": int(groups),
    }
    named_padding = isinstance(padding, str)
    if not named_padding:
        options["padding"] = sizes(op.name, "padding", padding, minimum=0)
    shape = x.data.shape if isinstance(x, Tensor) else np.shape(x)
    unbatched = len(shape) != op.dims + 2 and is_unbatched(op.name, shape, op.dims)
    if unbatched or named_padding:
        x, weight, *rest = _as_tensors((x, weight) if bias is None else (x, weight, bias), op.name)
        bias = rest[0] if rest else None
        _check_conv(op.name, x.data, weight.data, None if bias is None else bias.data, options["groups"], op.dims)
        if named_padding:
            check_padding_string(op.name, padding, options["stride"][2 - op.dims :])
        if named_padding and padding == "same":
            kernel = (1, weight.shape[2]) if op.dims == 1 else weight.shape[2:]
            (top, bottom), (left, right) = same_padding(kernel, options["dilation"])
            options["padding"] = (top, left)
            if (bottom, right) != (top, left):  # the odd zero after: padded first, as PyTorch does
                x = pad(x, (0, right - left) if op.dims == 1 else (0, right - left, 0, bottom - top))
        _checked_size(op.name, x.data, weight.data, None if bias is None else bias.data, options, op.dims)
        if unbatched:
            x = x.reshape((1, *x.shape))
    out = op.apply(x, weight, **options) if bias is None else op.apply(x, weight, bias, **options)
    return named(out.reshape(out.shape[1:]) if unbatched else out, name)


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Pair = 1,
    padding: int | Pair | str = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
    name: str | None = None,
) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of x (N, C, H, W) with weight (out, C/groups, kh, kw).

    ``stride``, ``padding`` (zeros) and ``dilation`` are an int or a (height, width) pair; with
    ``groups`` > 1 the channels are split into that many groups, each with its own filters.
    ``padding="same"`` (stride 1 only) keeps the input's size, an odd zero going on the right and
    bottom; ``"valid"`` is no padding. One sample (C, H, W) gives (out, out_h, out_w).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> x = cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> cr.conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    >>> cr.conv2d(x[0], np.ones((1, 1, 2, 2)), padding="same").shape
    (1, 4, 4)
    """
    return _conv(Conv2d, pair, (x, weight, bias), (stride, padding, dilation, groups), name)


def conv1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
    groups: int = 1,
    name: str | None = None,
) -> Tensor:
    """1-D convolution of x (N, C, L) or (C, L) with weight (out, C/groups, k), as ``torch.nn.functional.conv1d``.

    >>> import chainrule as cr
    >>> cr.conv1d(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), [[[1.0, -1.0]]])
    tensor([[[-1., -1., -1.]]])
    >>> cr.conv1d(cr.tensor([[1.0, 2.0, 3.0, 4.0]]), [[[1.0, -1.0]]], padding="same")
    tensor([[-1., -1., -1.,  4.]])
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
