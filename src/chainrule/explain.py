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

import numpy as np

from . import versions
from .errors import GraphError, format_shape
from .graph import tensors_in_order, unbroadcast
from .number_format import Style, check_digits, format_number, format_value, restyle
from .tensor import Tensor


@dataclass
class ForwardRow:
    name: str
    value: np.ndarray
    kind: str  # "input", "requires grad" or "op"
    op: str = ""
    formula: str = ""
    latex_formula: str = ""


@dataclass
class Contribution:
    input_name: str
    local: np.ndarray | None  # ∂v/∂u when v and u are scalars
    gradient: np.ndarray  # what this path adds to ∂L/∂u
    shared: bool  # u receives gradient from more than one place


@dataclass
class BackwardRow:
    name: str
    formula: str
    latex_formula: str
    rule: str
    gradient: np.ndarray  # ∂L/∂(this node), complete
    paths: int = 1  # how many ops used this node (its gradient is the sum over them)
    contributions: list[Contribution] = field(default_factory=list)


class Explanation:
    """A worked forward and backward pass; print it, or ask for ``.markdown()`` or ``.latex()``."""

    def __init__(self, loss: Tensor, digits: int = 6) -> None:
        self.digits = check_explainable(loss, digits, "explain")
        order = tensors_in_order(loss)
        self.names = _names(order)
        self.loss_name = self.names[id(loss)]
        self.forward = [self._forward_row(t) for t in order if not _unnamed_number(t)]
        self.backward, totals = self._backward(loss, order)
        self.order, self.totals = order, totals  # every tensor, and ∂loss/∂tensor by id (for chainrule.draw)
        leaves = [t for t in order if t.grad_fn is None and t.requires_grad and id(t) in totals]
        leaves.sort(key=lambda t: _natural_key(self.names[id(t)]))
        self.gradients = {self.names[id(t)]: totals[id(t)] for t in leaves}

    # ----------------------------------------------------------------- building

    def _forward_row(self, tensor: Tensor) -> ForwardRow:
        name = self.names[id(tensor)]
        if tensor.grad_fn is None:
            return ForwardRow(name, tensor.data, "requires grad" if tensor.requires_grad else "input")
        node = tensor.grad_fn
        inputs = [self.names[id(t)] for t in node.inputs]
        latex_inputs = [latex_name(self.names[id(t)]) for t in node.inputs]
        return ForwardRow(
            name, tensor.data, "op", node.name, node.formula(inputs), latex_formula(node.formula(latex_inputs))
        )

    def _backward(self, loss: Tensor, order: list[Tensor]) -> tuple[list[BackwardRow], dict[int, np.ndarray]]:
        consumers: dict[int, int] = {}
        for tensor in order:
            if tensor.grad_fn is not None:
                for parent, needed in zip(tensor.grad_fn.inputs, tensor.grad_fn.needs_input_grad):
                    if needed:
                        consumers[id(parent)] = consumers.get(id(parent), 0) + 1
        totals: dict[int, np.ndarray] = {id(loss): np.ones_like(loss.data)}
        rows = []
        for tensor in reversed(order):
            node = tensor.grad_fn
            if node is None or id(tensor) not in totals:
                continue
            grad_out = totals[id(tensor)]
            names = [self.names[id(t)] for t in node.inputs]
            row = BackwardRow(
                self.names[id(tensor)],
                node.formula(names),
                latex_formula(node.formula([latex_name(n) for n in names])),
                node.rule(),
                grad_out,
                consumers.get(id(tensor), 1),
            )
            versions.check(node)  # never show a gradient computed from values changed since the forward pass
            input_grads = _as_tuple(node.backward(grad_out))
            scalar = tensor.size == 1 and all(t.size == 1 for t in node.inputs)
            locals_ = _as_tuple(node.backward(np.ones_like(grad_out))) if scalar else (None,) * len(node.inputs)
            for parent, needed, grad, local in zip(node.inputs, node.needs_input_grad, input_grads, locals_):
                if not needed or grad is None:
                    continue
                grad = unbroadcast(np.asarray(grad), parent.shape, node.name)
                totals[id(parent)] = grad if id(parent) not in totals else totals[id(parent)] + grad
                local_value = None if local is None else unbroadcast(np.asarray(local), parent.shape, node.name)
                row.contributions.append(
                    Contribution(self.names[id(parent)], local_value, grad, consumers[id(parent)] > 1)
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

    def _chain_text(self, row: BackwardRow, part: Contribution, style: Style = "text") -> str:
        loss, sign = self.loss_name, "+=" if part.shared else "="
        target = f"∂{loss}/∂{part.input_name} {sign} "
        if part.local is not None:
            return (
                target + f"∂{loss}/∂{row.name} · ∂{row.name}/∂{part.input_name} = "
                f"{self.factor(row.gradient, style)} · {self.factor(part.local, style)} = "
                f"{self.value(part.gradient, style)}"
            )
        return target + f"(∂{loss}/∂{row.name}) pulled back through {row.formula}: {self.value(part.gradient, style)}"

    def markdown(self) -> str:
        """GitHub-flavoured Markdown: a table for each pass."""
        loss = self.loss_name
        lines = ["### Forward pass", "", "| node | formula | op | value |", "|---|---|---|---|"]
        for row in self.forward:
            formula = row.formula if row.kind == "op" else f"*{row.kind}*"
            lines.append(f"| `{row.name}` | {_md(formula)} | {row.op} | {_md(self.value(row.value, 'unicode'))} |")
        lines += [
            "",
            f"### Backward pass (∂{loss}/∂node)",
            "",
            "| node | rule of its op | chain rule for each input |",
            "|---|---|---|",
        ]
        for step in self.backward:
            chains = "<br>".join(_md(self._chain_text(step, part, "unicode")) for part in step.contributions)
            lines.append(f"| `{step.name}` = {_md(step.formula)} | {_md(step.rule)} | {chains} |")
        lines += ["", "### Gradients", ""]
        lines += [
            f"- ∂{loss}/∂`{name}` = {_md(self.value(values, 'unicode'))}" for name, values in self.gradients.items()
        ]
        return "\n".join(lines) + "\n"

    def latex(self) -> str:
        """A LaTeX fragment (two ``align*`` environments; needs amsmath)."""
        loss = latex_name(self.loss_name)
        lines = [r"\paragraph{Forward pass}", r"\begin{align*}"]
        for row in self.forward:
            value = latex_value(row.value, self.digits)
            if row.kind == "op":
                lines.append(f"{latex_name(row.name)} &= {row.latex_formula} = {value} \\\\")
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
                        rf"{_latex_factor(step.gradient, self.digits)} \cdot {_latex_factor(part.local, self.digits)}"
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

    def _repr_html_(self) -> str:
        """Jupyter shows the explanation as HTML tables."""
        loss = self.loss_name
        parts = [
            "<div class='chainrule-explain'><h4>Forward pass</h4><table>",
            "<tr><th>node</th><th>formula</th><th>op</th><th>value</th></tr>",
        ]
        for row in self.forward:
            formula = html.escape(row.formula) if row.kind == "op" else f"<i>{row.kind}</i>"
            parts.append(
                f"<tr><td><code>{html.escape(row.name)}</code></td><td>{formula}"
                f"</td><td>{html.escape(row.op)}</td><td>{html.escape(self.value(row.value, 'unicode'))}</td></tr>"
            )
        parts += [
            f"</table><h4>Backward pass (∂{html.escape(loss)}/∂node)</h4><table>",
            "<tr><th>node</th><th>rule</th><th>chain rule</th></tr>",
        ]
        for step in self.backward:
            chains = "<br>".join(html.escape(self._chain_text(step, part, "unicode")) for part in step.contributions)
            parts.append(
                f"<tr><td><code>{html.escape(step.name)}</code> = {html.escape(step.formula)}</td>"
                f"<td>{html.escape(step.rule)}</td><td>{chains}</td></tr>"
            )
        parts.append("</table><h4>Gradients</h4><ul>")
        parts += [
            f"<li>∂{html.escape(loss)}/∂<code>{html.escape(name)}</code> = {html.escape(self.value(v, 'unicode'))}</li>"
            for name, v in self.gradients.items()
        ]
        parts.append("</ul></div>")
        return "".join(parts)

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
def _as_tuple(grads: object) -> tuple:
    return grads if isinstance(grads, tuple) else (grads,)


def _unnamed_number(tensor: Tensor) -> bool:
    """A constant number nobody named (the 2 in ``x * 2``): written into the formulas, not listed."""
    return tensor.grad_fn is None and not tensor.requires_grad and tensor.name is None and tensor.size == 1


def _names(order: list[Tensor]) -> dict[int, str]:
    """A display name for every tensor: its own, L for an unnamed root, its value for unnamed numbers,
    else t1, p1, c1…"""
    names: dict[int, str] = {}
    counters = {"t": 0, "p": 0, "c": 0}
    used: set[str] = set()
    root = order[-1]
    taken = {t.name for t in order if t.name is not None}
    for tensor in order:
        if tensor is root and tensor.name is None and "L" not in taken:
            name = "L"  # an unnamed loss reads as L, as on paper
        elif tensor.name is not None:
            name = tensor.name
        elif _unnamed_number(tensor):
            name = format_value(tensor.data, 6)
        else:
            prefix = "t" if tensor.grad_fn is not None else ("p" if tensor.requires_grad else "c")
            counters[prefix] += 1
            name = f"{prefix}{counters[prefix]}"
            while name in used:
                counters[prefix] += 1
                name = f"{prefix}{counters[prefix]}"
        if name in used and not (tensor.grad_fn is None and tensor.name is None):
            suffix = 2
            while f"{name}_{suffix}" in used:
                suffix += 1
            name = f"{name}_{suffix}"
        used.add(name)
        names[id(tensor)] = name
    return names


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "sigma", "tau", "phi", "omega"}


