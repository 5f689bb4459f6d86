"""``explain(loss)``: the forward and backward pass behind a scalar, written out as on paper.

For every node, in the order it was computed: its name, the op's formula in terms of its
inputs' names, and its value. Then, from the loss back to the leaves: each op's derivative
rule, the chain-rule product for each input (for scalars, ∂L/∂u = ∂L/∂v · ∂v/∂u with all three
numbers), and the gradient that results. Finally the gradient of every leaf that requires grad.

Name tensors to make the derivation read well: ``cr.tensor(0.5, name="w1")`` and
``(x * w).named("s1")``; unnamed results are called t1, t2, … in order.

    >>> import chainrule as cr
    >>> w = cr.tensor(2.0, requires_grad=True, name="w")
    >>> loss = (cr.tensor(3.0, name="x") * w).named("s") ** 2
    >>> print(cr.explain(loss).text())  # doctest: +NORMALIZE_WHITESPACE
    Forward pass
      x  = 3    (input)
      w  = 2    (requires grad)
      s  = x · w       [mul]   = 6
      L  = s²          [pow]   = 36
    Backward pass (∂L/∂node, from the loss back to the leaves)
      L = s²    rule: d/dx xᵖ = p·xᵖ⁻¹ (p a constant number)
        ∂L/∂s = ∂L/∂L · ∂L/∂s = 1 · 12 = 12
      s = x · w    rule: d/da (a · b) = b, d/db (a · b) = a
        ∂L/∂w = ∂L/∂s · ∂s/∂w = 12 · 3 = 36
    Gradients
      ∂L/∂w = 36
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..engine import versions
from ..errors import GraphError, format_shape
from ..engine.function import Function
from ..engine.accumulation import add_gradient, fit_gradient
from ..engine.graph import tensors_in_order, wrong_count
from .markup import (
    latex_factor,
    latex_formula,
    latex_name,
    latex_value,
    markdown_cell,
    markdown_code,
    markdown_text,
)
from .number_format import Style, check_digits, format_value, restyle_numbers
from ..engine.tensor import Tensor

_SLOT = 0xE000  # placeholders for the inputs' names in a formula: characters of Unicode's private use area


Format = Literal["text", "markdown", "html", "latex"]
_NUMBERS: dict[str, Style] = {"text": "text", "markdown": "unicode", "html": "unicode", "latex": "latex"}


@dataclass
class ForwardRow:
    name: str
    value: np.ndarray
    kind: str  # "input", "requires grad" or "op"
    op: str = ""
    formulas: dict[str, str] = field(default_factory=dict)  # format → the formula, names and numbers in its style

    @property
    def formula(self) -> str:
        return self.formulas.get("text", "")


@dataclass
class Contribution:
    input_name: str
    local: np.ndarray | None  # ∂v/∂u when v and u are scalars
    gradient: np.ndarray  # what this path adds to ∂L/∂u
    shared: bool  # u receives gradient from more than one place
    summed_axes: tuple[int, ...] = ()  # axes of the op's output summed away because u was broadcast


@dataclass
class BackwardRow:
    name: str
    formulas: dict[str, str]  # format → the formula, names and numbers in its style
    rule: str
    gradient: np.ndarray  # ∂L/∂(this node), complete
    paths: int = 1  # how many ops used this node (its gradient is the sum over them)
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def formula(self) -> str:
        return self.formulas["text"]


class Explanation:
    """A worked forward and backward pass; print it, or ask for ``.markdown()``, ``.latex()``, ``.html()``,
    or ``.save_html(path)`` for a page that steps through it."""

    def __init__(self, loss: Tensor, digits: int = 6, *, caller: str = "explain") -> None:
        self.digits = check_explainable(loss, digits, caller)
        order = recorded_tensors(loss, caller)
        self.names = _names(order)
        self.loss_name = self.names[id(loss)]
        self.forward = [self._forward_row(t) for t in order if not _unnamed_number(t)]
        self.backward, totals = self._backward(loss, order, caller)
        self.order, self.totals = order, totals  # every tensor, and ∂loss/∂tensor by id (for chainrule.draw)
        leaves = [t for t in order if t.grad_fn is None and t.requires_grad and id(t) in totals]
        leaves.sort(key=lambda t: _natural_key(self.names[id(t)]))
        self.gradients = {self.names[id(t)]: totals[id(t)] for t in leaves}

    # ----------------------------------------------------------------- building

    def _forward_row(self, tensor: Tensor) -> ForwardRow:
        name = self.names[id(tensor)]
        if tensor.grad_fn is None:
            return ForwardRow(name, tensor.data, "requires grad" if tensor.requires_grad else "input")
        return ForwardRow(name, tensor.data, "op", tensor.grad_fn.name, self._formulas(tensor.grad_fn))

    def _formulas(self, node: Function) -> dict[str, str]:
        """The op written with its inputs' names, in every format: each name and number in that format's style.

        The op writes its formula around placeholders; the names go in last, so that nothing
        done to the formula (symbols turned into LaTeX, a | escaped for Markdown) touches them.
        """
        slots = [chr(_SLOT + position) for position in range(len(node.inputs))]
        template = node.formula(slots)
        formulas = {
            "text": template,
            "markdown": markdown_cell(restyle_numbers(template, "unicode")),
            "html": restyle_numbers(template, "unicode"),
            "latex": latex_formula(template),
        }
        for style, formula in formulas.items():
            for slot, tensor in zip(slots, node.inputs):
                name = self._tensor_name(tensor, style)  # type: ignore[arg-type]
                if style == "latex" and (f"^{slot}" in formula or (f"{slot}^" in formula and "^" in name)):
                    name = "{" + name + "}"  # an exponent, or a name with a superscript of its own raised again
                formula = formula.replace(slot, name)
            formulas[style] = formula
        return formulas

    def _tensor_name(self, tensor: Tensor, style: Format = "text") -> str:
        """The name of a tensor of the graph in ``style``: an unnamed number is its value, in that style's numbers."""
        if _unnamed_number(tensor):
            return format_value(tensor.data, 6, _NUMBERS[style])
        return self._show(self.names[id(tensor)], style)

    @staticmethod
    def _show(name: str, style: Format) -> str:
        """A name as ``style`` writes it (HTML escapes whole lines, names included, when it writes them)."""
        return {"markdown": markdown_text, "latex": latex_name}.get(style, str)(name)

    def _backward(
        self, loss: Tensor, order: list[Tensor], caller: str
    ) -> tuple[list[BackwardRow], dict[int, np.ndarray]]:
        consumers: dict[int, int] = {}
        for tensor in order:
            if tensor.grad_fn is not None:
                for parent, needed in zip(tensor.grad_fn.inputs, tensor.grad_fn.needs_input_grad):
                    if needed:
                        consumers[id(parent)] = consumers.get(id(parent), 0) + 1
        totals: dict[int, np.ndarray] = {id(loss): np.ones_like(loss.data)}
        rows = []
        # latest-created op first, as backward() takes them: contributions add up in the same order, to the same bits
        made_by_ops = sorted((t for t in order if t.grad_fn is not None), key=lambda t: -t.grad_fn.sequence)
        for tensor in made_by_ops:
            node = tensor.grad_fn
            if id(tensor) not in totals:
                continue
            grad_out = totals[id(tensor)]
            row = BackwardRow(
                self.names[id(tensor)], self._formulas(node), node.rule(), grad_out, consumers.get(id(tensor), 1)
            )
            versions.check(node, caller)  # never show a gradient computed from values changed since the forward pass
            input_grads = _as_tuple(node.backward(grad_out))
            if len(input_grads) != len(node.inputs):
                raise GraphError(wrong_count(node.name, len(input_grads), len(node.inputs)))
            scalar = tensor.size == 1 and all(t.size == 1 for t in node.inputs)
            locals_ = _as_tuple(node.backward(np.ones_like(grad_out))) if scalar else (None,) * len(node.inputs)
            for parent, needed, grad, local in zip(node.inputs, node.needs_input_grad, input_grads, locals_):
                if not needed or grad is None:
                    continue
                summed = broadcast_axes(np.shape(grad), parent.shape)
                grad = fit_gradient(grad, parent.shape, parent.dtype, node.name)
                total = totals.get(id(parent))  # the rows show each contribution: sums are new arrays
                totals[id(parent)] = grad if total is None else add_gradient(total, grad, owned=False)
                local_value = None if local is None else fit_gradient(local, parent.shape, parent.dtype, node.name)
                row.contributions.append(
                    Contribution(self.names[id(parent)], local_value, grad, consumers[id(parent)] > 1, summed)
                )
            rows.append(row)
        return rows, totals

    # ----------------------------------------------------------------- formats
    def value(self, values: np.ndarray, style: Style = "text") -> str:
        return format_value(values, self.digits, style)

    def factor(self, values: np.ndarray, style: Style = "text") -> str:
        """A number inside a product: negative ones in parentheses."""
        text = self.value(values, style)
        return f"({text})" if text.startswith("-") else text

    def text(self) -> str:
        """Plain text for the terminal."""
        width = max(len(row.name) for row in self.forward)
        formula_width = max([len(row.formula) for row in self.forward] + [10])
        op_width = max([len(row.op) for row in self.forward] + [4]) + 2
        lines = ["Forward pass"]
        for row in self.forward:
            if row.kind == "op":
                lines.append(
                    f"  {row.name:<{width}} = {row.formula:<{formula_width}}  {'[' + row.op + ']':<{op_width}}"
                    f"  = {self.value(row.value)}"
                )
            else:
                lines.append(f"  {row.name:<{width}} = {self.value(row.value)}    ({row.kind})")
        loss = self.loss_name
        lines.append(f"Backward pass (∂{loss}/∂node, from the loss back to the leaves)")
        for step in self.backward:
            lines.append(f"  {step.name} = {step.formula}    rule: {step.rule}")
            if step.paths > 1:
                lines.append(f"    ∂{loss}/∂{step.name} = sum over its {step.paths} uses = {self.value(step.gradient)}")
            for part in step.contributions:
                lines.append("    " + self._chain_text(step, part))
        lines.append("Gradients")
        lines += [f"  ∂{loss}/∂{name} = {self.value(values)}" for name, values in self.gradients.items()]
        return "\n".join(lines)

    def _chain_text(self, row: BackwardRow, part: Contribution, style: Format = "text") -> str:
        loss, output, source = (self._show(name, style) for name in (self.loss_name, row.name, part.input_name))
        numbers, sign = _NUMBERS[style], "+=" if part.shared else "="
        target = f"∂{loss}/∂{source} {sign} "
        if part.local is not None:
            return (
                target + f"∂{loss}/∂{output} · ∂{output}/∂{source} = "
                f"{self.factor(row.gradient, numbers)} · {self.factor(part.local, numbers)} = "
                f"{self.value(part.gradient, numbers)}"
            )
        return (
            target + f"(∂{loss}/∂{output}) pulled back through {row.formulas[style]}: "
            f"{self.value(part.gradient, numbers)}"
        )

    def markdown(self) -> str:
        """GitHub-flavoured Markdown: a table for each pass."""
        loss = markdown_text(self.loss_name)
        lines = ["### Forward pass", "", "| node | formula | op | value |", "|---|---|---|---|"]
        for row in self.forward:
            formula = row.formulas["markdown"] if row.kind == "op" else f"*{row.kind}*"
            lines.append(
                f"| {markdown_code(row.name)} | {formula} | {row.op} | {markdown_cell(self.value(row.value, 'unicode'))} |"
            )
        lines += [
            "",
            f"### Backward pass (∂{loss}/∂node)",
            "",
            "| node | rule of its op | chain rule for each input |",
            "|---|---|---|",
        ]
        for step in self.backward:
            chains = "<br>".join(self._chain_text(step, part, "markdown") for part in step.contributions)
            lines.append(
                f"| {markdown_code(step.name)} = {step.formulas['markdown']} | {markdown_cell(step.rule)} | {chains} |"
            )
        lines += ["", "### Gradients", ""]
        lines += [
            f"- ∂{loss}/∂{markdown_code(name, in_table=False)} = {self.value(values, 'unicode')}"
            for name, values in self.gradients.items()
        ]
        return "\n".join(lines) + "\n"

    def latex(self) -> str:
        """A LaTeX fragment (two ``align*`` environments; needs amsmath)."""
        loss = latex_name(self.loss_name)
        lines = [r"\paragraph{Forward pass}", r"\begin{align*}"]
        for row in self.forward:
            value = latex_value(row.value, self.digits)
            if row.kind == "op":
                lines.append(f"{latex_name(row.name)} &= {row.formulas['latex']} = {value} \\\\")
            else:
                lines.append(f"{latex_name(row.name)} &= {value} && \\text{{{row.kind}}} \\\\")
        lines += [r"\end{align*}", r"\paragraph{Backward pass}", r"\begin{align*}"]
        for step in self.backward:
            output = latex_name(step.name)
            for part in step.contributions:
                target = latex_name(part.input_name)
                relation = r"\mathrel{+}=" if part.shared else "="
                left = rf"\frac{{\partial {loss}}}{{\partial {target}}} &{relation} "
                if part.local is not None:
                    lines.append(
                        left + rf"\frac{{\partial {loss}}}{{\partial {output}}}\,"
                        rf"\frac{{\partial {output}}}{{\partial {target}}} = "
                        rf"{latex_factor(step.gradient, self.digits)} \cdot {latex_factor(part.local, self.digits)}"
                        rf" = {latex_value(part.gradient, self.digits)} \\"
                    )
                else:
                    lines.append(left + f"{latex_value(part.gradient, self.digits)} \\\\")
        lines += [r"\end{align*}", r"\paragraph{Gradients}", r"\begin{align*}"]
        for name, values in self.gradients.items():
            lines.append(
                rf"\frac{{\partial {loss}}}{{\partial {latex_name(name)}}} &= {latex_value(values, self.digits)} \\"
            )
        lines.append(r"\end{align*}")
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """HTML tables of both passes (no scripts, no links): the print view of ``save_html``'s page."""
        loss = self.loss_name
        parts = [
            "<div class='chainrule-explain'><h4>Forward pass</h4><table>",
            "<tr><th>node</th><th>formula</th><th>op</th><th>value</th></tr>",
        ]
        for row in self.forward:
            formula = html.escape(row.formulas["html"]) if row.kind == "op" else f"<i>{row.kind}</i>"
            parts.append(
                f"<tr><td><code>{html.escape(row.name)}</code></td><td>{formula}"
                f"</td><td>{html.escape(row.op)}</td><td>{html.escape(self.value(row.value, 'unicode'))}</td></tr>"
            )
        parts += [
            f"</table><h4>Backward pass (∂{html.escape(loss)}/∂node)</h4><table>",
            "<tr><th>node</th><th>rule</th><th>chain rule</th></tr>",
        ]
        for step in self.backward:
            chains = "<br>".join(html.escape(self._chain_text(step, part, "html")) for part in step.contributions)
            parts.append(
                f"<tr><td><code>{html.escape(step.name)}</code> = {html.escape(step.formulas['html'])}</td>"
                f"<td>{html.escape(step.rule)}</td><td>{chains}</td></tr>"
            )
        parts.append("</table><h4>Gradients</h4><ul>")
        parts += [
            f"<li>∂{html.escape(loss)}/∂<code>{html.escape(name)}</code> = {html.escape(self.value(v, 'unicode'))}</li>"
            for name, v in self.gradients.items()
        ]
        parts.append("</ul></div>")
        return "".join(parts)

    def html_page(self, check: object = None) -> str:
        """One self-contained HTML page: the graph and a forward/backward stepper (see ``save_html``)."""
        from .html_page import build_page

        return build_page(self, check)

    def save_html(self, path: str | Path, check: object = None) -> Path:
        """Write the interactive page to ``path``, one file that needs no network (scripts and styles inline).

        ``check``, a report of ``chainrule.check.check_graph(loss)``, marks each op whose backward
        disagrees with finite differences, with both numbers.

            >>> import chainrule as cr, tempfile, pathlib
            >>> w = cr.tensor(2.0, requires_grad=True, name="w")
            >>> path = cr.explain((w * w).named("L")).save_html(pathlib.Path(tempfile.mkdtemp()) / "page.html")
            >>> path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
            True
        """
        from ..training.files import atomic_write

        if not isinstance(path, (str, Path)) or not str(path):
            raise TypeError(f"save_html: path must be a file name (a str or a Path), got {path!r:.40}")
        path = Path(path)
        page = self.html_page(check).encode("utf-8")
        with atomic_write(path) as handle:
            handle.write(page)
        return path

    def _repr_html_(self) -> str:
        """Jupyter shows the page's stepper inline, in a sandboxed frame of its own (two never interfere)."""
        from .html_page import notebook_frame

        return notebook_frame(self)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()


