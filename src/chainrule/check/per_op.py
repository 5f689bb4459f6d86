"""Checking each op of a graph on its own: ``check_graph``, and naming the first wrong op for ``gradcheck``.

Every op is re-run at the inputs it saw, and its backward (the vector-Jacobian product with a
random ``grad_out``) is compared with finite differences of ⟨forward(inputs), grad_out⟩.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..engine import anomaly
from ..engine.grad_mode import enable_grad
from ..engine.accumulation import unbroadcast
from ..engine.graph import topological_order
from ..engine.tensor import FLOAT_DTYPES, Tensor
from ..errors import GraphError, format_shape
from ..explanation.explain import freed_graph
from ..explanation.number_format import format_number
from . import ATOL, RTOL, _settings, _tolerance
from .finite_differences import Differences, compare
from .report import CheckReport, InputCheck


def check_graph(
    loss: Tensor, eps: float | None = None, rtol: float = RTOL, atol: float = ATOL, seed: int = 0
) -> CheckReport:
    """Check each op of the graph behind ``loss`` on its own: its backward against finite differences.

    Every op is re-run at the inputs it saw, with a random ``grad_out``; the report has one
    row per (op, input), in the order the ops ran. The graph must not have been freed.
    """
    eps, rtol, atol = _settings("check_graph", eps, rtol, atol)
    if not isinstance(loss, Tensor):
        raise TypeError(f"check_graph: expected a chainrule tensor, got {type(loss).__name__}")
    if loss.grad_fn is None:
        raise GraphError("check_graph: this tensor was not computed by ops that require grad; nothing to check")
    try:
        nodes = topological_order(loss.grad_fn)
    except GraphError:  # the only error it raises: a node that backward has freed
        raise GraphError(freed_graph("check_graph")) from None
    rng = np.random.default_rng(seed)
    checks: list[InputCheck] = []
    for step, node in enumerate(reversed(nodes), start=1):
        for check in _check_node(node, rng, eps, rtol, atol):
            check.name = f"{step}. {node.name} input {check.name}"
            if not check.passed and getattr(node, "created_at", None):
                check.notes.append(f"created at {node.created_at}")
            checks.append(check)
    return CheckReport("check_graph", checks, _tolerance(eps, rtol, atol))


def _check_node(node: Any, rng: np.random.Generator, eps: float, rtol: float, atol: float) -> list[InputCheck]:
    """Compare one node's vector-Jacobian product with finite differences of ⟨forward(inputs), v⟩."""
    options = getattr(node, "options", {})
    floating = [t.data.dtype in FLOAT_DTYPES for t in node.inputs]
    arrays = [np.array(t.data, dtype=np.float64) if is_float else t.data for t, is_float in zip(node.inputs, floating)]

    def run(*values: np.ndarray) -> np.ndarray:
        return np.asarray(type(node)().forward(*values, **options), dtype=np.float64)

    with np.errstate(all="ignore"):  # the op ran at these values before: a nan or inf here is reported, not warned
        weights = rng.normal(size=run(*arrays).shape)
        fresh = type(node)()
        fresh.forward(*[a.copy() if isinstance(a, np.ndarray) else a for a in arrays], **options)
        fresh.inputs, fresh.needs_input_grad = node.inputs, tuple(floating)
        grads = fresh.backward(weights.copy())
        grads = grads if isinstance(grads, tuple) else (grads,)
        positions = [i for i, is_float in enumerate(floating) if is_float]
        differences = Differences(lambda: float(np.sum(run(*arrays) * weights)), [arrays[i] for i in positions], eps)
    differences.find_jumps(rtol, atol)
    checks = []
    for slot, position in enumerate(positions):
        grad = grads[position] if position < len(grads) else None
        if grad is None:
            grad = np.zeros(arrays[position].shape)
        grad = unbroadcast(np.asarray(grad, dtype=np.float64), arrays[position].shape, node.name)
        checks.append(
            compare(
                str(position),
                grad,
                differences,
                slot,
                rtol,
                atol,
                labels=("backward", "finite diff"),
                function=node.name,
            )
        )
    return checks


def _find_wrong_op(f: Callable[..., Any], arrays: Sequence[np.ndarray], eps: float, rtol: float, atol: float) -> str:
    with anomaly.record_locations(), enable_grad():
        out = f(*(Tensor(a.copy(), requires_grad=True) for a in arrays))
    if not isinstance(out, Tensor) or out.grad_fn is None:
        return "f's result does not depend on ops that require grad"
    report = check_graph(out, eps, rtol, atol)
    for check in report.inputs:
        if not check.passed and not check.only_undefined:  # an op outside its domain says nothing of its backward
            step, rest = check.name.split(". ", 1)
            op_name, position = rest.rsplit(" input ", 1)
            values = ", ".join(f"{label} {format_number(value)}" for label, value in check.values.items())
            where = next((note for note in check.notes if note.startswith("created at")), "")
            return (
                f"the first op whose backward disagrees with finite differences is {op_name} (op {step} of the "
                f"graph), for its input {position} at element {format_shape(check.worst_index or ())}: {values}"
                + (f"; {where}" if where else "")
            )
    return "every op's backward agrees with finite differences on its own; check how f combines them"
