"""Checking gradients against central finite differences, for inputs of any shape.

* ``gradcheck(f, *inputs)``: chainrule's gradient of a scalar function against finite
  differences; when they part, every op of the graph is re-checked on its own and the first
  op whose backward is wrong is named (usually a custom op).
* ``check_gradient(f, grad_f, *inputs)``: a hand-written gradient (the homework case) against
  autodiff and finite differences, with plain words for transposed, reshaped or scaled ones.
* ``check_module(model, loss_fn, batch)``: every parameter of a network.
* ``check_graph(loss)``: each op of a recorded graph, locally, at the values it saw.

Where the function has a kink (relu or abs at 0, a tie in max) the one-sided slopes differ;
an autodiff value between them is reported as a kink, not as an error. Where it jumps
(``where(x > 0, x + 1, x)`` at 0) it has no derivative: the report says so, and an autodiff
value between the slopes of the branches either side is not counted as an error either. Where
f is not finite at the inputs or a step away (an overflow, ``sqrt`` at 0) the report says that,
not that a backward is wrong (see ``chainrule.finite_differences``). Everything is computed in
float64: float32 inputs are converted, with a note saying so. The step and the tolerances are
checked first: ``eps`` a finite number > 0, ``rtol`` and ``atol`` finite numbers ≥ 0.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.check import gradcheck
    >>> report = gradcheck(lambda x, w: cr.softplus(x @ w).sum(), np.ones((2, 3)), np.ones((3, 4)))
    >>> bool(report)
    True
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from .diagnosis import spatial_mistakes
from .report import CheckReport, InputCheck
from ..errors import GraphError, ShapeError, format_shape
from .finite_differences import Differences, compare, undefined_cause
from ..engine.grad_mode import enable_grad, no_grad
from ..engine.graph import tensors_in_order
from ..engine.tensor import FLOAT_DTYPES, Tensor
from ..explanation.number_format import format_number

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-8


def _scalar(op: str, out: Any) -> float:
    value = out.data if isinstance(out, Tensor) else np.asarray(out)
    if value.size != 1:
        raise ShapeError(f"{op}: f must return a scalar, got shape {format_shape(value.shape)}")
    return float(value.reshape(()))


def _float64_copies(inputs: Sequence[Any]) -> list[np.ndarray]:
    return [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]


def numerical_gradient(f: Callable[..., Any], *inputs: Any, eps: float | None = None) -> tuple[np.ndarray, ...]:
    """∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε for every element of every input, in float64.

    ``f`` receives float64 tensors of the inputs' shapes and returns a scalar (tensor or
    number). Costs two evaluations of ``f`` per input element.

    >>> import numpy as np
    >>> numerical_gradient(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]))[0].round(6)
    array([ 3., 12.])
    """
    eps = _step("numerical_gradient", eps)
    arrays = _float64_copies(inputs)
    differences = _differences_of("numerical_gradient", f, arrays, eps)
    return tuple(differences.central(position) for position in range(len(arrays)))


def _input_names(f: Callable[..., Any], count: int, names: Sequence[str] | None) -> list[str]:
    if names is not None:
        if len(names) != count:
            raise ValueError(f"names: got {len(names)} names for {count} inputs")
        return list(names)
    try:
        parameters = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    return parameters[:count] + [f"input {i}" for i in range(len(parameters), count)]


def _differences_of(
    op: str,
    f: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    eps: float,
    tolerances: tuple[float, float] | None = None,
) -> Differences:
    """Finite differences of ``f`` called with float64 tensors of ``arrays``, recording no graph.

    With ``tolerances`` (rtol, atol), the corners where f jumps are found too (``find_jumps``).
    """
    first: float | None = None
    try:
        with no_grad():
            first = _scalar(op, f(*(Tensor(a) for a in arrays)))
        recording = False
    except GraphError:  # f differentiates inside (a gradient penalty): its inputs must require grad
        recording = True

    def evaluate() -> float:
        if recording:
            with enable_grad():
                return _scalar(op, f(*(Tensor(a, requires_grad=True) for a in arrays)))
        return _scalar(op, f(*(Tensor(a) for a in arrays)))

    with no_grad():
        differences = Differences(evaluate, arrays, eps)
        if tolerances is not None:
            differences.find_jumps(*tolerances)
    # f at the same inputs twice: a random op drawing anew at each call makes every difference noise
    differences.first = first
    differences.repeatable = (
        first is None or first == differences.center or first != first and differences.center != differences.center
    )
    return differences


def _not_repeatable(differences: Differences) -> str:
    return (
        f"f gave two values at the same inputs ({format_number(differences.first)}, then "
        f"{format_number(differences.center)}): a random op "
        "draws anew at each call (dropout without a fixed rng?), so finite differences measure noise; fix its "
        "randomness, for instance cr.dropout(x, p, rng=0), to check the gradient"
    )


def _note_float32(checks: Sequence[InputCheck], inputs: Sequence[Any]) -> None:
    """Say, on each check of an input given in lower precision, why it was checked in float64."""
    for check, value in zip(checks, inputs):
        dtype = value.data.dtype if isinstance(value, Tensor) else np.asarray(value).dtype
        if dtype != np.float64 and dtype in FLOAT_DTYPES:
            check.notes.append(
                f"given as {dtype}, checked in float64: finite differences in {dtype} keep too few "
                "digits to tell a right gradient from a wrong one"
            )


def _autodiff(f: Callable[..., Any], arrays: Sequence[np.ndarray], op: str) -> tuple[list[np.ndarray], list[bool]]:
    """chainrule's gradient for each input, and whether the result depended on that input at all."""
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    with enable_grad():
        out = f(*leaves)
    if not isinstance(out, Tensor):
        raise GraphError(f"{op}: f must return a chainrule tensor computed from its inputs, got {type(out).__name__}")
    _scalar(op, out)
    if out.requires_grad:
        out.backward()
    grads = [leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data) for leaf in leaves]
    return grads, [leaf.grad is not None for leaf in leaves]


