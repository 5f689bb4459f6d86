"""draw(): DOT that parses, and rendering through Graphviz (or a clear message without it)."""

from __future__ import annotations

import re
import shutil
import warnings

import pytest

import chainrule as cr
from chainrule.examples import scalar_network as seed


def test_dot_parses_and_holds_every_node() -> None:
    import pydot  # an independent DOT parser, installed by the test extra

    drawing = cr.draw(seed.build()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pydot's use of older pyparsing names
        (graph,) = pydot.graph_from_dot_data(drawing.source)
    nodes = {
        node.get_name(): node.get("label") for node in graph.get_nodes() if node.get_name() not in ("node", "edge")
    }
    tensors = [label for name, label in nodes.items() if name.startswith("t")]
    ops = [label for name, label in nodes.items() if name.startswith("op")]
    assert len(tensors) == 25 and len(ops) == 14  # 4 x, 6 w, y and 14 results; 6 mul, 3 add, 3 σ, sub, pow
    assert any("h1|shape ()|value 0.7875|∂Div/∂h1 -0.007674" in label for label in tensors)
    assert any("sigmoid\\nσ(s1)" in label for label in ops)
    assert len(graph.get_edges()) == 10 * 2 + 4 * 1 + 14  # two inputs of 10 ops, one of 4, and 14 results


def test_labels_escape_record_characters() -> None:
    x = cr.tensor([1.0, -1.0], requires_grad=True, name="x")
    source = cr.draw(cr.abs(x).sum()).source
    assert r"\|x\|" in source


def test_save_dot_and_render(tmp_path) -> None:
    drawing = cr.draw(seed.build()[0])
    dot_file = drawing.save(tmp_path / "graph.dot")
    assert dot_file.read_text() == drawing.source
    if shutil.which("dot"):
        svg = drawing.save(tmp_path / "graph.svg").read_text()
        assert "<svg" in svg and "sigmoid" in svg
    else:
        with pytest.raises(RuntimeError, match="the Graphviz program 'dot' is not installed: apt-get install graphviz"):
            drawing.save(tmp_path / "graph.svg")
    with pytest.raises(ValueError, match="save as .dot, .gv, .svg, .png or .pdf, not .jpg"):
        drawing.save(tmp_path / "graph.jpg")


def test_small_gradients_next_to_large_ones_keep_their_digits() -> None:
    w = cr.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True, name="W")
    loss = cr.squared_norm(
        cr.sigmoid(cr.tensor([1.0, -2.0]) @ w)
    )  # ∂L/∂W = [[0.00166804, 0.0823563], [-0.00333609, …]]
    assert "W|shape (2, 2)|value (2, 2) [[0.5, -1], [2, 0.1]]|∂L/∂W (2, 2) [[0.00167, 0.0824], [-0.00334, -0.165]]" in (
        cr.draw(loss, digits=3).source
    )
    assert "∂L/∂W (2, 2) [[0.001668, 0.08236], [-0.003336, -0.1647]]" in cr.draw(loss).source  # 4 digits by default


X = cr.tensor([1.0, 2.0], requires_grad=True)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cr.draw(X * 2), cr.GraphError, r"draw: the tensor has shape \(2,\); draw a scalar such as a loss"),
        (lambda: cr.draw(cr.tensor(1.0)), cr.GraphError, "draw: this tensor was not computed from tensors that"),
        (lambda: cr.draw([1.0]), TypeError, "draw: expected a chainrule tensor, got list"),
        (lambda: cr.draw(X.sum(), digits=0), ValueError, r"draw: digits must be at least 1 \(significant digits\)"),
    ],
)
def test_draw_names_itself_in_its_errors(call, error, message) -> None:
    with pytest.raises(error, match="^" + message):
        call()


@pytest.mark.parametrize("name", ["<script>", 'q"uote', "a\\b", "a\\", "{x|y}", "&lt;b&gt;", "a&b", "\\N\\l"])
def test_hostile_names_are_drawn_as_they_are(name) -> None:
    import html

    import pydot

    w = cr.tensor(2.0, requires_grad=True, name=name)
    drawing = cr.draw(-w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        (graph,) = pydot.graph_from_dot_data(drawing.source)
    assert len([node for node in graph.get_nodes() if node.get_name().startswith(("t", "op"))]) == 3
    if shutil.which("dot"):  # Graphviz itself: the name comes out as written, nothing read as an entity or a field
        svg = drawing.render("svg").decode("utf-8")
        texts = [html.unescape(text) for text in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
        assert name in texts and f"∂L/∂{name} -1" in texts and f"−{name}" in texts


def test_draw_names_itself_when_the_graph_was_freed() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(cr.GraphError, match=r"^draw: the graph was freed by backward\(\); call draw before"):
        cr.draw(loss)
