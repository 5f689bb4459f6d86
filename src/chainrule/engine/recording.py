"""What ``chainrule.trace`` records of one call of ``f``, and what it refuses to record.

A replay may only repeat what a recording saw if the next call would compute the same way.
This module holds the checks: ``Recording`` (the ops of one call, compared with a second call's
before any replay), ``ValueReads`` (values that leave tensor ops while ``f`` records are
refused), ``check_loss`` and ``check_graph_inputs``. ``trace.py`` turns a confirmed recording
into straight-line code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import anomaly, observers
from .observers import Observer
from ..errors import GraphError, format_shape
from .tensor import Tensor

_Key = Any  # ("a", i): argument i; ("v", j): the result of op j; a Tensor: a tensor made outside the ops


class ShapeChanged(Exception):
    """A replay met an op whose result's shape depends on values (a boolean mask) with another shape."""


class OutsideChanged(Exception):
    """A replay found a tensor made outside ``f`` with another shape, dtype or ``requires_grad`` than at the recording."""


class ArgumentChanged(Exception):
    """A replay found an argument with another shape, dtype or ``requires_grad`` than at the recording."""


class Recording:
    """What one call of ``f`` computed, as a replay would repeat it.

    ``steps[k]`` is op k as ``(node, keys, options, requires_grad)``: ``keys`` says where each
    input came from (a ``_Key``), ``requires_grad`` which inputs required grad.
    """

    def __init__(self, arguments: list[Tensor], records: list[Any], loss: Tensor) -> None:
        where: dict[int, _Key] = {id(t): ("a", i) for i, t in enumerate(arguments)}
        self.steps: list[tuple[Any, tuple[_Key, ...], dict[str, Any], tuple[bool, ...]]] = []
        for index, (node, inputs, options, out) in enumerate(records):
            keys = tuple([where.get(id(t), t) for t in inputs])
            self.steps.append((node, keys, options, tuple([t.requires_grad for t in inputs])))
            where[id(out)] = ("v", index)
        self.loss = where.get(id(loss))
        #: the positions of the arguments that some op reads (a replay converts or checks only these)
        self.arguments_read = sorted(
            {key[1] for _, keys, _, _ in self.steps for key in keys if type(key) is tuple and key[0] == "a"}
        )
        #: ops applied without a gradient although an input required one (comparisons, detach, integer casts)
        self.without_gradient = {
            index
            for index, (node, inputs, _, out) in enumerate(records)
            if out.grad_fn is not node and any(t.requires_grad for t in inputs)
        }
        self.shapes = [tuple(out.shape) for _, _, _, out in records]
        #: the shapes of the results that depend on values (``Function.shape_depends_on_values``)
        self.value_shapes = tuple(
            out.shape for node, _, _, out in records if getattr(node, "shape_depends_on_values", False)
        )

    def __str__(self) -> str:
        """The recorded program, one op a line: ``v3 = mul(a0, T0)  # (3, 4)``.

        ``a0, a1…`` are f's arguments, ``v0, v1…`` the ops' results, ``T0, T1…`` tensors made
        outside f (parameters, constants), read afresh at each call.
        """
        outside: dict[int, str] = {}
        lines = []
        for index, (node, keys, options, _) in enumerate(self.steps):
            names = []
            for key in keys:
                if type(key) is tuple:
                    names.append(f"{key[0]}{key[1]}")
                else:
                    name = outside.setdefault(id(key), f"T{len(outside)}")
                    names.append(name + (f" '{key.name}'" if key.name else ""))
            shown = ", ".join(names + [f"{option}={_option_text(value)}" for option, value in options.items()])
            note = " (no gradient)" if index in self.without_gradient else ""
            lines.append(f"v{index} = {node.name}({shown})  # {format_shape(self.shapes[index])}{note}")
        if self.loss is not None:
            lines.append(f"return {self.loss[0]}{self.loss[1]}")
        return "\n".join(lines)

    def graph(self, *arguments: Any) -> Tensor:
        """The recorded ops applied again to ``arguments``, as an ordinary graph: explain, draw or differentiate it.

        The same program the replays run, built op by op into tensors instead of straight-line
        code; ``f`` itself is not called.
        """
        from .function import _apply_without_gradient

        values: list[Any] = []
        for index, (node, keys, options, _) in enumerate(self.steps):
            inputs = [
                (arguments[key[1]] if key[0] == "a" else values[key[1]]) if type(key) is tuple else key for key in keys
            ]
            if index in self.without_gradient:
                tensors = tuple(t if isinstance(t, Tensor) else Tensor._from_op(np.asarray(t), None) for t in inputs)
                values.append(_apply_without_gradient(type(node)(), tensors, options))
            else:
                values.append(type(node).apply(*inputs, **options))
        if self.loss is None or self.loss[0] != "v":
            raise GraphError("trace: f returned one of its arguments, not a result of its ops")
        return values[self.loss[1]]

    def difference(self, other: Recording) -> str | None:
        """What ``other`` (a later call's recording) computes differently, or None."""
        if len(other.steps) != len(self.steps):
            counts = [f"{len(steps)} op" + "s" * (len(steps) != 1) for steps in (other.steps, self.steps)]
            return f"f applied {counts[0]} where its first call applied {counts[1]} (a Python if, while or for on a value?)"
        for index, (mine, theirs) in enumerate(zip(self.steps, other.steps)):
            node, keys, options, needs = theirs
            op = f"op {index} ({node.name}, at {getattr(node, 'created_at', 'an unknown line')})"
            if type(node) is not type(mine[0]):
                return f"{op} was {mine[0].name} at the first call (a Python if on a value?)"
            if not _same(options, mine[2]):
                return f"{op} has options {_short(options)} where the first call had {_short(mine[2])}"
            for position, (key, first) in enumerate(zip(keys, mine[1])):
                if type(key) is tuple or type(first) is tuple:
                    if key == first:  # the same argument, or the result of the same op
                        continue
                elif key is first or _same(key.data, first.data):
                    continue  # the same tensor made outside f, or a constant made inside f with the same values
                return f"{op} takes as input {position} a tensor made inside f whose values changed"
            if needs != mine[3]:
                return f"{op}: other inputs require grad than at the first call"
        if other.loss != self.loss:
            return "f returned another of its results than at the first call"
        return None