def _disconnected_notes(checks: list[InputCheck], connected: list[bool]) -> None:
    for check, reached in zip(checks, connected):
        if not reached and not check.passed:
            check.notes.append(
                f"no gradient reached {check.name}: f's result was not computed from the tensor passed as "
                f"{check.name} (was it copied with cr.tensor(...) or .detach(), or used under no_grad()?)"
            )


def _number(op: str, name: str, value: object) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _step(op: str, eps: object) -> float:
    """The finite-difference step: ``None`` means 1e-6, right for float64 inputs of order one."""
    if eps is None:
        return EPS
    step = _number(op, "eps", eps)
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"{op}: eps must be a positive, finite step, got {eps!r}")
    return step


def _settings(op: str, eps: object, rtol: object, atol: object) -> tuple[float, float, float]:
    """The step and the tolerances, checked before any work: a one-line error naming ``op`` otherwise."""
    tolerances = []
    for name, value in (("rtol", rtol), ("atol", atol)):
        tolerance = _number(op, name, value)
        if not (np.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"{op}: {name} must be a finite number ≥ 0, got {value!r}")
        tolerances.append(tolerance)
    return _step(op, eps), tolerances[0], tolerances[1]


def _tolerance(eps: float, rtol: float, atol: float) -> str:
    return f"eps={eps:g}, rtol={rtol:g}, atol={atol:g}"


# --------------------------------------------------------------------------- public checks
def gradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    names: Sequence[str] | None = None,
) -> CheckReport:
    """Check chainrule's gradient of the scalar function ``f`` at ``inputs`` against finite differences.

    Inputs may be tensors, arrays or numbers of any shape. An element passes when
    |autodiff − finite difference| ≤ atol + rtol·|finite difference| (+ the rounding noise of
    the difference quotient). The report prints as a table and is truthy when every input
    passes; when one fails, ``report.culprit`` names the first op whose backward is wrong.
    """
    eps, rtol, atol = _settings("gradcheck", eps, rtol, atol)
    names = _input_names(f, len(inputs), names)
    arrays = _float64_copies(inputs)
    claimed, connected = _autodiff(f, arrays, "gradcheck")
    differences = _differences_of("gradcheck", f, arrays, eps, (rtol, atol))
    checks = [compare(name, grad, differences, i, rtol, atol) for i, (name, grad) in enumerate(zip(names, claimed))]
    _disconnected_notes(checks, connected)
    _note_float32(checks, inputs)
    report = CheckReport("gradcheck", checks, _tolerance(eps, rtol, atol))
    if not differences.repeatable:  # every corner then looks like a jump, and a jump passes: fail instead
        for check in checks:
            check.passed = False
        report.culprit = _not_repeatable(differences)
    elif not report.passed and any(connected):
        if all(check.only_undefined for check in report.failures()):
            report.culprit = undefined_cause(f, arrays, names, differences)
        else:
            report.culprit = _find_wrong_op(f, arrays, eps, rtol, atol)
    return report


