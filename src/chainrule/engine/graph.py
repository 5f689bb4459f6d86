"""The backward pass: walk the recorded graph from a scalar back to the leaves.

A graph is made of *nodes*, one per op call (instances of ``chainrule.Function``). Each node
holds the tensors it was applied to (``node.inputs``), which of them need a gradient
(``node.needs_input_grad``) and whatever its forward saved for its backward. A tensor made by
an op points to its node through ``tensor.grad_fn``; a leaf has ``grad_fn = None``.

``backward`` below is the whole algorithm:

1. give the root the gradient ``grad_out`` (1 for a scalar loss);
2. take the nodes latest-created first (a heap keyed by each node's creation number), so that
   a node comes only after every op that used its output: a reverse topological order, found
   without recursion so deep graphs work;
3. for each node, call its vector-Jacobian product ``node.backward(grad_out)``,
   reduce each input gradient back to the input's shape (``fit_gradient``) and add it to what
   that input has received so far: a dictionary entry for an intermediate result
   (``add_gradient``: in place once the entry is a sum this loop made itself), ``.grad`` for a
   leaf (``store_leaf_gradient``). These rules live in ``accumulation``, shared with
   ``autograd.grad``, the code ``trace`` generates and ``explain``;
4. unless ``retain_graph`` is set, free each node's saved values as soon as it has run.

Before a node's backward runs, a node older than the newest change in place (``versions``) has
its saved arrays checked: a backward never computes with values changed after its forward.
"""

from __future__ import annotations

from heapq import heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np

from . import observers, versions
from ..errors import GraphError
from .accumulation import (
    FLOAT_SCALARS,
    accumulate_leaf,
    add_gradient,
    fit_gradient,
    ndarray,
    store_leaf_gradient,
    trusted_op,
)
from .accumulation import unbroadcast as unbroadcast  # its old home: chainrule.engine.graph.unbroadcast still works

if TYPE_CHECKING:  # pragma: no cover
    from .function import Function
    from .tensor import Tensor


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
    message = _freed(root)

    def parents(node: Function) -> Iterable[Function]:
        return [t.grad_fn for t in _live_inputs(node, message) if t.grad_fn is not None]

    order = _postorder(root, parents)
    order.reverse()
    return order


def tensors_in_order(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` was computed from, leaves included, each after its inputs; root last.

    Used to print and draw a graph (``chainrule.explain``, ``chainrule.draw``).
    """
    message = (
        "the graph was freed by backward(); call backward(retain_graph=True) first, or explain/draw "
        "before calling backward()"
    )

    def inputs(tensor: Tensor) -> Iterable[Tensor]:
        return () if tensor.grad_fn is None else reversed(_live_inputs(tensor.grad_fn, message))

    return _postorder(root, inputs)


def backward(root: Tensor, grad_out: np.ndarray, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), weighted by ``grad_out``, into ``.grad`` of every leaf.

    Nodes are taken latest-created first (each node's ``sequence`` number grows as ops are
    called), from a heap that starts with the root's node: every op that used a node's output
    was created after it, so by the time a node comes off the heap its gradient is complete.
    This walks the graph once, without a separate sort and without recursion.
    """
    node = root.grad_fn
    if node is None:
        accumulate_leaf(root, grad_out)
        return
    if node.inputs is None:
        raise GraphError(_freed(node))
    grads = {node: grad_out}
    summed: set[Function] = set()  # nodes whose entry in grads is a sum made below, an array only this loop holds
    heap: list[tuple[int, Function]] = []  # (-sequence, node) of the nodes waiting, but for ``following``
    watched = bool(observers.active())  # detect_anomaly's checks, a recording trace, your own observer
    changed = versions.latest  # nodes made after the newest change in place need no look at their arrays
    while True:
        grad = grads.pop(node)
        if node.sequence < changed:
            versions.check_saved(node)
        input_grads = observers.observed_backward(node, grad) if watched else node.backward(grad)
        inputs = node.inputs
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(inputs):
            raise GraphError(wrong_count(node.name, len(input_grads), len(inputs)))
        earlier_leaves: tuple = ()  # gradients this node handed to leaves: a leaf may not keep one twice
        following = None  # the newest node this one handed its first gradient to (see below)
        for tensor, needed, input_grad in zip(inputs, node.needs_input_grad, input_grads):
            if not needed or input_grad is None:
                continue
            kind = type(input_grad)
            # fast path beside fit_gradient's own tests: skip the call when the gradient already fits, an
            # array of the input's shape or a NumPy float for a 0-d input (its ndim, not a shape tuple
            # made and compared: scalar network backward 15.8 -> 15.1 µs)
            if (
                input_grad.shape != tensor.data.shape
                if kind is ndarray
                else kind not in FLOAT_SCALARS or tensor.data.ndim
            ):
                input_grad = fit_gradient(input_grad, tensor.data.shape, tensor.data.dtype, node.name)
            parent = tensor.grad_fn
            if parent is None:
                if type(input_grad) is ndarray:
                    store_leaf_gradient(tensor, input_grad, grad, earlier_leaves, trusted_op(node))
                    earlier_leaves += (input_grad,)
                else:  # a NumPy float for a 0-d leaf: store_leaf_gradient would copy it (accumulate_leaf)
                    accumulate_leaf(tensor, input_grad)  # without its checks: scalar network 41.1 -> 40.0 µs
            else:
                previous = grads.get(parent)
                if previous is None:
                    if parent.inputs is None:
                        raise GraphError(_freed(parent))
                    grads[parent] = input_grad
                    if following is None:
                        following = parent
                    elif parent.sequence > following.sequence:
                        heappush(heap, (-following.sequence, following))
                        following = parent
                    else:
                        heappush(heap, (-parent.sequence, parent))
                else:
                    grads[parent] = add_gradient(previous, input_grad, parent in summed)
                    summed.add(parent)
        if not retain_graph:
            node.__dict__.clear()  # inputs and saved arrays go; node.inputs reads the class's None again
        # The next node is the newest waiting one. ``following``, the newest this node made waiting,
        # is kept out of the heap: in a chain (each result used by the next op only) it is the next
        # node, and the heap is never touched; it goes in only when a newer node waits there.
        # Same order as a heap of every waiting node, so the same sums; scalar network step 48.0 -> 47.1 µs.
        if following is not None:
            if heap and -heap[0][0] > following.sequence:
                node = heapreplace(heap, (-following.sequence, following))[1]
            else:
                node = following
        elif heap:
            node = heappop(heap)[1]
        else:
            return


def wrong_count(op: str, count: int, inputs: int) -> str:
    """The message for a backward that returned too few or too many gradients."""
    return (
        f"{op}: backward returned {count} gradient{'s' if count != 1 else ''} for {inputs} inputs; "
        "return one per input, in order (None for an input that gets none)"
    )


def _freed(node: Function) -> str:
    return (
        f"backward: the graph through '{node.name}' was already freed by an earlier backward(); "
        "call the first backward(retain_graph=True) to go through it twice"
    )
