"""Second derivatives checked against finite differences of the first: ``gradgradcheck`` and hand-written Hessians.

The second derivatives of f are the first derivatives of its gradient. For random fixed
weights uᵢ (one per input, of its shape), the scalar

    g(x) = Σᵢ ⟨∇ᵢ f(x), uᵢ⟩

has the gradient H·u (the Hessian times u). ``gradgradcheck`` checks g's gradient, computed by
differentiating the recorded backward pass (``create_graph=True``), against finite differences
of g, computed from first-order gradients alone: the same report as ``gradcheck`` (worst
element, kinks, the op named). When they part, each op of f's graph is checked on its own: its
``vjp`` must give the values of its ``backward``, and the derivative of ⟨vjp(v, x), u⟩ must match
finite differences; the first op that fails is named.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.check import gradgradcheck
    >>> bool(gradgradcheck(lambda x, w: cr.tanh(x @ w).sum(), np.ones((2, 3)), np.full((3, 2), 0.1)))
    True
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import ops
from ..engine import autograd
from ..engine.grad_mode import enable_grad
from ..engine.accumulation import unbroadcast
from ..engine.graph import topological_order
from ..engine.tensor import FLOAT_DTYPES, Tensor
from ..errors import GraphError, ShapeError, format_shape
from .report import CheckReport, InputCheck


def gradgradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> CheckReport:
    """Check chainrule's second derivatives of the scalar ``f`` at ``inputs`` against finite differences of its gradient.

    Inputs may be tensors, arrays or numbers of any shape. The report is ``gradcheck``'s, for
    the gradient of g(x) = Σᵢ ⟨∇ᵢ f(x), uᵢ⟩ with random uᵢ (``seed``); when it fails,
    ``report.culprit`` names the first op whose double backward is wrong.
    """
    from . import _float64_copies, _input_names, gradcheck  # the first-order check this one is made of

    names = _input_names(f, len(inputs), names)
    arrays = _float64_copies(inputs)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=array.shape) for array in arrays]

    def gradient_along_weights(*xs: Tensor) -> Tensor:
        return _weighted_gradient(f, xs, weights)

    report = gradcheck(gradient_along_weights, *arrays, eps=eps, rtol=rtol, atol=atol, names=names)
    report.title = "gradgradcheck"
    for check in report.inputs:  # gradcheck's words about f do not fit the recorded backward pass
        check.notes = [
            f"the recorded backward pass does not depend on {check.name}: an op's vjp computes with arrays its "
            "forward saved, not with its input tensors (see the op named below)"
            if note.startswith("no gradient reached")
            else note
            for note in check.notes
        ]
    report.notes.append(
        f"checked: the gradient of g = Σ ⟨∇f, u⟩ for random u (seed {seed}), i.e. the Hessian times u, "
        "against finite differences of f's gradient"
    )
    if not report.passed and not all(check.only_undefined for check in report.failures()):
        report.culprit = _find_wrong_double_backward(f, arrays, eps, rtol, atol, rng)
    return report


def _weighted_gradient(f: Callable[..., Any], xs: Sequence[Tensor], weights: Sequence[np.ndarray]) -> Tensor:
    """Σᵢ ⟨∇ᵢ f(xs), uᵢ⟩: with a graph through the backward pass when the xs require grad, values only otherwise."""
    with enable_grad():
        create_graph = any(x.requires_grad for x in xs)
        starts = [ops.reshape(x, x.shape) if x.requires_grad else Tensor(x.data, requires_grad=True) for x in xs]
        out = f(*starts)
        if not isinstance(out, Tensor) or out.data.size != 1:
            raise GraphError("gradgradcheck: f must return a scalar chainrule tensor computed from its inputs")
        if not out.requires_grad:
            return Tensor(0.0)
        found = autograd.grad(out, starts, create_graph=create_graph, allow_unused=True)
        total = Tensor(0.0)
        for gradient, weight in zip(found, weights):
            if gradient is not None:
                total = total + (gradient * weight).sum()
        return total


def _find_wrong_double_backward(
    f: Callable[..., Any], arrays: Sequence[np.ndarray], eps: float | None, rtol: float, atol: float, rng: Any
) -> str:
    """The first op of f's graph whose vjp disagrees with its backward, or whose vjp's derivative is wrong."""
    from . import gradcheck

    with enable_grad():
        out = f(*(Tensor(a.copy(), requires_grad=True) for a in arrays))
    if not isinstance(out, Tensor) or out.grad_fn is None:
        return "f's result does not depend on ops that require grad"
    for step, node in enumerate(reversed(topological_order(out.grad_fn)), start=1):
        positions = [i for i, t in enumerate(node.inputs) if t.data.dtype in FLOAT_DTYPES and node.needs_input_grad[i]]
        options = getattr(node, "options", {})
        values = [np.array(t.data, dtype=np.float64) for t in node.inputs]
        with np.errstate(all="ignore"):
            result = type(node).apply(*[Tensor(v) for v in values], **options)
        grad_out = rng.normal(size=result.shape)
        weights = [rng.normal(size=values[i].shape) for i in positions]
        problem = _vjp_values_differ(node, values, positions, grad_out, options)
        if problem:
            return f"op {step} of the graph, {node.name}: {problem}"

        def along(
            *xs: Tensor, node: Any = node, weights: list[np.ndarray] = weights, grad_out: Any = grad_out
        ) -> Tensor:
            return _weighted_vjp(node, values, positions, xs, grad_out, weights, options)

        report = gradcheck(along, *[values[i] for i in positions], eps=eps, rtol=rtol, atol=atol)
        if not report.passed:
            worst = report.failures()[0]
            return (
                f"the first op whose double backward disagrees with finite differences is {node.name} (op {step} of "
                f"the graph): the derivative of its vjp, for its input {positions[report.inputs.index(worst)]} at "
                f"element {format_shape(worst.worst_index or ())}"
            )
    return "every op's double backward agrees with finite differences on its own; check how f combines them"


def _fresh_node(node: Any, leaves: list[Tensor], options: dict[str, Any]) -> Any:
    """The same op applied again to ``leaves``: a node of its own, at those values."""
    with enable_grad(), np.errstate(all="ignore"):
        return type(node).apply(*leaves, **options).grad_fn


def _vjp_values_differ(node: Any, values: list[np.ndarray], positions: list[int], grad_out: Any, options: Any) -> str:
    """Why ``node``'s vjp is not its backward in value (empty when they agree)."""
    leaves = [Tensor(v, requires_grad=i in positions) for i, v in enumerate(values)]
    fresh = _fresh_node(node, leaves, options)
    if fresh is None:
        return ""
    with np.errstate(all="ignore"):
        by_backward = fresh.backward(grad_out.copy())
        with enable_grad():
            by_vjp = fresh.vjp(Tensor(grad_out), *leaves)
    by_backward = by_backward if isinstance(by_backward, tuple) else (by_backward,)
    by_vjp = by_vjp if isinstance(by_vjp, tuple) else (by_vjp,)
    for position in positions:
        shape = values[position].shape
        found = by_vjp[position]
        if found is None:
            return f"its vjp gives no gradient for input {position}, which needs one"
        try:  # both as the engine keeps them: summed back to the input's shape
            expected = unbroadcast(np.asarray(by_backward[position], dtype=np.float64), shape, node.name)
            found_values = unbroadcast(np.asarray(getattr(found, "data", found), dtype=np.float64), shape, node.name)
        except ShapeError as error:
            return f"its vjp or backward gives a gradient of the wrong shape ({error})"
        if not np.allclose(found_values, expected, rtol=1e-9, atol=1e-12, equal_nan=True):
            return f"its vjp gives values other than its backward for input {position}"
    return ""


