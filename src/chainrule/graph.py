"""The backward pass: walk the recorded graph from a scalar back to the leaves.

A graph is made of *nodes*, one per op call (instances of ``chainrule.Function``). Each node
holds the tensors it was applied to (``node.inputs``), which of them need a gradient
(``node.needs_input_grad``) and whatever its forward saved for its backward. A tensor made by
an op points to its node through ``tensor.grad_fn``; a leaf has ``grad_fn = None``.

``backward`` below is the whole algorithm:

1. order the nodes so that every node comes before the nodes that made its inputs
   (reverse topological order, found without recursion so deep graphs work);
2. give the root the gradient ``grad_out`` (1 for a scalar loss);
3. for each node in that order, call its vector-Jacobian product ``node.backward(grad_out)``,
   reduce each input gradient back to the input's shape (``unbroadcast``) and add it to what
   that input has received so far: a dictionary entry for an intermediate result, ``.grad``
   for a leaf;
4. unless ``retain_graph`` is set, free each node's saved values as soon as it has run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np

from . import anomaly
from .errors import GraphError, ShapeError, format_shape

if TYPE_CHECKING:  # pragma: no cover
    from .function import Function
    from .tensor import Tensor


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...], op: str = "op") -> np.ndarray:
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast.

    If ``x`` of shape (3, 1) was broadcast to (2, 3, 4) in the forward pass, every element of
    ``x`` was used 2 * 4 times, so its gradient is the sum over those copies: sum axis 0 (added
    in front) and axis 2 (stretched from 1), keeping the result's shape (3, 1).
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ShapeError(
            f"{op}: backward returned a gradient of shape {format_shape(grad.shape)} "
            f"for an input of shape {format_shape(shape)}"
        )
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ShapeError(
            f"{op}: backward returned a gradient of shape {format_shape(grad.shape)} "
            f"that does not broadcast to its input's shape {format_shape(shape)}"
        )
    return grad


def _postorder(root: Any, children: Callable[[Any], Iterable[Any]]) -> list[Any]:
    """Depth-first post-order without recursion: each item after all the items it leads to.

    A chain of 100,000 ops would overflow Python's stack with recursion, so the search keeps
    its own stack of (item, children already pushed) pairs.
    """
    order: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        item, children_done = stack.pop()
        if children_done:
            order.append(item)
            continue
        if id(item) in visited:
            continue
        visited.add(id(item))
        stack.append((item, True))
        stack.extend((child, False) for child in children(item) if id(child) not in visited)
    return order


def _live_inputs(node: Function, message: str) -> tuple[Tensor, ...]:
    if node.inputs is None:
        raise GraphError(message)
    return node.inputs


def topological_order(root: Function) -> list[Function]:
    """Every node reachable from ``root``, each before the nodes that produced its inputs."""
    message = (f"backward: the graph through '{root.name}' was already freed by an earlier backward(); "
               "call the first backward(retain_graph=True) to go through it twice")

    def parents(node: Function) -> Iterable[Function]:
        return [t.grad_fn for t in _live_inputs(node, message) if t.grad_fn is not None]

    order = _postorder(root, parents)
    order.reverse()
    return order


def tensors_in_order(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` was computed from, leaves included, each after its inputs; root last.

    Used to print and draw a graph (``chainrule.explain``, ``chainrule.draw``).
    """
    message = ("the graph was freed by backward(); call backward(retain_graph=True) first, or explain/draw "
               "before calling backward()")

    def inputs(tensor: Tensor) -> Iterable[Tensor]:
        return () if tensor.grad_fn is None else reversed(_live_inputs(tensor.grad_fn, message))

    return _postorder(root, inputs)


def backward(root: Tensor, grad_out: np.ndarray, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), weighted by ``grad_out``, into ``.grad`` of every leaf."""
    if root.grad_fn is None:
        _accumulate_leaf(root, grad_out)
        return
    grads: dict[int, Any] = {id(root.grad_fn): grad_out}
    for node in topological_order(root.grad_fn):
        grad = grads.pop(id(node), None)
        if grad is None:  # every input of this node's backward returned None
            continue
        input_grads = anomaly.checked_backward(node, grad) if anomaly._enabled else node.backward(grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for tensor, needed, input_grad in zip(node.inputs, node.needs_input_grad, input_grads):
            if not needed or input_grad is None:
                continue
            if input_grad.shape != tensor.data.shape:
                input_grad = unbroadcast(np.asarray(input_grad), tensor.data.shape, node.name)
            parent = tensor.grad_fn
            if parent is None:
                _accumulate_leaf(tensor, input_grad)
            else:
                key = id(parent)
                previous = grads.get(key)
                grads[key] = input_grad if previous is None else previous + input_grad
        if not retain_graph:
            node.release()


def _accumulate_leaf(leaf: Tensor, grad: np.ndarray) -> None:
    """Add ``grad`` into ``leaf.grad``; the first time, store a private copy in the leaf's dtype.

    The copy matters: op backwards may hand the same array to several inputs (``a + b`` gives
    ``grad_out`` to both), and a user who edits ``a.grad`` in place must not change ``b.grad``.
    """
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad += grad
