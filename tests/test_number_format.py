"""chainrule.explanation.number_format: significant digits in every style, never a nonzero number as 0."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from printed import arrays_of_every_size, assert_faithful, floats_of_every_size, printed_numbers

from chainrule.explanation.explain import latex_value
from chainrule.explanation.number_format import check_digits, format_number, format_value, restyle_numbers

STYLES = ["text", "unicode", "latex"]


@settings(max_examples=300, deadline=None)
@given(values=arrays_of_every_size(), digits=st.integers(1, 17), style=st.sampled_from(STYLES))
def test_every_printed_number_reads_back_as_its_value(values, digits, style) -> None:
    assert_faithful(printed_numbers(format_value(values, digits, style), style), values, digits)
    if style == "latex":
        assert_faithful(printed_numbers(latex_value(values, digits), style), values, digits)


@settings(max_examples=300, deadline=None)
@given(value=floats_of_every_size, digits=st.integers(1, 17), style=st.sampled_from(STYLES))
def test_every_printed_scalar_reads_back_as_its_value(value, digits, style) -> None:
    assert_faithful(printed_numbers(format_number(value, digits, style), style), np.array(value), digits)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_lower_precision_arrays_print_their_own_values(dtype) -> None:
    values = np.array([1e-4, 3.14159, -6e-5, 0.0], dtype=dtype)
    assert_faithful(printed_numbers(format_value(values, 3), "text"), values.astype(np.float64), 3)


def test_mixed_magnitudes_keep_the_small_ones() -> None:
    assert format_value(np.array([[0.5, -1.0], [2.0, 0.1]]), 2) == "(2, 2) [[0.5, -1], [2, 0.1]]"
    assert format_value(np.array([1e6, 1.23456e-7, -1.0]), 3) == "(3,) [1e+06, 1.23e-07, -1]"
    assert format_value(np.array([0.00166804, -0.00333609, 0.0823563]), 3) == "(3,) [0.00167, -0.00334, 0.0824]"


def test_zeros_and_values_that_are_not_finite() -> None:
    values = np.array([0.0, -0.0, np.nan, np.inf, -np.inf])
    assert format_value(values) == "(5,) [0, 0, nan, inf, -inf]"
    assert format_value(values, style="unicode") == "(5,) [0, 0, nan, ∞, -∞]"
    assert latex_value(values, 6) == r"\begin{bmatrix}0 & 0 & \mathrm{NaN} & \infty & -\infty\end{bmatrix}"
    assert format_number(-1e-300, 1) == "-1e-300"


def test_scientific_notation_in_each_style() -> None:
    assert format_number(1.66804e-5, 3, "text") == "1.67e-05"
    assert format_number(1.66804e-5, 3, "unicode") == "1.67×10⁻⁵"
    assert format_number(1.66804e-5, 3, "latex") == r"1.67 \times 10^{-5}"
    assert format_number(-1e12, 3, "unicode") == "-10¹²"
    assert format_number(-1e12, 3, "latex") == "-10^{12}"
    assert format_number(123456.0, 3) == "1.23e+05"  # not 123000, which would claim three more digits


def test_whole_numbers_and_booleans_print_as_they_are() -> None:
    assert format_value(np.array([3, -12345678])) == "(2,) [3, -12345678]"
    assert format_value(np.array([True, False])) == "(2,) [True, False]"


@pytest.mark.parametrize(
    ("digits", "error", "message"),
    [
        (0, ValueError, "explain: digits must be at least 1 (significant digits), got 0"),
        (-3, ValueError, "explain: digits must be at least 1"),
        (2.5, TypeError, "explain: digits must be a whole number of significant digits, got 2.5"),
        (True, TypeError, "explain: digits must be a whole number"),
        ("3", TypeError, "explain: digits must be a whole number of significant digits, got '3'"),
    ],
)
def test_digits_must_be_a_positive_whole_number(digits, error, message) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        check_digits(digits, "explain")
    assert check_digits(np.int64(3), "explain") == 3


def test_numbers_inside_text_take_the_style() -> None:
    assert restyle_numbers("clip(x, 1e-08, None) · 2.5e+12", "unicode") == "clip(x, 10⁻⁸, None) · 2.5×10¹²"
    assert restyle_numbers("leaky_relu(x, 1e-08) · -inf", "latex") == r"leaky_relu(x, 10^{-8}) · -\infty"
    assert restyle_numbers("x1e5 · 3.5 · nanx", "unicode") == "x1e5 · 3.5 · nanx"  # parts of words are not numbers
    assert restyle_numbers("x · 1e-08", "text") == "x · 1e-08"


def test_arrays_of_three_or_more_axes_are_summarised_not_printed_element_by_element() -> None:
    images = np.zeros((2, 3, 4, 4))
    images[0, 0, 0, :3] = [-1.5, 2.25, 0.001234]
    images[1, 2, 3, 3] = np.nan
    # the mean of the 95 finite values
    assert format_value(images, 3) == "(2, 3, 4, 4) min -1.5, mean 0.00791, max 2.25; 92 of 96 zero, 1 nan"
    assert format_value(np.full((2, 2, 7), np.inf), 3, "unicode") == "(2, 2, 7) 28 ±∞"
    assert format_value(np.ones((2, 3, 5)), 3) == "(2, 3, 5) min 1, mean 1, max 1"
    assert (
        format_value(np.ones((2, 2, 2)), 3) == "(2, 2, 2) [[[1, 1], [1, 1]], [[1, 1], [1, 1]]]"
    )  # 8 numbers: all shown
