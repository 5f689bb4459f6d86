"""``draw(loss)``: the computational graph as Graphviz DOT, rendered to SVG/PNG when Graphviz is there.

Each tensor is a box with its name, shape, value and gradient ∂loss/∂tensor; each op is an
ellipse with its formula. The DOT text needs nothing; rendering needs the ``graphviz`` Python
package (``pip install ".[graph]"``) and the Graphviz program ``dot``.

    >>> import chainrule as cr
    >>> w = cr.tensor(2.0, requires_grad=True, name="w")
    >>> drawing = cr.draw((w * 3.0).named("y"))
    >>> print(drawing.source.splitlines()[0])
    digraph chainrule {
"""

from __future__ import annotations

from pathlib import Path

from .explain import Explanation
from ..training.files import atomic_write
from .number_format import format_value
from ..engine.tensor import Tensor

INSTALL_GRAPHVIZ = (
    "the Graphviz program 'dot' is not installed: apt-get install graphviz (Debian/Ubuntu), brew install graphviz "
    "(macOS) or conda install graphviz; the DOT text is in drawing.source, or save to a .dot file"
)


class Drawing:
    """A graph drawing: ``.source`` is DOT; ``save("graph.svg")`` renders through Graphviz."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def render(self, format: str = "svg") -> bytes:  # noqa: A002 - Graphviz's own word
        """The drawing as ``svg``, ``png`` or ``pdf`` bytes (needs Graphviz)."""
        try:
            import graphviz
        except ImportError:
            raise ImportError(
                'rendering a drawing needs the graphviz package: pip install ".[graph]" in the chainrule folder'
            ) from None
        try:
            return graphviz.Source(self.source).pipe(format=format)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(f"draw: {INSTALL_GRAPHVIZ}") from None

    def save(self, path: str | Path) -> Path:
        """Write DOT (``.dot``, ``.gv``) or a rendering (``.svg``, ``.png``, ``.pdf``), atomically."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in {".dot", ".gv"}:
            data = self.source.encode("utf-8")
        elif suffix in {".svg", ".png", ".pdf"}:
            data = self.render(suffix[1:])
        else:
            raise ValueError(f"draw: save as .dot, .gv, .svg, .png or .pdf, not {suffix or 'a name without extension'}")
        with atomic_write(path) as handle:
            handle.write(data)
        return path

    def _repr_svg_(self) -> str | None:
        """Jupyter shows the rendered graph when Graphviz is installed."""
        try:
            return self.render("svg").decode("utf-8")
        except (ImportError, RuntimeError):
            return None


def draw(loss: Tensor, digits: int = 4) -> Drawing:
    """Draw the graph behind the scalar ``loss``: ops, shapes, values and gradients.

    As with ``explain``, call it before ``backward()`` or after ``backward(retain_graph=True)``.
    Numbers are shown with ``digits`` significant digits (an int, 1 or more).
    """
    explanation = Explanation(loss, digits, caller="draw")
    digits = explanation.digits
    names, totals = explanation.names, explanation.totals
    lines = [
        "digraph chainrule {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for index, tensor in enumerate(explanation.order):
        name = names[id(tensor)]
        fields = [name, "shape " + str(tuple(tensor.shape)), "value " + format_value(tensor.data, digits)]
        if id(tensor) in totals:
            fields.append(f"∂{explanation.loss_name}/∂{name} " + format_value(totals[id(tensor)], digits))
        color = (
            "#dbeafe"
            if tensor.requires_grad and tensor.grad_fn is None
            else ("#fde68a" if tensor is loss else ("#f3f4f6" if tensor.grad_fn is None else "#ffffff"))
        )
        label = "|".join(_escape(field) for field in fields)  # stacked top to bottom in a left-to-right graph
        lines.append(f'  t{index} [shape=record, style=filled, fillcolor="{color}", label="{label}"];')
    position = {id(tensor): index for index, tensor in enumerate(explanation.order)}
    for index, tensor in enumerate(explanation.order):
        node = tensor.grad_fn
        if node is None:
            continue
        formula = node.formula([names[id(t)] for t in node.inputs])
        lines.append(f'  op{index} [shape=ellipse, label="{_escape(node.name)}\\n{_escape(formula)}"];')
        for slot, parent in enumerate(node.inputs):
            lines.append(f'  t{position[id(parent)]} -> op{index} [label="{slot}"];')
        lines.append(f"  op{index} -> t{index};")
    lines.append("}")
    return Drawing("\n".join(lines) + "\n")


def _escape(text: str) -> str:
    """Escape what record labels treat specially: braces, bars, angle brackets, quotes, backslashes; and &,
    which Graphviz reads as the start of an HTML entity (a tensor named ``&lt;`` would be drawn as ``<``)."""
    text = text.replace("&", "&amp;")
    for character in '\\{}|<>"':
        text = text.replace(character, "\\" + character)
    return text.replace("\n", "\\n")
