"""Finite differences, and how a claimed gradient is judged against them, element by element.

``Differences`` evaluates f at x and at x ± eps·eᵢ for every element i of every input;
``compare`` judges a claimed gradient (autodiff, a hand-written one, an op's backward) by
them. f is smooth at most points, where the central difference is the derivative; three
kinds of point need more than that, and the report names each:

* a kink (relu or abs at 0, a tie in max): f is continuous but its one-sided slopes differ.
  A claimed value between them is not an error.
* a jump (``where(x > 0, x + 1, x)`` at 0): f itself jumps, and has no derivative there.
  Each side of the jump is a smooth branch with a slope of its own; as at a kink, a claimed
  value between the two branches' slopes (what autodiff gives is the slope of one of them)
  is not counted as an error, and the report says plainly that f is discontinuous there.
* f not finite at x (an overflow) or a step away (``sqrt`` at 0, where x − eps is outside
  its domain): finite differences say nothing there. Such an element fails, and the report
  says why, naming the op, instead of blaming a backward.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np

from ..engine import anomaly
from .report import InputCheck, Jump, Kink
from ..errors import format_shape
from ..engine.grad_mode import enable_grad
from ..engine.graph import tensors_in_order
from ..explanation.number_format import format_number
from ..engine.tensor import Tensor

MACHINE_EPSILON = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------- finite differences
class Differences:
    """f at x and at x ± eps·eᵢ for every element i of every input (the inputs are perturbed in place).

    f at a perturbed point is evaluated with NumPy's warnings off: where it is not finite (a step
    outside f's domain, an overflow), the check reports that in words.
    """

    def __init__(self, evaluate: Callable[[], float], arrays: Sequence[np.ndarray], eps: float) -> None:
        self.evaluate, self.arrays, self.eps = evaluate, arrays, eps
        self.center = evaluate()
        self.above, self.below = [], []
        self.jumps: list[dict[tuple[int, ...], Jump]] = [{} for _ in arrays]
        for array in arrays:
            above, below = np.empty(array.shape), np.empty(array.shape)
            for index in range(array.size):
                above.flat[index], below.flat[index] = self._at(array, index, eps)
            self.above.append(above)
            self.below.append(below)

    def _at(self, array: np.ndarray, index: int, step: float) -> tuple[float, float]:
        """f with element ``index`` (flat) of ``array`` moved by +step and by −step."""
        # the element itself, in any memory layout (reshape(-1) of a transposed array would be a copy,
        # and the step would never reach f: a channels-last convolution output is such an array)
        position = np.unravel_index(index, array.shape)
        original = array[position]
        try:
            with np.errstate(all="ignore"):
                array[position] = original + step
                above = self.evaluate()
                array[position] = original - step
                below = self.evaluate()
        finally:
            array[position] = original
        return above, below

    def central(self, position: int) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):  # inf − inf: a nan the check reports
            return (self.above[position] - self.below[position]) / (2 * self.eps)

    def left(self, position: int) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return (self.center - self.below[position]) / self.eps

    def right(self, position: int) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return (self.above[position] - self.center) / self.eps

    @property
    def noise(self) -> float:
        """About how much rounding can disturb a difference quotient at this scale of f."""
        return 16 * MACHINE_EPSILON * (abs(self.center) + 1) / self.eps

    def corners(self, position: int, rtol: float, atol: float) -> np.ndarray:
        """Elements where the one-sided slopes differ: a kink, or a jump."""
        left, right = self.left(position), self.right(position)
        with np.errstate(invalid="ignore"):
            return np.abs(left - right) > atol + rtol * np.maximum(np.abs(left), np.abs(right)) + 4 * self.noise

    def undefined(self, position: int) -> np.ndarray:
        """Elements where f is not finite at x or one step away: finite differences say nothing there."""
        center = np.isfinite(self.center)
        return ~(center & np.isfinite(self.above[position]) & np.isfinite(self.below[position]))

    def find_jumps(self, rtol: float, atol: float) -> None:
        """At every corner, tell a kink from a jump: evaluate f at x ± eps/8 too.

        Where f is continuous, f(x ± eps/8) − f(x) is about an eighth of f(x ± eps) − f(x);
        where it jumps by J, both are about J. The slope of each branch beside a jump is
        measured between eps/8 and eps, on one side of it. Call this while the arrays hold the
        values the differences were taken at.
        """
        near, floor = self.eps / 8, 4 * self.noise * self.eps  # changes of f below floor may be rounding
        for position, array in enumerate(self.arrays):
            above, below = self.above[position], self.below[position]
            for row in np.argwhere(self.corners(position, rtol, atol)):
                index = tuple(int(i) for i in row)
                near_above, near_below = self._at(array, int(np.ravel_multi_index(index, array.shape)), near)
                right, left = above[index] - self.center, self.center - below[index]
                if any(
                    abs(change) > floor and abs(near_change) >= abs(change) / 2
                    for change, near_change in ((right, near_above - self.center), (left, self.center - near_below))
                ):
                    self.jumps[position][index] = Jump(
                        index,
                        before=near_below,
                        after=near_above,
                        left=(near_below - below[index]) / (self.eps - near),
                        right=(above[index] - near_above) / (self.eps - near),
                        autodiff=float("nan"),
                        passed=False,
                    )


# --------------------------------------------------------------------------- comparing
def compare(
    name: str,
    claimed: np.ndarray,
    differences: Differences,
    position: int,
    rtol: float,
    atol: float,
    reference: np.ndarray | None = None,
    labels: tuple[str, ...] = ("autodiff", "finite diff"),
    function: str = "f",
) -> InputCheck:
    """Compare ``claimed`` with ``reference`` (finite differences when None), allowing kinks and jumps.

    At a kink (f continuous, the one-sided slopes differ) and at a jump (f itself jumps; it
    has no derivative there) a claimed value between the slopes on either side passes, and
    the report lists the element. Where ``function`` is not finite at x or a step away, the
    element fails and the report says why, instead of blaming the gradient.
    """
    numeric = differences.central(position)
    noise = differences.noise
    if reference is None:
        target, slack = numeric, noise
    else:
        target, slack = reference, 0.0
    with np.errstate(invalid="ignore", over="ignore"):  # inf − inf: nan, a failure below
        error = np.abs(claimed - target)
        allowed = atol + rtol * np.abs(target) + slack
        bad = np.array(~(error <= allowed))  # a NaN on either side is a failure, never a pass (an array, 0-d too)
    kinks, jumps = [], []
    for index, jump in differences.jumps[position].items():  # the central difference means nothing there
        margin = atol + rtol * max(abs(jump.left), abs(jump.right)) + 4 * noise
        jump = replace(jump, autodiff=float(claimed[index]), label=labels[0])
        jump.passed = bool(min(jump.left, jump.right) - margin <= jump.autodiff <= max(jump.left, jump.right) + margin)
        bad[index] = not jump.passed
        jumps.append(jump)
    if bad.any():
        left, right = differences.left(position), differences.right(position)
        corner = differences.corners(position, rtol, atol)
        with np.errstate(invalid="ignore"):
            margin = atol + rtol * np.maximum(np.abs(left), np.abs(right)) + 2 * noise
            between = (claimed >= np.minimum(left, right) - margin) & (claimed <= np.maximum(left, right) + margin)
        at_kink = bad & corner & between
        for row in np.argwhere(at_kink):  # works for 0-d arrays too, where np.nonzero does not
            index = tuple(int(i) for i in row)
            kinks.append(Kink(index, float(left[index]), float(right[index]), float(claimed[index]), labels[0]))
        bad &= ~at_kink
    undefined = bad & differences.undefined(position)
    check = InputCheck(name, claimed.shape, passed=not bad.any(), kinks=kinks, jumps=jumps)
    check.failed_elements, check.undefined_elements = int(bad.sum()), int(undefined.sum())
    if undefined.any():
        check.notes.append(_undefined_note(differences, position, undefined, name, function))
    not_numbers = (~np.isfinite(claimed) | ~np.isfinite(target)) & ~undefined
    if not_numbers.any():
        check.notes.append(
            f"{int(not_numbers.sum())} element(s) where the gradient or its finite difference is not a finite number "
            "(nan or inf): such a gradient cannot be checked there, and counts as wrong"
        )
    if claimed.size:
        score = np.where(bad, error, -1.0) if bad.any() else error  # the largest error, among failures if any
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(score)), claimed.shape))
        check.worst_index = worst
        # relative to the gradient's own scale (elementwise ratios explode for elements near 0)
        scale = max(float(np.abs(claimed).max()), float(np.abs(target).max()))
        check.max_abs_error = float(error.max())
        check.max_rel_error = check.max_abs_error / scale if scale > 0 else 0.0
        values = {labels[0]: float(claimed[worst])}
        if reference is not None:
            values[labels[1]] = float(reference[worst])
        values["finite diff"] = float(numeric[worst])
        check.values = values
    return check


def _undefined_note(differences: Differences, position: int, undefined: np.ndarray, name: str, function: str) -> str:
    """Why finite differences could not check these elements: f is not finite at x, or one step away."""
    count = f"{int(undefined.sum())} element(s)"
    if not np.isfinite(differences.center):
        return (
            f"{function}'s value is not finite at these inputs ({format_number(differences.center)}): finite "
            f"differences cannot check the gradient there ({count})"
        )
    index, side, value = first_outside(differences, position, undefined)
    return (
        f"finite differences step outside {function}'s domain at {count}, first {name}{format_shape(index)}: "
        f"{function} gives {format_number(value)} at {name} {side} eps, so the gradient cannot be checked there"
    )


def first_outside(differences: Differences, position: int, undefined: np.ndarray) -> tuple[tuple[int, ...], str, float]:
    """The first element in ``undefined``, the side (+ or −) where f is not finite, and f's value there."""
    index = tuple(int(i) for i in np.argwhere(undefined)[0])
    above, below = differences.above[position][index], differences.below[position][index]
    if not np.isfinite(below):
        return index, "−" if np.isfinite(above) else "±", float(below)
    return index, "+", float(above)


