"""The graph of the HTML page as inline SVG: one box per tensor (name, op, shape, value, gradient), laid out
left to right by ``layout.layered_layout``.

Every number shown is a string made in Python (``values.view``), the same the side panel shows;
the page's script only shows and hides what is drawn here: a gradient appears when the
backward walk reaches it, one drawing per stage of its sum when several ops add to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from .layout import Box, layered_layout

CHARACTER = 7.3  # width of a character of the 12px monospace font, in pixels
LINE = 15.0
PAD = 8.0


@dataclass
class GraphNode:
    """What a box shows: its texts and the views (``values.view``) of its value and of each gradient stage."""

    name: str
    op: str
    kind: str  # input, parameter, op or loss
    shape: str
    value: dict
    stages: list[tuple[int, str, dict]] = field(default_factory=list)  # (backward step, label, view)
    failed: bool = False


def _block_size(view: dict) -> tuple[float, float]:
    """Width and height of a value drawn in a box: one number, a small table, or a summary line."""
    if "text" in view:
        return len(view["text"]) * CHARACTER, LINE
    if "summary" in view:
        return max(len(view["summary"]), 16) * CHARACTER, 2 * LINE
    widths = _column_widths([view])
    return sum(widths), LINE * len(view["rows"])


def _column_widths(views: list[dict]) -> list[float]:
    columns = max(len(view["rows"][0]) for view in views)
    widths = [0.0] * columns
    for view in views:
        for row in view["rows"]:
            for column, cell in enumerate(row):
                widths[column] = max(widths[column], (len(cell) + 2) * CHARACTER)
    return widths


def _size(node: GraphNode) -> tuple[float, float]:
    width, height = _block_size(node.value)
    header = (len(node.name) + len(node.op) + 3) * CHARACTER
    width = max(width, header, len(node.shape) * CHARACTER, 90)
    height += 2 * LINE + PAD * 1.5
    if node.stages:
        grad_width, grad_height = max(_block_size(view) for _, _, view in node.stages)
        label = max(len(label) for _, label, _ in node.stages) * CHARACTER
        width = max(width, grad_width, label)
        height += grad_height + LINE + PAD / 2
    return width + 2 * PAD, height


def graph_svg(nodes: list[GraphNode], edges: list[tuple[int, int, int]]) -> str:
    """The SVG drawing of ``nodes`` joined by ``edges`` (input node, output node, the input's slot)."""
    layout = layered_layout([_size(node) for node in nodes], [(source, target) for source, target, _ in edges])
    boxes = layout.boxes
    width = max((box.x + box.width for box in boxes), default=0) + 2 * PAD
    height = max((box.y + box.height for box in boxes), default=0) + 2 * PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="{-PAD:.0f} {-PAD:.0f} {width:.0f} {height:.0f}" role="img" aria-label="computational graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    for index, ((source, target, slot), route) in enumerate(zip(edges, layout.routes)):
        start, end = boxes[source], boxes[target]
        points = [(start.x + start.width, start.y + start.height / 2), *route, (end.x - 1, end.y + end.height / 2)]
        parts.append(
            f'<path class="edge" id="edge-{index}" data-from="{source}" data-to="{target}" data-slot="{slot}" '
            f'd="{_curve(points)}" marker-end="url(#arrow)"/>'
        )
    for index, (node, box) in enumerate(zip(nodes, boxes)):
        parts.append(_node_svg(index, node, box))
    parts.append("</svg>")
    return "".join(parts)


def _curve(points: list[tuple[float, float]]) -> str:
    """A path through ``points``: S-bends across the gaps between columns, straight through a column (pairs)."""
    (x, y), rest = points[0], points[1:]
    path = f"M{x:.1f},{y:.1f}"
    for index, (x2, y2) in enumerate(rest):
        if index % 2 == 0:  # across a gap
            bend = (x2 - x) / 2
            path += f" C{x + bend:.1f},{y:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        else:  # through a column
            path += f" L{x2:.1f},{y2:.1f}"
        x, y = x2, y2
    return path


def _node_svg(index: int, node: GraphNode, box: Box) -> str:
    classes = f"node kind-{node.kind}" + (" failed" if node.failed else "")
    parts = [
        f'<g class="{classes}" id="node-{index}" data-index="{index}" data-name="{escape(node.name)}" '
        f'transform="translate({box.x:.1f},{box.y:.1f})" tabindex="-1">',
        f'<rect class="box" width="{box.width:.1f}" height="{box.height:.1f}" rx="6"/>',
        f'<text class="name" x="{PAD}" y="{LINE}">{escape(node.name)}</text>',
        f'<text class="op" x="{box.width - PAD:.1f}" y="{LINE}" text-anchor="end">{escape(node.op)}</text>',
        f'<text class="shape" x="{PAD}" y="{2 * LINE}">{escape(node.shape)}</text>',
    ]
    top = 2 * LINE + PAD / 2
    parts.append(f'<g class="value" transform="translate({PAD},{top:.1f})">{_view_svg(node.value, "value")}</g>')
    top += _block_size(node.value)[1] + PAD / 2
    for step, label, view in node.stages:
        parts.append(
            f'<g class="grad" data-step="{step}" transform="translate({PAD},{top:.1f})">'
            f'<text class="grad-label" y="{LINE - 3}">{escape(label)}</text>'
            f'<g transform="translate(0,{LINE})">{_view_svg(view, "grad")}</g></g>'
        )
    parts.append("</g>")
    return "".join(parts)


def _view_svg(view: dict, role: str) -> str:
    if "text" in view:
        return f'<text class="number" y="{LINE - 3}">{escape(view["text"])}</text>'
    if "summary" in view:
        return (
            f'<text class="summary" y="{LINE - 3}">{escape(view["summary"])}</text>'
            f'<text class="expand" data-expand="{role}" y="{2 * LINE - 3}" role="button">⊞ expand</text>'
        )
    widths = _column_widths([view])
    cells = []
    for row_index, row in enumerate(view["rows"]):
        x = 0.0
        for column, cell in enumerate(row):
            x += widths[column]
            cells.append(
                f'<text class="number cell" x="{x - CHARACTER:.1f}" y="{LINE * (row_index + 1) - 3:.1f}" '
                f'text-anchor="end">{escape(cell)}</text>'
            )
    rows = len(view["rows"])
    frame = f'<rect class="matrix" width="{sum(widths):.1f}" height="{LINE * rows:.1f}" rx="2"/>'
    return frame + "".join(cells)
