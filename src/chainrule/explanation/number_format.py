"""How chainrule prints numbers: ``digits`` significant digits, never a nonzero number as 0.

One rule for every number that ``explain``, ``draw`` and the gradient-check reports show: each
number on its own is rounded to ``digits`` significant digits (Python's ``g`` format), so
0.00166804 with 3 digits is 0.00167 however large its neighbours in an array are, and numbers
too small or too large for plain decimals switch to scientific notation. Exact zeros print as
0 (negative zero too), NaN as nan and infinities as inf. Three styles of the same number:

    >>> format_number(0.0000166804, 3), format_number(0.0000166804, 3, "unicode")
    ('1.67e-05', '1.67×10⁻⁵')
    >>> format_number(0.0000166804, 3, "latex")
    '1.67 \\\\times 10^{-5}'
    >>> format_value(np.array([[0.5, -1.0], [2.0, 0.1]]), 2)
    '(2, 2) [[0.5, -1], [2, 0.1]]'
"""

from __future__ import annotations

import numbers
import re
from typing import Literal

import numpy as np

from ..errors import format_shape

Style = Literal["text", "unicode", "latex"]  # terminal and DOT; Markdown and HTML; LaTeX

_SCIENTIFIC = re.compile(r"(-?)([\d.]+)e([+-]\d+)")
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_NOT_FINITE = {
    "text": {"nan": "nan", "inf": "inf", "-inf": "-inf"},
    "unicode": {"nan": "nan", "inf": "∞", "-inf": "-∞"},
    "latex": {"nan": r"\mathrm{NaN}", "inf": r"\infty", "-inf": r"-\infty"},
}


def check_digits(digits: object, caller: str) -> int:
    """``digits`` as an int, or a one-line error naming ``caller`` (``explain``, ``draw``)."""
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise TypeError(f"{caller}: digits must be a whole number of significant digits, got {digits!r}")
    if digits < 1:
        raise ValueError(f"{caller}: digits must be at least 1 (significant digits), got {digits}")
    return int(digits)


def format_number(value: object, digits: int = 6, style: Style = "text") -> str:
    """One number with ``digits`` significant digits in ``style``; whole numbers and booleans as they are."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    if number == 0:
        return "0"  # -0.0 too: a sign on nothing only confuses
    return restyle(f"{number:.{digits}g}", style)


def restyle(text: str, style: Style) -> str:
    """A number written by Python (``1.67e-05``, ``nan``) in ``style``: ``1.67×10⁻⁵`` or ``1.67 \\times 10^{-5}``."""
    if text.lstrip("+") in _NOT_FINITE["text"]:
        return _NOT_FINITE[style][text.lstrip("+")]
    match = _SCIENTIFIC.fullmatch(text)
    if style == "text" or match is None:
        return text
    sign, mantissa, exponent = match.group(1), match.group(2), str(int(match.group(3)))
    if style == "unicode":
        power = "10" + exponent.translate(_SUPERSCRIPTS)
        return sign + (power if mantissa == "1" else f"{mantissa}×{power}")
    power = f"10^{{{exponent}}}"
    return sign + (power if mantissa == "1" else rf"{mantissa} \times {power}")


_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])((?:\d+\.?\d*|\.\d+)e[+-]\d+|nan|inf)(?![\w.])")


def restyle_numbers(text: str, style: Style) -> str:
    """Every number in scientific notation (and nan, inf) within ``text``, as ``restyle`` writes it.

    >>> restyle_numbers("clip(x, 1e-08, inf)", "unicode")
    'clip(x, 10⁻⁸, ∞)'
    """
    return text if style == "text" else _NUMBER_IN_TEXT.sub(lambda match: restyle(match[1], style), text)


def format_value(values: object, digits: int = 6, style: Style = "text") -> str:
    """A number, or an array on one line after its shape (elided beyond 24 elements), every element by
    ``format_number``; an array of three or more axes and over 24 elements (a batch of images, a
    convolution's weights) as its shape and a summary (``summarize``) instead of pages of numbers."""
    values = np.asarray(values)
    if values.size == 1:
        return format_number(values.reshape(()).item(), digits, style)
    if values.ndim >= 3 and values.size > 24 and values.dtype.kind in "biuf":
        return summarize(values, digits, style)
    body = np.array2string(
        values,
        formatter={"all": lambda element: format_number(element, digits, style)},
        threshold=24,
        edgeitems=2,
        separator=", ",
        max_line_width=10**6,
    )
    return f"{format_shape(values.shape)} {' '.join(body.split())}"


def summarize(values: np.ndarray, digits: int = 6, style: Style = "text") -> str:
    """An array's shape with the least, mean and largest of its finite values, and how many are 0, nan or ±inf.

    >>> summarize(np.array([[[0.0, 1.0], [2.0, np.nan]]]), 3)
    '(1, 2, 2) min 0, mean 1, max 2; 1 of 4 zero, 1 nan'
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    parts = []
    if finite.size:
        low, mean, high = (format_number(v, digits, style) for v in (finite.min(), finite.mean(), finite.max()))
        parts.append(f"min {low}, mean {mean}, max {high}")
    zeros, nans, infinite = (np.count_nonzero(test) for test in (values == 0, np.isnan(values), np.isinf(values)))
    counts = [f"{zeros} of {values.size} zero"] if zeros else []
    counts += [f"{nans} nan"] if nans else []
    counts += [f"{infinite} ±{restyle('inf', style)}"] if infinite else []
    return f"{format_shape(values.shape)} " + "; ".join(filter(None, [*parts, ", ".join(counts)]))
