"""conv1d, conv2d and pad against PyTorch (float64, 1e-10) and finite differences, over random geometries."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracles import OpCase, check_against_torch, op_tests


def torch_functional():
    return __import__("torch").nn.functional


def torch_conv(op: str, *arrays, **options):
    """``torch.nn.functional.conv1d``/``conv2d``, quiet: padding="same" with an even kernel warns that it pads a copy."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using padding='same'", UserWarning)
        return getattr(torch_functional(), op)(*arrays, **options)


def conv2d_case(batch, channels, out, size, kernel, stride=1, padding=0, dilation=1, groups=1, bias=True) -> OpCase:
    """A conv2d case; ``batch=None`` gives one sample (C, H, W) without the batch axis."""
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    kernel = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    sample = (channels, *size) if batch is None else (batch, channels, *size)
    shapes = [sample, (out, channels // groups, *kernel)] + ([(out,)] if bias else [])
    return OpCase(
        f"conv2d {shapes} {options}",
        lambda *xs: cr.conv2d(*xs, **options),
        lambda *xs: torch_conv("conv2d", *xs, **options),
        shapes,
    )


def conv1d_case(batch, channels, out, length, kernel, stride=1, padding=0, dilation=1, groups=1) -> OpCase:
    """A conv1d case; ``batch=None`` gives one sample (C, L) without the batch axis."""
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    sample = (channels, length) if batch is None else (batch, channels, length)
    shapes = [sample, (out, channels // groups, kernel), (out,)]
    return OpCase(
        f"conv1d {shapes} {options}",
        lambda *xs: cr.conv1d(*xs, **options),
        lambda *xs: torch_conv("conv1d", *xs, **options),
        shapes,
    )


def pad_case(shape, pad, value=0.0) -> OpCase:
    return OpCase(
        f"pad {shape} {pad}",
        lambda x: cr.pad(x, pad, value=value),
        lambda x: torch_functional().pad(x, pad, value=value),
        [shape],
    )


CASES = [
    conv2d_case(2, 3, 4, (5, 6), 3),
    conv2d_case(2, 3, 4, (5, 6), 3, bias=False),
    conv2d_case(1, 2, 3, (6, 5), (3, 2), stride=(2, 1), padding=(1, 0)),
    conv2d_case(2, 4, 6, (7, 7), 3, stride=2, padding=2, dilation=2, groups=2),
    conv2d_case(1, 3, 3, (4, 4), 2, groups=3),  # depthwise
    conv2d_case(2, 2, 2, (3, 3), 1),  # 1×1
    conv2d_case(1, 1, 1, (3, 3), 3),  # the kernel fills the input: one output pixel
    conv1d_case(2, 3, 4, 9, 3),
    conv1d_case(2, 4, 2, 10, 2, stride=3, padding=1, dilation=2, groups=2),
    conv2d_case(2, 2, 3, (5, 6), 3, padding="same"),
    conv2d_case(1, 2, 2, (5, 6), (4, 3), padding="same"),  # an odd total padding of 3 rows: 1 above, 2 below
    conv2d_case(2, 2, 2, (6, 5), (2, 4), padding="same", dilation=(1, 3), bias=False),
    conv2d_case(1, 4, 2, (5, 5), 2, padding="same", dilation=2, groups=2),  # even kernel, even total: symmetric
    conv2d_case(2, 3, 2, (5, 4), (3, 2), padding="valid"),
    conv1d_case(2, 3, 2, 7, 4, padding="same"),
    conv1d_case(1, 2, 2, 6, 3, padding="valid", dilation=2),
    conv2d_case(None, 3, 4, (5, 6), 3, stride=2, padding=1),  # one sample (C, H, W)
    conv2d_case(None, 2, 2, (4, 5), 4, padding="same", bias=False),
    conv1d_case(None, 4, 2, 9, 3, stride=2, groups=2),  # one sample (C, L)
    conv1d_case(None, 2, 3, 6, 2, padding="same", dilation=3),
    pad_case((2, 3), (1, 2)),
    pad_case((2, 3, 4), (1, 0, 2, 3), value=-1.5),
    pad_case((2, 3, 4), (-1, 2, 0, -1)),  # negative pads cut
    pad_case((3,), (0, 0)),
]

test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


@st.composite
def conv_geometries(draw, dims: int):
    """A random convolution whose (dilated) kernel fits its padded input."""
    groups = draw(st.integers(1, 3))
    channels, out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    size = tuple(
        max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i] + draw(st.integers(0, 4))) for i in range(dims)
    )
    batch = draw(st.integers(1, 3))
    bias = draw(st.booleans())
    return batch, channels, out, size, kernel, stride, padding, dilation, groups, bias


@settings(max_examples=60, deadline=None)
@given(conv_geometries(2), st.integers(0, 2**32 - 1))
def test_conv2d_equals_torch_for_random_geometries(torch, geometry, seed) -> None:
    batch, channels, out, size, kernel, stride, padding, dilation, groups, bias = geometry
    case = conv2d_case(batch, channels, out, size, kernel, stride, padding, dilation, groups, bias)
    check_against_torch(case, torch, np.random.default_rng(seed))


@settings(max_examples=40, deadline=None)
@given(conv_geometries(1), st.integers(0, 2**32 - 1))
def test_conv1d_equals_torch_for_random_geometries(torch, geometry, seed) -> None:
    batch, channels, out, size, kernel, stride, padding, dilation, groups, _ = geometry
    case = conv1d_case(batch, channels, out, size[0], kernel[0], stride[0], padding[0], dilation[0], groups)
    check_against_torch(case, torch, np.random.default_rng(seed))


@settings(max_examples=60, deadline=None)
@given(conv_geometries(2), st.sampled_from(["same", "valid"]), st.booleans(), st.integers(0, 2**32 - 1))
def test_conv2d_with_padding_same_or_valid_and_one_sample_equals_torch(torch, geometry, padding, one, seed) -> None:
    batch, channels, out, size, kernel, stride, _, dilation, groups, bias = geometry
    stride = 1 if padding == "same" else stride  # "same" is refused with a stride, as in PyTorch
    size = tuple(max(s, d * (k - 1) + 1) for s, k, d in zip(size, kernel, dilation))  # "valid" pads nothing
    case = conv2d_case(None if one else batch, channels, out, size, kernel, stride, padding, dilation, groups, bias)
    check_against_torch(case, torch, np.random.default_rng(seed))


@settings(max_examples=40, deadline=None)
@given(conv_geometries(1), st.sampled_from(["same", "valid", 1]), st.booleans(), st.integers(0, 2**32 - 1))
def test_conv1d_with_padding_same_or_valid_and_one_sample_equals_torch(torch, geometry, padding, one, seed) -> None:
    batch, channels, out, size, kernel, stride, _, dilation, groups, _ = geometry
    stride = 1 if padding == "same" else stride[0]
    length = max(size[0], dilation[0] * (kernel[0] - 1) + 1)
    case = conv1d_case(None if one else batch, channels, out, length, kernel[0], stride, padding, dilation[0], groups)
    check_against_torch(case, torch, np.random.default_rng(seed))


@pytest.mark.parametrize(("kernel", "dilation"), [(4, 1), (2, 3), (6, 1), (3, 2), (2, 2)])
def test_padding_same_puts_an_odd_zero_after_the_input_bit_for_bit_as_torch(torch, rng, kernel, dilation) -> None:
    """Each tap of the kernel alone reads the input shifted by its offset: the output shows where the zeros went."""
    x = rng.integers(-9, 10, size=(2, 1, 7)).astype(np.float64)  # whole numbers: every sum is exact
    grad_out = rng.integers(-9, 10, size=(2, 1, 7)).astype(np.float64)
    for tap in range(kernel):
        weight = np.zeros((1, 1, kernel))
        weight[0, 0, tap] = 1.0
        mine = cr.tensor(x, requires_grad=True)
        out = cr.conv1d(mine, weight, padding="same", dilation=dilation)
        out.backward(grad_out)
        theirs = torch.tensor(x, requires_grad=True)
        expected = torch_conv("conv1d", theirs, torch.tensor(weight), padding="same", dilation=dilation)
        expected.backward(torch.tensor(grad_out))
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        np.testing.assert_array_equal(mine.grad, theirs.grad.numpy())
        shift = tap * dilation - dilation * (kernel - 1) // 2  # the zeros before: half the total, rounded down
        shifted = np.zeros_like(x)
        source = slice(max(shift, 0), 7 + min(shift, 0))
        shifted[:, :, max(-shift, 0) : 7 - max(shift, 0)] = x[:, :, source]
        np.testing.assert_array_equal(out.data, shifted)


def test_padding_same_in_two_dimensions_splits_each_axis_as_torch(torch, rng) -> None:
    x = rng.integers(-9, 10, size=(1, 2, 5, 6)).astype(np.float64)
    weight = rng.integers(-3, 4, size=(3, 2, 4, 3)).astype(np.float64)
    for dilation in [(1, 1), (1, 2), (3, 1)]:
        out = cr.conv2d(x, weight, padding="same", dilation=dilation)
        np.testing.assert_array_equal(
            out.data, torch_conv("conv2d", torch.tensor(x), torch.tensor(weight), padding="same", dilation=dilation)
        )
        assert out.shape == (1, 3, 5, 6)
    # an odd total is the extra zero row below and column right: the same as padding (1, 1) then dropping the first
    explicit = cr.conv2d(np.pad(x, ((0, 0), (0, 0), (1, 2), (1, 1))), weight)
    np.testing.assert_array_equal(cr.conv2d(x, weight, padding="same").data, explicit.data)
    np.testing.assert_array_equal(cr.conv2d(x, weight, padding="valid").data, cr.conv2d(x, weight).data)


@pytest.mark.parametrize("op", ["conv1d", "conv2d"])
def test_one_sample_gives_the_batch_of_one_result_and_gradients_exactly(rng, op) -> None:
    spatial = (7,) if op == "conv1d" else (5, 6)
    x, weight, bias = rng.normal(size=(4, *spatial)), rng.normal(size=(6, 2, *(3,) * len(spatial))), rng.normal(size=6)
    grad_out = rng.normal(size=getattr(cr, op)(x, weight, bias, groups=2, padding=1).shape)
    leaves = [cr.tensor(array, requires_grad=True) for array in (x, weight, bias)]
    out = getattr(cr, op)(*leaves, groups=2, padding=1)
    out.backward(grad_out)
    batch = [cr.tensor(array, requires_grad=True) for array in (x[np.newaxis], weight, bias)]
    expected = getattr(cr, op)(*batch, groups=2, padding=1)
    expected.backward(grad_out[np.newaxis])
    assert out.shape == expected.shape[1:]
    np.testing.assert_array_equal(out.data, expected.data[0])
    np.testing.assert_array_equal(leaves[0].grad, batch[0].grad[0])
    for leaf, reference in zip(leaves[1:], batch[1:]):
        np.testing.assert_array_equal(leaf.grad, reference.grad)


def test_one_sample_of_float32_stays_float32() -> None:
    x = cr.tensor(np.ones((2, 5, 5)), dtype=np.float32, requires_grad=True)
    out = cr.conv2d(x, np.ones((3, 2, 2, 2), dtype=np.float32), padding="same")
    assert out.dtype == np.float32 and out.shape == (3, 5, 5)
    out.sum().backward()
    assert x.grad.dtype == np.float32


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=4),
    st.lists(st.integers(-1, 3), min_size=2, max_size=8),
    st.integers(0, 2**32 - 1),
)
def test_pad_equals_torch_for_random_pads(torch, shape, pad, seed) -> None:
    pad = pad[: 2 * min(len(pad) // 2, len(shape))]  # whole (before, after) pairs, at most one per axis
    ndim = len(shape)
    for position in range(len(pad) // 2):  # keep every axis at least one long
        axis = ndim - 1 - position
        while shape[axis] + pad[2 * position] + pad[2 * position + 1] < 1:
            pad[2 * position] += 1
    check_against_torch(pad_case(tuple(shape), tuple(pad)), torch, np.random.default_rng(seed))


@pytest.mark.parametrize("groups", [1, 2])
def test_a_channels_last_input_and_gradient_give_torch_numbers(torch, rng, groups) -> None:
    # a convolution's output is a channels-last view of its product; the next one takes it as it is
    x = np.ascontiguousarray(rng.normal(size=(2, 5, 6, 4)))  # memory (N, H, W, C): x.transpose seen as (N, C, H, W)
    weight, bias = rng.normal(size=(6, 4 // groups, 3, 2)), rng.normal(size=6)
    mine = [cr.tensor(array, requires_grad=True) for array in (x.transpose(0, 3, 1, 2), weight, bias)]
    out = cr.conv2d(*mine, padding=(1, 0), stride=(2, 1), groups=groups)
    assert out.data.transpose(0, 2, 3, 1).flags.c_contiguous
    grad_out = rng.normal(size=out.shape)
    out.backward(grad_out)
    theirs = [torch.tensor(array, requires_grad=True) for array in (x.transpose(0, 3, 1, 2), weight, bias)]
    expected = torch.nn.functional.conv2d(*theirs, padding=(1, 0), stride=(2, 1), groups=groups)
    expected.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for tensor, reference in zip(mine, theirs):
        np.testing.assert_allclose(tensor.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32(rng) -> None:
    x = cr.tensor(rng.normal(size=(2, 4, 6, 6)), dtype=np.float32, requires_grad=True)
    weight = cr.tensor(rng.normal(size=(6, 2, 3, 3)), dtype=np.float32, requires_grad=True)
    bias = cr.tensor(rng.normal(size=6), dtype=np.float32, requires_grad=True)
    out = cr.pad(cr.conv2d(x, weight, bias, stride=2, padding=1, groups=2), (1, 1))
    line = cr.conv1d(cr.tensor(rng.normal(size=(2, 4, 5)), dtype=np.float32), weight[:, :, 0], groups=2)
    assert out.dtype == np.float32 and line.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == weight.grad.dtype == bias.grad.dtype == np.float32


def test_a_conv_computes_what_its_definition_says() -> None:
    """A hand-computed case: the sum of each 2×2 window of 0…15, stride 2, plus a bias."""
    x = cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    out = cr.conv2d(x, np.ones((1, 1, 2, 2)), np.array([0.5]), stride=2)
    np.testing.assert_array_equal(out.data, [[[[10.5, 18.5], [42.5, 50.5]]]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((1, 1, 4, 4)))  # each pixel in exactly one window


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: cr.conv2d(np.ones((1, 3, 4, 4)), np.ones((2, 3, 5, 5)), padding=0),
            cr.ShapeError,
            r"conv2d: kernel \(5, 5\) is larger than the padded input \(4, 4\) \(input shape \(1, 3, 4, 4\), padding \(0, 0\)\)",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 3, 4, 4)), np.ones((2, 3, 3, 3)), dilation=2),
            cr.ShapeError,
            r"conv2d: kernel \(3, 3\) \(dilated to \(5, 5\)\) is larger than the padded input \(4, 4\)",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 4, 4, 4)), np.ones((3, 2, 1, 1)), groups=2),
            cr.ShapeError,
            r"conv2d: groups=2 must divide both the input's 4 channels and the weight's 3 output channels "
            r"\(input \(1, 4, 4, 4\), weight \(3, 2, 1, 1\)\)",
        ),
        (
            lambda: cr.conv2d(np.ones((8, 8)), np.ones((2, 3, 3, 3))),
            cr.ShapeError,
            r"conv2d: expects a 3-D input \(C, H, W\) or a 4-D batch \(N, C, H, W\), got shape \(8, 8\)$",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 1, 3, 8, 8)), np.ones((2, 3, 3, 3))),
            cr.ShapeError,
            r"conv2d: expects a 3-D input \(C, H, W\) or a 4-D batch \(N, C, H, W\), got shape \(1, 1, 3, 8, 8\)$",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 3, 8, 8)), np.ones((2, 4, 3, 3))),
            cr.ShapeError,
            r"conv2d: input of shape \(1, 3, 8, 8\) has 3 channels but the weight of shape \(2, 4, 3, 3\) expects 4",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 3, 8, 8)), np.ones((2, 3, 3, 3)), np.ones(3)),
            cr.ShapeError,
            r"conv2d: bias must have shape \(2,\), one per output channel of the weight \(2, 3, 3, 3\), got \(3,\)",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 3, 8, 8)), np.ones((2, 3, 3)), stride=1),
            cr.ShapeError,
            r"conv2d: expects a 4-D weight \(out, C/groups, kh, kw\), got shape \(2, 3, 3\)",
        ),
        (lambda: cr.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=0), ValueError, "conv2d: stride must"),
        (
            lambda: cr.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), padding=1.5),
            TypeError,
            "conv2d: padding must be a non-negative integer or a pair of them, got 1.5",
        ),
        (lambda: cr.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), groups=0), ValueError, "conv2d: groups must"),
        (
            lambda: cr.conv1d(np.ones(8), np.ones((1, 2, 3))),
            cr.ShapeError,
            r"conv1d: expects a 2-D input \(C, L\) or a 3-D batch \(N, C, L\), got shape \(8,\)$",
        ),
        (
            lambda: cr.conv1d(np.ones((1, 2, 2)), np.ones((1, 2, 3))),
            cr.ShapeError,
            r"conv1d: kernel 3 is larger than the padded input's length 2 \(input shape \(1, 2, 2\), padding 0\)",
        ),
        (
            lambda: cr.conv2d(np.ones((3, 8, 8)), np.ones((2, 4, 3, 3))),
            cr.ShapeError,
            r"conv2d: input of shape \(3, 8, 8\) has 3 channels but the weight of shape \(2, 4, 3, 3\) expects 4",
        ),
        (
            lambda: cr.conv2d(np.ones((3, 4, 4)), np.ones((2, 3, 5, 5))),
            cr.ShapeError,
            r"conv2d: kernel \(5, 5\) is larger than the padded input \(4, 4\) \(input shape \(3, 4, 4\), padding \(0, 0\)\)",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 3, 4, 4)), np.ones((2, 3, 5, 5)), padding="valid"),
            cr.ShapeError,
            r"conv2d: kernel \(5, 5\) is larger than the padded input \(4, 4\) \(input shape \(1, 3, 4, 4\)",
        ),
        (
            lambda: cr.conv1d(np.ones((2, 2)), np.ones((1, 2, 3))),
            cr.ShapeError,
            r"conv1d: kernel 3 is larger than the padded input's length 2 \(input shape \(2, 2\), padding 0\)",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=(1, 2), padding="same"),
            ValueError,
            r"conv2d: padding='same' is not supported for strided convolutions \(stride \(1, 2\)\); give the padding",
        ),
        (
            lambda: cr.conv1d(np.ones((1, 4)), np.ones((1, 1, 2)), stride=2, padding="same"),
            ValueError,
            r"conv1d: padding='same' is not supported for strided convolutions \(stride \(2,\)\)",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), padding="full"),
            ValueError,
            "conv2d: padding must be 'same', 'valid', a non-negative integer or a pair of them, got the string 'full'",
        ),
        (
            lambda: cr.conv2d(np.ones((1, 4, 4)), np.ones((1, 1, 2)), padding="same"),
            cr.ShapeError,
            r"conv2d: expects a 4-D weight \(out, C/groups, kh, kw\), got shape \(1, 1, 2\)",
        ),
        (lambda: cr.pad(np.ones((2, 3)), (1, 2, 3)), TypeError, "pad: pad must be a tuple of an even number"),
        (
            lambda: cr.pad(np.ones((2, 3)), (1, 1, 1, 1, 1, 1)),
            cr.ShapeError,
            r"pad: 6 pad sizes need 3 axes, a tensor of shape \(2, 3\) has 2",
        ),
        (
            lambda: cr.pad(np.ones((2, 3)), (-2, -2)),
            cr.ShapeError,
            r"pad: pads \(-2, -2\) leave axis 1 of a tensor of shape \(2, 3\) with a negative length -1",
        ),
    ],
)
def test_bad_inputs_get_one_line_naming_the_op_and_shapes(call, error, message) -> None:
    with pytest.raises(error, match=message) as raised:
        call()
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.bool_])
def test_a_convolution_of_integers_is_refused_rather_than_overflowing(dtype) -> None:
    x = np.full((1, 1, 4, 4), 20).astype(dtype)
    with pytest.raises(cr.DTypeError, match=f"conv2d: the input holds {np.dtype(dtype)} numbers"):
        cr.conv2d(x, np.ones((1, 1, 2, 2)))
    with pytest.raises(cr.DTypeError, match="conv1d: the weight holds"):
        cr.conv1d(np.ones((1, 1, 4)), np.ones((1, 1, 2)).astype(dtype))


