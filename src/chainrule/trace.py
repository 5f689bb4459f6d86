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

What a trace keeps fixed: the sequence of ops and their options (axes, slopes, index
arrays, ``where`` conditions) and Python control flow. Tensors that ``f`` reads but does not
receive as arguments (parameters, constants) are read afresh at every call. A new shape or
dtype of an argument records a new trace. ``f`` must return a scalar tensor; the update of the
parameters (``optimizer.step()``) stays outside.
"""

from __future__ import annotations

from operator import is_
from typing import Any, Callable

import numpy as np

from . import anomaly, function
from .errors import GraphError, format_shape
from .graph import _accumulate_leaf, unbroadcast, wrong_count
from .tensor import Tensor


class _Tape:
    """One recording of ``f``, compiled into a function ``run(arguments) -> loss array``.

    Names in the generated code: ``a0, a1…`` the arguments' arrays, ``v0, v1…`` the results of
    the recorded ops, ``g0, g1…`` their gradients; ``F3``/``B3`` are op 3's forward and
    backward, ``T0, T1…`` tensors made outside ``f`` (parameters, constants).
    """

    def __init__(self, arguments: list[Tensor], records: list[Any], loss: Tensor) -> None:
        self.namespace: dict[str, Any] = {
            "ACCUMULATE": _accumulate_leaf,
            "UNBROADCAST": unbroadcast,
            "np": np,
            "ndarray": np.ndarray,
            "GraphError": GraphError,
            "wrong_count": wrong_count,
        }
        self.external: dict[int, str] = {}
        names = {id(t): f"a{i}" for i, t in enumerate(arguments)}
        leaf_names = {id(t): f"A[{i}]" for i, t in enumerate(arguments)}
        lines = ["def run(A):"]
        lines += [f"    a{i} = A[{i}].data" for i in range(len(arguments))]
        calls = []
        for index, (node, inputs, options, out) in enumerate(records):
            self.namespace[f"F{index}"] = node.forward
            sources = [names.get(id(t)) or f"{self._external(t)}.data" for t in inputs]
            call = ", ".join(sources)
            if options:
                self.namespace[f"O{index}"] = options
                call += f", **O{index}"
            calls.append((f"    v{index} = F{index}({call})  # {node.name}", sources))
            names[id(out)] = f"v{index}"
        if id(loss) not in names or not names[id(loss)].startswith("v"):
            raise GraphError("trace: f must return a tensor computed by ops inside f")
        loss_name = names[id(loss)]
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
        lines += self._backward(records, loss, names, leaf_names)
        lines.append(f"    return {loss_name}")
        self.source = "\n".join(lines) + "\n"
        exec(compile(self.source, "<chainrule.trace>", "exec"), self.namespace)  # noqa: S102 - our own generated code
        self.run: Callable[[list[Tensor]], Any] = self.namespace["run"]
        for node, *_ in records:
            node.inputs = None  # the recording's tensors are not needed any more

    def _external(self, tensor: Tensor) -> str:
        """The name of a tensor made outside ``f``; it is read afresh at every call."""
        if id(tensor) not in self.external:
            name = f"T{len(self.external)}"
            self.external[id(tensor)] = name
            self.namespace[name] = tensor
        return self.external[id(tensor)]

    def _backward(
        self, records: list[Any], loss: Tensor, names: dict[int, str], leaf_names: dict[int, str]
    ) -> list[str]:
        """Backward through the ops that lead to the loss, latest first, as ``Tensor.backward`` goes.

        A built-in op's backward is known to return one gradient per input, an array for each
        input that needs one (``Function.exact_gradients``, checked for every op by the tests), so
        its code unpacks the result directly and adds without testing for None. A user's op gets
        the checks ``graph.backward`` makes.
        """
        gradient = {name: "g" + name[1:] for name in names.values() if name.startswith("v")}
        # the seed gradient: for a 0-d loss an immutable NumPy scalar 1, safe to share between calls
        self.namespace["ONE"] = loss.dtype.type(1)
        seed = "ONE" if loss.ndim == 0 else f"np.ones({loss.shape}, dtype=np.{loss.dtype})"
        loss_gradient = gradient[names[id(loss)]]
        body = [f"    {loss_gradient} = {seed}"]
        # what each gradient variable holds at this point of the code: "set" (an array), "summed" (an
        # array this code made by adding, which no one else holds), or "maybe" (None unless a user's
        # op, which may return None, gave it one); absent: nothing yet
        state = {loss_gradient: "set"}
        for index in range(len(records) - 1, -1, -1):
            node, inputs, _, out = records[index]
            grad = gradient.get(names.get(id(out), ""))
            if grad not in state or out.grad_fn is not node:
                continue  # the loss does not depend on this op's result
            self.namespace[f"B{index}"] = node.backward
            exact = node.exact_gradients
            indent = "    "
            if state[grad] == "maybe":
                body.append(f"    if {grad} is not None:")
                indent = "        "
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
                lines = []
                if not exact:
                    body += [f"{indent}{x} = r[{position}]", f"{indent}if {x} is not None:"]
                    # a number or a list from a user's op becomes an array, as graph.backward makes it
                    lines += [
                        f"if not hasattr({x}, 'shape'):",
                        f"    {x} = np.asarray({x}, dtype=np.dtype({tensor.dtype.str!r}))",
                    ]
                shape = tuple(tensor.shape)
                # an exact op's gradient has its input's shape or its output's: no check when they agree
                if not exact or shape != tuple(out.shape):
                    lines += [
                        f"if {x}.shape != {shape}:",
                        f"    {x} = UNBROADCAST(np.asarray({x}), {shape}, {node.name!r})",
                    ]
                if tensor.grad_fn is None:  # a leaf: an argument or a tensor made outside f
                    leaf = leaf_names.get(id(tensor)) or self._external(tensor)
                    # as in graph.backward: copy what someone else may hold too
                    shared = " or ".join(
                        [f"{x} is {grad}", f"{x}.base is not None", *(f"{x} is {h}" for h in leaves_here)]
                    )
                    lines += [
                        # an empty .grad, inline: keep a fresh array of the leaf's dtype, else store a copy
                        # (exactly what ACCUMULATE does; it handles the adding when .grad is not empty)
                        f"if {leaf}.grad is None:",
                        f"    if type({x}) is ndarray and {x}.dtype is {leaf}.data.dtype and {x}.flags.writeable "
                        f"and not ({shared}):",
                        f"        {leaf}.grad = {x}",
                        "    else:",
                        f"        {leaf}.grad = np.array({x}, dtype={leaf}.data.dtype)",
                        "else:",
                        f"    ACCUMULATE({leaf}, {x}, {shared})",
                    ]
                    if not exact:  # a later input's check reads this one, which may not have been set
                        handed = f"h{index}_{position}"
                        lines.append(f"{handed} = {x}")
                        body.insert(1, f"    {handed} = None")
                        leaves_here.append(handed)
                    else:
                        leaves_here.append(x)
                else:
                    target = gradient[names[id(tensor)]]
                    before = state.get(target)
                    if before == "summed" and exact:  # as in graph.backward: into a sum this code made, in place
                        lines += [
                            f"if {target}.ndim and {target}.dtype == {x}.dtype:",
                            f"    {target} += {x}",
                            "else:",
                            f"    {target} = {target} + {x}",
                        ]
                    elif before in ("set", "summed"):
                        lines.append(f"{target} = {target} + {x}")
                        # unconditionally added here, or a sum either way: an array only this code holds
                        if before == "summed" or (exact and indent == "    "):
                            state[target] = "summed"
                    elif before is None and exact and indent == "    ":
                        lines.append(f"{target} = {x}")
                        state[target] = "set"
                    else:
                        lines.append(f"{target} = {x} if {target} is None else {target} + {x}")
                        if before is None:
                            body.insert(1, f"    {target} = None")
                        # after an unconditional addition the variable surely holds an array
                        state[target] = "set" if exact and indent == "    " else "maybe"
                inner = indent + ("    " if not exact else "")
                body += [inner + line for line in lines]
            body.append(f"{indent}del {grad}")  # used up, as graph.backward pops it: its array may go
        return body


class Traced:
    """A loss function recorded by ``trace``: call it like ``f``; it returns the loss (no graph)."""

    def __init__(self, f: Callable[..., Tensor]) -> None:
        self.f = f
        self.tapes: dict[tuple, _Tape] = {}
        self._last: tuple[tuple[Any, ...], list[Tensor], _Tape, list[np.ndarray]] | None = None

    def __call__(self, *args: Any) -> Tensor:
        last = self._last
        if (
            last is not None
            and len(args) == len(last[0])
            and all(map(is_, args, last[0]))
            and all(map(is_, [t.data for t in last[1]], last[3]))
        ):
            arguments, tape = last[1], last[2]  # the very same arrays as the last call (full-batch training)
        else:
            arguments = [a if isinstance(a, Tensor) else Tensor._from_op(np.asarray(a), None) for a in args]
            signature = tuple([(t.data.shape, t.data.dtype.char, t.requires_grad) for t in arguments])
            tape = self.tapes.get(signature)
            if tape is None:
                tape = self.tapes[signature] = self._record(arguments)
            self._last = (args, arguments, tape, [t.data for t in arguments])
        return Tensor._from_op(tape.run(arguments), None)

    def source(self) -> str:
        """The generated code of every recording, for reading."""
        return "\n".join(tape.source for tape in self.tapes.values())

    def _record(self, arguments: list[Tensor]) -> _Tape:
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
        return _Tape(arguments, records, loss)


def trace(f: Callable[..., Tensor]) -> Traced:
    """Record ``f`` (a function of tensors returning a scalar loss) for fast replays of forward and backward.

    Each call returns the loss and leaves the gradients in the ``.grad`` of the leaves, as
    ``loss = f(*args); loss.backward()`` would, with the same numbers bit for bit.
    """
    return Traced(f)
