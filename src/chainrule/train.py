"""Training loops: ``fit`` runs epochs over a loader and records a ``History``.

>>> import chainrule as cr
>>> from chainrule import data, nn, optim
>>> iris = data.load_iris()
>>> net = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Tanh(), nn.Linear(8, 3, rng=1))
>>> x = data.Standardizer().fit(iris.features).transform(iris.features)
>>> loader = data.DataLoader(x, iris.labels)
>>> history = fit(net, optim.Adam(net.parameters(), lr=0.05), loader, epochs=30, progress=False)
>>> history.train_accuracy[-1] > 0.9
True
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from .data import DataLoader
from .grad_mode import no_grad
from .ops import cross_entropy
from .optim import Optimizer
from .tensor import Tensor
from .trace import trace as make_trace


@dataclass
class History:
    """Per-epoch records of a training run (lists of equal length, one entry per epoch)."""

    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def epochs_to_reach(self, accuracy: float, which: str = "test") -> int | None:
        """The first epoch (counting from 1) whose accuracy is at least ``accuracy``; None if never."""
        values = self.test_accuracy if which == "test" else self.train_accuracy
        for epoch, value in enumerate(values, start=1):
            if value >= accuracy:
                return epoch
        return None

    def to_dict(self) -> dict[str, list[float]]:
        return asdict(self)


def accuracy(model: Callable[[Any], Tensor], features: Any, labels: np.ndarray) -> float:
    """Fraction of rows whose largest output is the label (computed without a graph)."""
    with no_grad():
        scores = model(features)
    return float(np.mean(np.argmax(scores.data, axis=-1) == np.asarray(labels)))


def fit(
    model: Any,
    optimizer: Optimizer,
    loader: DataLoader,
    epochs: int,
    loss_fn: Callable[[Tensor, np.ndarray], Tensor] = cross_entropy,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool | None = None,
    description: str = "training",
    trace: bool = False,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``; returns the per-epoch ``History``.

    Each batch: clear gradients, forward, ``loss_fn(outputs, labels)``, backward, optimizer
    step. The recorded loss of an epoch is the mean of its batch losses weighted by batch size;
    accuracies are measured after the epoch on the whole training set and on ``test``.
    ``progress=None`` shows a tqdm bar only when stderr is a terminal; False never does.
    ``trace=True`` replays each step from a ``chainrule.trace`` of the loss: the same numbers,
    bit for bit, with less overhead (for models whose forward has no data-dependent branches).
    """
    if epochs < 1:
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs}")
    history = History()
    traced = make_trace(lambda features, labels: loss_fn(model(features), labels)) if trace else None
    bar = _progress_bar(epochs, description, progress)
    try:
        for _ in range(epochs):
            started = time.perf_counter()
            model.train()
            total, count = 0.0, 0
            for features, labels in loader:
                optimizer.zero_grad()
                if traced is None:
                    loss = loss_fn(model(features), labels)
                    loss.backward()
                else:
                    loss = traced(features, labels)  # forward and backward, replayed
                optimizer.step()
                total += loss.item() * len(labels)
                count += len(labels)
            model.eval()
            history.loss.append(total / count)
            history.train_accuracy.append(accuracy(model, loader.features, loader.labels))
            if test is not None:
                history.test_accuracy.append(accuracy(model, test[0], test[1]))
            history.seconds.append(time.perf_counter() - started)
            if bar is not None:
                postfix = {"loss": f"{history.loss[-1]:.4f}", "train": f"{history.train_accuracy[-1]:.3f}"}
                if test is not None:
                    postfix["test"] = f"{history.test_accuracy[-1]:.3f}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return history


def _progress_bar(total: int, description: str, progress: bool | None) -> Any:
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        if progress:
            raise ImportError(
                'fit(progress=True) needs tqdm: pip install ".[progress]" in the chainrule folder'
            ) from None
        return None
    return tqdm(total=total, desc=description, unit="epoch", leave=False, file=sys.stderr)
