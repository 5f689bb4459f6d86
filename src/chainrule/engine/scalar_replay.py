"""Replays of graphs of single numbers on Python floats, for ``trace``.

When every value of a traced step is one float64 number (the scalar network of the seeds, a
learner's hand-sized example), a NumPy replay spends its time on the cost of NumPy calls on 0-d
arrays, not on arithmetic. ``float_replay`` writes the same step with Python floats and ``math``
instead: each op's ``scalar_forward``/``scalar_backward`` (written next to its NumPy rules, the
same operations in the same order) inlined as expressions, gradients summed in the same order as
``graph.backward`` sums them. Results are the same bit for bit as eager mode: the ops whose
``math`` function differs from NumPy's in the last bits (exp, log, tanh) use ``math`` for a 0-d
float64 array in eager mode too (``ops.elementwise.one_number``).

Where Python's floats refuse what NumPy computes (``1 / 0``, ``math.log(0)``, ``math.exp(1000)``
raise) or where any number of the step (a result, a gradient, or one along the way) comes out
inf or nan, the call runs the NumPy replay instead, which gives inf or nan with NumPy's warnings
(or errors, under ``np.errstate``) as eager mode does. One difference remains: an underflow to 0
or to a subnormal number, which NumPy ignores unless ``np.errstate(under=...)`` asks otherwise,
passes silently on Python floats whatever errstate says. So the float code stores into the
leaves' ``.grad`` only at its end, once everything is computed and found finite: a replay that
gives up has changed nothing. A leaf's contributions are added in the order ``graph.backward``
adds them, by the rule it uses (``accumulation.accumulate_leaf``: a Python float is held by no
one, so the leaf gets a new array).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .accumulation import FLOAT_LEAF_STORE, accumulate_leaf
from .recording import Recording
from .tensor import Tensor

#: What a float replay's expressions may call
NAMESPACE = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh, "isfinite": math.isfinite}


def float_rules(records: list[Any], loss: Tensor) -> list[tuple[str, tuple[str, ...]]] | None:
    """Each recorded op's float forms, or None when the step is not one of single float64 numbers throughout."""
    if loss.data.shape != () or loss.data.dtype != np.float64:
        return None
    rules = []
    for node, inputs, options, out in records:
        if out.data.shape != () or out.data.dtype != np.float64 or out.grad_fn not in (node, None):
            return None
        if any(t.data.shape != () or t.data.dtype != np.float64 for t in inputs):
            return None
        rule = _own_rule(node, options)
        if rule is None:
            return None
        rules.append(rule)
    return rules


def _own_rule(node: Any, options: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """A chainrule op's float rule, unless a subclass replaced the forward or backward the rule was written for."""
    owner = next(
        (k for k in type(node).__mro__ if "scalar_forward" in vars(k) or "scalar_rule" in vars(k)),
        None,
    )
    if owner is None or not owner.__module__.startswith("chainrule.ops."):  # the rules are chainrule's own
        return None
    if type(node).forward is not owner.forward or type(node).backward is not owner.backward:
        return None
    return node.scalar_rule(options)


def float_replay(
    arguments: list[Tensor],
    records: list[Any],
    recording: Recording,
    rules: list[tuple[str, tuple[str, ...]]],
    external: Callable[[Tensor], str],
    reads: list[str],
    namespace: dict[str, Any],
) -> str:
    """The source of ``run_floats(A)``: the step on Python floats, the loss returned as a 0-d array.

    ``external(tensor)`` names a tensor made outside ``f`` in ``namespace``; ``reads`` read and
    check the arrays of the arguments (``a0, a1…``) and of those tensors (``d0, d1…``), as the
    NumPy replay does.
    """
    namespace.update(NAMESPACE)
    namespace["ACCUMULATE"] = accumulate_leaf
    namespace["ARRAY"] = np.array
    lines = ["def run_floats(A):", *reads]
    lines += [f"    a{i} = a{i}.item()" for i in recording.arguments_read]  # an argument no op reads may hold anything
    read: dict[str, str] = {}  # tensors made outside f, each read once, as a float, before the ops

    def name(key: Any) -> str:
        if type(key) is tuple:
            return f"{key[0]}{key[1]}"
        tensor_name = external(key)
        if tensor_name not in read:
            number = read[tensor_name] = f"t{tensor_name[1:]}"
            lines.append(f"    {number} = d{tensor_name[1:]}.item()")
        return read[tensor_name]

    names = [[name(key) for key in keys] for _, keys, _, _ in recording.steps]
    lines.append("    try:  # Python refuses 1/0, log(0), exp(1000)…: NumPy's replay then runs instead")
    for index, ((node, _, _, _), (forward, _)) in enumerate(zip(records, rules)):
        lines.append(f"        v{index} = {forward.format(*names[index])}  # {node.name}")

    loss_index = recording.loss[1]
    lines.append(f"        g{loss_index} = 1.0")
    has_gradient = {loss_index}
    leaf_contributions: list[tuple[str, str]] = []  # (leaf, float variable), in the order backward stores them
    for index in range(len(records) - 1, -1, -1):
        node, inputs, _, out = records[index]
        if index not in has_gradient or out.grad_fn is not node:
            continue
        backward = rules[index][1]
        grad = f"g{index}"
        for position, needed in enumerate(node.needs_input_grad):
            if not needed:
                continue
            expression = backward[position].format(*names[index], grad=grad, out=f"v{index}")
            key = recording.steps[index][1][position]
            if type(key) is tuple and key[0] == "v":
                target = key[1]
                if target in has_gradient:  # as add_gradient: what the target had, plus this
                    lines.append(f"        g{target} = g{target} + ({expression})  # {node.name}")
                else:
                    lines.append(f"        g{target} = {expression}  # {node.name}")
                    has_gradient.add(target)
            else:  # a leaf: stored at the end
                variable = f"c{len(leaf_contributions)}"
                lines.append(f"        {variable} = {expression}  # {node.name}")
                leaf = f"A[{key[1]}]" if type(key) is tuple else external(key)
                leaf_contributions.append((leaf, variable))
    lines.append("    except (ArithmeticError, ValueError):\n        return None")
    # One test for every number computed, not only the results: an intermediate that overflowed to inf in
    # Python (1e200 * 1e200) may still give a finite loss, where NumPy warns (or raises under np.errstate).
    # A sum of finite numbers is finite unless it overflows itself, and then NumPy's replay runs too.
    computed = [f"v{index}" for index in range(len(records))]
    computed += [f"g{index}" for index in sorted(has_gradient)] + [variable for _, variable in leaf_contributions]
    results = " + ".join(computed)
    lines.append(f"    if not isfinite({results}):\n        return None")
    for leaf, variable in leaf_contributions:  # every leaf is float64 here (the reads check it)
        store = FLOAT_LEAF_STORE.format(leaf=leaf, value=variable)
        lines += ["    " + line for line in store.splitlines()]
    lines.append(f"    return ARRAY(v{loss_index})")
    return "\n".join(lines) + "\n"