@pytest.mark.parametrize(
    ("op", "shapes", "options"),
    [
        ("conv2d", [(0, 4, 5, 6), (6, 2, 3, 3), (6,)], {"padding": 1, "stride": (2, 1), "groups": 2}),
        ("conv2d", [(0, 3, 4, 4), (2, 3, 2, 2)], {}),
        ("conv1d", [(0, 4, 7), (2, 4, 3), (2,)], {"padding": 1, "dilation": 2}),
        ("conv1d", [(0, 4, 7), (4, 2, 3)], {"groups": 2}),
    ],
)
def test_an_empty_batch_gives_empty_outputs_and_zero_parameter_gradients_as_torch(torch, rng, op, shapes, options):
    arrays = [rng.normal(size=shape) for shape in shapes]
    mine = [cr.tensor(array, requires_grad=True) for array in arrays]
    out = getattr(cr, op)(*mine, **options)
    out.sum().backward()
    theirs = [torch.tensor(array, requires_grad=True) for array in arrays]
    expected = getattr(torch.nn.functional, op)(*theirs, **options)
    expected.sum().backward()
    assert out.shape == tuple(expected.shape) and out.dtype == np.float64
    for tensor, reference in zip(mine, theirs):
        assert tensor.grad.shape == tensor.shape
        np.testing.assert_array_equal(tensor.grad, reference.grad.numpy())  # zeros for the weight and bias