def _same(a: Any, b: Any) -> bool:
    """Equal as a replay sees them: arrays of the same dtype, shape and bytes; containers element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b) or a != a and b != b  # NaN equals NaN here
    except (TypeError, ValueError):
        return a is b


def _option_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<array {format_shape(value.shape)}>"
    return repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."


def _short(options: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{name}={value!r:.40}" for name, value in options.items()) + "}"


class TraceRecorder(Observer):
    """The observer that records ``f`` for a trace: every op applied, with the checks of ``ValueReads``.

    Ops record the user's line (for the messages); a change in place is refused, since a replay
    repeats only the recorded ops and would skip it.
    """

    wants_locations = True

    def __init__(self, records: list[Any], reads: ValueReads) -> None:
        self.records, self.reads = records, reads

    def op_applied(self, node: Any, inputs: tuple[Any, ...], options: dict[str, Any], out: Any) -> None:
        self.records.append((node, inputs, options, out))

    def value_read(self, tensor: Any, how: str) -> None:
        self.reads(tensor, how)

    def changed_in_place(self, tensor: Any, symbol: str, location: str) -> None:
        raise GraphError(
            f"trace: f changes a tensor in place ({symbol} at {location}); a replay repeats only tensor ops "
            f"and would skip it: write t = t {symbol[:-1]} ... inside f"
        )


def recording_trace() -> bool:
    """True while a trace records ``f`` in this thread."""
    return any(isinstance(observer, TraceRecorder) for observer in observers.active())


class ValueReads:
    """While ``f`` records: refuse to let a value computed from its arguments or parameters leave tensor ops.

    A tensor counts as computed when it is an argument, requires grad, or is the result of a
    recorded op with such an input; ``Tensor.item``, ``float``, ``bool``… call this check.
    """

    def __init__(self, arguments: list[Tensor], records: list[Any]) -> None:
        self.arguments = arguments
        self.computed = {id(t) for t in arguments}
        self.records, self.seen = records, 0

    def update(self) -> set[int]:
        """The ids of the computed tensors, brought up to the latest recorded op."""
        for _, inputs, _, out in self.records[self.seen :]:
            if any(t.requires_grad or id(t) in self.computed for t in inputs):
                self.computed.add(id(out))
        self.seen = len(self.records)
        return self.computed

    def __call__(self, tensor: Tensor, how: str) -> None:
        if tensor.requires_grad or id(tensor) in self.update():
            raise GraphError(
                f"trace: f reads the value of a tensor computed from its arguments or parameters with {how}, at "
                f"{anomaly.user_location()}; a replay repeats only tensor ops and would keep this call's value: "
                "compute with tensor ops (comparisons, cr.where, indexing with tensors), or read it outside f"
            )

    def check_wrapped_arrays(self) -> None:
        """Refuse an op input made inside ``f`` around the array of a computed tensor (``cr.exp(x.data)``)."""
        computed = self.update()
        arrays = {id(t.data) for t in self.arguments} | {
            id(out.data) for *_, out in self.records if id(out) in computed
        }
        for node, inputs, _, _ in self.records:
            for position, t in enumerate(inputs):
                if t.requires_grad or id(t) in computed:
                    continue
                if id(t.data) in arrays or t.data.base is not None and id(t.data.base) in arrays:
                    raise GraphError(
                        f"trace: input {position} of {node.name} at {getattr(node, 'created_at', 'an unknown line')} "
                        "holds the array of a tensor computed from f's arguments (taken from .data?) as a constant; "
                        "a replay would keep this call's values: use the tensor itself, or .detach() for no gradient"
                    )


def check_loss(loss: Any) -> None:
    if not isinstance(loss, Tensor) or loss.size != 1:
        got = f"shape {format_shape(loss.shape)}" if isinstance(loss, Tensor) else type(loss).__name__
        raise GraphError(f"trace: f must return a scalar chainrule tensor, got {got}")
    if loss.grad_fn is None:
        raise GraphError("trace: f's result does not depend on any tensor with requires_grad=True")


def check_graph_inputs(arguments: list[Tensor], records: list[Any]) -> None:
    """Refuse an input computed, outside the recording, by ops that require grad: a replay could not backpropagate into them."""
    made_here = {id(out) for *_, out in records}
    for node, inputs, _, _ in records:
        for position, t in enumerate(inputs):
            if t.grad_fn is not None and id(t) not in made_here:
                what = "an argument of f" if any(t is a for a in arguments) else "a tensor made outside f"
                raise GraphError(
                    f"trace: input {position} of {node.name} at {getattr(node, 'created_at', 'an unknown line')} is "
                    f"{what} computed by ops that require grad (grad_fn=<{t.grad_fn.name}>); a trace's gradients "
                    "stop at what f receives: compute it inside f, or pass it .detach()ed"
                )
