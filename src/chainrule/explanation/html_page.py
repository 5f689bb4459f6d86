"""``explain(loss).save_html(path)``: one self-contained HTML page to step through a forward and backward pass.

The page holds the graph (inline SVG, laid out by ``chainrule.layout``), a stepper (buttons and
the arrow keys) and a side panel with each step's formula, derivative rule and numbers, in
MathML. Everything it shows comes from one ``Explanation``, the one ``text()`` prints: the
numbers are formatted here, in Python, and embedded as JSON; the script (``page/stepper.js``,
inline) only shows them. Nothing is fetched: no fonts, no scripts, no styles from elsewhere.

A graph of more than ``MAX_OPS`` ops gets an outline (ops counted by kind, tensors grouped by
module) instead of a drawing; a tensor of more than 36 numbers is summarised (its first rows
shown on demand), never written out in full.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections import Counter
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import format_shape
from .graph_svg import GraphNode, graph_svg
from .mathml import formula_mathml, math, name_mathml, partial
from .number_format import format_number

if TYPE_CHECKING:
    from ..check.report import CheckReport
    from .explain import Explanation

MAX_OPS = 200
SMALL = 6  # a tensor of at most SMALL × SMALL numbers is drawn as a table
CORNER = 20  # an expanded summary shows at most CORNER rows of CORNER numbers


# --------------------------------------------------------------------------- values
def view(values: Any, digits: int) -> dict:
    """A value as the page shows it: ``{"text"}`` for a number, ``{"shape", "rows"}`` for a small table,
    ``{"shape", "summary", "rows", "more"}`` for a large tensor (its first rows and columns only)."""
    values = np.asarray(values)
    number = lambda value: format_number(value, digits, "unicode")  # noqa: E731
    if values.size == 1:
        return {"text": number(values.reshape(()).item())}
    if values.size == 0:
        return {
            "shape": format_shape(values.shape),
            "summary": f"{format_shape(values.shape)} empty",
            "rows": [],
            "more": 0,
        }
    grid = values.reshape(1, -1) if values.ndim <= 1 else values.reshape(-1, values.shape[-1])
    rows = [[number(value) for value in row[:CORNER]] for row in grid[:CORNER]]
    shown = {"shape": format_shape(values.shape), "rows": rows}
    if values.ndim <= 2 and grid.shape[0] <= SMALL and grid.shape[1] <= SMALL:
        return shown
    floats = values.astype(np.float64) if values.dtype.kind in "biuf" else None
    summary = format_shape(values.shape)
    if floats is not None:
        with np.errstate(all="ignore"):  # the mean of inf and -inf is nan: shown, not warned about
            low, high, mean = floats.min(), floats.max(), floats.mean()
        summary += f" min {number(low)} max {number(high)} mean {number(mean)}"
    return {**shown, "summary": summary, "more": int(values.size - sum(len(row) for row in rows))}


# --------------------------------------------------------------------------- the page's data
def page_data(explanation: Explanation, check: CheckReport | None = None) -> tuple[dict, str]:
    """The JSON the script shows and the SVG of the graph, both from ``explanation``."""
    from .explain import _unnamed_number

    digits, loss = explanation.digits, explanation.loss_name
    tensors = [t for t in explanation.order if not _unnamed_number(t)]
    index = {id(t): position for position, t in enumerate(tensors)}
    by_name = {explanation.names[id(t)]: position for position, t in enumerate(tensors)}
    failures = _check_failures(explanation, check, index)
    nodes = []
    for tensor, row in zip(tensors, explanation.forward):
        kind = "op" if tensor.grad_fn is not None else ("parameter" if tensor.requires_grad else "input")
        nodes.append(
            GraphNode(
                row.name,
                row.op,
                "loss" if tensor is explanation.order[-1] else kind,
                "scalar" if tensor.ndim == 0 else format_shape(tensor.shape),
                view(tensor.data, digits),
                failed=index[id(tensor)] in failures,
            )
        )
    edges = [
        (index[id(parent)], index[id(tensor)], slot)
        for tensor in tensors
        if tensor.grad_fn is not None
        for slot, parent in enumerate(tensor.grad_fn.inputs)
        if id(parent) in index
    ]
    forward = [_forward_step(explanation, tensor, row, index) for tensor, row in zip(tensors, explanation.forward)]
    loss_index = index[id(explanation.order[-1])]
    nodes[loss_index].stages.append((0, f"∂{loss}/∂{loss}", view(np.ones(()), digits)))
    steps_of = [t for t in reversed(explanation.order) if t.grad_fn is not None and id(t) in explanation.totals]
    uses = Counter(part.input_name for row in explanation.backward for part in row.contributions)
    backward, running = [], {}
    for step, (tensor, row) in enumerate(zip(steps_of, explanation.backward)):
        backward.append(_backward_step(explanation, step, row, tensor, (index, by_name, uses), nodes, running))
        if index[id(tensor)] in failures:
            backward[-1]["check"] = failures[index[id(tensor)]]
    data = {
        "loss": loss,
        "nodes": [{"name": n.name, "op": n.op, "kind": n.kind, "shape": n.shape, "value": n.value} for n in nodes],
        "stages": [[{"step": s, "label": label, "value": v} for s, label, v in n.stages] for n in nodes],
        "edges": [{"from": source, "to": target, "slot": slot} for source, target, slot in edges],
        "forward": [step for step in forward if step is not None],
        "backward": backward,
        "check": None if check is None else {"passed": bool(check), "text": str(check), "failed": list(failures)},
    }
    return data, graph_svg(nodes, edges)


def _forward_step(explanation: Explanation, tensor: Any, row: Any, index: dict[int, int]) -> dict | None:
    if tensor.grad_fn is None:
        return None
    formula = _formula_mathml(explanation, tensor.grad_fn)
    value = view(tensor.data, explanation.digits)
    shown = f"<mo>=</mo><mn>{escape(value['text'])}</mn>" if "text" in value else ""
    return {
        "node": index[id(tensor)],
        "title": f"{row.name} = {row.formulas['html']}",
        "op": row.op,
        "math": math(name_mathml(row.name) + "<mo>=</mo>" + formula + shown, display=True),
        "value": value,
        "inputs": [
            {
                "node": index[id(parent)],
                "name": explanation.names[id(parent)],
                "value": view(parent.data, explanation.digits),
            }
            for parent in tensor.grad_fn.inputs
            if id(parent) in index
        ],
    }


def _formula_mathml(explanation: Explanation, node: Any) -> str:
    from .explain import _SLOT

    slots = {chr(_SLOT + position): name_mathml(explanation.names[id(t)]) for position, t in enumerate(node.inputs)}
    return formula_mathml(node.formula(list(slots)), slots)


def _backward_step(
    explanation: Explanation,
    step: int,
    row: Any,
    tensor: Any,
    lookups: tuple[dict[int, int], dict[str, int], Counter],
    nodes: list[GraphNode],
    running: dict[int, np.ndarray],
) -> dict:
    """One backward step: the op, its rule, and for each input the chain-rule product and the sum so far."""
    digits, loss = explanation.digits, explanation.loss_name
    index, by_name, uses_of = lookups
    upstream = partial(loss, row.name)
    contributions = []
    for part in row.contributions:
        target = by_name[part.input_name]
        total = part.gradient if target not in running else running[target] + part.gradient
        running[target] = total  # added in the order backward adds them: the sum equals explain's total
        received = sum(1 for _, label, _ in nodes[target].stages) + 1
        uses = uses_of[part.input_name]
        label = f"∂{loss}/∂{part.input_name}" + (f" ({received} of {uses} uses)" if uses > 1 else "")
        nodes[target].stages.append((step, label, view(total, digits)))
        chain = partial(loss, part.input_name) + ("<mo>+=</mo>" if part.shared else "<mo>=</mo>") + upstream
        numbers = ""
        if part.local is not None:  # the product in symbols, then (a line of its own) in numbers
            chain += "<mo>·</mo>" + partial(row.name, part.input_name)
            numbers = f"<mo>=</mo>{_number(explanation.factor(row.gradient, 'unicode'))}<mo>·</mo>"
            numbers += f"{_number(explanation.factor(part.local, 'unicode'))}<mo>=</mo>"
            numbers += _number(explanation.value(part.gradient, "unicode"))
        contributions.append(
            {
                "node": target,
                "name": part.input_name,
                "math": math(chain, display=True) + (math(numbers, display=True) if numbers else ""),
                "local": None if part.local is None else view(part.local, digits),
                "value": view(part.gradient, digits),
                "total": view(total, digits),
                "shared": part.shared,
                "received": received,
                "uses": uses,
                "axes": list(part.summed_axes),
                "broadcast_from": format_shape(tensor.shape),
            }
        )
    return {
        "node": index[id(tensor)],
        "title": f"{row.name} = {row.formulas['html']}",
        "op": tensor.grad_fn.name,
        "math": math(name_mathml(row.name) + "<mo>=</mo>" + _formula_mathml(explanation, tensor.grad_fn), True),
        "rule": row.rule,
        "rule_math": "".join(  # one line for each input's rule
            math(formula_mathml(part), display=True) for part in re.split(r",\s+(?=[d∂]/[d∂])", row.rule)
        ),
        "upstream": view(row.gradient, digits),
        "upstream_math": math(upstream),
        "paths": row.paths,
        "contributions": contributions,
    }


def _number(text: str) -> str:
    if text.startswith("(") and text.endswith(")"):
        return f"<mo>(</mo><mn>{escape(text[1:-1])}</mn><mo>)</mo>"
    return f"<mn>{escape(text)}</mn>"


def _check_failures(
    explanation: Explanation, check: CheckReport | None, index: dict[int, int]
) -> dict[int, list[dict]]:
    """Node → what ``check_graph`` found wrong with its op: the input, the element, backward and finite diff."""
    if check is None:
        return {}
    from ..check.report import CheckReport
    from ..engine.graph import topological_order

    if not isinstance(check, CheckReport) or check.title != "check_graph":
        raise TypeError(
            "save_html: check must be the report of chainrule.check.check_graph(loss), which names the ops; "
            f"got {type(check).__name__}" + (f" of {check.title}" if isinstance(check, CheckReport) else "")
        )
    loss = explanation.order[-1]
    ops = list(reversed(topological_order(loss.grad_fn)))
    output = {id(t.grad_fn): t for t in explanation.order if t.grad_fn is not None}
    failures: dict[int, list[dict]] = {}
    for item in check.failures():
        found = re.fullmatch(r"(\d+)\. (.+) input (\d+)", item.name)
        if not found or int(found[1]) > len(ops):
            raise ValueError(f"save_html: {item.name!r} is not a row of check_graph's report for this graph")
        op = ops[int(found[1]) - 1]
        tensor, position = output[id(op)], int(found[3])
        failures.setdefault(index[id(tensor)], []).append(
            {
                "op": found[2],
                "input": explanation.names[id(op.inputs[position])],
                "element": format_shape(item.worst_index or ()),
                "values": {label: format_number(v, explanation.digits, "unicode") for label, v in item.values.items()},
                "notes": item.notes,
            }
        )
    return failures


# --------------------------------------------------------------------------- the page
def _asset(name: str) -> str:
    text = (resources.files(__package__) / "page" / name).read_text(encoding="utf-8")
    assert "</" + "script" not in text.lower() and "</" + "style" not in text.lower(), name
    return text


def _json_for_script(data: dict) -> str:
    """JSON that cannot end its <script> element early: < > & and the line separators written as \\u escapes."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for character, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(character, escaped)
    return text.replace("\u2029", "\\u2029")