def _weighted_vjp(
    node: Any,
    values: list[np.ndarray],
    positions: list[int],
    xs: Sequence[Tensor],
    grad_out: np.ndarray,
    weights: list[np.ndarray],
    options: dict[str, Any],
) -> Tensor:
    """Σ ⟨vjp(v, x)ᵢ, uᵢ⟩ for one op at ``xs`` (its differentiable inputs), the others held at ``values``."""
    with enable_grad():
        leaves = [Tensor(v) for v in values]
        for position, x in zip(positions, xs):
            leaves[position] = x if x.requires_grad else Tensor(x.data, requires_grad=True)
        fresh = _fresh_node(node, leaves, options)
        total = Tensor(0.0)
        if fresh is None:
            return total
        found = fresh.vjp(Tensor(grad_out), *leaves)
        found = found if isinstance(found, tuple) else (found,)
        for position, weight in zip(positions, weights):
            gradient = found[position]
            if gradient is not None:
                gradient = gradient if isinstance(gradient, Tensor) else Tensor(gradient)
                total = total + (ops.sum_to(gradient, values[position].shape) * weight).sum()
        return total


def hessian_checks(
    f: Callable[..., Any],
    hessian_f: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    names: Sequence[str],
    eps: float,
    rtol: float,
    atol: float,
) -> list[Any]:
    """A hand-written Hessian of f's one input against ``cr.hessian`` and finite differences of the gradient.

    Row j of the Hessian is the gradient of ∂f/∂xⱼ: each row is checked like a gradient (kinks and
    all), and the worst row is reported, with the same plain words as a hand-written gradient
    (transposed, scaled) and a note when the hand-written Hessian is not symmetric.
    """
    from . import _diagnose_hand_gradient  # the first-order rule, reused
    from .finite_differences import Differences, compare
    from ..functional import grad, hessian

    if len(arrays) != 1:
        raise TypeError(
            f"check_gradient: hessian= checks a function of one input, f has {len(arrays)}; "
            "put the inputs into one vector to check their Hessian"
        )
    (x,) = arrays
    name = f"Hessian of {names[0]}"
    size = x.size
    if not callable(hessian_f):
        raise TypeError(
            f"check_gradient: hessian must be a function of x returning its Hessian, got {type(hessian_f).__name__}"
        )
    returned = hessian_f(x.copy())
    wanted = format_shape(x.shape + x.shape)
    try:
        if returned is None or isinstance(returned, str):
            raise TypeError
        given = np.array(returned, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"check_gradient: hessian returned {type(returned).__name__}; return an array of shape {wanted} "
            f"(x has shape {format_shape(x.shape)})"
        ) from None
    exact = hessian(f)(x.copy())
    if given.shape != exact.shape:
        problem = InputCheck(name, given.shape, passed=False)
        problem.notes.append(
            f"the hand-written Hessian has shape {format_shape(given.shape)}; the Hessian of x of shape "
            f"{format_shape(x.shape)} has shape {wanted} (x.shape twice)"
        )
        return [problem]
    gradient = grad(f)
    at_point: dict[bytes, np.ndarray] = {}  # every row steps x the same way: one gradient per point, not per row

    def gradient_here() -> np.ndarray:
        key = x.tobytes()
        if key not in at_point:
            at_point[key] = gradient(x)
        return at_point[key]

    rows = []
    for j in range(size):
        index = np.unravel_index(j, x.shape)

        def partial(index: tuple[int, ...] = index) -> float:
            return float(gradient_here()[index])

        differences = Differences(partial, [x], eps)
        rows.append(
            compare(
                f"{name}{format_shape(tuple(int(i) for i in index))}",
                given[index],
                differences,
                0,
                rtol,
                atol,
                reference=exact[index],
                labels=("hand-written", "autodiff"),
            )
        )
    worst = max(rows, key=lambda row: (not row.passed, row.max_abs_error or 0.0))
    row_index = tuple(int(i) for i in np.unravel_index(rows.index(worst), x.shape))
    worst.name = name
    worst.shape = given.shape
    worst.passed = all(row.passed for row in rows)
    worst.failed_elements = sum(row.failed_elements for row in rows)
    worst.undefined_elements = sum(row.undefined_elements for row in rows)
    if worst.worst_index is not None:
        worst.worst_index = row_index + worst.worst_index
    if not worst.passed:
        worst.notes += _diagnose_hand_gradient(name, given, exact, rtol, atol)
    flat = given.reshape(size, size)
    if not np.allclose(flat, flat.T, rtol=rtol, atol=atol):
        worst.notes.append(
            "the hand-written Hessian is not symmetric, but the Hessian of a twice continuously differentiable f always is"
        )
    return [worst]
