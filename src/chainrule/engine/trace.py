"""``trace(f)``: record a loss function's ops once, then replay forward and backward as straight-line code.

The first call of a traced function runs ``f`` normally while recording every op it applies.
From the recording, chainrule writes one flat Python function: each op's ``forward`` on the
arrays of the step, then each ``backward`` in reverse order, adding the gradients into the
``.grad`` of the leaves exactly as ``loss.backward()`` would, in the same order, so the results
are the same bit for bit. Replays skip everything a graph costs: no tensors, no nodes, no
ordering, no dictionaries. ``traced.source()`` shows the code it runs.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> w = cr.tensor([0.5, -0.25], requires_grad=True)
    >>> step = cr.trace(lambda x: cr.softplus(x @ w).sum())
    >>> for batch in (np.ones((3, 2)), np.full((3, 2), 2.0)):
    ...     w.grad = None
    ...     loss = step(batch)  # forward and backward; w.grad now holds the gradient
    >>> loss, w.grad
    (tensor(2.92223095), array([3.73475599, 3.73475599]))

When every value of the step is one float64 number (the scalar network of the seeds), the
replay runs on Python floats and ``math`` instead of 0-d NumPy arrays, about twice as fast, with
the same results bit for bit (``scalar_replay``); where Python refuses (``1/0``, ``log(0)``) that
call replays with NumPy, which gives inf or nan as eager mode does.

A replay recomputes every tensor that ``f`` computes from its arguments with tensor ops, those
without a gradient included: ``detach()``, comparisons (``x > 0``), ``cr.where``'s condition,
tensors used as indices (labels, masks). Tensors that ``f`` reads but does not receive as
arguments (parameters, constants made outside ``f``) are read afresh at every call, after a
check that each still has its shape, dtype and ``requires_grad`` (a new shape or dtype is refused,
a switched ``requires_grad`` records anew). A new shape
or dtype of an argument records a new trace; so does a boolean mask that selects a different
number of elements than at the recording. ``f`` must return a scalar tensor; the update of the
parameters (``optimizer.step()``) stays outside.

What a trace fixes at the recording, and how it keeps that from replaying wrong:

* a value taken out of tensor ops inside ``f`` (``.item()``, ``float()``, ``int()``, ``bool()``
  and so every ``if``/``while`` on a tensor, ``.numpy()``, ``np.asarray(t)``, ``cr.tensor(t)``)
  from a tensor computed from the arguments or from a tensor that requires grad: refused while
  recording, with the line;
* an op input wrapping the very array (or a view of it) of such a tensor, as ``cr.exp(x.data)``
  makes: refused while recording;
* everything else the recording fixes (the ops, their options, numbers, constants made inside
  ``f``, the Python control flow) is recorded a second time at the next call with the same
  shapes and compared before any replay: a difference (a constant computed from ``.data``, a
  random constant, a branch on a value) is refused there, and only an identical recording is
  replayed from then on.

What no check can see: a value copied out of ``.data`` (``cr.tensor(x.data * 2)``, a NumPy
index from ``x.data.argmax()``) that happens to be the same at the first two calls and differs
later, and a Python variable that ``f`` reads and that changes after those two calls: compute
such values with tensor ops on ``f``'s arguments, or pass them as arguments. Inside
``cr.detect_anomaly()`` a traced function runs ``f`` eagerly (``loss = f(*args);
loss.backward()``), with every check and message of eager code. Inside a function transformation
(``cr.grad(traced)``, ``cr.hessian(traced)``…) it is the plain ``f``: the transformation
differentiates f's graph itself (a replay's loss has none).
"""

from __future__ import annotations

from operator import is_
from typing import Any, Callable

import numpy as np

from . import anomaly, autograd, grad_mode, observers, scalar_replay
from ..errors import GraphError, format_shape
from .accumulation import add_gradient, fit_gradient, store_leaf_gradient, trusted_op
from .graph import wrong_count
from .recording import (
    ArgumentChanged,
    Recording,
    OutsideChanged,
    ShapeChanged,
    TraceRecorder,
    ValueReads,
    check_graph_inputs,
    check_loss,
    recording_trace,
)
from .tensor import Tensor


