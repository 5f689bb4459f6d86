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
from chainrule.explanation.explain import format_value, latex_name


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
    checker.feed(seed_explanation.html())
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
    with pytest.raises(cr.GraphError, match=r"^explain: the graph was freed by backward\(\); call explain before"):
        cr.explain(loss)


def test_a_change_in_place_is_reported_by_explain_in_its_own_name() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * w).sum()
    with cr.no_grad():
        w -= 1.0
    with pytest.raises(cr.GraphError, match="^explain: 'w' of mul .* was changed in place by -="):
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
    assert f"∂L/∂<code>W</code> = (2, 2) {shown}</li>" in explanation.html()
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
    assert "= (2,) [2×10⁻⁹, 5×10¹²]</li>" in explanation.html()
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
    html_item = explanation.html().rsplit("<li>", 1)[1]
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


HOSTILE_NAMES = ["a\\b", "a|b{c}<d>", "x_y^z%#&$~", "<script>alert(1)</script>", "q\"uo'te", "}{", "a`b", "w*1_"]


def balanced(latex: str) -> bool:
    depth = 0
    for character in latex.replace(r"\\", "").replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_escaped_in_latex(name) -> None:
    written = latex_name(name)
    assert balanced(written), written
    # with the escapes taken out, no character that LaTeX treats specially is left bare
    bare = re.sub(r"\\(text[a-z]*|mathrm)\b|\\[{}_%#&$]|\{\}", "", written)
    assert not set(bare) & set("\\#$%&_^~|<>"), written
    w = cr.tensor(2.0, requires_grad=True, name=name)
    latex = cr.explain((w * 3.0) ** 2).latex()
    assert balanced(latex)
    assert latex.count(written) == 5  # the forward row, its formula, and three derivatives


def test_an_empty_name_is_no_name() -> None:
    w = cr.tensor(2.0, requires_grad=True, name="")  # an empty name is no name: it used to print as \mathrm{}
    explanation = cr.explain(w * 3.0)
    assert r"p_{1} &= 2" in explanation.latex() and "∂L/∂p1 = 3" in explanation.text()
    assert r"\mathrm{}" not in explanation.latex()


