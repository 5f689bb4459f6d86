"""A small layered layout for drawing a graph left to right, leaves to loss, without Graphviz.

Three steps, as in Sugiyama's method, kept small:

1. layers: each node one column right of its furthest input (longest path from the leaves);
   a leaf then moves right to the column just before its first use, so that ``y`` in
   ``yhat − y`` sits beside ``yhat`` rather than far left with the weights;
2. order within a column: a few sweeps that sort each column by the mean position of each
   node's neighbours in the column before (then after), which removes most edge crossings;
3. coordinates: columns side by side, as wide as their widest box; each column's boxes stacked
   and centred on the tallest column.

An edge that spans several columns passes through a point in each column between (a "dummy"
node, ordered and stacked like the others), so that it runs between the boxes, not across them.

    >>> layout = layered_layout([(10, 10)] * 3, [(0, 2), (1, 2)])
    >>> [(box.x, box.layer) for box in layout.boxes]
    [(0.0, 0), (0.0, 0), (70.0, 1)]
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMN_GAP = 60.0
ROW_GAP = 18.0
SWEEPS = 4
DUMMY_HEIGHT = 6.0  # the room an edge passing through a column takes there


@dataclass
class Box:
    """Where one node goes: its column, its top-left corner and its size."""

    layer: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class Layout:
    """The boxes, in the order of the nodes given, and for each edge the points it passes through on its way."""

    boxes: list[Box]
    routes: list[list[tuple[float, float]]]


def layered_layout(sizes: list[tuple[float, float]], edges: list[tuple[int, int]]) -> Layout:
    """Boxes of ``sizes`` (width, height) placed left to right along ``edges`` (from, to); nodes in an order
    where every edge goes from an earlier node to a later one (a graph's order of computation)."""
    count = len(sizes)
    inputs: list[list[int]] = [[] for _ in sizes]
    uses: list[list[int]] = [[] for _ in sizes]
    for source, target in edges:
        inputs[target].append(source)
        uses[source].append(target)
    layers = _layers(inputs, uses)
    sizes, chains = list(sizes), []
    for source, target in edges:  # an edge over several columns: a dummy node in each column it crosses
        chain = [source]
        for layer in range(layers[source] + 1, layers[target]):
            dummy = len(sizes)
            sizes.append((0.0, DUMMY_HEIGHT))
            layers.append(layer)
            inputs.append([chain[-1]])
            uses.append([])
            uses[chain[-1]].append(dummy)
            chain.append(dummy)
        if len(chain) > 1:
            uses[source].remove(target)
            inputs[target].remove(source)
            inputs[target].append(chain[-1])
            uses[chain[-1]].append(target)
        chains.append(chain[1:])
    columns = _ordered_columns(layers, inputs, uses)
    boxes, widths = _coordinates(columns, layers, sizes)
    routes = [
        [point for dummy in chain for point in _through(boxes[dummy], widths[boxes[dummy].layer])] for chain in chains
    ]
    return Layout(boxes[:count], routes)


def _through(box: Box, width: float) -> tuple[tuple[float, float], tuple[float, float]]:
    middle = box.y + box.height / 2
    return (box.x, middle), (box.x + width, middle)


def _layers(inputs: list[list[int]], uses: list[list[int]]) -> list[int]:
    layers = [0] * len(inputs)
    for node, sources in enumerate(inputs):
        layers[node] = 1 + max((layers[source] for source in sources), default=-1)
    for node, sources in enumerate(inputs):
        if not sources and uses[node]:
            layers[node] = max(0, min(layers[user] for user in uses[node]) - 1)
    return layers


def _ordered_columns(layers: list[int], inputs: list[list[int]], uses: list[list[int]]) -> list[list[int]]:
    columns: list[list[int]] = [[] for _ in range(max(layers, default=-1) + 1)]
    for node, layer in enumerate(layers):
        columns[layer].append(node)
    position = {node: index for column in columns for index, node in enumerate(column)}
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        neighbours = inputs if forward else uses
        for column in columns[1:] if forward else reversed(columns[:-1]):

            def barycentre(node: int) -> float:
                near = neighbours[node]
                return sum(position[other] for other in near) / len(near) if near else position[node]

            column.sort(key=barycentre)  # stable: ties keep their order
            position.update({node: index for index, node in enumerate(column)})
    return columns


def _coordinates(
    columns: list[list[int]], layers: list[int], sizes: list[tuple[float, float]]
) -> tuple[list[Box], list[float]]:
    heights = [sum(sizes[node][1] for node in column) + ROW_GAP * (len(column) - 1) for column in columns]
    widths = [max((sizes[node][0] for node in column), default=0.0) for column in columns]
    tallest = max(heights, default=0.0)
    boxes: list[Box | None] = [None] * len(sizes)
    x = 0.0
    for column, height, width in zip(columns, heights, widths):
        y = (tallest - height) / 2
        for node in column:
            node_width, node_height = sizes[node]
            boxes[node] = Box(layers[node], x, y, node_width, node_height)
            y += node_height + ROW_GAP
        x += width + COLUMN_GAP
    return [box for box in boxes if box is not None], widths
