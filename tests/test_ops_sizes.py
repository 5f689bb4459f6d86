"""The size arithmetic of convolution and pooling (ops/sizes.py) against PyTorch's output shapes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.sizes import is_unbatched, overhang, pair, pool_output_size, same_padding, single


def test_pool_output_sizes_equal_torchs_for_every_small_geometry(torch) -> None:
    """Every length 1–7, kernel 1–4, stride 1–4, padding up to half the kernel, dilation 1–2, with and without
    ceil_mode: the same output length as PyTorch's max_pool2d, or an error where PyTorch gives none."""
    for size, kernel, stride, dilation, ceil_mode in itertools.product(
        range(1, 8), range(1, 5), range(1, 5), (1, 2), (False, True)
    ):
        for padding in range(kernel // 2 + 1):
            options = {"kernel_size": (1, kernel), "stride": (1, stride), "padding": (0, padding)}
            options.update(dilation=(1, dilation), ceil_mode=ceil_mode)
            x = torch.zeros((1, 1, 1, size))
            try:
                expected = torch.nn.functional.max_pool2d(x, **options).shape[-1]
            except RuntimeError:  # "Output size is too small"
                with pytest.raises(cr.ShapeError, match="is larger than the padded input"):
                    pool_output_size("max_pool2d", (1, size), *(options[key] for key in options))
                continue
            arguments = [options[key] for key in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")]
            out = pool_output_size("max_pool2d", (1, size), *arguments)
            assert out == (1, expected), options | {"size": size}
            reach = overhang((1, size), out, *arguments[:4])[1]
            last_end = (out[1] - 1) * stride + dilation * (kernel - 1) + 1  # in the padded input
            assert reach == max(0, last_end - size - 2 * padding)
            assert reach == 0 or ceil_mode


def test_same_padding_puts_the_odd_zero_after() -> None:
    assert same_padding((4,), (1,)) == ((1, 2),)
    assert same_padding((3, 2, 2, 1), (1, 3, 2, 5)) == ((1, 1), (1, 2), (1, 1), (0, 0))


def test_unbatched_shapes_are_told_apart_from_batches_and_mistakes() -> None:
    assert is_unbatched("conv2d", (3, 4, 4), 2) and not is_unbatched("conv2d", (1, 3, 4, 4), 2)
    assert is_unbatched("conv1d", (3, 4), 1) and not is_unbatched("conv1d", (2, 3, 4), 1)
    with pytest.raises(cr.ShapeError, match=r"^conv1d: expects a 2-D input \(C, L\) or a 3-D batch \(N, C, L\), got"):
        is_unbatched("conv1d", (1, 2, 3, 4), 1)


def test_pairs_of_options_keep_their_messages() -> None:
    assert pair("conv2d", "stride", 2) == (2, 2) and pair("conv2d", "padding", [0, 1], 0) == (0, 1)
    assert single("conv1d", "stride", (3,)) == (1, 3) and single("conv1d", "padding", np.int64(2), 0) == (0, 2)
    with pytest.raises(TypeError, match="conv1d: padding must be a non-negative integer, got the string 'same'"):
        single("conv1d", "padding", "same", 0)
