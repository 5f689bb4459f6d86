"""max_pool2d and avg_pool2d against PyTorch (float64, 1e-10) and finite differences, over random geometries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracles import OpCase, check_against_torch, op_tests


def max_case(shape, kernel, stride=None, padding=0, dilation=1, ceil_mode=False) -> OpCase:
    options = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": ceil_mode,
    }
    return OpCase(
        f"max_pool2d {shape} {options}",
        lambda x: cr.max_pool2d(x, **options),
        lambda x: __import__("torch").nn.functional.max_pool2d(x, **options),
        [shape],
        kinds=["distinct"],  # no ties: the maximum of every window is unique, so finite differences see it
    )


def avg_case(shape, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> OpCase:
    options = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    options["count_include_pad"] = count_include_pad
    return OpCase(
        f"avg_pool2d {shape} {options}",
        lambda x: cr.avg_pool2d(x, **options),
        lambda x: __import__("torch").nn.functional.avg_pool2d(x, **options),
        [shape],
    )


CASES = [
    max_case((2, 3, 4, 4), 2),
    max_case((1, 2, 5, 6), 3, stride=1, padding=1),  # overlapping windows: gradients add up
    max_case((2, 1, 7, 7), (2, 3), stride=(2, 1), dilation=2),
    max_case((1, 1, 5, 5), 3, stride=2, padding=1),
    max_case((2, 2, 7, 5), (2, 3)),  # windows that tile the input, a remainder row and column cut off
    max_case((1, 2, 6, 6), 3, stride=3),  # 3×3 tiles
    avg_case((2, 3, 4, 4), 2),
    avg_case((1, 2, 5, 6), 3, stride=1, padding=1),
    avg_case((2, 1, 7, 5), (3, 2), stride=(2, 3)),
    max_case((2, 2, 5, 5), 2, ceil_mode=True),  # a last row and column of windows that reach past the input
    max_case((1, 2, 6, 7), 3, stride=2, padding=1, ceil_mode=True),
    max_case((1, 1, 7, 6), (3, 2), stride=(3, 4), dilation=(1, 2), ceil_mode=True),
    avg_case((2, 2, 5, 5), 2, ceil_mode=True),
    avg_case((1, 2, 6, 7), 3, stride=2, padding=1, ceil_mode=True),  # divisors that count padding, not overhang
    avg_case((1, 2, 6, 7), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    avg_case((2, 1, 5, 6), (3, 2), stride=1, padding=1, count_include_pad=False),
    max_case((3, 5, 6), 2),  # one image (C, H, W)
    max_case((2, 5, 5), 3, stride=2, padding=1, ceil_mode=True),
    avg_case((3, 5, 6), (2, 3), stride=1, padding=1, count_include_pad=False),
]

test_gradient_matches_finite_differences, test_gradient_matches_torch = op_tests(CASES)


@st.composite
def pool_geometries(draw, dilated: bool):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)  # PyTorch's limit
    size = tuple(max(1, s - 2 * p + draw(st.integers(0, 4))) for s, p in zip(span, padding))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), *size)
    return shape, kernel, stride, padding, dilation


@st.composite
def ceil_geometries(draw, dilated: bool):
    """A pooling geometry, with ceil_mode or not, on a batch or one image: the output size PyTorch allows."""
    shape, kernel, stride, padding, dilation = draw(pool_geometries(dilated))
    ceil_mode = draw(st.booleans())
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    # with ceil_mode a kernel may be larger than the padded input, by less than the stride
    size = tuple(max(1, s - draw(st.integers(0, 2))) for s in shape[2:]) if ceil_mode else shape[2:]
    step = stride or kernel
    assume(all(n + 2 * p + t - 1 >= s for n, p, t, s in zip(size, padding, step, span)))
    shape = (*shape[:2], *size)
    return (shape[1:] if draw(st.booleans()) else shape), kernel, stride, padding, dilation, ceil_mode


@settings(max_examples=80, deadline=None)
@given(ceil_geometries(dilated=True), st.integers(0, 2**32 - 1))
def test_max_pool2d_with_ceil_mode_and_one_image_equals_torch(torch, geometry, seed) -> None:
    shape, kernel, stride, padding, dilation, ceil_mode = geometry
    assume(np.isfinite(cr.max_pool2d(np.zeros(shape), kernel, stride, padding, dilation, ceil_mode).data).all())
    check_against_torch(max_case(*geometry), torch, np.random.default_rng(seed))


@settings(max_examples=80, deadline=None)
@given(ceil_geometries(dilated=False), st.booleans(), st.integers(0, 2**32 - 1))
def test_avg_pool2d_with_ceil_mode_count_include_pad_and_one_image_equals_torch(torch, geometry, include, seed) -> None:
    shape, kernel, stride, padding, _, ceil_mode = geometry
    check_against_torch(
        avg_case(shape, kernel, stride, padding, ceil_mode, include), torch, np.random.default_rng(seed)
    )


def test_ceil_mode_keeps_a_last_window_only_where_it_starts_on_the_input_or_the_left_padding(torch) -> None:
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    # 5 + 2·1 padded, windows of 2 every 2: ceil gives 4, but the 4th would start on the right padding
    for options in ({"kernel_size": 2, "padding": 1}, {"kernel_size": 2}, {"kernel_size": 3, "stride": 3}):
        for pool in ("max_pool2d", "avg_pool2d"):
            out = getattr(cr, pool)(x, **options, ceil_mode=True)
            expected = getattr(torch.nn.functional, pool)(torch.tensor(x), **options, ceil_mode=True).numpy()
            np.testing.assert_array_equal(out.data, expected)
    assert cr.max_pool2d(x, 2, padding=1, ceil_mode=True).shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(cr.max_pool2d(x, 2, ceil_mode=True).data[0, 0, 2], [21.0, 23.0, 24.0])
    # the last windows hold 2×2, 2×1, 1×2 and 1×1 pixels of the input: the mean of those, not over 4
    np.testing.assert_array_equal(cr.avg_pool2d(x, 2, ceil_mode=True).data[0, 0, :, 2], [6.5, 16.5, 24.0])


def test_average_pooling_divisors_count_the_padding_only_when_asked_as_torch(torch) -> None:
    x = np.ones((1, 1, 6, 6))
    for include in (True, False):
        for ceil_mode in (True, False):
            out = cr.avg_pool2d(x, 3, 2, 1, ceil_mode=ceil_mode, count_include_pad=include)
            expected = torch.nn.functional.avg_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode, include).numpy()
            np.testing.assert_array_equal(out.data, expected)
    # ceil_mode's last row and column: window rows 5–7, of which 5 is the input, 6 the padding and 7 beyond it
    corner = cr.avg_pool2d(x, 3, 2, 1, ceil_mode=True).data[0, 0]
    assert corner.shape == (4, 4) and corner[3, 3] == 1 / 4 and corner[0, 0] == 4 / 9 and corner[1, 1] == 1.0


def test_ceil_mode_routes_max_pooling_around_the_tiling_shortcut(torch, rng) -> None:
    # stride = kernel takes _max_blocks, which cuts a remainder off; with ceil_mode the remainder is a window
    x = channels_last(rng.normal(size=(2, 3, 7, 5)))
    values, expected, grad, expected_grad = max_pool_both(torch, x, kernel_size=2, ceil_mode=True)
    assert values.shape == (2, 3, 4, 3)
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(grad, expected_grad)


def test_one_image_gives_the_batch_of_one_result_and_gradient_exactly(rng) -> None:
    x = rng.normal(size=(3, 7, 6))
    for pool, options in ((cr.max_pool2d, {"padding": 1, "ceil_mode": True}), (cr.avg_pool2d, {"stride": 1})):
        grad_out = rng.normal(size=pool(x, 3, **options).shape)
        one = cr.tensor(x, requires_grad=True)
        out = pool(one, 3, **options)
        out.backward(grad_out)
        batch = cr.tensor(x[np.newaxis], requires_grad=True)
        expected = pool(batch, 3, **options)
        expected.backward(grad_out[np.newaxis])
        assert out.shape == expected.shape[1:]
        np.testing.assert_array_equal(out.data, expected.data[0])
        np.testing.assert_array_equal(one.grad, batch.grad[0])


def test_a_window_wholly_on_padding_is_minus_infinity_and_gives_no_gradient() -> None:
    x = cr.tensor([[[[2.0]]]], requires_grad=True)
    out = cr.max_pool2d(x, (1, 2), padding=(0, 1), dilation=(1, 2))  # reads the padding left and right of x
    assert out.data.tolist() == [[[[-np.inf]]]]
    cr.where(out > 0, out, 0.0).sum().backward()
    assert x.grad.tolist() == [[[[0.0]]]]


@settings(max_examples=60, deadline=None)
@given(pool_geometries(dilated=True), st.integers(0, 2**32 - 1))
def test_max_pool2d_equals_torch_for_random_geometries(torch, geometry, seed) -> None:
    shape, kernel, stride, padding, dilation = geometry
    # a dilated window wholly on padding has no input pixel: PyTorch sends its gradient to one outside it
    assume(np.isfinite(cr.max_pool2d(np.zeros(shape), kernel, stride, padding, dilation).data).all())
    check_against_torch(max_case(*geometry), torch, np.random.default_rng(seed))


@settings(max_examples=60, deadline=None)
@given(pool_geometries(dilated=False), st.integers(0, 2**32 - 1))
def test_avg_pool2d_equals_torch_for_random_geometries(torch, geometry, seed) -> None:
    check_against_torch(avg_case(*geometry[:4]), torch, np.random.default_rng(seed))


def test_max_pool_sends_a_tie_to_the_first_maximum_as_torch_does(torch) -> None:
    x = cr.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    cr.max_pool2d(x, 2).sum().backward()
    theirs = torch.ones((1, 1, 2, 2), requires_grad=True)
    torch.nn.functional.max_pool2d(theirs, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, theirs.grad.numpy())
    np.testing.assert_array_equal(x.grad, [[[[1.0, 0.0], [0.0, 0.0]]]])


def channels_last(x: np.ndarray) -> np.ndarray:
    """The same (N, C, H, W) values with channels-last memory, as a convolution's output has them."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("layout", [np.ascontiguousarray, channels_last])