def latex_name(name: str) -> str:
    """``w1`` → ``w_{1}``, ``yhat`` → ``\\hat{y}``, ``Div`` → ``\\mathrm{Div}``, ``1e-08`` → ``10^{-8}``."""
    if re.fullmatch(r"-?[\d.eE+-]+|-?nan|-?inf", name):
        return restyle(name, "latex")
    match = re.fullmatch(r"([A-Za-z]+?)(hat)?_?(\d+)?(_\d+)?", name)
    if not match:
        return r"\mathrm{" + re.sub(r"([_#%&$])", r"\\\1", name) + "}"
    base, hat, index, suffix = match.groups()
    if base.lower() in _GREEK:
        base = "\\" + base
    elif len(base) > 1:
        base = rf"\mathrm{{{base}}}"
    if hat:
        base = rf"\hat{{{base}}}"
    if index:
        base += f"_{{{index}}}"
    if suffix:
        base += f"^{{({suffix[1:]})}}"
    return base


_LATEX_SYMBOLS = [
    ("σ", r"\sigma"),
    ("·", r"\cdot"),
    ("−", "-"),
    ("²", "^{2}"),
    ("³", "^{3}"),
    ("⁻¹", "^{-1}"),
    ("√", r"\sqrt "),
    ("‖", r"\|"),
    ("Σ", r"\sum "),
    ("ᵀ", r"^{\top}"),
    (" @ ", r"\,"),
    ("…", r"\dots"),
]