def check_gradient(
    f: Callable[..., Any],
    grad_f: Callable[..., Any] | None,
    *inputs: Any,
    eps: float | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    names: Sequence[str] | None = None,
    hessian: Callable[..., Any] | None = None,
) -> CheckReport:
    """Check a hand-written gradient ``grad_f`` of the scalar function ``f`` at ``inputs``.

    ``grad_f`` takes the inputs as NumPy arrays and returns one gradient array per input (a
    single array for a single input). Each is compared with chainrule's autodiff and with
    finite differences; the report names the input and element where they part, and says so
    plainly when a gradient is transposed, reshaped, or off by a constant factor. A hand-written
    ``hessian`` (for f of one input x: an array of shape ``x.shape + x.shape``) is checked too,
    against ``cr.hessian`` and finite differences of the gradient (``grad_f=None`` checks it alone).
    """
    eps, rtol, atol = _settings("check_gradient", eps, rtol, atol)
    names = _input_names(f, len(inputs), names)
    arrays = _float64_copies(inputs)
    checks = []
    if hessian is not None:
        checks += hessian_checks(f, hessian, arrays, names, eps, rtol, atol)
    hand_list = [] if grad_f is None else _hand_gradients(grad_f(*[a.copy() for a in arrays]), arrays, names)
    true = [] if grad_f is None else _autodiff(f, arrays, "check_gradient")[0]
    differences = _differences_of("check_gradient", f, arrays, eps, (rtol, atol))
    for position, (name, given, exact) in enumerate(zip(names, hand_list, true)):
        if given.shape != exact.shape:
            checks.append(_shape_problem(name, given, exact))
            continue
        check = compare(
            name, given, differences, position, rtol, atol, reference=exact, labels=("hand-written", "autodiff")
        )
        if not check.passed:
            check.notes += _diagnose_hand_gradient(name, given, exact, rtol, atol)
            check.notes += spatial_mistakes(name, given, exact, rtol, atol)
        autodiff_check = compare(name, exact, differences, position, rtol, atol)
        if autodiff_check.only_undefined:
            check.notes += [note for note in autodiff_check.notes if note not in check.notes]
        elif not autodiff_check.passed:
            check.notes.append(
                "chainrule's own autodiff disagrees with finite differences here too: "
                "is a custom op's backward wrong? (see gradcheck)"
            )
        checks.append(check)
    _note_float32(checks, inputs)
    report = CheckReport("check_gradient", checks, _tolerance(eps, rtol, atol))
    if not differences.repeatable:  # as in gradcheck: a random f makes every comparison meaningless
        for check in checks:
            check.passed = False
        report.culprit = _not_repeatable(differences)
    return report


def _hand_gradients(hand: Any, arrays: Sequence[np.ndarray], names: Sequence[str]) -> list[np.ndarray]:
    """What ``grad_f`` returned, as one float64 array per input; a one-line error saying what it returned otherwise."""
    if len(arrays) == 1:
        expected = f"an array of {names[0]}'s shape {format_shape(arrays[0].shape)}"
    else:
        expected = f"a tuple of {len(arrays)} arrays, one per input ({', '.join(names)}), each of its input's shape"
    several = isinstance(hand, tuple) or (isinstance(hand, list) and len(arrays) > 1)
    if not several and len(arrays) > 1:
        raise TypeError(f"check_gradient: grad_f returned {_described(hand)}; return {expected}")
    items = list(hand) if several else [hand]
    if len(items) != len(arrays):
        raise ValueError(
            f"check_gradient: grad_f returned {len(items)} gradient{'s' if len(items) != 1 else ''} for "
            f"{len(arrays)} inputs ({', '.join(names)}); return {expected}"
        )
    gradients = []
    for name, item in zip(names, items):
        value = item.data if isinstance(item, Tensor) else item
        try:
            array = None if value is None else np.asarray(value)
        except ValueError:  # a ragged list
            array = None
        if array is None or array.dtype.kind not in "iuf":
            where = "" if len(arrays) == 1 else f" as the gradient for {name}"
            raise TypeError(f"check_gradient: grad_f returned {_described(item)}{where}; return {expected}")
        gradients.append(array.astype(np.float64))
    return gradients