def undefined_cause(
    f: Callable[..., Any], arrays: Sequence[np.ndarray], names: Sequence[str], differences: Differences
) -> str:
    """Why gradcheck failed where f itself is not finite: at the inputs, or one step outside f's domain."""
    if not np.isfinite(differences.center):
        op, where = _first_not_finite_op(f, arrays)
        return (
            f"f's value is not finite at these inputs ({format_number(differences.center)})"
            + (f": {op} is the first op to give a value that is not finite, from finite inputs{where}" if op else "")
            + "; finite differences cannot check a gradient there"
        )
    position = next(i for i in range(len(arrays)) if differences.undefined(i).any())
    index, side, value = first_outside(differences, position, differences.undefined(position))
    point = [array.copy() for array in arrays]
    point[position][index] += differences.eps if side == "+" else -differences.eps
    op, where = _first_not_finite_op(f, point)
    return (
        f"finite differences step outside the domain of {op or 'f'} at element {format_shape(index)} of "
        f"{names[position]}: f gives {format_number(value)} at {names[position]} {side} eps; a gradient at the edge "
        f"of f's domain cannot be checked this way (check one at a point inside){where}"
    )


def _first_not_finite_op(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> tuple[str | None, str]:
    """The first op of f at ``arrays`` to give a value that is not finite from finite inputs, and where it was made."""
    with np.errstate(all="ignore"), anomaly.record_locations(), enable_grad():
        out = f(*(Tensor(array.copy(), requires_grad=True) for array in arrays))
    if isinstance(out, Tensor):
        for tensor in tensors_in_order(out):
            node = tensor.grad_fn
            if node is not None and not _finite(tensor.data) and all(_finite(t.data) for t in node.inputs):
                created = getattr(node, "created_at", None)
                return node.name, f"; {node.name} created at {created}" if created else ""
    return None, ""


def _finite(values: np.ndarray) -> bool:
    return values.dtype.kind not in "fc" or bool(np.isfinite(values).all())