def _download(text: str, media: str) -> str:
    return f"data:{media};charset=utf-8," + urllib.parse.quote(text, safe="")


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{_asset('page.css')}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def build_page(explanation: Explanation, check: CheckReport | None = None) -> str:
    """The whole page for ``explanation`` (an outline when the graph has more than ``MAX_OPS`` ops)."""
    ops = [t for t in explanation.order if t.grad_fn is not None]
    loss = explanation.loss_name
    if len(ops) > MAX_OPS:
        return _document(f"chainrule: ∂{loss} (outline)", outline(explanation, ops))
    data, svg = page_data(explanation, check)
    banner = ""
    if check is not None:
        verdict = "passed" if check else "FAILED: the ops marked in red have a backward that disagrees"
        banner = f'<div id="check" class="{"ok" if check else "bad"}"><b>check_graph {verdict}</b>'
        banner += f"<details><summary>the report</summary><pre>{escape(str(check))}</pre></details></div>"
    body = f"""
<header>
  <h1>∂{escape(loss)}: forward and backward, one op at a time</h1>
  <nav id="controls" aria-label="stepper">
    <button id="first" title="start (Home)">« start</button>
    <button id="prev" title="previous step (←)">◀ back</button>
    <button id="next" title="next step (→)">next ▶</button>
    <button id="to-backward" title="jump to the first backward step">backward pass »</button>
    <button id="last" title="end (End)">end »</button>
    <span id="position" aria-live="polite"></span>
    <span class="tools">
      <button id="print-toggle">print view</button>
      <a id="download-markdown" download="derivation.md"
         href="{_download(explanation.markdown(), "text/markdown")}">Markdown</a>
      <a id="download-latex" download="derivation.tex" href="{_download(explanation.latex(), "application/x-tex")}">LaTeX</a>
    </span>
  </nav>
</header>
{banner}
<main id="app">
  <div id="graph-area">{svg}</div>
  <aside id="panel" aria-live="polite"></aside>
</main>
<section id="print-view"><h2>The whole derivation</h2>{explanation.html()}</section>
<script type="application/json" id="chainrule-data">{_json_for_script(data)}</script>
<script>{_asset("stepper.js")}</script>"""
    return _document(f"chainrule: ∂{loss}", body)


