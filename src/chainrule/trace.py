"""``trace(f)``: record a loss function's ops once, then replay forward and backward as a flat list.

The first call of a traced function runs ``f`` normally while recording every op it applies.
Later calls with arguments of the same shapes and dtypes skip everything a graph costs (no
tensors, no nodes, no ordering, no dictionaries): they call each recorded op's ``forward``
on the new arrays, then each ``backward`` in reverse order, and add the gradients into the
``.grad`` of the leaves exactly as ``loss.backward()`` would, in the same order, so the results
are the same bit for bit.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> w = cr.tensor([0.5, -0.25], requires_grad=True)
    >>> step = cr.trace(lambda x: cr.softplus(x @ w).sum())
    >>> for batch in (np.ones((3, 2)), np.full((3, 2), 2.0)):
    ...     w.grad = None
    ...     loss = step(batch)  # forward and backward; w.grad now holds the gradient
    >>> loss, w.grad
    (tensor(2.92223095), array([3.73475599, 3.73475599]))

What a trace keeps fixed: the sequence of ops and their options (axes, slopes, index
arrays, ``where`` conditions), Python control flow, and any tensor ``f`` reads that is neither
an argument nor a leaf (those are read afresh each call: parameters, constants). A new shape
or dtype of an argument records a new trace. ``f`` must return a scalar tensor; the update of
the parameters (``optimizer.step()``) stays outside.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import anomaly, function
from .errors import GraphError, format_shape
from .function import Function
from .graph import _accumulate_leaf, unbroadcast
from .tensor import Tensor


class _Tape:
    """The recorded ops of one call of ``f``, rewritten as slots instead of tensors.

    Slots ``0 … arguments−1`` hold the arguments; slot ``arguments + i`` holds op i's result.
    An op input is a slot number or, for tensors made outside ``f`` (parameters), the tensor.
    """

    def __init__(self, arguments: list[Tensor], records: list[Any], loss: Tensor) -> None:
        self.arguments = len(arguments)
        slot_of = {id(t): i for i, t in enumerate(arguments)}
        self.ops: list[tuple[Function, list[Any], dict[str, Any]]] = []
        for index, (node, inputs, options, out) in enumerate(records):
            sources = [slot_of.get(id(t), t) for t in inputs]
            self.ops.append((node, sources, options))
            slot_of[id(out)] = self.arguments + index
        if id(loss) not in slot_of:
            raise GraphError("trace: f must return a tensor computed by ops inside f")
        self.loss_slot = slot_of[id(loss)]
        self.loss_shape, self.loss_dtype = loss.shape, loss.dtype
        self.forward_plan = [(node.forward, sources, options, self.arguments + index)
                             for index, (node, sources, options) in enumerate(self.ops)]
        self.backward_plan = self._plan(records, loss, slot_of)
        for node, _, _ in self.ops:
            node.inputs = None  # the recording's tensors are not needed any more

    def _plan(self, records: list[Any], loss: Tensor, slot_of: dict[int, int]) -> list[tuple[int, Any, str, list]]:
        """The ops that lead to the loss through tensors requiring grad, latest first (as backward() goes)."""
        needed = {id(loss)}
        plan = []
        for index in range(len(records) - 1, -1, -1):
            node, inputs, _, out = records[index]
            if id(out) not in needed or out.grad_fn is not node:
                continue
            targets = []  # (input position, slot or leaf tensor, shape, is a leaf) for inputs needing grad
            for position, (tensor, wanted) in enumerate(zip(inputs, node.needs_input_grad)):
                if wanted:
                    slot = slot_of.get(id(tensor))
                    # a leaf made outside f (a parameter) is kept as the tensor itself
                    targets.append((position, slot if slot is not None else tensor, tensor.shape, tensor.grad_fn is None))
                    needed.add(id(tensor))
            plan.append((self.arguments + index, node.backward, node.name, targets))
        return plan

    def forward(self, values: list[Any]) -> None:
        """Each op's forward on the current arrays (0-d results stay NumPy scalars: faster, same bits)."""
        for forward, sources, options, slot in self.forward_plan:
            inputs = [values[s] if type(s) is int else s.data for s in sources]
            values[slot] = forward(*inputs, **options) if options else forward(*inputs)

    def backward(self, values: list[Any], arguments: list[Tensor]) -> None:
        """Each op's backward, latest first, adding into .grad as ``Tensor.backward`` does."""
        grads: list[Any] = [None] * len(values)
        grads[self.loss_slot] = np.array(1, dtype=self.loss_dtype).reshape(self.loss_shape)
        for slot, backward, name, targets in self.backward_plan:
            grad = grads[slot]
            if grad is None:
                continue
            grads[slot] = None
            input_grads = backward(grad)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            handed_out = None
            for position, where, shape, is_leaf in targets:
                input_grad = input_grads[position]
                if input_grad is None:
                    continue
                if input_grad.shape != shape:
                    input_grad = unbroadcast(np.asarray(input_grad), shape, name)
                if is_leaf:
                    leaf = arguments[where] if type(where) is int else where
                    shared = input_grad is grad or input_grad.base is not None
                    if handed_out is None:
                        handed_out = [input_grad]
                    else:
                        shared = shared or any(other is input_grad for other in handed_out)
                        handed_out.append(input_grad)
                    _accumulate_leaf(leaf, input_grad, shared)
                else:
                    previous = grads[where]
                    grads[where] = input_grad if previous is None else previous + input_grad


class Traced:
    """A loss function recorded by ``trace``: call it like ``f``; it returns the loss (no graph)."""

    def __init__(self, f: Callable[..., Tensor]) -> None:
        self.f = f
        self.tapes: dict[tuple, _Tape] = {}

    def __call__(self, *args: Any) -> Tensor:
        arguments = [a if isinstance(a, Tensor) else Tensor._from_op(np.asarray(a), None) for a in args]
        signature = tuple((t.data.shape, t.data.dtype.str, t.requires_grad) for t in arguments)
        tape = self.tapes.get(signature)
        values: list[Any] = [t.data for t in arguments]
        if tape is None:
            tape, values = self._record(arguments)  # values: the recording's own results
            self.tapes[signature] = tape
        else:
            values += [None] * len(tape.ops)
            tape.forward(values)
        tape.backward(values, arguments)
        return Tensor._from_op(values[tape.loss_slot], None)

    def _record(self, arguments: list[Tensor]) -> tuple[_Tape, list[Any]]:
        records: list[Any] = []
        previous = function._recorder
        function._recorder = records
        try:
            with anomaly.record_locations():
                loss = self.f(*arguments)
        finally:
            function._recorder = previous
        if not isinstance(loss, Tensor) or loss.size != 1:
            got = f"shape {format_shape(loss.shape)}" if isinstance(loss, Tensor) else type(loss).__name__
            raise GraphError(f"trace: f must return a scalar chainrule tensor, got {got}")
        if loss.grad_fn is None:
            raise GraphError("trace: f's result does not depend on any tensor with requires_grad=True")
        values = [t.data for t in arguments] + [out.data for *_, out in records]
        return _Tape(arguments, records, loss), values


def trace(f: Callable[..., Tensor]) -> Traced:
    """Record ``f`` (a function of tensors returning a scalar loss) for fast replays of forward and backward.

    Each call returns the loss and leaves the gradients in the ``.grad`` of the leaves, as
    ``loss = f(*args); loss.backward()`` would, with the same numbers bit for bit.
    """
    return Traced(f)