@pytest.mark.parametrize("op", ["conv2d", "conv1d"])
@pytest.mark.parametrize(
    "dtypes",
    [(np.float32, np.float32, np.float64), (np.float32, np.float64, None), (np.float64, np.float32, np.float32)],
)
def test_mixed_float_dtypes_compute_in_numpys_promoted_dtype_with_each_gradient_in_its_inputs(torch, rng, op, dtypes):
    # a float64 bias was cast down to a float32 output, while conv2d(x, w) + b gave float64: NumPy's promotion now,
    # as matmul and the elementwise ops do (check_module converts a float32 model's parameters, not its batch)
    shapes = [(2, 4, 5, 6), (6, 2, 3, 2), (6,)] if op == "conv2d" else [(2, 4, 7), (6, 2, 3), (6,)]
    arrays = [rng.normal(size=shape).astype(dtype) for shape, dtype in zip(shapes, dtypes) if dtype is not None]
    mine = [cr.tensor(array, requires_grad=True) for array in arrays]
    out = getattr(cr, op)(*mine, padding=1, groups=2)
    grad_out = rng.normal(size=out.shape)
    out.backward(grad_out)
    assert out.dtype == np.result_type(*arrays) == np.float64
    theirs = [torch.tensor(array.astype(np.float64), requires_grad=True) for array in arrays]
    expected = getattr(torch.nn.functional, op)(*theirs, padding=1, groups=2)
    expected.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for tensor, array, reference in zip(mine, arrays, theirs):
        assert tensor.grad.dtype == array.dtype
        np.testing.assert_allclose(tensor.grad, reference.grad.numpy().astype(array.dtype), rtol=1e-6, atol=1e-6)


