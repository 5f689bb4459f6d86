"""Gradients as tensors: ``grad(outputs, inputs)``, and backward passes that can be differentiated again.

``graph.backward`` is the fast first-order pass: NumPy arrays only, stored into the leaves'
``.grad``. This module walks the same graph in the same order (latest-created node first) for
what that pass does not do:

* the gradients of chosen ``inputs`` (leaves or intermediate results), returned instead of
  stored, as ``torch.autograd.grad`` does: ``grad(loss, [w])``;
* with ``create_graph=True``, each node's ``vjp`` (its backward written with chainrule ops)
  instead of its NumPy ``backward``: the gradients are tensors with a graph of their own, so
  they can be differentiated again (Hessians, gradient penalties, Newton's method).

The rules are those of ``graph.backward``: a gradient of the broadcast shape is summed back to
its input's shape (``sum_to``, the differentiable ``unbroadcast``), the contributions of several
uses are added, and the saved values of each node are freed after its backward unless
``retain_graph`` (default: ``create_graph``, as in PyTorch).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (dy_dx,) = cr.autograd.grad(x ** 3, x, create_graph=True)   # 3x² = 27, with a graph
    >>> (d2y_dx2,) = cr.autograd.grad(dy_dx, x)                     # 6x = 18
    >>> dy_dx.item(), d2y_dx2.item()
    (27.0, 18.0)
"""

from __future__ import annotations

import threading
from heapq import heappop, heappush
from typing import Any, Sequence

import numpy as np

from . import observers, versions
from .grad_mode import enable_grad
from .accumulation import accumulate_leaf, add_gradient, as_gradient_array, fit_gradient, unbroadcast
from .graph import _freed, topological_order, wrong_count
from .function import _real_array
from .tensor import Tensor
from ..errors import DTypeError, GraphError, ShapeError, check_flag, describe_value, format_shape, tensor_label


class _ThreadState(threading.local):
    transforms = 0  # function transformations (cr.grad, cr.jacobian, …) evaluating their function in this thread


_state = _ThreadState()
_threads_transforming = 0  # threads with a transformation at work; while 0, nothing reads _state
_lock = threading.Lock()


def transforming_now() -> bool:
    """True while a function transformation evaluates its function in this thread.

    Then an inner transformation composes with the outer one, and a traced function runs as its
    plain ``f`` (the transformation differentiates f's graph itself).
    """
    return bool(_threads_transforming) and _state.transforms > 0


