"""The reports that ``chainrule.check`` returns: truthy when the check passed, printed as a table."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import format_shape
from .number_format import format_number


@dataclass
class Kink:
    """An element where the function has a corner: the one-sided slopes differ."""

    index: tuple[int, ...]
    left: float
    right: float
    autodiff: float


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
    notes: list[str] = field(default_factory=list)


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
            if item.passed and item.kinks:
                result = f"ok ({len(item.kinks)} kink{'s' if len(item.kinks) > 1 else ''})"
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
                    f"{_number(kink.right)}); autodiff's {_number(kink.autodiff)} lies between them, so this is not an "
                    "error"
                )
            if len(item.kinks) > 3:
                lines.append(f"- {item.name}: {len(item.kinks) - 3} more kinks")
        lines += [f"- {note}" for note in self.notes]
        if self.culprit:
            lines.append(f"- {self.culprit}")
        return "\n".join(lines)

    __repr__ = __str__


def _number(value: float | None) -> str:
    """A value in the table: 6 significant digits, NaN as nan; "-" where there is none."""
    return "-" if value is None else format_number(value, 6)


def _error(value: float | None) -> str:
    return "-" if value is None else format_number(value, 3)