def test_latex_exponents_are_grouped() -> None:
    x = cr.tensor(0.5, requires_grad=True, name="x")
    h = (x * 2.0).named("h1_2")  # written h_{1}^{(2)}: raising it again needs braces
    w = cr.tensor(3.0, requires_grad=True, name="w1")
    latex = cr.explain((x**2.5) + h**2 + cr.pow(x, w)).latex()
    assert r"x^{2.5}" in latex and r"{h_{1}^{(2)}}^{2}" in latex and r"x^{w_{1}}" in latex


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_keep_markdown_tables_and_html_whole(name) -> None:
    w = cr.tensor(2.0, requires_grad=True, name=name)
    explanation = cr.explain((w * 3.0) ** 2)
    for table in [block for block in explanation.markdown().split("\n\n") if block.startswith("|")]:
        for row in table.strip().splitlines():
            assert row.replace(r"\|", "").count("|") == table.splitlines()[0].count("|"), row

    class Reader(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.open, self.code = [], []

        def handle_starttag(self, tag, attrs):
            if tag != "br":
                self.open.append(tag)

        def handle_endtag(self, tag):
            assert self.open.pop() == tag

        def handle_data(self, data):
            if self.open and self.open[-1] == "code":
                self.code.append(data)

    reader = Reader()
    reader.feed(explanation.html())
    assert reader.open == [] and reader.code.count(name) == 2  # the forward row and the gradient, as written


def test_markdown_escapes_what_would_start_markup_in_names() -> None:
    w = cr.tensor(2.0, requires_grad=True, name="w*1_")
    markdown = cr.explain((w * 3.0) ** 2).markdown()
    assert r"| `w*1_` | *requires grad* |" in markdown  # in code: as it is
    assert r"| `t1` = w\*1\_ · 3 |" in markdown  # in text: escaped, so that * does not start emphasis
    assert "- ∂L/∂`w*1_` = 36" in markdown
    tick = cr.tensor(2.0, requires_grad=True, name="a`b|c")
    markdown = cr.explain(tick * 3.0).markdown()
    assert r"| ``a`b\|c`` | *requires grad* |" in markdown and "- ∂L/∂``a`b|c`` = 3" in markdown


def test_unnamed_constants_in_formulas_are_written_as_the_values_beside_them() -> None:
    x = cr.tensor(2.0, requires_grad=True, name="x")
    explanation = cr.explain(cr.clip(x * 1e-08, 2.5e-09, None))
    markdown, page, latex = explanation.markdown(), explanation.html(), explanation.latex()
    assert "| `t1` | x · 10⁻⁸ | mul | 2×10⁻⁸ |" in markdown and "1e-08" not in markdown and "e-09" not in markdown
    assert "| `L` = clip(t1, 2.5×10⁻⁹, None) |" in markdown
    assert "<td>x · 10⁻⁸</td>" in page and "e-0" not in page
    assert r"t_{1} &= x \cdot 10^{-8} = 2 \times 10^{-8}" in latex and "e-0" not in latex
    assert "t1 = x · 1e-08" in explanation.text()  # plain text keeps Python's notation, as its values do


def test_a_convolution_is_explained_with_its_shapes_and_summaries_of_its_values() -> None:
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.normal(size=(2, 1, 6, 6)), name="x")
    w = cr.tensor(rng.normal(size=(3, 1, 3, 3)), requires_grad=True, name="w")
    loss = cr.sum(cr.max_pool2d(cr.conv2d(x, w, padding=1, name="h"), 2, name="p"), name="L")
    text = str(cr.explain(loss, digits=3))
    assert "h = conv2d(x, w, stride=(1, 1), padding=(1, 1))" in text
    assert "rule: d/dx conv2d(x, W) · G = Σ windows of (Wᵀ @ G) added back onto x" in text
    h = cr.conv2d(x, w, padding=1).data
    summary = f"(2, 3, 6, 6) min {h.min():.3g}, mean {h.mean():.3g}, max {h.max():.3g}"
    assert summary in text
    assert len(text.splitlines()) < 25 and max(len(line) for line in text.splitlines()) < 200


def test_a_second_derivative_is_explained_step_by_step(torch) -> None:
    """The backward pass of a backward pass (create_graph=True) is a graph like any other: explain walks it."""
    w, x = cr.tensor(2.0, requires_grad=True, name="w"), cr.tensor(0.5, requires_grad=True, name="x")
    (slope,) = cr.autograd.grad(cr.sigmoid(w * x), w, create_graph=True)
    explanation = cr.explain(slope.named("dy_dw"))
    tw, tx = torch.tensor(2.0, requires_grad=True), torch.tensor(0.5, requires_grad=True)
    (tslope,) = torch.autograd.grad(torch.sigmoid(tw * tx), tw, create_graph=True)
    second = torch.autograd.grad(tslope, [tw, tx])
    assert explanation.gradients["w"] == pytest.approx(second[0].item(), rel=1e-14)
    assert explanation.gradients["x"] == pytest.approx(second[1].item(), rel=1e-14)
    text = str(explanation)
    assert "[sigmoid]" in text and "∂dy_dw/∂w = " in text


def test_explain_adds_contributions_in_the_order_backward_adds_them() -> None:
    """0.1w + 0.2w + 0.3w: floating-point sums depend on the order; explain shows backward's numbers."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        w = cr.tensor(rng.normal(), requires_grad=True, name="w")
        factors = rng.normal(size=3)
        p, q, r = w * factors[0], w * factors[1], w * factors[2]
        loss = r + (q + p)
        shown = cr.explain(loss).gradients["w"]
        loss.backward()
        assert np.asarray(shown).tobytes() == w.grad.tobytes()


def test_explain_refuses_a_backward_that_returns_too_few_gradients() -> None:
    class OneForTwo(cr.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad_out):
            return grad_out

    a, b = cr.tensor(1.0, requires_grad=True, name="a"), cr.tensor(2.0, requires_grad=True, name="b")
    with pytest.raises(cr.GraphError, match="onefortwo: backward returned 1 gradient for 2 inputs"):
        cr.explain(OneForTwo.apply(a, b))