class _Tape:
    """One recording of ``f``, compiled into a function ``run(arguments) -> loss array``.

    Names in the generated code: ``a0, a1…`` the arguments' arrays, ``v0, v1…`` the results of
    the recorded ops, ``g0, g1…`` their gradients; ``F3``/``B3`` are op 3's forward and
    backward, ``T0, T1…`` tensors made outside ``f`` (parameters, constants) and ``d0, d1…``
    their arrays, read once per call.
    """

    def __init__(self, arguments: list[Tensor], records: list[Any], loss: Tensor, recording: Recording) -> None:
        self.namespace: dict[str, Any] = {
            "FIT": fit_gradient,
            "ADD": add_gradient,
            "STORE": store_leaf_gradient,
            "SHAPE_CHANGED": ShapeChanged,
            "OUTSIDE_CHANGED": OutsideChanged,
            "ARGUMENT_CHANGED": ArgumentChanged,
            "np": np,
            "GraphError": GraphError,
            "wrong_count": wrong_count,
        }
        self.recording = recording
        #: True once a later call recorded the same computation: only then is the tape replayed
        self.confirmed = False
        self.external: dict[int, str] = {}
        self.external_shapes: list[tuple[str, Tensor, tuple[int, ...], np.dtype, bool]] = []
        if recording.loss is None or recording.loss[0] != "v":
            raise GraphError("trace: f must return a tensor computed by ops inside f")
        loss_name = f"v{recording.loss[1]}"
        self.arguments = _signature(arguments)[:-1]  # each argument's (shape, dtype, requires_grad, computed)
        lines = ["def run(A):"]
        calls = []
        for index, ((node, inputs, options, out), (_, keys, _, _)) in enumerate(zip(records, recording.steps)):
            self.namespace[f"F{index}"] = node.forward
            sources = [f"{key[0]}{key[1]}" if type(key) is tuple else f"d{self._external(key)[1:]}" for key in keys]
            call = ", ".join(sources)
            if options:
                self.namespace[f"O{index}"] = options
                call += f", **O{index}"
            line = f"    v{index} = F{index}({call})  # {node.name}"
            if getattr(node, "shape_depends_on_values", False):  # a mask that selects another count: record anew
                line += f"\n    if v{index}.shape != {tuple(out.shape)}:\n        raise SHAPE_CHANGED"
            calls.append((line, sources))
        # Each result is let go after the last op that reads it (the loss is returned), as eager
        # tensors are freed once no op holds them: what a backward needs, its node keeps.
        last_read = {f"v{index}": index for index in range(len(calls))}
        for index, (_, sources) in enumerate(calls):
            last_read.update((source, index) for source in sources if source in last_read)
        let_go: dict[int, list[str]] = {}
        for name, index in last_read.items():
            if name != loss_name:
                let_go.setdefault(index, []).append(name)
        for index, (line, _) in enumerate(calls):
            lines.append(line)
            if index in let_go:
                lines.append(f"    del {', '.join(let_go[index])}")
        lines += self._backward(records, loss, recording)
        lines.append(f"    return {loss_name}")
        reads = self._reads()  # every tensor made outside f is named by now (the ops above read them all)
        lines[1:1] = reads
        self.source = "\n".join(lines) + "\n"
        exec(compile(self.source, "<chainrule.trace>", "exec"), self.namespace)  # noqa: S102 - our own generated code
        self.run: Callable[[list[Tensor]], Any] = self.namespace["run"]
        #: the same step on Python floats when every value is one float64 number (scalar_replay), else None
        self.run_floats: Callable[[list[Tensor]], Any] | None = None
        rules = scalar_replay.float_rules(records, loss)
        if rules is not None:
            floats = scalar_replay.float_replay(
                arguments, records, recording, rules, self._external, reads, self.namespace
            )
            exec(compile(floats, "<chainrule.trace>", "exec"), self.namespace)  # noqa: S102 - our own generated code
            self.source += "\n" + floats
            self.run_floats = self.namespace["run_floats"]
        for node, *_ in records:
            node.inputs = None  # the recording's tensors are not needed any more

    def _external(self, tensor: Tensor) -> str:
        """The name of a tensor made outside ``f``; it is read afresh at every call."""
        if id(tensor) not in self.external:
            name = f"T{len(self.external)}"
            self.external[id(tensor)] = name
            self.namespace[name] = tensor
            self.external_shapes.append(
                (name, tensor, tensor.data.shape, tensor.data.dtype, bool(tensor.requires_grad))
            )
            self.namespace[f"{name}_DTYPE"] = tensor.data.dtype
        return self.external[id(tensor)]

    def _reads(self) -> list[str]:
        """Lines that read the arrays of a call and stop the replay, before it computes anything, if one changed.

        A tensor made outside ``f`` (``T0`` read as ``d0``…) given a new array of another shape
        or dtype, or frozen (``requires_grad`` switched), would make the recorded code compute what
        eager mode no longer computes: ``OUTSIDE_CHANGED``. An argument (``A[0]`` read as ``a0``…)
        is checked the same way (``ARGUMENT_CHANGED``), so that a call with the very tensors of the
        last call may skip choosing a recording (``Traced.__call__``) even if one of them was given
        an array of another shape since. About 0.1 µs per tensor and call.
        """
        reads = [
            (f"d{name[1:]}", name, f"{name}_DTYPE", shape, requires_grad, "OUTSIDE_CHANGED")
            for name, _, shape, _, requires_grad in self.external_shapes
        ]
        read_by_ops = set(self.recording.arguments_read)
        for index, (shape, dtype, requires_grad, _) in enumerate(self.arguments):
            self.namespace[f"A{index}_DTYPE"] = dtype
            # an argument computed by ops that require grad, if an op reads it: recording it again refuses it
            # (check_graph_inputs), as the first call did
            error = "ARGUMENT_CHANGED" if index not in read_by_ops else "ARGUMENT_CHANGED_OR_COMPUTED"
            reads.append((f"a{index}", f"A[{index}]", f"A{index}_DTYPE", shape, requires_grad, error))
        return [
            f"    {array} = {tensor}.data\n"
            # dtypes are compared by identity first (the usual case, quickest), then by value
            f"    if {array}.shape != {shape} or ({array}.dtype is not {dtype} and {array}.dtype != {dtype}) "
            f"or {'not ' if requires_grad else ''}{tensor}.requires_grad"
            + (f" or {tensor}.grad_fn is not None" if error == "ARGUMENT_CHANGED_OR_COMPUTED" else "")
            + f":\n        raise {error.removesuffix('_OR_COMPUTED')}"
            for array, tensor, dtype, shape, requires_grad, error in reads
        ]

    def unfrozen_or_frozen(self) -> bool:
        """Whether a tensor made outside ``f`` now requires grad or no longer does, since the recording."""
        return any(
            bool(tensor.requires_grad) is not requires_grad for _, tensor, _, _, requires_grad in self.external_shapes
        )

    def changed_outside(self) -> str | None:
        """Which tensor made outside ``f`` has a new shape or dtype since the recording, if any."""
        for name, tensor, shape, dtype, _ in self.external_shapes:
            if tensor.data.shape != shape or tensor.data.dtype != dtype:
                label = f"'{tensor.name}'" if tensor.name else f"a tensor f reads from outside ({name})"
                return (
                    f"{label} was {format_shape(shape)} {dtype} when f was recorded and is now "
                    f"{format_shape(tensor.data.shape)} {tensor.data.dtype}"
                )
        return None

    def _backward(self, records: list[Any], loss: Tensor, recording: Recording) -> list[str]:
        """Backward through the ops that lead to the loss, latest first, as ``Tensor.backward`` goes.

        The code calls the rules ``graph.backward`` calls (``accumulation``): ``FIT`` an op's
        gradient to its input's shape, ``ADD`` a contribution to a gradient, ``STORE`` one into a
        leaf's ``.grad``. What the generator decides is only what it knows from the recording:
        which variable gets a gradient first (a plain assignment), which is surely a sum made by
        ``ADD`` (``owned``: it may be added into in place), and which checks cannot fail. A
        built-in op's backward is known to return one gradient per input, an array of the input's
        shape or the output's for each input that needs one (``Function.exact_gradients``, checked
        for every op by the tests), so its code unpacks the result directly, adds without testing
        for None, and fits only where the two shapes differ. A user's op gets every check
        ``graph.backward`` makes.
        """
        # the seed gradient: for a 0-d loss an immutable NumPy scalar 1, safe to share between calls
        self.namespace["ONE"] = loss.dtype.type(1)
        seed = "ONE" if loss.ndim == 0 else f"np.ones({loss.shape}, dtype=np.{loss.dtype})"
        loss_gradient = f"g{recording.loss[1]}"
        body = [f"    {loss_gradient} = {seed}"]
        # what each gradient variable holds at this point of the code: "set" (an array), "summed" (a
        # sum ADD made, which no one else holds), or "maybe" (None unless a user's op, which may
        # return None, gave it one); absent: nothing yet
        state = {loss_gradient: "set"}
        for index in range(len(records) - 1, -1, -1):
            node, inputs, _, out = records[index]
            keys = recording.steps[index][1]
            grad = f"g{index}"
            if grad not in state or out.grad_fn is not node:
                continue  # the loss does not depend on this op's result
            self.namespace[f"B{index}"] = node.backward
            exact = trusted_op(node)  # exact_gradients, unless a user's subclass wrote its own backward
            indent = "    "
            if state[grad] == "maybe":
                body.append(f"    if {grad} is not None:")
                indent = "        "
            always = exact and indent == "    "  # the code below runs at every replay, with an array
            wanted = [position for position, needed in enumerate(node.needs_input_grad) if needed]
            if exact and len(inputs) == 1:
                body.append(f"{indent}x0 = B{index}({grad})  # {node.name}")
            elif exact:
                targets = ", ".join(f"x{p}" if p in wanted else "_" for p in range(len(inputs)))
                body.append(f"{indent}{targets} = B{index}({grad})  # {node.name}")
            else:
                body += [
                    f"{indent}r = B{index}({grad})  # {node.name}",
                    f"{indent}if type(r) is not tuple:",
                    f"{indent}    r = (r,)",
                    f"{indent}if len(r) != {len(inputs)}:",
                    f"{indent}    raise GraphError(wrong_count({node.name!r}, len(r), {len(inputs)}))",
                ]
            leaves_here: list[str] = []
            for position in wanted:
                tensor = inputs[position]
                x = f"x{position}"
                shape = tuple(tensor.shape)
                fit = f"{x} = FIT({x}, {shape}, np.dtype({tensor.dtype.str!r}), {node.name!r})"
                if not exact:
                    body += [f"{indent}{x} = r[{position}]", f"{indent}if {x} is not None:"]
                    lines = [fit]
                elif shape != tuple(out.shape):  # else the gradient of an exact op fits already
                    lines = [f"if {x}.shape != {shape}:", f"    {fit}"]
                else:
                    lines = []
                key = keys[position]
                if type(key) is not tuple or key[0] == "a":  # a leaf: an argument or a tensor made outside f
                    leaf = f"A[{key[1]}]" if type(key) is tuple else self._external(key)
                    earlier = "".join(f"{name}, " for name in leaves_here)
                    lines.append(f"STORE({leaf}, {x}, {grad}, ({earlier}){'' if exact else ', False'})")
                    if not exact:  # a later input's store reads this one, which may not have been set
                        handed = f"h{index}_{position}"
                        lines.append(f"{handed} = {x}")
                        body.insert(1, f"    {handed} = None")
                        leaves_here.append(handed)
                    else:
                        leaves_here.append(x)
                else:
                    target = f"g{key[1]}"
                    before = state.get(target)
                    if before in ("set", "summed"):
                        lines.append(f"{target} = ADD({target}, {x}, {before == 'summed'})")
                        if before == "summed" or always:  # a sum either way, or surely one now
                            state[target] = "summed"
                    elif before is None and always:
                        lines.append(f"{target} = {x}")
                        state[target] = "set"
                    else:
                        lines.append(f"{target} = {x} if {target} is None else ADD({target}, {x}, False)")
                        if before is None:
                            body.insert(1, f"    {target} = None")
                        state[target] = "set" if always else "maybe"
                inner = indent + ("    " if not exact else "")
                body += [inner + line for line in lines]
            body.append(f"{indent}del {grad}")  # used up, as graph.backward pops it: its array may go
        return body


