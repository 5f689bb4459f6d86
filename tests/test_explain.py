"""explain(): the derivation written out, in text, Markdown, LaTeX and HTML."""

from __future__ import annotations

import html.parser
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from printed import arrays_of_every_size, assert_faithful, printed_numbers

import chainrule as cr
from chainrule.examples import scalar_network as seed
from chainrule.explain import format_value, latex_name


@pytest.fixture
def seed_explanation():
    return cr.explain(seed.build()[0])


def test_text_contains_every_intermediate_value_of_the_hand_derivation(seed_explanation) -> None:
    text = seed_explanation.text()
    # the report's forward values, in our 6 significant digits
    for line in [
        "s1   = t1 + t2     [add]      = 1.31",
        "h1   = σ(s1)       [sigmoid]  = 0.787513",
        "s2   = t4 + t5     [add]      = 2.94",
        "h2   = σ(s2)       [sigmoid]  = 0.949789",
        "s3   = t3 + t6     [add]      = 0.317392",
        "yhat = σ(s3)       [sigmoid]  = 0.578688",
        "Div  = t7²         [pow]      = 0.00619187",
    ]:
        assert line in text
    # and the report's backward chain, step by step
    for line in [
        "∂Div/∂yhat = ∂Div/∂t7 · ∂t7/∂yhat = 0.157377 · 1 = 0.157377",
        "∂Div/∂s3 = ∂Div/∂yhat · ∂yhat/∂s3 = 0.157377 · 0.243808 = 0.0383698",
        "∂Div/∂h1 = ∂Div/∂t3 · ∂t3/∂h1 = 0.0383698 · (-0.2) = -0.00767395",
        "∂Div/∂s1 = ∂Div/∂h1 · ∂h1/∂s1 = (-0.00767395) · 0.167336 = -0.00128413",
        "∂Div/∂w1 = ∂Div/∂t1 · ∂t1/∂w1 = (-0.00128413) · (-0.7) = 0.000898891",
    ]:
        assert line in text
    assert "rule: d/dx σ(x) = σ(x)(1 − σ(x))" in text
    gradients = text.split("Gradients\n")[1].splitlines()
    assert [line.split("=")[0].strip() for line in gradients] == [f"∂Div/∂w{i}" for i in range(1, 7)]


def test_gradients_equal_backward_and_leaves_are_untouched(seed_explanation) -> None:
    loss, nodes = seed.build()
    explanation = cr.explain(loss)
    assert all(nodes[f"w{i}"].grad is None for i in range(1, 7))
    loss.backward()
    for i in range(1, 7):
        assert explanation.gradients[f"w{i}"] == pytest.approx(nodes[f"w{i}"].grad)


def test_markdown_is_well_formed(seed_explanation) -> None:
    markdown = seed_explanation.markdown()
    tables = [block for block in markdown.split("\n\n") if block.startswith("|")]
    assert len(tables) == 2
    for table in tables:
        rows = table.strip().splitlines()
        assert re.fullmatch(r"\|(---\|)+", rows[1])
        columns = rows[0].count("|")
        for row in rows:
            assert row.startswith("|") and row.endswith("|")
            assert row.replace(r"\|", "").count("|") == columns, row
    assert "- ∂Div/∂`w1` = 0.000898891" in markdown


def test_markdown_escapes_bars() -> None:
    x = cr.tensor([1.0, -2.0], requires_grad=True, name="x")
    markdown = cr.explain(cr.abs(x).sum()).markdown()
    assert r"\|x\|" in markdown


def test_latex_is_well_formed(seed_explanation) -> None:
    latex = seed_explanation.latex()
    assert latex.count(r"\begin{align*}") == latex.count(r"\end{align*}") == 3
    stack = []
    for character in latex.replace(r"\{", "").replace(r"\}", ""):
        if character == "{":
            stack.append(character)
        elif character == "}":
            assert stack, "unbalanced }"
            stack.pop()
    assert not stack
    assert r"h_{1} &= \sigma(s_{1}) = 0.787513 \\" in latex
    assert r"\hat{y}" in latex and r"\mathrm{Div}" in latex
    assert r"\frac{\partial \mathrm{Div}}{\partial w_{1}} &= 0.000898891 \\" in latex


def test_html_for_jupyter_parses(seed_explanation) -> None:
    class Checker(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.open = []

        def handle_starttag(self, tag, attrs):
            if tag != "br":
                self.open.append(tag)

        def handle_endtag(self, tag):
            assert self.open.pop() == tag

    checker = Checker()
    checker.feed(seed_explanation._repr_html_())
    assert checker.open == []


def test_vectors_print_in_full_and_large_arrays_are_elided() -> None:
    assert format_value(np.array([1.5, 2.0])) == "(2,) [1.5, 2]"
    big = format_value(np.arange(1000.0).reshape(100, 10))
    assert big.startswith("(100, 10) [[") and "..." in big and len(big) < 200


def test_names_in_latex() -> None:
    assert latex_name("w1") == "w_{1}"
    assert latex_name("yhat") == r"\hat{y}"
    assert latex_name("sigma") == r"\sigma"
    assert latex_name("Div") == r"\mathrm{Div}"
    assert latex_name("0.5") == "0.5"
    assert latex_name("1.5e-08") == r"1.5 \times 10^{-8}"  # an unnamed constant, named by its value


def test_shared_nodes_and_matrices(rng) -> None:
    w = cr.tensor(rng.normal(size=(3, 2)), requires_grad=True, name="W")
    h = cr.tanh(cr.tensor(np.ones(3), name="x") @ w).named("h")
    loss = (h * h).sum() + h.sum()
    text = cr.explain(loss).text()
    assert "∂L/∂h = sum over its 3 uses" in text
    assert "∂L/∂h += (∂L/∂t2) pulled back through h · h" in text
    assert "pulled back through x @ W: (3, 2)" in text


def test_explain_refuses_what_it_cannot_explain() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match=r"explain: the tensor has shape \(2,\)"):
        cr.explain(x * 2)
    with pytest.raises(cr.GraphError, match="nothing to explain"):
        cr.explain(cr.tensor(1.0))
    loss = (x * 2).sum()
    loss.backward()
    with pytest.raises(cr.GraphError, match="freed by backward"):
        cr.explain(loss)


