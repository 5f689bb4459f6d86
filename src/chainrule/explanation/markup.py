"""Names, formulas and numbers written for LaTeX and Markdown, every special character escaped.

``explain`` writes a derivation in several formats; whatever a user named a tensor (``a|b``,
``<script>``, ``x_y^z%``), each format must show that name as it is and stay well formed.
HTML escaping is ``html.escape``; DOT's is in ``chainrule.draw``.

    >>> latex_name("w1"), latex_name("a|b{c}")
    ('w_{1}', '\\\\text{a\\\\textbar{}b\\\\{c\\\\}}')
    >>> markdown_text("w_1*")
    'w\\\\_1\\\\*'
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import format_shape
from .number_format import format_number, format_value, restyle, restyle_numbers

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "sigma", "tau", "phi", "omega"}


_LATEX_TEXT = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_name(name: str) -> str:
    """``w1`` → ``w_{1}``, ``yhat`` → ``\\hat{y}``, ``Div`` → ``\\mathrm{Div}``, ``1e-08`` → ``10^{-8}``.

    Any other name is set upright as it is written, every character LaTeX treats specially
    escaped: ``a|b{c}`` → ``\\text{a\\textbar{}b\\{c\\}}``.
    """
    if re.fullmatch(r"-?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|nan|inf)", name):
        return restyle(name, "latex")
    match = re.fullmatch(r"([A-Za-z]+?)(hat)?_?(\d+)?(_\d+)?", name)
    if not match:
        if re.fullmatch(r"[A-Za-z0-9_.]+", name):  # layers.0.weight
            return r"\mathrm{" + name.replace("_", r"\_") + "}"
        return r"\text{" + "".join(_LATEX_TEXT.get(character, character) for character in name) + "}"
    base, hat, index, suffix = match.groups()
    if base.lower() in _GREEK:
        base = "\\" + base
    elif len(base) > 1:
        base = rf"\mathrm{{{base}}}"
    if hat:
        base = rf"\hat{{{base}}}"
    if index:
        base += f"_{{{index}}}"
    if suffix:
        base += f"^{{({suffix[1:]})}}"
    return base


_LATEX_SYMBOLS = [
    ("σ", r"\sigma"),
    ("·", r"\cdot"),
    ("−", "-"),
    ("²", "^{2}"),
    ("³", "^{3}"),
    ("⁻¹", "^{-1}"),
    ("√", r"\sqrt "),
    ("‖", r"\|"),
    ("Σ", r"\sum "),
    ("ᵀ", r"^{\top}"),
    (" @ ", r"\,"),
    ("…", r"\dots"),
]


def latex_formula(formula: str) -> str:
    """A formula of ``Function.formula`` in LaTeX: symbols translated, function names upright, numbers as
    ``2.5 \\times 10^{-8}``, an exponent in braces."""
    for symbol, latex in _LATEX_SYMBOLS:
        formula = formula.replace(symbol, latex)
    formula = re.sub(r"\bln\(", r"\\ln(", formula)
    formula = re.sub(r"\bexp\(", r"\\exp(", formula)
    formula = re.sub(r"(?<![\\\w])([a-z][a-z_]+)\(", _operator_name, formula)
    formula = re.sub(r"\^(-?(?:\d+\.?\d*|\.\d+)(?:e[+-]\d+)?)", lambda m: f"^{{{restyle(m[1], 'latex')}}}", formula)
    return restyle_numbers(formula, "latex")


def _operator_name(match: re.Match) -> str:
    name = match.group(1).replace("_", r"\_")
    return rf"\operatorname{{{name}}}("


def latex_value(values: np.ndarray, digits: int) -> str:
    """A number, or a small vector or matrix as a bmatrix; larger arrays by their shape only."""
    values = np.asarray(values)
    if values.size == 1:
        return format_value(values, digits, "latex")
    if values.ndim <= 2 and values.size <= 36:
        matrix = values.reshape(1, -1) if values.ndim == 1 else values
        rows = [" & ".join(format_number(v, digits, "latex") for v in row) for row in matrix]
        return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"
    return rf"\text{{(array of shape {format_shape(values.shape)})}}"


def latex_factor(values: np.ndarray, digits: int) -> str:
    text = latex_value(values, digits)
    return rf"\left({text}\right)" if text.startswith("-") else text


def markdown_cell(text: str) -> str:
    """Text in a Markdown table cell: a bar would end the cell."""
    return text.replace("|", r"\|")


def markdown_text(name: str) -> str:
    """A name in Markdown text, every character that could start markup backslash-escaped (``w_1*`` → ``w\\_1\\*``)."""
    return re.sub(r"([\\`*_\[\]<>|&~#])", r"\\\1", name)


def markdown_code(name: str, in_table: bool = True) -> str:
    """A name as Markdown code: fenced by more backticks than it holds; in a table, its bars escaped."""
    longest = max((len(run) for run in re.findall("`+", name)), default=0)
    fence, pad = "`" * (longest + 1), " " if name.startswith("`") or name.endswith("`") else ""
    return f"{fence}{pad}{markdown_cell(name) if in_table else name}{pad}{fence}"
