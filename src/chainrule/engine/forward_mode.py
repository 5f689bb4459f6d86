"""Forward mode: push tangents from the inputs through a recorded graph, one op's ``jvp`` at a time.

Reverse mode (``graph.backward``) carries one gradient from the output back to every input;
forward mode carries one *tangent* (a direction of change) from the inputs to the output: for
y = f(x) and a direction t, the Jacobian-vector product J t, the change of y when x moves
along t. Each op's ``jvp(tangents, *inputs)`` gives its output's tangent from its inputs'
tangents; taking the ops in the order they were created (each after the ops that made its
inputs) carries the tangents to the output.

The graph is the one recorded for reverse mode, so one recording serves every direction
(``cr.jacobian`` by columns). An op whose inputs all have zero tangent is skipped.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = x * x
    >>> push_tangents(y, {x: cr.tensor([1.0, 0.0])}).data   # d(x²)/dx₀ = [2x₀, 0]
    array([2., 0.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import topological_order
from .tensor import Tensor
from ..errors import GraphError, ShapeError, format_shape


def push_tangents(output: Tensor, tangents: dict[Tensor, Tensor]) -> Tensor:
    """The tangent of ``output`` when each tensor in ``tangents`` moves along its tangent (others stay fixed).

    The result is computed with chainrule ops, so it has a graph where its inputs do.
    """
    by_tensor = {id(tensor): tangent for tensor, tangent in tangents.items()}
    for tensor, tangent in tangents.items():
        if tangent.data.shape != tensor.data.shape:
            raise ShapeError(
                f"jvp: a tangent of shape {format_shape(tangent.data.shape)} for an input of shape "
                f"{format_shape(tensor.data.shape)}; give each input a tangent of its own shape"
            )
    if id(output) in by_tensor:
        return by_tensor[id(output)]
    if output.grad_fn is None:
        return Tensor._from_op(np.zeros_like(output.data), None)
    try:
        nodes = topological_order(output.grad_fn)
    except GraphError:
        raise GraphError("jvp: the graph was freed by backward(); compute the output again") from None
    by_node: dict[Any, Tensor | None] = {}
    for node in reversed(nodes):  # each node after the nodes that made its inputs
        input_tangents = [_tangent_of(tensor, by_tensor, by_node) for tensor in node.inputs]
        if all(tangent is None for tangent in input_tangents):
            by_node[node] = None
            continue
        filled = tuple(
            tangent if tangent is not None else Tensor._from_op(np.zeros_like(tensor.data), None)
            for tensor, tangent in zip(node.inputs, input_tangents)
        )
        by_node[node] = node.jvp(filled, *node.inputs)
    result = by_node[output.grad_fn]
    return result if result is not None else Tensor._from_op(np.zeros_like(output.data), None)


def _tangent_of(tensor: Tensor, by_tensor: dict[int, Tensor], by_node: dict[Any, Tensor | None]) -> Tensor | None:
    """The tangent reaching ``tensor``: given for an input, carried for an op's result, None where nothing varies."""
    given = by_tensor.get(id(tensor))
    if given is not None:
        return given
    if tensor.grad_fn is None:
        return None
    return by_node.get(tensor.grad_fn)