def explain(loss: Tensor, digits: int = 6) -> Explanation:
    """Write out the computation behind the scalar ``loss``, forward and backward, step by step.

    The graph must still be there: call ``explain`` before ``loss.backward()`` or after
    ``loss.backward(retain_graph=True)``. Leaves' ``.grad`` are not touched. Every number is
    shown with ``digits`` significant digits (an int, 1 or more), in scientific notation when
    plain decimals would need more room (see ``chainrule.number_format``).
    """
    return Explanation(loss, digits)


def recorded_tensors(loss: Tensor, caller: str) -> list[Tensor]:
    """Every tensor of the graph behind ``loss`` (``tensors_in_order``); a one-line error naming ``caller`` if freed."""
    try:
        return tensors_in_order(loss)
    except GraphError:  # the only error it raises: a node that backward has freed
        raise GraphError(freed_graph(caller)) from None


def freed_graph(caller: str) -> str:
    """The message for ``caller`` (explain, draw, check_graph) given a graph that backward has freed."""
    return (
        f"{caller}: the graph was freed by backward(); call {caller} before loss.backward(), or call "
        "loss.backward(retain_graph=True) to keep it"
    )


def check_explainable(loss: object, digits: object, caller: str) -> int:
    """The checks that ``explain`` and ``draw`` make of their arguments, errors naming ``caller``; the digits."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"{caller}: expected a chainrule tensor, got {type(loss).__name__}")
    if loss.size != 1:
        raise GraphError(f"{caller}: the tensor has shape {format_shape(loss.shape)}; {caller} a scalar such as a loss")
    if loss.grad_fn is None:
        raise GraphError(f"{caller}: this tensor was not computed from tensors that require grad; nothing to {caller}")
    return check_digits(digits, caller)


# --------------------------------------------------------------------------- helpers
def broadcast_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of a gradient of ``grad_shape`` that ``unbroadcast`` sums to give an input of ``shape``.

    >>> broadcast_axes((4, 3), (3,)), broadcast_axes((2, 3), (2, 1)), broadcast_axes((2,), (2,))
    ((0,), (1,), ())
    """
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        return ()
    stretched = [extra + axis for axis, size in enumerate(shape) if size == 1 and grad_shape[extra + axis] != 1]
    return tuple(range(extra)) + tuple(stretched)