@pytest.mark.parametrize(("shape", "kernel"), [((3, 4, 8, 6), 2), ((2, 3, 9, 7), 2), ((2, 2, 6, 8), (3, 2))])
def test_tiling_windows_with_many_ties_equal_torch_exactly(torch, rng, layout, shape, kernel) -> None:
    # windows that tile the input take the reshape-and-maximum path; values 0, 1, 2 tie in most windows
    x = layout(rng.integers(0, 3, size=shape).astype(np.float64))
    weights = rng.normal(size=cr.max_pool2d(x, kernel).shape)
    mine = cr.tensor(x, requires_grad=True)
    out = cr.max_pool2d(mine, kernel)
    (out * weights).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(theirs, kernel)
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_array_equal(mine.grad, theirs.grad.numpy())


def test_tiling_windows_keep_a_channels_last_input_in_its_memory_order(rng) -> None:
    x = cr.tensor(channels_last(rng.normal(size=(2, 3, 4, 6))), requires_grad=True)
    out = cr.max_pool2d(x, 2)
    assert out.data.transpose(0, 2, 3, 1).flags.c_contiguous
    out.backward(np.ones(out.shape))  # an (N, C, H, W) gradient: turned channels-last like the input
    assert x.grad.transpose(0, 2, 3, 1).flags.c_contiguous
    np.testing.assert_array_equal(x.grad.sum(axis=(2, 3)), np.full((2, 3), 6.0))


