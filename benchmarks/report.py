"""What ``run.py`` prints: the machine, the table of ratios over one or more full runs, the targets.

A full run gives, for each workload, each implementation's samples: seconds per step in each
interleaved round. A ratio is paired: the median over rounds of the implementation's time divided
by the reference's time in the same round. Over several runs the table shows each ratio's median
over the runs and its worst (largest) value, and a target is met only if it is met in every run,
that is by the worst run.
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass

Result = dict  # one workload in one run: name, title, times, ratios, samples, agreement

LABELS = {
    "numpy": "hand NumPy",
    "chainrule": "chainrule (SGD)",
    "chainrule-user": "chainrule (hand update)",
    "chainrule-traced": "traced (SGD)",
    "chainrule-traced-user": "traced (hand update)",
    "micrograd": "micrograd-style (pure Python)",
    "python": "hand pure Python (`math`)",
    "torch": "PyTorch eager",
    "jax": "JAX jit",
}
IMPLEMENTATIONS = tuple(LABELS)


@dataclass(frozen=True)
class Target:
    """``implementation`` takes at most ``limit`` times ``reference``'s time (ratio paired round by round)."""

    implementation: str
    limit: float
    reference: str = "numpy"

    def __str__(self) -> str:
        if self.reference == "numpy":
            return f"{LABELS[self.implementation]} ≤ {self.limit}×"
        return f"{LABELS[self.implementation]} ≤ {self.limit} × {LABELS[self.reference]}"


def _sgd_and_hand_update(eager: float, traced: float | None) -> list[Target]:
    """The same limits for the step with ``optim.SGD`` and the step a user writes with ``.grad = None``."""
    targets = [Target("chainrule", eager), Target("chainrule-user", eager)]
    if traced is not None:
        targets += [Target("chainrule-traced", traced), Target("chainrule-traced-user", traced)]
    return targets


#: The targets of issue 14 (and issue 12 for the CNNs). The scalar network's eager step must also
#: beat the micrograd-style engine, and its traced step be at least twice as fast as JAX jit
#: (judged where JAX is installed); the issue sets no traced target for the one-sample network.
TARGETS = {
    "three-matrix": _sgd_and_hand_update(1.3, 1.05),
    "three-matrix-single": _sgd_and_hand_update(1.6, None),
    "iris": _sgd_and_hand_update(1.3, 1.05),
    "wide-mlp": _sgd_and_hand_update(1.03, 1.03),
    "scalar": [
        *_sgd_and_hand_update(2.0, 0.4),
        Target("chainrule", 1.0, "micrograd"),
        Target("chainrule-user", 1.0, "micrograd"),
        Target("chainrule-traced", 0.5, "jax"),
        Target("chainrule-traced-user", 0.5, "jax"),
    ],
    "digits-cnn": [Target("chainrule", 1.3), Target("chainrule-traced", 1.3)],
    "wide-cnn": [Target("chainrule", 1.3), Target("chainrule-traced", 1.3)],
}


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def paired_ratios(samples: dict[str, list[float]], base: str = "numpy") -> dict[str, float]:
    """The median over rounds of each implementation's time divided by ``base``'s time in the same round.

    A slow spell of the machine that catches one round moves both times of that round, so the
    ratio of the two moves less than the ratio of the two medians would.
    """
    return {
        name: statistics.median(time / base_time for time, base_time in zip(values, samples[base]))
        for name, values in samples.items()
    }


