"""Reading back the numbers chainrule prints, in each style, to hold them against the true values.

``printed_numbers`` takes what ``format_value`` or ``latex_value`` wrote (a number, a shape and a
bracketed array, or a LaTeX bmatrix) and returns every number in it, exactly, as a Decimal (or
a float NaN or infinity); ``assert_faithful`` checks each against the value it stands for.
"""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

_SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_UNICODE_POWER = re.compile(r"(-?)(?:([\d.]+)×)?10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_LATEX_POWER = re.compile(r"(-?)(?:([\d.]+) \\times )?10\^\{(-?\d+)\}")
_NOT_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "∞": math.inf, "-∞": -math.inf}
_NOT_FINITE |= {r"\mathrm{NaN}": math.nan, r"\infty": math.inf, r"-\infty": -math.inf}


def parse_number(token: str, style: str) -> Decimal | float:
    """One printed number, exactly: ``1.67e-05``, ``1.67×10⁻⁵`` or ``1.67 \\times 10^{-5}``."""
    if token in _NOT_FINITE:
        return _NOT_FINITE[token]
    power = {"text": None, "unicode": _UNICODE_POWER, "latex": _LATEX_POWER}[style]
    match = power.fullmatch(token) if power else None
    if match:
        sign, mantissa, exponent = match.groups()
        return Decimal(f"{sign}{mantissa or 1}e{exponent.translate(_SUPERSCRIPTS)}")
    assert re.fullmatch(r"-?\d+(\.\d+)?(e[+-]\d+)?", token), f"not a number as chainrule prints them: {token!r}"
    return Decimal(token)


def printed_numbers(text: str, style: str) -> list[Decimal | float]:
    """Every number in one printed value, in order (row by row)."""
    text = text.strip()
    if text.startswith(r"\begin{bmatrix}"):
        body = text.removeprefix(r"\begin{bmatrix}").removesuffix(r"\end{bmatrix}")
        tokens = [token for row in body.split(r" \\ ") for token in row.split(" & ")]
    elif text.startswith("("):
        body = text[text.index(") ") + 2 :]
        tokens = body.replace("[", "").replace("]", "").split(", ")
    else:
        tokens = [text]
    return [parse_number(token.strip(), style) for token in tokens]


def assert_faithful(printed: list[Decimal | float], values: np.ndarray, digits: int) -> None:
    """Each printed number is its value to ``digits`` significant digits: within half a unit in the
    last digit, nonzero where the value is, 0 where it is 0, NaN and infinities as they are."""
    values = np.asarray(values).ravel()
    assert len(printed) == values.size, (printed, values)
    with decimal.localcontext() as context:
        context.prec = 2000  # every float64 is exact in Decimal; keep the differences exact too
        for number, value in zip(printed, values.tolist()):
            if math.isnan(value):
                assert isinstance(number, float) and math.isnan(number)
            elif math.isinf(value):
                assert number == value
            elif value == 0:
                assert number == 0
            else:
                exact = Decimal(value)
                assert number != 0, f"{value!r} printed as 0"
                half_unit = Decimal(5) * Decimal(10) ** (exact.adjusted() - digits)
                assert abs(number - exact) <= half_unit, f"{value!r} printed as {number} with {digits} digits"


# floats of every size, and arrays that mix them: 1e-300 next to 1e+300, subnormals, exact zeros
floats_of_every_size = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.builds(lambda mantissa, exponent: mantissa * 10.0**exponent, st.floats(-9.99, 9.99), st.integers(-300, 300)),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308]),
)


def arrays_of_every_size(max_side: int = 4) -> st.SearchStrategy[np.ndarray]:
    """float64 vectors and matrices of at most 24 elements (printed in full, and as bmatrix in LaTeX)."""
    shapes = st.one_of(
        st.tuples(st.integers(1, 6)),
        st.tuples(st.integers(1, max_side), st.integers(1, max_side)),
    )
    return arrays(np.float64, shapes, elements=floats_of_every_size)