def max_pool_both(torch, x: np.ndarray, weights: np.ndarray | None = None, **options) -> tuple:
    """max_pool2d of x by chainrule and by PyTorch, and both gradients for the output's gradient ``weights`` (ones
    by default; given to backward directly: a sum of infinities and NaN would warn)."""
    mine = cr.tensor(x, requires_grad=True)
    out = cr.max_pool2d(mine, **options)
    weights = np.ones(out.shape, out.dtype) if weights is None else weights.astype(out.dtype)
    out.backward(weights)
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(theirs, **options)
    expected.backward(torch.tensor(weights))
    return out.data, expected.detach().numpy(), mine.grad, theirs.grad.numpy()


def assert_same_values(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal values, NaN where NaN, and the same sign on every zero (−0.0 is not +0.0 here)."""
    np.testing.assert_array_equal(actual, expected)
    numbers = ~np.isnan(expected)
    np.testing.assert_array_equal(np.signbit(actual[numbers]), np.signbit(expected[numbers]))


@pytest.mark.parametrize("options", [{"kernel_size": 2}, {"kernel_size": 2, "stride": 1}, {"kernel_size": (1, 2)}])
def test_a_nan_in_a_window_is_its_maximum_and_the_last_nan_takes_the_gradient_as_in_torch(torch, options) -> None:
    # PyTorch's CPU kernel scans each window in reading order and takes a value that is greater or NaN
    for rows in ([[1.0, np.nan, 3.0, np.nan], [np.nan, 0.0, 1.0, 2.0]], [[np.nan, np.nan, 1.0, 2.0]] * 2):
        values, expected, grad, expected_grad = max_pool_both(torch, np.array([[rows]]), **options)
        assert_same_values(values, expected)
        np.testing.assert_array_equal(grad, expected_grad)
    _, _, grad, _ = max_pool_both(torch, np.array([[[[np.nan, np.nan, 1.0, 2.0]]]]), kernel_size=(1, 2))
    np.testing.assert_array_equal(grad, [[[[0.0, 1.0, 0.0, 1.0]]]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("layout", [np.ascontiguousarray, channels_last])
def test_tied_signed_zeros_give_the_first_maximums_value_and_gradient_as_torch(torch, layout, dtype) -> None:
    # np.maximum returns either operand on a tie of −0.0 and +0.0; PyTorch's value is the first maximum's
    pairs = [[-0.0, 0.0], [0.0, -0.0], [-0.0, -0.0], [0.0, 0.0], [-1.0, -0.0], [-0.0, -1.0]]
    x = layout(np.array(pairs * 8, dtype=dtype).reshape(2, 3, 4, 4))  # 2×2 windows of two pairs: every mixture
    for options in ({"kernel_size": (1, 2)}, {"kernel_size": 2}, {"kernel_size": (1, 2), "stride": 1}):
        values, expected, grad, expected_grad = max_pool_both(torch, x, **options)
        assert_same_values(values, expected)
        np.testing.assert_array_equal(grad, expected_grad)
    values, _, grad, _ = max_pool_both(torch, np.array([[[[-0.0, 0.0]]]]), kernel_size=(1, 2))
    assert np.signbit(values).all() and grad.tolist() == [[[[1.0, 0.0]]]]


@pytest.mark.parametrize("lowest", [-np.inf, np.finfo(np.float64).min])
def test_a_padded_window_whose_pixels_are_all_minus_infinity_gives_its_first_pixel_the_gradient(torch, lowest) -> None:
    x = np.array([[[[-np.inf, 5.0]]]])
    values, expected, grad, expected_grad = max_pool_both(torch, x, kernel_size=(1, 2), stride=1, padding=(0, 1))
    assert_same_values(values, expected)
    np.testing.assert_array_equal(grad, expected_grad)
    np.testing.assert_array_equal(grad, [[[[1.0, 2.0]]]])  # not lost on the padding left of −inf
    x = np.full((1, 2, 3, 4), -np.inf)
    x[0, 1, 2, 3] = lowest
    values, expected, grad, expected_grad = max_pool_both(torch, x, kernel_size=3, stride=(1, 2), padding=1)
    assert_same_values(values, expected)
    np.testing.assert_array_equal(grad, expected_grad)


def test_an_integer_window_at_the_least_integer_keeps_its_value() -> None:
    x = np.array([[[[np.iinfo(np.int64).min, 5]]]])
    out = cr.max_pool2d(x, (1, 2), stride=1, padding=(0, 1))
    assert out.dtype == np.int64 and out.data.tolist() == [[[[np.iinfo(np.int64).min, 5, 5]]]]


SPECIAL = np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, np.inf, np.nan])


@settings(max_examples=80, deadline=None)
@given(pool_geometries(dilated=True), st.booleans(), st.integers(0, 2**32 - 1))
def test_max_pool2d_of_ties_zeros_infinities_and_nans_equals_torch(torch, geometry, last, seed) -> None:
    shape, kernel, stride, padding, dilation = geometry
    assume(np.isfinite(cr.max_pool2d(np.zeros(shape), kernel, stride, padding, dilation).data).all())
    rng = np.random.default_rng(seed)
    x = SPECIAL[rng.integers(0, len(SPECIAL), size=shape)]
    x = channels_last(x) if last else x
    options = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    weights = rng.normal(size=cr.max_pool2d(x, **options).shape)
    values, expected, grad, expected_grad = max_pool_both(torch, x, weights, **options)
    assert_same_values(values, expected)
    # overlapping windows add in another order than torch: sums of ~1 with cancellation, off by ulps of
    # their terms; a gradient routed to the wrong pixel is off by a whole weight
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("options", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}])
def test_an_empty_batch_pools_to_an_empty_batch_as_torch(torch, options) -> None:
    x = np.zeros((0, 3, 6, 6))
    values, expected, grad, expected_grad = max_pool_both(torch, x, **options)
    assert values.shape == expected.shape and grad.shape == expected_grad.shape == x.shape
    mine = cr.tensor(x, requires_grad=True)
    out = cr.avg_pool2d(mine, **options)
    out.sum().backward()
    assert out.shape == torch.nn.functional.avg_pool2d(torch.tensor(x), **options).shape
    assert mine.grad.shape == x.shape


def test_float32_stays_float32(rng) -> None:
    x = cr.tensor(rng.normal(size=(2, 3, 6, 6)), dtype=np.float32, requires_grad=True)
    out = cr.max_pool2d(x, 2, padding=1) + cr.avg_pool2d(x, 2, padding=1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: cr.max_pool2d(np.ones((4, 4)), 2),
            r"max_pool2d: expects a 3-D input \(C, H, W\) or a 4-D batch \(N, C, H, W\), got shape \(4, 4\)$",
        ),
        (
            lambda: cr.avg_pool2d(np.ones((1, 1, 1, 4, 4)), 2),
            r"avg_pool2d: expects a 3-D input \(C, H, W\) or a 4-D batch \(N, C, H, W\), got shape \(1, 1, 1, 4, 4\)$",
        ),
        (
            lambda: cr.max_pool2d(np.ones((1, 1, 2, 2)), 3),
            r"max_pool2d: kernel \(3, 3\) is larger than the padded input \(2, 2\) \(input shape \(1, 1, 2, 2\), padding \(0, 0\)\)",
        ),
        (
            lambda: cr.avg_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2),
            r"avg_pool2d: padding \(2, 2\) must be at most half the kernel \(2, 2\) \(input shape \(1, 1, 4, 4\)\)",
        ),
        (lambda: cr.avg_pool2d(np.ones((1, 1, 4, 4)), 0), "avg_pool2d: kernel_size must be a positive integer"),
        (
            lambda: cr.max_pool2d(np.ones((2, 3, 3)), 2, padding=2),
            r"max_pool2d: padding \(2, 2\) must be at most half the kernel \(2, 2\) \(input shape \(2, 3, 3\)\)",
        ),
        (
            lambda: cr.avg_pool2d(np.ones((2, 2, 2)), 3),
            r"avg_pool2d: kernel \(3, 3\) is larger than the padded input \(2, 2\) \(input shape \(2, 2, 2\)",
        ),
        (
            lambda: cr.max_pool2d(np.ones((1, 1, 2, 2)), 3, stride=1, ceil_mode=True),
            r"max_pool2d: kernel \(3, 3\) \(spanning \(3, 3\)\) is larger than the padded input \(2, 2\) by more than "
            r"the stride \(1, 1\) \(input shape \(1, 1, 2, 2\), padding \(0, 0\), ceil_mode=True\)",
        ),
        (lambda: cr.max_pool2d(np.ones((1, 1, 4, 4)), 2, ceil_mode=1), "max_pool2d: ceil_mode must be True or False"),
        (
            lambda: cr.avg_pool2d(np.ones((1, 1, 4, 4)), 2, count_include_pad="no"),
            "avg_pool2d: count_include_pad must be True or False, got the string 'no'",
        ),
    ],
)
def test_bad_inputs_get_one_line_naming_the_op_and_shapes(call, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message) as raised:
        call()
    assert "\n" not in str(raised.value)


def test_an_infinite_upstream_gradient_reaches_only_each_windows_maximum(torch) -> None:
    """The tiling fast path multiplied by its mask: False · inf made nan on the pixels that lost."""
    g = np.array([[[[np.inf, 1.0]]]])
    for other in (5.0, np.nan):  # a NaN elsewhere sends the call down the general path: the same gradient
        x = np.array([[[[0.0, -1.0, 2.0, other], [-2.0, -3.0, 0.5, 0.1]]]])
        cx = cr.tensor(x, requires_grad=True)
        cr.max_pool2d(cx, 2).backward(g)
        tx = torch.tensor(x, requires_grad=True)
        torch.nn.functional.max_pool2d(tx, 2).backward(torch.tensor(g))
        np.testing.assert_array_equal(cx.grad, tx.grad.numpy())
        assert not np.isnan(cx.grad[0, 0, :, :2]).any()


@pytest.mark.parametrize("padding", [0, 1])
def test_max_pooling_bool_values_is_refused_in_one_line(padding) -> None:
    with pytest.raises(cr.DTypeError, match="max_pool2d: the input holds bool values"):
        cr.max_pool2d(np.ones((1, 1, 4, 4), dtype=bool), 3, 1, padding)
