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
   reduce each input gradient back to the input's shape (``unbroadcast``) and add it to what
   that input has received so far: a dictionary entry for an intermediate result (in place
   once the entry is a sum this loop made itself), ``.grad`` for a leaf;
4. unless ``retain_graph`` is set, free each node's saved values as soon as it has run.

Before a node's backward runs, a node older than the newest change in place (``versions``) has
its saved arrays checked: a backward never computes with values changed after its forward.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np

from . import observers, versions
from ..errors import DTypeError, GraphError, ShapeError, format_shape, tensor_label

ndarray = np.ndarray
# NumPy's arithmetic on 0-d arrays returns these scalars: gradients as good as arrays (a leaf gets an array)
_FLOAT_SCALARS = frozenset({np.float64, np.float32, np.float16})

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
        _accumulate_leaf(root, grad_out, copy=True)
        return
    if node.inputs is None:
        raise GraphError(_freed(node))
    grads = {node: grad_out}
    summed: set[Function] = set()  # nodes whose entry in grads is a sum made below, an array only this loop holds
    heap = [(-node.sequence, node)]
    watched = bool(observers.active())  # detect_anomaly's checks, a recording trace, your own observer
    changed = versions.latest  # nodes made after the newest change in place need no look at their arrays
    while heap:
        node = heappop(heap)[1]
        grad = grads.pop(node)
        if node.sequence < changed:
            versions.check_saved(node)
        input_grads = observers.observed_backward(node, grad) if watched else node.backward(grad)
        inputs = node.inputs
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(inputs):
            raise GraphError(wrong_count(node.name, len(input_grads), len(inputs)))
        handed_out = None
        for tensor, needed, input_grad in zip(inputs, node.needs_input_grad, input_grads):
            if not needed or input_grad is None:
                continue
            kind = type(input_grad)  # fit_gradient, inline: this runs for every input of every node
            if kind is not ndarray and kind not in _FLOAT_SCALARS:  # a number, a list or a Tensor from a user's op
                input_grad = as_gradient_array(input_grad, tensor.data.dtype, node.name)
            if input_grad.shape != tensor.data.shape:
                input_grad = unbroadcast(input_grad, tensor.data.shape, node.name)
            parent = tensor.grad_fn
            if parent is None:
                # The leaf keeps this array unless someone else may hold it too: this node's own
                # grad_out (a + b passes it to both), a view, or an array handed out twice here.
                shared = input_grad is grad or input_grad.base is not None
                if handed_out is None:
                    handed_out = [input_grad]
                else:
                    shared = shared or any(other is input_grad for other in handed_out)
                    handed_out.append(input_grad)
                if (
                    tensor.grad is None  # the common case of _accumulate_leaf, inline: keep the fresh array
                    and not shared
                    and type(input_grad) is ndarray
                    and input_grad.dtype is tensor.data.dtype
                    and input_grad.flags.writeable
                ):
                    tensor.grad = input_grad
                else:
                    _accumulate_leaf(tensor, input_grad, shared)
            else:
                previous = grads.get(parent)
                if previous is None:
                    if parent.inputs is None:
                        raise GraphError(_freed(parent))
                    grads[parent] = input_grad
                    heappush(heap, (-parent.sequence, parent))
                elif parent in summed and previous.dtype == input_grad.dtype:
                    previous += input_grad  # a sum this loop made itself and no one else holds: add in place
                else:
                    grads[parent] = previous + input_grad
                    if type(previous) is ndarray and previous.ndim:  # NumPy's += is slow on 0-d arrays
                        summed.add(parent)
        if not retain_graph:
            node.__dict__.clear()  # inputs and saved arrays go; node.inputs reads the class's None again


def as_gradient_array(grad: Any, dtype: np.dtype, op: str) -> np.ndarray:
    """A gradient a backward returned as something other than an ndarray, made one (of ``dtype`` unless floating).

    NumPy hands back scalars for 0-d arithmetic (``a * b`` of two 0-d arrays is a ``numpy.float64``);
    a user's backward may return a number, a list or a chainrule Tensor (its values are used).
    """
    if hasattr(grad, "grad_fn") and hasattr(grad, "data"):  # a Tensor: its values (no graph of the backward)
        grad = grad.data
    try:
        array = np.asarray(grad, dtype=dtype)
    except (TypeError, ValueError):
        raise GraphError(
            f"{op}: backward returned {type(grad).__name__} {grad!r:.40} as a gradient; return a NumPy array"
        ) from None
    return array


def fit_gradient(grad: Any, tensor: Tensor, op: str) -> np.ndarray:
    """The rule for what an op's backward returned for ``tensor``: an array of the tensor's shape.

    A number, a list or a Tensor becomes an array (``as_gradient_array``); a gradient of the
    broadcast shape is summed back (``unbroadcast``). ``backward`` below inlines these two tests
    (they run for every input of every node); ``autograd``, ``explain`` and ``draw`` call this.
    """
    kind = type(grad)
    if kind is not ndarray and kind not in _FLOAT_SCALARS:
        grad = as_gradient_array(grad, tensor.data.dtype, op)
    if grad.shape != tensor.data.shape:
        grad = unbroadcast(np.asarray(grad), tensor.data.shape, op)
    return grad


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


def _accumulate_leaf(leaf: Tensor, grad: np.ndarray, copy: bool) -> None:
    """Add ``grad`` to ``leaf.grad``, which becomes an array of the leaf's dtype that no one else holds.

    Accumulation makes a new array rather than adding in place, so an array handed to a leaf
    is never changed behind the back of whoever else might hold it.
    """
    if leaf.data.dtype.kind != "f":  # .data was replaced by integers: a gradient cast to them would be truncated
        raise DTypeError(
            f"backward: {tensor_label(leaf, 'a leaf')} requires grad but its .data now holds {leaf.data.dtype} "
            "numbers; assign a floating-point array to .data (e.g. .astype(np.float64))"
        )
    if leaf.grad is not None:
        total = leaf.grad + grad
        if type(total) is not np.ndarray or total.dtype != leaf.data.dtype:  # 0-d sums come back as scalars
            total = np.asarray(total, dtype=leaf.data.dtype)
        leaf.grad = total
    elif copy or type(grad) is not np.ndarray or grad.dtype != leaf.data.dtype or not grad.flags.writeable:
        leaf.grad = np.array(grad, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad = grad
