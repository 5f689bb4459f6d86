"""The size arithmetic of convolution and pooling, as PyTorch does it: integer options as (height, width) pairs,
output sizes (with pooling's ``ceil_mode``), ``padding="same"`` and the input ranks the ops take.

Shapes are read from the end (``shape[-2:]`` are the height and width), so that the checks name
the shape the user gave: a batch (N, C, H, W) or one sample (C, H, W).

>>> pool_output_size("max_pool2d", (1, 1, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), ceil_mode=True)
(3, 3)
>>> same_padding((4, 3), (1, 2))  # (before, after) per axis: an odd total puts the extra after
((1, 2), (2, 2))
"""

from __future__ import annotations

import numbers
from typing import Any

from ..errors import ShapeError, describe_value, format_shape

Pair = tuple[int, int]

PADDING_STRINGS = ("same", "valid")
LAYOUTS = {1: ("(C, L)", "(N, C, L)"), 2: ("(C, H, W)", "(N, C, H, W)")}


def pair(op: str, name: str, value: Any, minimum: int = 1) -> Pair:
    """An int or a pair of ints as a pair, each at least ``minimum``, or a one-line error naming ``op``."""
    if type(value) is int and value >= minimum:  # the common case without the ABC checks (12 calls a CNN step)
        return value, value
    if type(value) is tuple and len(value) == 2 and type(value[0]) is type(value[1]) is int:
        if value[0] >= minimum and value[1] >= minimum:
            return value
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


def is_unbatched(op: str, shape: tuple[int, ...], dims: int) -> bool:
    """Whether ``shape`` is one sample without the batch axis; a ShapeError unless it is that or a batch.

    >>> is_unbatched("conv2d", (3, 8, 8), 2)
    True
    """
    if len(shape) == dims + 2:
        return False
    if len(shape) == dims + 1:
        return True
    one, batch = LAYOUTS[dims]
    raise ShapeError(
        f"{op}: expects a {dims + 1}-D input {one} or a {dims + 2}-D batch {batch}, got shape {format_shape(shape)}"
    )


def span_of(kernel: Pair, dilation: Pair) -> Pair:
    """How many input rows and columns a (dilated) kernel covers."""
    return dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1


def output_size(op: str, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Pair:
    """The output's height and width, or a ShapeError when the (dilated) kernel is larger than the padded input."""
    padded = (shape[-2] + 2 * padding[0], shape[-1] + 2 * padding[1])
    span = span_of(kernel, dilation)
    if padded[0] < span[0] or padded[1] < span[1]:
        dilated = f" (dilated to {span})" if span != tuple(kernel) else ""
        raise ShapeError(
            f"{op}: kernel {tuple(kernel)}{dilated} is larger than the padded input {padded} "
            f"(input shape {format_shape(shape)}, padding {tuple(padding)})"
        )
    return (padded[0] - span[0]) // stride[0] + 1, (padded[1] - span[1]) // stride[1] + 1


def pool_output_size(
    op: str, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, ceil_mode: bool
) -> Pair:
    """A pooling's output height and width, as PyTorch computes them; with ``ceil_mode`` rounded up, but the last
    window must start inside the input or its left (top) padding, else there is one window fewer.

    Without ``ceil_mode`` this is ``output_size``. With it a kernel larger than the padded input is
    allowed when the stride reaches past it (one window, partly off the input), as in PyTorch.
    """
    if not ceil_mode:
        return output_size(op, shape, kernel, stride, padding, dilation)
    span, sizes = span_of(kernel, dilation), []
    for axis in (0, 1):
        size = shape[axis - 2]
        count = -(-(size + 2 * padding[axis] - span[axis]) // stride[axis]) + 1  # ceil of the division
        if count > 0 and (count - 1) * stride[axis] >= size + padding[axis]:
            count -= 1  # that window would start on the right (bottom) padding
        sizes.append(count)
    if min(sizes) < 1:
        raise ShapeError(
            f"{op}: kernel {tuple(kernel)} (spanning {span}) is larger than the padded input "
            f"{(shape[-2] + 2 * padding[0], shape[-1] + 2 * padding[1])} by more than the stride {tuple(stride)} "
            f"(input shape {format_shape(shape)}, padding {tuple(padding)}, ceil_mode=True)"
        )
    return sizes[0], sizes[1]


def overhang(shape: tuple[int, ...], out_size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Pair:
    """How many rows and columns ``ceil_mode``'s last windows reach past the bottom (right) padding; (0, 0) without.

    >>> overhang((1, 1, 5, 5), (3, 3), (2, 2), (2, 2), (0, 0), (1, 1))
    (1, 1)
    """
    span = span_of(kernel, dilation)
    return (
        max(0, (out_size[0] - 1) * stride[0] + span[0] - shape[-2] - 2 * padding[0]),
        max(0, (out_size[1] - 1) * stride[1] + span[1] - shape[-1] - 2 * padding[1]),
    )


def same_padding(kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[Pair, ...]:
    """The (before, after) zeros per axis that keep a stride-1 convolution's output the input's size, as PyTorch's
    ``padding="same"``: dilation·(k − 1) in all, half before, and the odd one after (on the right or bottom)."""
    totals = [step * (size - 1) for size, step in zip(kernel, dilation)]
    return tuple((total // 2, total - total // 2) for total in totals)


def check_padding_string(op: str, padding: str, stride: tuple[int, ...]) -> None:
    """A one-line ValueError for a padding string other than "same" or "valid", and for "same" with a stride."""
    if padding not in PADDING_STRINGS:
        raise ValueError(
            f"{op}: padding must be 'same', 'valid', a non-negative integer or a pair of them, "
            f"got {describe_value(padding)}"
        )
    if padding == "same" and any(step != 1 for step in stride):
        raise ValueError(
            f"{op}: padding='same' is not supported for strided convolutions (stride {tuple(stride)}); "
            "give the padding as a number"
        )