def latex_formula(formula: str) -> str:
    """A formula of ``Function.formula`` in LaTeX: symbols translated, function names upright."""
    for symbol, latex in _LATEX_SYMBOLS:
        formula = formula.replace(symbol, latex)
    formula = re.sub(r"\bln\(", r"\\ln(", formula)
    formula = re.sub(r"\bexp\(", r"\\exp(", formula)
    return re.sub(r"(?<![\\\w])([a-z][a-z_]+)\(", _operator_name, formula)


def _operator_name(match: re.Match) -> str:
    name = match.group(1).replace("_", r"\_")
    return rf"\operatorname{{{name}}}("


def latex_value(values: np.ndarray, digits: int) -> str:
    """A number, or a small vector or matrix as a bmatrix; larger arrays by their shape only."""
    values = np.asarray(values)
    if values.size == 1:
        return format_value(values, digits, "latex")
    if values.ndim <= 2 and values.size <= 36:
        matrix = values.reshape(1, -1) if values.ndim == 1 else values
        rows = [" & ".join(format_number(v, digits, "latex") for v in row) for row in matrix]
        return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"
    return rf"\text{{(array of shape {format_shape(values.shape)})}}"


def _latex_factor(values: np.ndarray, digits: int) -> str:
    text = latex_value(values, digits)
    return rf"\left({text}\right)" if text.startswith("-") else text


def _natural_key(name: str) -> list:
    """Sort w2 before w10: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _md(text: str) -> str:
    return text.replace("|", r"\|")