def _described(value: Any) -> str:
    """A value the user passed or returned, for a message: ``None (is a return missing?)``, ``str 'abc'``,
    ``an array of <U3, shape (2,)``, ``a list of 3 items``."""
    if value is None:
        return "None (is a return missing?)"
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}, shape {format_shape(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    return f"{type(value).__name__} {value!r:.40}"


def _shape_problem(name: str, given: np.ndarray, exact: np.ndarray) -> InputCheck:
    message = f"gradient for {name} has shape {format_shape(given.shape)}, {name} has {format_shape(exact.shape)}"
    if given.ndim == 2 and given.shape == exact.shape[::-1]:
        message += ": transposed?"
        if np.allclose(given.T, exact, rtol=1e-6, atol=1e-10):
            message += " (its transpose is the right gradient)"
    elif given.size == exact.size:
        message += f": reshape it to {format_shape(exact.shape)}?"
    return InputCheck(name, exact.shape, passed=False, notes=[message])


def _diagnose_hand_gradient(name: str, given: np.ndarray, exact: np.ndarray, rtol: float, atol: float) -> list[str]:
    notes = []
    if given.ndim == 2 and given.shape[0] == given.shape[1] and np.allclose(given.T, exact, rtol=rtol, atol=atol):
        notes.append(f"the gradient for {name} equals the transpose of the true one: transposed?")
    significant = np.abs(exact) > 1e-9 * max(float(np.abs(exact).max(initial=0.0)), 1e-300)
    if significant.any():
        ratios = given[significant] / exact[significant]
        ratio = float(np.median(ratios))
        if (
            abs(ratio - 1) > 1e-6
            and np.allclose(ratios, ratio, rtol=1e-6)
            and np.allclose(given[~significant], 0, atol=atol)
        ):
            notes.append(
                f"every element is {ratio:.6g} × the true gradient: a constant factor slipped in "
                "(a 2 from a square, a 1/N from a mean, a sign?)"
            )
    return notes


def check_module(
    model: Any,
    loss_fn: Callable[..., Any],
    batch: tuple[Any, Any],
    eps: float | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> CheckReport:
    """``gradcheck`` for every parameter of a network on one batch ``(features, targets)``.

    The model is left as it was (values, dtypes and ``.grad``, and its buffers: batch norm's running
    statistics, which each evaluation in training mode moves). Dropout in training mode draws a new
    mask at each evaluation: check in ``eval()`` mode, or fix its mask with a seed as the layer's
    ``rng`` attribute (``layer.rng = 0``: the same mask at every call).
    """
    eps, rtol, atol = _settings("check_module", eps, rtol, atol)
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"check_module: batch must be a pair (inputs, targets), got {_described(batch)}")
    features, targets = batch
    if not hasattr(model, "named_parameters"):
        raise TypeError(f"check_module: model must be a chainrule nn.Module, got {type(model).__name__}")
    named = list(model.named_parameters())
    saved = [(parameter.data, parameter.grad) for _, parameter in named]
    buffers = [(values, values.copy()) for _, values in model.named_buffers()]  # running statistics move
    try:
        for _, parameter in named:
            parameter.data = np.array(parameter.data, dtype=np.float64)
            parameter.grad = None
        with enable_grad():
            loss = loss_fn(model(features), targets)
        if not isinstance(loss, Tensor):
            raise GraphError(f"check_module: loss_fn must return a chainrule tensor, got {type(loss).__name__}")
        _scalar("check_module", loss)
        loss.backward()
        claimed = [
            parameter.grad.copy() if parameter.grad is not None else np.zeros(parameter.shape) for _, parameter in named
        ]
        with no_grad():
            differences = Differences(
                lambda: _scalar("check_module", loss_fn(model(features), targets)),
                [parameter.data for _, parameter in named],
                eps,
            )
            differences.find_jumps(rtol, atol)
    finally:
        for (_, parameter), (data, grad) in zip(named, saved):
            parameter.data, parameter.grad = data, grad
        for values, copy in buffers:
            values[...] = copy
    checks = [
        compare(name, grad, differences, i, rtol, atol, function="the loss")
        for i, ((name, _), grad) in enumerate(zip(named, claimed))
    ]
    for (_, parameter), check in zip(named, checks):
        if parameter.data.dtype != np.float64:
            check.notes.append(f"{parameter.data.dtype} parameter, checked in float64")
    return CheckReport("check_module", checks, _tolerance(eps, rtol, atol))


def function_of_leaves(loss: Tensor) -> tuple[Callable[..., Tensor], list[Tensor]]:
    """Turn a recorded graph back into a function of its leaves that require grad.

    Returns ``(g, leaves)``: ``g(*values)`` re-runs every op of the graph (through each op's
    ``apply``, so it records a new graph) with the leaves replaced by ``values``. This is how
    ``chainrule gradcheck file.py:function`` checks a function that takes no arguments.
    """
    order = tensors_in_order(loss)
    leaves = [t for t in order if t.grad_fn is None and t.requires_grad]

    def replay(*values: Any) -> Tensor:
        if len(values) != len(leaves):
            raise ValueError(f"replay: the graph has {len(leaves)} leaves that require grad, got {len(values)} values")
        computed: dict[int, Any] = {id(leaf): value for leaf, value in zip(leaves, values)}
        for tensor in order:
            if id(tensor) in computed:
                continue
            node = tensor.grad_fn
            if node is None:
                computed[id(tensor)] = tensor
            else:
                result = type(node).apply(*(computed[id(t)] for t in node.inputs), **node.options)
                if result.grad_fn is not None and hasattr(node, "created_at"):
                    result.grad_fn.created_at = node.created_at  # where the user wrote it, not this loop
                computed[id(tensor)] = result
        return computed[id(loss)]

    return replay, leaves


from .per_op import _find_wrong_op, check_graph  # noqa: E402, F401  (public; built on the helpers above)
from .second_order import gradgradcheck, hessian_checks  # noqa: E402, F401  (public; built on gradcheck above)
from .forward_mode import jvpcheck  # noqa: E402, F401  (public; built on the helpers above)
