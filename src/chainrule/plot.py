"""Training curves with matplotlib (an optional dependency: ``pip install ".[plot]"``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write

if TYPE_CHECKING:  # pragma: no cover
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
    return path


def plot_histories(histories: dict[str, History], path: str | Path, title: str | None = None) -> Path:
    """Draw loss and accuracy per epoch for one or more runs on one figure; save it as PNG, SVG or PDF.

    Left: training loss (log scale). Right: test accuracy (solid) and training accuracy (dashed).
    """
    path = check_plot_path(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for index, (name, history) in enumerate(histories.items()):
        color = f"C{index}"
        epochs = range(1, history.epochs + 1)
        loss_axes.plot(epochs, history.loss, color=color, label=name)
        if history.test_accuracy:
            accuracy_axes.plot(epochs, history.test_accuracy, color=color, label=f"{name} test")
        accuracy_axes.plot(epochs, history.train_accuracy, color=color, linestyle="--", label=f"{name} train")
    loss_axes.set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title="accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    with atomic_write(path) as handle:
        figure.savefig(handle, format=path.suffix[1:].lower(), dpi=120)
    plt.close(figure)
    return path
