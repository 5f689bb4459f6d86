"""Training curves with matplotlib (an optional dependency: ``pip install ".[plot]"`` in the chainrule folder).

Figures are drawn on a ``matplotlib.figure.Figure`` of their own, never through pyplot, so
plotting leaves the user's backend and open figures alone (a notebook's inline plots keep
working).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import describe_value
from .files import atomic_write, check_writable

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .train import History


def check_plot_path(path: str | Path) -> Path:
    """Fail early (before any training) when a figure could not be saved at ``path``."""
    path = Path(path)
    if path.suffix.lower() not in {".png", ".svg", ".pdf"}:
        raise ValueError(
            f"plot: save the figure as .png, .svg or .pdf, not {path.suffix or 'a name without extension'}"
        )
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install ".[plot]" in the chainrule folder') from None
    check_writable(path)
    return path


def check_histories(owner: str, histories: Any) -> dict[str, History]:
    """``histories`` if it maps run names to ``History`` objects with at least one epoch, else a one-line error."""
    from .train import History

    example = "pass a dict of run name to History, e.g. {'nag': history}"
    if isinstance(histories, History):
        raise TypeError(f"{owner}: {example}; got a History alone")
    if not isinstance(histories, Mapping):
        raise TypeError(f"{owner}: {example}; got {describe_value(histories)}")
    if not histories:
        raise ValueError(f"{owner}: the dict of histories is empty, so there is nothing to plot; {example}")
    for name, history in histories.items():
        if not isinstance(history, History):
            raise TypeError(f"{owner}: histories[{name!r}] is {describe_value(history)}, not a History; {example}")
        if not history.epochs:
            raise ValueError(f"{owner}: histories[{name!r}] has no epochs to plot")
    return dict(histories)


def draw_histories(histories: dict[str, History], title: str | None = None) -> Figure:
    """A figure of loss and accuracy per epoch for one or more runs (named by the keys; "" for one run).

    Left: training loss (solid) and test loss (dotted), on a log scale when every loss is
    positive. Right, when accuracy was recorded: test accuracy (solid) and training accuracy
    (dashed).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install ".[plot]" in the chainrule folder') from None

    histories = check_histories("draw_histories", histories)
    runs = histories.values()
    with_accuracy = any(history.train_accuracy or history.test_accuracy for history in runs)
    figure = Figure(figsize=(11 if with_accuracy else 5.5, 4.2), layout="constrained")
    FigureCanvasAgg(figure)  # the figure's own canvas: no pyplot, no backend switch
    all_axes = figure.subplots(1, 2 if with_accuracy else 1, squeeze=False)[0]
    loss_axes = all_axes[0]
    for index, (name, history) in enumerate(histories.items()):
        color = f"C{index}"
        epochs = range(1, history.epochs + 1)
        loss_axes.plot(epochs, history.loss, color=color, label=name or "training")
        if history.test_loss:
            loss_axes.plot(epochs, history.test_loss, color=color, linestyle=":", label=f"{name} test".strip())
        if with_accuracy:
            if history.test_accuracy:
                all_axes[1].plot(epochs, history.test_accuracy, color=color, label=f"{name} test".strip())
            if history.train_accuracy:
                label = f"{name} train".strip()
                all_axes[1].plot(epochs, history.train_accuracy, color=color, linestyle="--", label=label)
    losses = [value for history in runs for value in (*history.loss, *history.test_loss)]
    positive = all(value > 0 for value in losses)  # a log axis would silently drop zeros and negative losses
    loss_axes.set(xlabel="epoch", ylabel="loss", yscale="log" if positive else "linear", title="loss")
    if with_accuracy:
        all_axes[1].set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title="accuracy")
    for axes in all_axes:
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    return figure


def png_bytes(figure: Figure, dpi: int = 100) -> bytes:
    """``figure`` as PNG bytes (what Jupyter shows for a ``History``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_histories(histories: dict[str, History], path: str | Path, title: str | None = None) -> Path:
    """Draw loss and accuracy per epoch for one or more runs on one figure; save it as PNG, SVG or PDF.

    Left: training loss (log scale). Right: test accuracy (solid) and training accuracy (dashed).
    The user's matplotlib backend and pyplot figures are left as they were.
    """
    histories = check_histories("plot_histories", histories)
    path = check_plot_path(path)
    figure = draw_histories(histories, title)
    with atomic_write(path) as handle:
        figure.savefig(handle, format=path.suffix[1:].lower(), dpi=120)
    return path
