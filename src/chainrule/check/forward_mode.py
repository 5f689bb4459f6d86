"""Forward mode checked: ``jvpcheck``, the gradient computed by the ops' ``jvp`` rules against finite differences.

``cr.jvp`` and ``cr.jacobian`` (forward mode) use each op's ``jvp``, a rule that ``gradcheck``
and ``gradgradcheck`` never run. ``jvpcheck(f, *inputs)`` computes the gradient of the scalar
f one element at a time by forward mode (a one-hot tangent per element) and compares it with
finite differences, in ``gradcheck``'s report. When they part, each op is checked on its own
with the dot-product test: for any tangent t and vector v, ⟨J t, v⟩ (its ``jvp``) must equal
⟨t, Jᵀ v⟩ (its ``backward``); the first op where they differ is named.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.check import jvpcheck
    >>> bool(jvpcheck(lambda x: cr.softplus(x @ np.ones((3, 2))).sum(), np.ones((2, 3))))
    True
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..engine.grad_mode import enable_grad, no_grad
from ..engine.accumulation import unbroadcast
from ..engine.graph import topological_order
from ..engine.tensor import FLOAT_DTYPES, Tensor
from ..explanation.number_format import format_number
from . import ATOL, RTOL, _differences_of, _float64_copies, _input_names, _settings, _tolerance
from .finite_differences import compare
from .report import CheckReport
from .second_order import _fresh_node


def jvpcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    names: Sequence[str] | None = None,
    seed: int = 0,
) -> CheckReport:
    """Check the gradient of the scalar ``f`` computed by forward mode (the ops' ``jvp``) against finite differences."""
    from ..functional import jacobian

    eps, rtol, atol = _settings("jvpcheck", eps, rtol, atol)
    names = _input_names(f, len(inputs), names)
    arrays = _float64_copies(inputs)
    claimed = [
        np.asarray(jacobian(f, argnums=position, mode="forward")(*[a.copy() for a in arrays]), dtype=np.float64)
        for position in range(len(arrays))
    ]
    differences = _differences_of("jvpcheck", f, arrays, eps, (rtol, atol))
    checks = [
        compare(name, gradient.reshape(array.shape), differences, position, rtol, atol, labels=("jvp", "finite diff"))
        for position, (name, gradient, array) in enumerate(zip(names, claimed, arrays))
    ]
    report = CheckReport("jvpcheck", checks, _tolerance(eps, rtol, atol))
    if not report.passed and not all(check.only_undefined for check in report.failures()):
        report.culprit = _first_wrong_jvp(f, arrays, np.random.default_rng(seed))
    return report


def _first_wrong_jvp(f: Callable[..., Any], arrays: Sequence[np.ndarray], rng: np.random.Generator) -> str:
    """The first op of f's graph whose jvp fails the dot-product test against its backward."""
    with enable_grad():
        out = f(*(Tensor(a.copy(), requires_grad=True) for a in arrays))
    if not isinstance(out, Tensor) or out.grad_fn is None:
        return "f's result does not depend on ops that require grad"
    for step, node in enumerate(reversed(topological_order(out.grad_fn)), start=1):
        values = [t.data for t in node.inputs]
        positions = [i for i, t in enumerate(node.inputs) if t.data.dtype in FLOAT_DTYPES and node.needs_input_grad[i]]
        options = getattr(node, "options", {})
        leaves = [Tensor(np.array(v, copy=True), requires_grad=i in positions) for i, v in enumerate(values)]
        fresh = _fresh_node(node, leaves, options)
        if fresh is None:
            continue
        tangents = [rng.normal(size=v.shape) if i in positions else np.zeros(v.shape) for i, v in enumerate(values)]
        with no_grad(), np.errstate(all="ignore"):
            pushed = fresh.jvp(tuple(Tensor(t.astype(v.dtype, copy=False)) for t, v in zip(tangents, values)), *leaves)
            vector = rng.normal(size=np.shape(getattr(pushed, "data", pushed)))
            pulled = fresh.backward(vector.astype(np.asarray(getattr(pushed, "data", pushed)).dtype))
        pulled = pulled if isinstance(pulled, tuple) else (pulled,)
        forward = float(np.sum(np.asarray(getattr(pushed, "data", pushed), dtype=np.float64) * vector))
        backward = sum(
            float(
                np.sum(tangents[i] * unbroadcast(np.asarray(pulled[i], dtype=np.float64), values[i].shape, node.name))
            )
            for i in positions
            if pulled[i] is not None
        )
        if not np.isclose(forward, backward, rtol=1e-8, atol=1e-10):
            return (
                f"the first op whose jvp disagrees with its backward is {node.name} (op {step} of the graph): "
                f"⟨J t, v⟩ by its jvp is {format_number(forward)}, ⟨t, Jᵀ v⟩ by its backward is "
                f"{format_number(backward)} for random t and v"
            )
    return "every op's jvp agrees with its backward on its own; check how f combines them"