def issue_example() -> tuple[cr.Tensor, cr.Tensor]:
    """Issue 10's example: ∂L/∂W has elements 0.00166804 and -0.00333609 next to -0.164713."""
    w = cr.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True, name="W")
    return cr.squared_norm(cr.sigmoid(cr.tensor([1.0, -2.0]) @ w)), w


def test_small_gradients_next_to_large_ones_keep_their_digits_in_every_format(torch) -> None:
    loss, w = issue_example()
    explanation = cr.explain(loss, digits=3)
    w_torch = torch.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    (torch.sigmoid(torch.tensor([1.0, -2.0]) @ w_torch) ** 2).sum().backward()
    true = w_torch.grad.numpy()
    assert true[0, 0] == pytest.approx(0.00166804, rel=1e-5) and true[1, 0] == pytest.approx(-0.00333609, rel=1e-5)
    shown = "[[0.00167, 0.0824], [-0.00334, -0.165]]"
    assert f"∂L/∂W = (2, 2) {shown}" in explanation.text()
    assert f"- ∂L/∂`W` = (2, 2) {shown}" in explanation.markdown()
    assert f"∂L/∂<code>W</code> = (2, 2) {shown}</li>" in explanation._repr_html_()
    latex_matrix = r"\begin{bmatrix}0.00167 & 0.0824 \\ -0.00334 & -0.165\end{bmatrix}"
    assert rf"\frac{{\partial L}}{{\partial W}} &= {latex_matrix} \\" in explanation.latex()
    gradient_line = explanation.text().splitlines()[-1]
    assert_faithful(printed_numbers(gradient_line.split(" = ", 1)[1], "text"), true, 3)


def test_two_digits_print_the_weights_as_they_are() -> None:
    loss, _ = issue_example()
    text = cr.explain(loss, digits=2).text()
    assert "W  = (2, 2) [[0.5, -1], [2, 0.1]]    (requires grad)" in text
    assert "∂L/∂W = (2, 2) [[0.0017, 0.082], [-0.0033, -0.16]]" in text


def test_tiny_and_huge_numbers_in_scientific_notation_per_format() -> None:
    x = cr.tensor([1e-9, 2.5e12], requires_grad=True, name="x")
    explanation = cr.explain((x * x).sum(), digits=3)
    assert "∂L/∂x = (2,) [2e-09, 5e+12]" in explanation.text()
    assert "- ∂L/∂`x` = (2,) [2×10⁻⁹, 5×10¹²]" in explanation.markdown()
    assert "= (2,) [2×10⁻⁹, 5×10¹²]</li>" in explanation._repr_html_()
    assert r"\begin{bmatrix}2 \times 10^{-9} & 5 \times 10^{12}\end{bmatrix}" in explanation.latex()
    assert "e-" not in explanation.latex() and "e+" not in explanation.latex()


@settings(max_examples=60, deadline=None)
@given(gradient=arrays_of_every_size(), digits=st.integers(1, 17))
def test_every_format_prints_every_gradient_to_its_digits(gradient, digits) -> None:
    x = cr.tensor(np.zeros(gradient.shape), requires_grad=True, name="x")  # zeros: no overflow in the sum
    explanation = cr.explain((x * cr.tensor(gradient, name="g")).sum(), digits=digits)  # ∂L/∂x = g exactly
    text = explanation.text().splitlines()[-1]
    markdown = explanation.markdown().splitlines()[-1]
    latex = explanation.latex().splitlines()[-2]
    html_item = explanation._repr_html_().rsplit("<li>", 1)[1]
    assert text.startswith("  ∂L/∂x = ") and markdown.startswith("- ∂L/∂`x` = ")
    assert latex.startswith(r"\frac{\partial L}{\partial x} &= ") and html_item.startswith("∂L/∂<code>x</code> = ")
    for shown, style in [
        (text.split(" = ", 1)[1], "text"),
        (markdown.split(" = ", 1)[1], "unicode"),
        (latex.split(" &= ", 1)[1].removesuffix(r" \\"), "latex"),
        (html.unescape(html_item.split(" = ", 1)[1].removesuffix("</li></ul></div>")), "unicode"),
    ]:
        assert_faithful(printed_numbers(shown, style), gradient, digits)


def test_digits_are_checked_by_explain() -> None:
    loss, _ = issue_example()
    with pytest.raises(ValueError, match=r"^explain: digits must be at least 1 \(significant digits\), got 0$"):
        cr.explain(loss, digits=0)
    with pytest.raises(TypeError, match=r"^explain: digits must be a whole number of significant digits, got 2.5$"):
        cr.explain(loss, digits=2.5)
    assert "0.002" in cr.explain(loss, digits=1).text()  # one significant digit: 0.00166804 → 0.002