def test_check_graph_rechecks_convolutions_and_their_gradients_ops(rng) -> None:
    # check_graph runs each node's backward on a fresh node that ran only forward: the geometry must come from there
    from chainrule.check import check_graph

    def passed(loss) -> dict[str, bool]:
        # each check of a convolution's input that is a leaf: check_graph's finite differences miss an input that
        # is not contiguous, as a convolution's channels-last output is (outside these ops)
        return {check.name.split(". ")[1]: check.passed for check in check_graph(loss).inputs if "conv" in check.name}

    shapes = [(2, 4, 5, 5), (4, 2, 3, 2), (4,)]
    x, weight, bias = (cr.tensor(rng.normal(size=shape), requires_grad=True) for shape in shapes)
    out = cr.conv2d(x, weight, bias, stride=(2, 1), padding=1, groups=2)
    loss = (out**2).sum() + (cr.conv1d(x[:, :, 0], weight[:, :, 0], dilation=2, groups=2) ** 2).sum()
    assert passed(loss) == {
        f"{op} input {i}": True for op, count in (("conv2d", 3), ("conv1d", 2)) for i in range(count)
    }
    grad_x, grad_weight = cr.autograd.grad((out**2).sum(), [x, weight], create_graph=True)
    checks = passed((grad_x**2).sum() + (grad_weight**2).sum())
    assert checks["conv2d_weight_grad input 0"] and checks["conv2d_input_grad input 1"]  # x and the weight