class Traced:
    """A loss function recorded by ``trace``: call it like ``f``; it returns the loss (no graph)."""

    def __init__(self, f: Callable[..., Tensor]) -> None:
        self.f = f
        self.tapes: dict[tuple, _Tape] = {}
        self._last: tuple[tuple[Any, ...], list[Tensor], _Tape] | None = None

    def __call__(self, *args: Any, **keywords: Any) -> Tensor:
        if keywords:
            raise TypeError(
                f"trace: pass f's arguments by position (a replay takes them in order), not as {', '.join(keywords)}="
            )
        if (
            autograd._threads_transforming and autograd.transforming_now()
        ):  # inside cr.grad, cr.hessian…: the transformation differentiates f itself
            return self.f(*args)
        if grad_mode._threads_off or observers._threads_on:  # some thread has a mode on: look at this one's
            if not grad_mode.is_grad_enabled():
                raise GraphError(
                    "trace: a traced step computes gradients, but it was called inside no_grad(); call f itself "
                    "there for the loss alone"
                )
            if observers.active():  # inside detect_anomaly, while a trace records, or another observer watches
                return self._eager(args)
        last = self._last
        if last is not None and len(args) == len(last[0]) and all(map(is_, args, last[0])):
            # the very objects of the last call (full-batch training): its tensors and recording serve again;
            # the replay itself checks that their arrays still have the shapes and dtypes it was recorded with
            try:
                return self._replay(last[1], last[2])
            except ArgumentChanged:  # raised before the replay computed anything: choose the recording anew
                self._last = None
        arguments = _as_arguments(args)
        signature = _signature(arguments)
        tape = self.tapes.get(signature)
        if tape is None or not tape.confirmed:
            tape = self.tapes[signature] = self._record(arguments, tape)
        # arguments that a later call may reuse: tensors, arrays (wrapped without a copy) and numbers, not a
        # list whose items the caller may change in place (its array is a copy made now)
        reusable = tape.confirmed and all(type(a) in _REUSABLE or isinstance(a, Tensor) for a in args)
        self._last = (args, arguments, tape) if reusable else None
        return self._replay(arguments, tape)

    def _replay(self, arguments: list[Tensor], tape: _Tape) -> Tensor:
        """The loss of one replay of ``tape``; the gradients are added to the leaves' ``.grad``."""
        try:
            if tape.run_floats is not None:
                loss = tape.run_floats(arguments)  # None where Python refuses (1/0, log 0) or a result is not finite:
                if loss is not None:  # NumPy's replay then gives inf or nan, and NumPy's warnings, as eager mode does
                    return Tensor._from_op(loss, None)
            return Tensor._from_op(tape.run(arguments), None)
        except OutsideChanged:  # raised before the replay computed anything
            changed = tape.changed_outside()
            if changed is not None:
                raise GraphError(
                    f"trace: {changed}; a replay needs the shapes it was recorded with: trace f again"
                ) from None
            # else a tensor f reads from outside now requires grad or no longer does: record anew
        except (ShapeChanged, ArgumentChanged):  # nothing was added to any .grad yet: record these values anew
            pass  # (an argument changes between choosing the recording and its replay only if f changes it)
        self._last = None
        tape = self.tapes[_signature(arguments)] = self._record(arguments, None)
        try:
            return Tensor._from_op(tape.run(arguments), None)
        except ArgumentChanged:
            raise GraphError(
                "trace: f changes its own arguments while it runs (their shape, dtype or requires_grad), so no "
                "recording fits the next call: change them before calling the traced function, or call f without trace"
            ) from None

    def source(self) -> str:
        """The generated code of every recording, for reading."""
        return "\n".join(tape.source for tape in self.tapes.values())

    def program(self, *args: Any) -> Recording:
        """The recorded program for arguments like ``args`` (recorded now if needed): data, not code.

        ``print(traced.program(x))`` lists its ops; ``traced.graph(x)`` applies them again as an
        ordinary graph.
        """
        arguments = _as_arguments(args)
        signature = _signature(arguments)
        tape = self.tapes.get(signature)
        if tape is None:
            tape = self.tapes[signature] = self._record(arguments, None)
        return tape.recording

    def graph(self, *args: Any) -> Tensor:
        """The loss at ``args`` computed by the recorded program as an ordinary graph (f is not called).

        Explain it, draw it, or differentiate it (``backward``, ``cr.autograd.grad`` with
        ``create_graph=True``): the program a replay runs, seen like any other computation.
        """
        return self.program(*args).graph(*_as_arguments(args))

    def _eager(self, args: tuple[Any, ...]) -> Tensor:
        """``loss = f(*args); loss.backward()`` without a replay (arguments wrapped as for one), where checks must see every op."""
        if recording_trace():
            raise GraphError(
                "trace: a traced function was called inside another traced function's f, at "
                f"{anomaly.user_location()}; a trace cannot record a replay: call the plain function there"
            )
        loss = self.f(*_as_arguments(args))  # f receives tensors, as in a traced call
        check_loss(loss)
        loss.backward()
        return Tensor._from_op(loss.data, None)

    def _record(self, arguments: list[Tensor], previous: _Tape | None) -> _Tape:
        """Run ``f`` recording its ops; compile the recording, or confirm ``previous`` when it is the same."""
        records: list[Any] = []
        reads = ValueReads(arguments, records)
        with observers.observe(TraceRecorder(records, reads)):
            loss = self.f(*arguments)
        check_loss(loss)
        check_graph_inputs(arguments, records)
        reads.check_wrapped_arrays()
        recording = Recording(arguments, records, loss)
        if previous is not None and previous.unfrozen_or_frozen():
            previous = None  # the user changed what requires grad: a new recording, not a suspicious difference
        if previous is not None and previous.recording.value_shapes == recording.value_shapes:
            difference = previous.recording.difference(recording)
            if difference is not None:
                raise GraphError(
                    f"trace: two calls of f with arguments of the same shapes computed differently: {difference}; a "
                    "replay would repeat the first call. Compute values with tensor ops on f's arguments (not from "
                    ".data), pass changing values as arguments of f, or call f without trace"
                )
            previous.confirmed = True
            return previous
        return _Tape(arguments, records, loss, recording)