def machine() -> dict[str, str]:
    """The machine and the libraries, for the top of the report."""
    import numpy as np

    info = {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy: no dictionary form
        info["blas"] = "unknown"
    for library in ("torch", "jax"):
        try:
            info[library] = __import__(library).__version__
        except ImportError:
            info[library] = "not installed"
    try:
        info["load at start"] = " ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        pass
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_time(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def _by_workload(runs: list[list[Result]]) -> dict[str, list[Result]]:
    """Each workload's results, one per run in which it ran, in the order of the first run."""
    grouped: dict[str, list[Result]] = {}
    for run in runs:
        for result in run:
            grouped.setdefault(result["name"], []).append(result)
    return grouped


def target_ratio(result: Result, target: Target) -> float | None:
    """The target's ratio in one run (paired round by round), or None where an implementation did not run."""
    if target.implementation not in result["times"] or target.reference not in result["times"]:
        return None
    if target.reference == "numpy":
        return result["ratios"][target.implementation]
    return paired_ratios(result["samples"], base=target.reference)[target.implementation]


def judge(runs: list[list[Result]]) -> list[tuple[str, Target, list[float] | None, str]]:
    """Every target of every workload run: (workload title, target, its ratio in each run, or None
    if not judged, and then the implementation that did not run)."""
    judged = []
    for name, results in _by_workload(runs).items():
        for target in TARGETS.get(name, []):
            missing = [
                i for i in (target.implementation, target.reference) if any(i not in r["times"] for r in results)
            ]
            values = None if missing else [target_ratio(result, target) for result in results]
            judged.append((results[0]["title"], target, values, missing[0] if missing else ""))
    return judged


def table(runs: list[list[Result]], columns: list[str] | None = None) -> str:
    """The Markdown table of one or more full runs: for several, each ratio's median over the runs and (its worst).

    ``columns``: the implementations to show, in order, and ``"targets"`` for the targets column
    (the README's table, say: ``["numpy", "chainrule", "chainrule-traced", "torch"]``); by
    default every implementation that ran, then the targets.
    """
    grouped = _by_workload(runs)
    if columns is None:
        ran = {i for results in grouped.values() for r in results for i in r["times"]}
        columns = [i for i in IMPLEMENTATIONS if i in ran] + ["targets"]
    present = [column for column in columns if column != "targets"]
    header = ["workload", *(LABELS[i] for i in present), *(["targets"] if "targets" in columns else [])]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, results in grouped.items():
        cells = [results[0]["title"]]
        for implementation in present:
            if any(implementation not in r["times"] for r in results):
                cells.append("–")
            elif implementation == "numpy":
                time = statistics.median(r["times"]["numpy"] for r in results)
                cells.append(f"1.00 ({format_time(time)})")
            else:
                ratios = [r["ratios"][implementation] for r in results]
                worst = f" ({max(ratios):.2f}×)" if len(ratios) > 1 else ""
                cells.append(f"{statistics.median(ratios):.2f}×{worst}")
        if "targets" in columns:
            cells.append(_targets_cell(results, TARGETS.get(name, [])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _targets_cell(results: list[Result], targets: list[Target]) -> str:
    """How many of the workload's targets the worst run meets (each one is listed by ``targets_report``)."""
    values = [[target_ratio(r, target) for r in results] for target in targets]
    judged = [(target, ratios) for target, ratios in zip(targets, values) if None not in ratios]
    if not judged:
        return "–"
    met = sum(1 for target, ratios in judged if max(ratios) <= target.limit)
    unjudged = f" ({len(targets) - len(judged)} not judged)" if len(judged) < len(targets) else ""
    return f"{met} of {len(judged)} met{unjudged}"


def targets_report(runs: list[list[Result]], quick: bool = False) -> str:
    """Each target with its worst ratio over the runs and every run's ratio; met only if met in every run."""
    judged = judge(runs)
    count = len(runs)
    what = f"--quick run{'s' * (count > 1)}: shown, not for judging" if quick else f"full run{'s' * (count > 1)}"
    lines = [
        f"Targets, judged on the worst of {count} {what} (each ratio paired round by round with the reference's time):"
    ]
    title = None
    for workload_title, target, values, missing in judged:
        if workload_title != title:
            lines.append(f"  {workload_title}")
            title = workload_title
        if values is None:
            lines.append(f"    {target}: not judged ({LABELS[missing]} did not run)")
            continue
        verdict = "met" if max(values) <= target.limit else "NOT MET"
        each = ", ".join(f"{value:.2f}" for value in values)
        lines.append(f"    {target}: worst {max(values):.2f} (runs: {each}): {verdict}")
    met = sum(1 for _, target, values, _ in judged if values is not None and max(values) <= target.limit)
    counted = sum(1 for _, _, values, _ in judged if values is not None)
    lines.append(f"Targets met: {met} of {counted} judged ({len(judged) - counted} not judged).")
    return "\n".join(lines)
