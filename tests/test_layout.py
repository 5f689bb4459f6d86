"""The layered layout of the HTML page's graph: left to right, no overlaps, few crossings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.explanation.layout import COLUMN_GAP, ROW_GAP, layered_layout


@st.composite
def graphs(draw):
    """A graph in order of computation: each node's inputs come before it; sizes vary."""
    count = draw(st.integers(1, 25))
    edges = []
    for target in range(1, count):
        sources = draw(st.lists(st.integers(0, target - 1), max_size=3, unique=True))
        edges += [(source, target) for source in sources]
    sizes = draw(st.lists(st.tuples(st.integers(20, 200), st.integers(10, 120)), min_size=count, max_size=count))
    return [(float(w), float(h)) for w, h in sizes], edges


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_every_edge_goes_right_and_no_boxes_overlap(graph) -> None:
    sizes, edges = graph
    layout = layered_layout(sizes, edges)
    boxes = layout.boxes
    assert [(box.width, box.height) for box in boxes] == sizes
    for source, target in edges:
        assert boxes[target].layer > boxes[source].layer
        assert boxes[target].x >= boxes[source].x + boxes[source].width + COLUMN_GAP
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart_x = a.x + a.width <= b.x or b.x + b.width <= a.x
            apart_y = a.y + a.height + ROW_GAP <= b.y + 1e-9 or b.y + b.height + ROW_GAP <= a.y + 1e-9
            assert apart_x or apart_y


def test_a_leaf_sits_just_before_its_first_use() -> None:
    # a → b → c → d, and a leaf e used only by d: e goes in d's column minus one, not in column 0
    boxes = layered_layout([(10.0, 10.0)] * 5, [(0, 1), (1, 2), (2, 3), (4, 3)]).boxes
    assert [box.layer for box in boxes] == [0, 1, 2, 3, 2]


def test_ordering_removes_a_crossing() -> None:
    # leaves 0, 1 in column 0; 2 uses 1 and 3 uses 0: sorted by their inputs, 3 goes above 2
    boxes = layered_layout([(10.0, 10.0)] * 4, [(1, 2), (0, 3)]).boxes
    assert boxes[3].y < boxes[2].y and boxes[0].y < boxes[1].y
