"""MathML for the HTML page: names read as on paper, rules typeset, everything escaped and well formed."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from hypothesis import given
from hypothesis import strategies as st

from chainrule.explanation.mathml import _GREEK, formula_mathml, math, name_mathml, partial


def parsed(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup.replace("&#x2061;", "&#8289;").replace("&#xa0;", "&#160;"))


def test_names_read_as_on_paper() -> None:
    assert name_mathml("w1") == "<msub><mi>w</mi><mn>1</mn></msub>"
    assert name_mathml("yhat") == '<mover accent="true"><mi>y</mi><mo>^</mo></mover>'
    assert name_mathml("sigma2") == "<msub><mi>σ</mi><mn>2</mn></msub>"
    assert name_mathml("Div") == "<mi>Div</mi>"
    assert name_mathml("1e-08") == "<msup><mn>10</mn><mn>−8</mn></msup>"
    assert name_mathml("-2.5") == "<mo>−</mo><mn>2.5</mn>"
    assert name_mathml("<script>") == "<mi>&lt;script&gt;</mi>"


def test_rules_are_typeset() -> None:
    rule = formula_mathml("d/dx xᵖ = p·xᵖ⁻¹ (p a constant number)")
    assert rule.startswith("<mfrac><mi>d</mi><mrow><mi>d</mi><mi>x</mi></mrow></mfrac>")
    assert "<msup><mi>x</mi><mrow><mi>p</mi><mo>−</mo><mn>1</mn></mrow></msup>" in rule
    assert "<mtext>&#xa0;constant&#xa0;</mtext>" in rule
    assert formula_mathml("σ(x)").startswith("<mi>σ</mi><mo>&#x2061;</mo><mo>(</mo>")
    assert formula_mathml("exp(x)") == "<mi>exp</mi><mo>&#x2061;</mo><mo>(</mo><mi>x</mi><mo>)</mo>"


def test_slots_and_powers() -> None:
    slots = {"\ue000": name_mathml("t7")}
    squared = formula_mathml("\ue000²", slots)
    assert squared == "<msup><mrow><msub><mi>t</mi><mn>7</mn></msub></mrow><mrow><mn>2</mn></mrow></msup>"
    assert formula_mathml("\ue000^3", slots).endswith("<mrow><mn>3</mn></mrow></msup>")


def test_partial_derivative() -> None:
    assert partial("Div", "w1") == (
        "<mfrac><mrow><mo>∂</mo><mi>Div</mi></mrow><mrow><mo>∂</mo><msub><mi>w</mi><mn>1</mn></msub></mrow></mfrac>"
    )


@given(st.text(min_size=1, max_size=30).filter(lambda t: "\x00" not in t and all(ord(c) >= 32 for c in t)))
def test_any_name_and_formula_is_well_formed_and_shown_as_written(name) -> None:
    element = parsed(math(name_mathml(name)))
    if "<mi>" in name_mathml(name) and name_mathml(name).count("<") == 2:  # one <mi>: the name as written
        assert "".join(element.itertext()) == _GREEK.get(name, name)  # (or a Greek letter's, written out)
    parsed(math(formula_mathml(name)))
    parsed(math(formula_mathml("\ue000 + 1", {"\ue000": name_mathml(name)})))