def _as_tuple(grads: object) -> tuple:
    return grads if isinstance(grads, tuple) else (grads,)


def _given_name(tensor: Tensor) -> str | None:
    """The name the user gave a tensor; an empty or blank name is no name (it would print as nothing)."""
    return None if tensor.name is None or not str(tensor.name).strip() else str(tensor.name)


def _unnamed_number(tensor: Tensor) -> bool:
    """A constant number nobody named (the 2 in ``x * 2``): written into the formulas, not listed."""
    return tensor.grad_fn is None and not tensor.requires_grad and _given_name(tensor) is None and tensor.size == 1


def _names(order: list[Tensor]) -> dict[int, str]:
    """A display name for every tensor: its own, L for an unnamed root, its value for unnamed numbers,
    else t1, p1, c1…"""
    names: dict[int, str] = {}
    counters = {"t": 0, "p": 0, "c": 0}
    used: set[str] = set()
    root = order[-1]
    taken = {_given_name(t) for t in order}
    for tensor in order:
        given = _given_name(tensor)
        if tensor is root and given is None and "L" not in taken:
            name = "L"  # an unnamed loss reads as L, as on paper
        elif given is not None:
            name = given
        elif _unnamed_number(tensor):
            name = format_value(tensor.data, 6)
        else:
            prefix = "t" if tensor.grad_fn is not None else ("p" if tensor.requires_grad else "c")
            counters[prefix] += 1
            name = f"{prefix}{counters[prefix]}"
            while name in used:
                counters[prefix] += 1
                name = f"{prefix}{counters[prefix]}"
        if name in used and not (tensor.grad_fn is None and given is None):
            suffix = 2
            while f"{name}_{suffix}" in used:
                suffix += 1
            name = f"{name}_{suffix}"
        used.add(name)
        names[id(tensor)] = name
    return names


def _natural_key(name: str) -> list:
    """Sort w2 before w10: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