class transforming:  # noqa: N801 - used like a function
    """Context manager around a transformation's call of its function (``chainrule.functional``)."""

    def __enter__(self) -> None:
        global _threads_transforming
        if _state.transforms == 0:
            with _lock:
                _threads_transforming += 1
        _state.transforms += 1

    def __exit__(self, *exc_info: object) -> None:
        global _threads_transforming
        _state.transforms -= 1
        if _state.transforms == 0:
            with _lock:
                _threads_transforming -= 1


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to each of ``inputs``, as a tuple of tensors.

    ``outputs`` is a tensor or a sequence of them; ``grad_outputs`` gives the vector of the
    vector-Jacobian product for each (needed for a non-scalar output; 1 for a scalar). Nothing is
    stored in any ``.grad``. With ``create_graph=True`` the returned gradients carry a graph and
    can be differentiated again. An input the outputs do not depend on is an error, or ``None``
    with ``allow_unused=True``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (g,) = cr.autograd.grad((w * w).sum(), [w])
    >>> g.data
    array([2., 4.])
    """
    create_graph = check_flag("grad", "create_graph", create_graph)
    allow_unused = check_flag("grad", "allow_unused", allow_unused)
    if retain_graph is not None:
        retain_graph = check_flag("grad", "retain_graph", retain_graph)
    output_list = _as_list(outputs, "outputs")
    input_list = _as_list(inputs, "inputs")
    if not output_list or not input_list:
        raise GraphError(
            f"grad: no {'outputs' if not output_list else 'inputs'} given; pass a tensor or a list of them"
        )
    for position, tensor in enumerate(input_list):
        if not isinstance(tensor, Tensor):
            raise GraphError(f"grad: input {position} is {type(tensor).__name__}, not a tensor")
        if not tensor.requires_grad:
            raise GraphError(
                f"grad: {tensor_label(tensor, f'input {position}')} does not require grad; "
                "create it with requires_grad=True"
            )
    roots, root_grads = _roots(output_list, grad_outputs, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    found = walk(roots, root_grads, create_graph=create_graph, retain_graph=retain, targets=input_list)
    results: list[Tensor | None] = []
    for position, tensor in enumerate(input_list):
        gradient = found.get(id(tensor))
        if gradient is None:
            if not allow_unused:
                raise GraphError(
                    f"grad: the outputs do not depend on {tensor_label(tensor, f'input {position}')}; "
                    "pass allow_unused=True to get None for it"
                )
            results.append(None)
        elif isinstance(gradient, Tensor):
            results.append(gradient)
        else:  # an array of its own in the input's dtype, as .grad gets: never shared with another result
            results.append(Tensor._from_op(np.array(gradient, dtype=tensor.data.dtype), None))
    return tuple(results)


def _as_list(items: Any, what: str) -> list[Any]:
    """``outputs`` or ``inputs`` as a list: one tensor, or a list or tuple of them."""
    if isinstance(items, Tensor):
        return [items]
    if isinstance(items, (list, tuple)):
        return list(items)
    raise GraphError(f"grad: {what} must be a tensor or a list of tensors, got {describe_value(items)}")


def _roots(outputs: list[Any], grad_outputs: Any, create_graph: bool) -> tuple[list[Tensor], list[Any]]:
    """The outputs and the gradient each starts with (1 for a scalar), checked."""
    if grad_outputs is None:
        grad_list: list[Any] = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray, int, float)):
        grad_list = [grad_outputs]
    else:
        grad_list = list(grad_outputs)
    if len(grad_list) != len(outputs):
        raise GraphError(f"grad: {len(grad_list)} grad_outputs for {len(outputs)} outputs; give one per output")
    roots, root_grads = [], []
    for position, (output, given) in enumerate(zip(outputs, grad_list)):
        if not isinstance(output, Tensor):
            raise GraphError(f"grad: output {position} is {type(output).__name__}, not a tensor")
        if not output.requires_grad:
            raise GraphError(
                f"grad: output {position} does not depend on any tensor that requires grad: it is a constant (the "
                "derivative of a polynomial past its degree, a result of traced(x): use traced.graph(x)), or it was "
                "computed inside no_grad() or from tensors without requires_grad=True"
            )
        if given is None:
            if output.data.size != 1:
                raise GraphError(
                    f"grad: output {position} has shape {format_shape(output.shape)}, not a scalar; "
                    "pass grad_outputs of its shape (or reduce it with .sum())"
                )
            given = np.ones_like(output.data)
        if isinstance(given, Tensor) and given.data.dtype != output.data.dtype:
            raise DTypeError(
                f"grad: grad_outputs {position} is {given.data.dtype} but output {position} is {output.data.dtype}; "
                "give it the output's dtype"
            )
        value = given.data if isinstance(given, Tensor) else _real_array(given, "grad", output.data.dtype)
        value = value.astype(output.data.dtype, copy=False)
        if value.shape != output.data.shape:
            raise ShapeError(
                f"grad: grad_outputs {position} has shape {format_shape(value.shape)} but output {position} "
                f"has shape {format_shape(output.shape)}"
            )
        if create_graph:
            given = given if isinstance(given, Tensor) else Tensor._from_op(value, None)
        else:
            given = value
        roots.append(output)
        root_grads.append(given)
    return roots, root_grads


def walk(
    roots: list[Tensor],
    root_grads: list[Any],
    create_graph: bool,
    retain_graph: bool,
    targets: list[Tensor] | None,
) -> dict[int, Any]:
    """The backward pass from ``roots``: the gradient of each target, by ``id``, or (``targets=None``) into ``.grad``.

    With ``create_graph`` every gradient is a tensor made by the nodes' ``vjp``; otherwise an
    array made by their ``backward``. With targets, only the nodes that lead to a target run.
    """
    grads: dict[Any, Any] = {}
    heap: list[tuple[int, Any]] = []
    found: dict[int, Any] = {}
    target_ids = None if targets is None else {id(tensor) for tensor in targets}
    target_nodes = {} if targets is None else {t.grad_fn: t for t in targets if t.grad_fn is not None}
    needed = None if targets is None else _nodes_leading_to(roots, target_ids)

    def receive(tensor: Tensor, gradient: Any) -> None:
        node = tensor.grad_fn
        if node is None:
            if target_ids is None:
                _store_leaf(tensor, gradient, create_graph)
            elif id(tensor) in target_ids:
                found[id(tensor)] = _add(found.get(id(tensor)), gradient)
            return
        if needed is not None and node not in needed and node not in target_nodes:
            return
        if node.inputs is None:
            raise GraphError(_freed(node))
        previous = grads.get(node)
        if previous is None:
            heappush(heap, (-node.sequence, node))
        grads[node] = _add(previous, gradient)

    for root, root_grad in zip(roots, root_grads):
        receive(root, root_grad)
    changed = versions.latest
    while heap:
        node = heappop(heap)[1]
        gradient = grads.pop(node)
        if node in target_nodes:
            found[id(target_nodes[node])] = gradient
        if needed is not None and node not in needed:
            continue
        if node.sequence < changed:
            versions.check_saved(node)
        input_grads = _local_gradients(node, gradient, create_graph)
        for tensor, wanted, input_grad in zip(node.inputs, node.needs_input_grad, input_grads):
            if wanted and input_grad is not None:
                receive(tensor, _fitted(input_grad, tensor, node.name, create_graph))
        if not retain_graph:
            node.__dict__.clear()
    return found


def _local_gradients(node: Any, gradient: Any, create_graph: bool) -> tuple[Any, ...]:
    """One node's vector-Jacobian product: ``vjp`` on tensors with ``create_graph``, else ``backward``."""
    watched = bool(observers.active())
    if create_graph:
        if node.sequence < versions.latest:  # vjp reads the inputs' arrays too, not only what forward saved
            versions.check_inputs(node)
        with enable_grad():
            if watched:
                input_grads = observers.observed_backward(node, gradient, differentiable=True)
            else:
                input_grads = node.vjp(gradient, *node.inputs)
    elif watched:
        input_grads = observers.observed_backward(node, gradient)
    else:
        input_grads = node.backward(gradient)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    if len(input_grads) != len(node.inputs):
        raise GraphError(wrong_count(node.name, len(input_grads), len(node.inputs)))
    return input_grads


