"""Formulas, names and derivative rules as MathML, which browsers typeset natively (nothing to download).

The page of ``save_html`` writes every formula this way. Names read as on paper, as in
``latex_name``: ``w1`` → w₁, ``yhat`` → ŷ, ``sigma`` → σ; any other name is set as it is,
escaped (``<script>`` shows as text).

    >>> name_mathml("w1")
    '<msub><mi>w</mi><mn>1</mn></msub>'
    >>> formula_mathml("d/dx σ(x) = σ(x)(1 − σ(x))")[:60]
    '<mfrac><mi>d</mi><mrow><mi>d</mi><mi>x</mi></mrow></mfrac><m'
"""

from __future__ import annotations

import re
from html import escape

_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
}
_SUPERSCRIPT = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9"}
_SUPERSCRIPT.update({"⁻": "−", "ᵖ": "p", "ᵇ": "b", "ˣ": "x", "ᵀ": "T", "ⁿ": "n"})
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+|×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"
_TOKEN = re.compile(
    r"(?P<derivative>[d∂])/[d∂](?P<variable>[A-Za-z]\w*)"
    rf"|(?P<number>{_NUMBER})"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<greek>[α-ωΑ-Ω])"
    rf"|(?P<superscript>[{''.join(_SUPERSCRIPT)}]+)"
    r"|(?P<caret>\^)"
    r"|(?P<space>\s+)"
    r"|(?P<slot>[\ue000-\uf8ff])"
    r"|(?P<other>.)"
)


def name_mathml(name: str) -> str:
    """A tensor's name: ``w1`` → w with subscript 1, ``yhat`` → y with a hat, a number as a number."""
    if re.fullmatch(rf"-?{_NUMBER}|nan|inf", name):
        return _number(name)
    match = re.fullmatch(r"([A-Za-z]+?)(hat)?(?:_?(\d+))?", name)  # an underscore only before a subscript
    if not match:
        return f"<mi>{escape(name)}</mi>"
    base, hat, index = match.groups()
    element = f"<mi>{_GREEK.get(base, escape(base))}</mi>"  # "beta" is β; "BETA" stays as written
    if hat:
        element = f'<mover accent="true">{element}<mo>^</mo></mover>'
    if index:
        element = f"<msub>{element}<mn>{index}</mn></msub>"
    return element


def _number(text: str) -> str:
    sign = "<mo>−</mo>" if text.startswith("-") else ""
    text = text.lstrip("-")
    power = re.fullmatch(r"([\d.]+)e([+-]?\d+)", text)
    if power:  # 1e-08 → 10⁻⁸, as restyle writes it
        mantissa, exponent = power.group(1), str(int(power.group(2)))
        ten = f"<msup><mn>10</mn><mn>{exponent.replace('-', '−')}</mn></msup>"
        return sign + (ten if mantissa == "1" else f"<mn>{mantissa}</mn><mo>×</mo>{ten}")
    return sign + f"<mn>{escape(text)}</mn>"


def formula_mathml(text: str, slots: dict[str, str] | None = None) -> str:
    """A formula or rule written in chainrule's text (``σ(s1)``, ``t7²``, ``d/da (a · b) = b``) as MathML.

    ``slots`` maps placeholder characters to MathML already made (the inputs' names); words
    that are not names of functions are set as they are, so a rule's words read as words.
    """
    slots = slots or {}
    elements: list[str] = []
    tokens = list(_TOKEN.finditer(text))
    raise_next = False
    for index, token in enumerate(tokens):
        kind, value = ("derivative" if token.group("derivative") else token.lastgroup), token.group()
        following = tokens[index + 1].group() if index + 1 < len(tokens) else ""
        if kind == "space":
            continue
        if kind == "derivative":
            d = "∂" if value.startswith("∂") else "d"
            element = f"<mfrac><mi>{d}</mi><mrow><mi>{d}</mi>{name_mathml(token.group('variable'))}</mrow></mfrac>"
        elif kind == "number":
            element = _number(value)
        elif kind == "word":
            if following == "(" and len(value) > 1 and value.lower() not in _GREEK:
                element = f"<mi>{escape(value)}</mi><mo>&#x2061;</mo>"  # a function name, applied
            elif len(value) == 1 or re.fullmatch(r"[A-Za-z]+(hat)?_?\d*", value) and len(value) <= 5:
                element = name_mathml(value)
            else:
                element = f"<mtext>&#xa0;{escape(value)}&#xa0;</mtext>"
        elif kind == "greek":
            element = f"<mi>{value}</mi>" + ("<mo>&#x2061;</mo>" if following == "(" else "")
        elif kind == "superscript":
            element = "<mrow>" + "".join(_superscript_mathml(_SUPERSCRIPT[c]) for c in value) + "</mrow>"
            if elements:
                elements[-1] = f"<msup>{_last_atom(elements[-1])}{element}</msup>"
                continue
        elif kind == "caret":
            raise_next = True
            continue
        elif kind == "slot":
            element = slots.get(value, "<mi>?</mi>")
        else:
            element = f"<mo>{escape(value)}</mo>"
        if raise_next and elements:
            elements[-1] = f"<msup>{_last_atom(elements[-1])}<mrow>{element}</mrow></msup>"
            raise_next = False
            continue
        elements.append(element)
    return "".join(elements)


def _superscript_mathml(character: str) -> str:
    if character.isdigit():
        return f"<mn>{character}</mn>"
    return f"<mi>{character}</mi>" if character.isalpha() else f"<mo>{character}</mo>"


def _last_atom(element: str) -> str:
    return element if element.count("<") <= 2 else f"<mrow>{element}</mrow>"


def math(content: str, display: bool = False) -> str:
    """A ``<math>`` element around MathML content."""
    return f'<math display="block">{content}</math>' if display else f"<math>{content}</math>"


def partial(top: str, bottom: str) -> str:
    """∂top/∂bottom as a fraction, both names made MathML."""
    return f"<mfrac><mrow><mo>∂</mo>{name_mathml(top)}</mrow><mrow><mo>∂</mo>{name_mathml(bottom)}</mrow></mfrac>"