def outline(explanation: Explanation, ops: list) -> str:
    """The body of the page for a graph too large to draw: ops counted by kind, tensors grouped by module."""
    counts = Counter(t.grad_fn.name for t in ops)
    shapes: dict[str, set[str]] = {}
    for tensor in ops:
        shapes.setdefault(tensor.grad_fn.name, set()).add(format_shape(tensor.shape))
    rows = "".join(
        f"<tr><td>{escape(op)}</td><td>{count}</td><td>{escape(', '.join(sorted(shapes[op])[:5]))}</td></tr>"
        for op, count in counts.most_common()
    )
    modules: dict[str, list[str]] = {}
    for name, gradient in explanation.gradients.items():
        module = name.rsplit(".", 1)[0] if "." in name else "(top level)"
        shown = view(gradient, explanation.digits)
        modules.setdefault(module, []).append(
            f"<li><code>{escape(name)}</code>: ∂{escape(explanation.loss_name)}/∂ = "
            f"{escape(shown.get('text') or shown.get('summary') or format_shape(np.shape(gradient)))}</li>"
        )
    groups = "".join(f"<h3>{escape(module)}</h3><ul>{''.join(items)}</ul>" for module, items in modules.items())
    return (
        f'<main id="outline"><h1>∂{escape(explanation.loss_name)}: a graph of {len(ops)} ops</h1>'
        f'<p class="too-large">This graph has {len(ops)} ops, more than {MAX_OPS}: too many to draw or step through '
        "usefully. Here is its outline instead; explain a smaller piece (one layer, one sample) to step through it.</p>"
        f"<h2>Ops by kind</h2><table><tr><th>op</th><th>count</th><th>output shapes</th></tr>{rows}</table>"
        f"<h2>Gradients by module</h2>{groups}</main>"
    )


def notebook_frame(explanation: Explanation, height: int = 640) -> str:
    """The page in a sandboxed ``<iframe srcdoc>``: its script and keys stay in its own document."""
    page = build_page(explanation)
    return (
        f'<iframe class="chainrule-explain" sandbox="allow-scripts allow-downloads" '
        f'style="width:100%;height:{height}px;border:1px solid #ccc;border-radius:4px" '
        f'srcdoc="{escape(page, quote=True)}"></iframe>'
    )
