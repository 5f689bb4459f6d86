"""The reports that ``chainrule.check`` returns: truthy when the check passed, printed as a table."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import format_shape
from ..explanation.number_format import format_number


@dataclass
class Kink:
    """An element where the function has a corner: the one-sided slopes differ."""

    index: tuple[int, ...]
    left: float
    right: float
    autodiff: float
    label: str = "autodiff"  # whose value ``autodiff`` is: "hand-written" for check_gradient


@dataclass
class Jump:
    """An element where the function itself jumps: its values just left and right of it differ.

    f has no derivative there. Each side of the jump is a smooth branch with its own slope;
    as at a kink, a claimed value between the branches' slopes (the slope of either branch,
    which is what autodiff gives) is not counted as an error, and the report says so.
    """

    index: tuple[int, ...]
    before: float  # f just left of the element (x − eps/8)
    after: float  # f just right of it (x + eps/8)
    left: float  # the slope of the branch left of the jump
    right: float  # the slope of the branch right of it
    autodiff: float
    passed: bool
    label: str = "autodiff"


@dataclass
class InputCheck:
    """How one input's gradient compared: worst element, errors, and anything worth saying."""

    name: str
    shape: tuple[int, ...]
    passed: bool
    max_abs_error: float | None = None  # None when the gradients could not be compared at all
    max_rel_error: float | None = None  # max |error| / max |gradient|: relative to the gradient's scale
    worst_index: tuple[int, ...] | None = None
    values: dict[str, float] = field(default_factory=dict)  # at the worst element: label → value
    kinks: list[Kink] = field(default_factory=list)
    jumps: list[Jump] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed_elements: int = 0  # elements whose gradient was judged wrong
    undefined_elements: int = 0  # of those, elements where f is not finite at x or one step away

    @property
    def only_undefined(self) -> bool:
        """Failed only where f itself is not finite: finite differences could not check those elements."""
        return not self.passed and 0 < self.failed_elements == self.undefined_elements


@dataclass
class CheckReport:
    """The result of ``gradcheck``, ``check_gradient`` or ``check_module``; ``bool(report)`` is pass/fail."""

    title: str
    inputs: list[InputCheck]
    tolerance: str
    culprit: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(item.passed for item in self.inputs)

    def __bool__(self) -> bool:
        return self.passed

    def failures(self) -> list[InputCheck]:
        return [item for item in self.inputs if not item.passed]

    def __str__(self) -> str:
        labels: list[str] = []
        for item in self.inputs:
            labels += [label for label in item.values if label not in labels]
        header = ["input", "shape", "max abs error", "max rel error", "worst element", *labels, "result"]
        rows = []
        for item in self.inputs:
            result = "ok" if item.passed else "FAILED"
            corners = [_count(len(item.kinks), "kink"), _count(len(item.jumps), "jump")]
            if item.passed and any(corners):
                result = f"ok ({', '.join(text for text in corners if text)})"
            rows.append(
                [
                    item.name,
                    format_shape(item.shape),
                    _error(item.max_abs_error),
                    _error(item.max_rel_error),
                    "-" if item.worst_index is None else format_shape(item.worst_index),
                    *[_number(item.values.get(label)) for label in labels],
                    result,
                ]
            )
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [f"{self.title}: {'passed' if self.passed else 'FAILED'} ({self.tolerance})"]
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(header, widths)).rstrip())
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
        for item in self.inputs:
            for note in item.notes:
                lines.append(f"- {item.name}: {note}")
            for kink in item.kinks[:3]:
                lines.append(
                    f"- {item.name}{format_shape(kink.index)}: a kink (left slope {_number(kink.left)}, right slope "
                    f"{_number(kink.right)}); {kink.label}'s {_number(kink.autodiff)} lies between them, so this is "
                    "not an error"
                )
            if len(item.kinks) > 3:
                lines.append(f"- {item.name}: {len(item.kinks) - 3} more kinks")
            for jump in item.jumps[:3]:
                lines.append(f"- {item.name}{format_shape(jump.index)}: {_jump_text(jump)}")
            if len(item.jumps) > 3:
                lines.append(f"- {item.name}: {len(item.jumps) - 3} more jumps")
        lines += [f"- {note}" for note in self.notes]
        if self.culprit:
            lines.append(f"- {self.culprit}")
        return "\n".join(lines)

    __repr__ = __str__


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count > 1 else ''}" if count else ""


def _jump_text(jump: Jump) -> str:
    slopes = f"(left {_number(jump.left)}, right {_number(jump.right)})"
    verdict = (
        f"{jump.label}'s {_number(jump.autodiff)} lies between the slopes of the branches beside it {slopes}, "
        "so, as at a kink, it is not counted as an error"
        if jump.passed
        else f"{jump.label}'s {_number(jump.autodiff)} is not the slope of either branch {slopes}"
    )
    return (
        f"f jumps here, from {_number(jump.before)} to {_number(jump.after)}: a discontinuity, where f has no "
        f"derivative and no gradient is right or wrong; {verdict}"
    )


def _number(value: float | None) -> str:
    """A value in the table: 6 significant digits, NaN as nan; "-" where there is none."""
    return "-" if value is None else format_number(value, 6)


def _error(value: float | None) -> str:
    return "-" if value is None else format_number(value, 3)