def _fitted(gradient: Any, tensor: Tensor, op: str, create_graph: bool) -> Any:
    """A gradient as the walk keeps it: an array (or a tensor with ``create_graph``) of ``tensor``'s shape."""
    if not create_graph:
        return fit_gradient(gradient, tensor.data.shape, tensor.data.dtype, op)
    shape = tensor.data.shape
    if not isinstance(gradient, Tensor):  # a constant (a user's vjp may return arrays where nothing varies)
        gradient = Tensor._from_op(as_gradient_array(gradient, tensor.data.dtype, op), None)
    if gradient.data.shape == shape:
        return gradient
    unbroadcast(gradient.data, shape, op)  # the shape check, with the op's name in the message
    from ..ops.shape import sum_to  # ops sit above the engine: imported when a graph of the backward is made

    with enable_grad():
        return sum_to(gradient, shape)


def _add(previous: Any, gradient: Any) -> Any:
    """The sum of two contributions to one gradient (a new array or tensor: neither is changed)."""
    if previous is None:
        return gradient
    if isinstance(previous, Tensor) or isinstance(gradient, Tensor):
        with enable_grad():
            return previous + gradient
    return add_gradient(previous, gradient, owned=False)  # entries are handed out as found gradients: never in place


def _store_leaf(leaf: Tensor, gradient: Any, create_graph: bool) -> None:
    """Add a gradient to ``leaf.grad``: an array, or with ``create_graph`` a tensor that keeps its graph."""
    if not create_graph:
        accumulate_leaf(leaf, gradient)
        return
    previous = leaf.grad
    if previous is None:  # a tensor of its own (another leaf, grad_outputs or a read-only view may hold this one)
        leaf.grad = Tensor._from_op(np.array(gradient.data), gradient.grad_fn)
        return
    with enable_grad():
        leaf.grad = (previous if isinstance(previous, Tensor) else Tensor._from_op(previous, None)) + gradient


def _nodes_leading_to(roots: list[Tensor], target_ids: set[int]) -> set[Any]:
    """The nodes below ``roots`` from which some target can be reached by going towards the inputs."""
    order: list[Any] = []
    seen: set[Any] = set()
    for root in roots:
        if root.grad_fn is not None and root.grad_fn not in seen:
            for node in topological_order(root.grad_fn):
                if node not in seen:
                    seen.add(node)
                    order.append(node)
    needed: set[Any] = set()
    for node in sorted(order, key=lambda node: node.sequence):  # inputs' nodes first
        for tensor in node.inputs:
            if id(tensor) in target_ids or (tensor.grad_fn is not None and tensor.grad_fn in needed):
                needed.add(node)
                break
    return needed