def _signature(arguments: list[Tensor]) -> tuple:
    """What selects a recording: each argument's shape, dtype and whether it requires grad, and which are one tensor.

    ``step(x, x)`` records ``f`` with both arguments the same tensor: its replay must not serve ``step(x, y)``.
    """
    ids = [id(t) for t in arguments]
    same = tuple([ids.index(i) for i in ids])
    return (*[(t.data.shape, t.data.dtype, bool(t.requires_grad), t.grad_fn is not None) for t in arguments], same)


#: argument types that ``_as_arguments`` wraps without copying (arrays) or that cannot change (numbers)
_REUSABLE = frozenset({np.ndarray, float, int, bool, complex, np.float64, np.float32, np.float16, np.int64, np.int32})


def _as_arguments(args: tuple[Any, ...]) -> list[Tensor]:
    """Tensors for ``f``: each tensor as it is, anything else wrapped as ``np.asarray`` makes it.

    A number or a list becomes a tensor of NumPy's dtype for it (0.3: float64), where eager code
    would give a number the dtype of the tensor it meets (``w * 0.3`` with a float32 ``w`` stays
    float32): with float32 parameters, pass float32 arrays or tensors (README, Limits).
    """
    return [a if isinstance(a, Tensor) else Tensor._from_op(np.asarray(a), None) for a in args]


def trace(f: Callable[..., Tensor]) -> Traced:
    """Record ``f`` (a function of tensors returning a scalar loss) for fast replays of forward and backward.

    Each call returns the loss and leaves the gradients in the ``.grad`` of the leaves, as
    ``loss = f(*args); loss.backward()`` would, with the same numbers bit for bit (an argument that
    is not a tensor is first wrapped as ``np.asarray`` makes it: pass float32 parameters float32
    arrays, not Python numbers, which eager code would cast to float32). The first two
    calls with arguments of new shapes run ``f`` (recording it, then checking that a second
    recording is the same); later calls replay.
    """
    return Traced(f)
