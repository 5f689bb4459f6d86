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

import importlib.util
import math
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from ..data import DataLoader
from ..errors import DivergenceError, ShapeError, check_integer, describe_value, format_shape
from ..engine.grad_mode import no_grad
from ..ops import cross_entropy
from ..optim import Optimizer
from ..engine.tensor import Tensor
from ..engine.trace import trace as make_trace


@dataclass(repr=False)
class History:
    """Per-epoch records of a training run (one entry per epoch in each list that was recorded).

    Accuracy is recorded only for classification, where the targets are class labels for the
    model's class scores (integer labels, or one-hot rows); for any other task (regression,
    one output per sample) ``train_accuracy`` and ``test_accuracy`` stay empty. ``test_loss``
    and ``test_accuracy`` are recorded when ``fit`` is given a test set. In Jupyter a History
    shows its curves (with matplotlib installed); its repr is a one-line summary.
    """

    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def epochs_to_reach(self, accuracy: float, which: str = "test") -> int | None:
        """The first epoch (counting from 1) whose accuracy is at least ``accuracy``; None if never.

        Raises ValueError when that accuracy was not recorded (no test set, or not classification).
        """
        if which not in ("test", "train"):
            raise ValueError(f"epochs_to_reach: which must be 'test' or 'train', got {which!r}")
        values = self.test_accuracy if which == "test" else self.train_accuracy
        if not values and self.epochs:
            reason = "fit was given no test set" if self.train_accuracy else "the targets are not class labels"
            raise ValueError(f"epochs_to_reach: no {which} accuracy was recorded ({reason})")
        for epoch, value in enumerate(values, start=1):
            if value >= accuracy:
                return epoch
        return None

    def to_dict(self) -> dict[str, list[float]]:
        return asdict(self)

    def __repr__(self) -> str:
        parts = [f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"]
        if self.loss:
            parts.append(f"final loss {self.loss[-1]:.4g}")
        if self.test_loss:
            parts.append(f"final test loss {self.test_loss[-1]:.4g}")
        for which, values in (("train", self.train_accuracy), ("test", self.test_accuracy)):
            if values:
                best = int(np.argmax(values))
                parts.append(f"best {which} accuracy {values[best]:.3f} (epoch {best + 1})")
        return f"History({', '.join(parts)})"

    def _repr_png_(self) -> bytes | None:
        """The loss and accuracy curves as a PNG image, which Jupyter shows inline (None without matplotlib)."""
        if not self.loss or importlib.util.find_spec("matplotlib") is None:
            return None  # Jupyter then shows the text repr
        from .plot import draw_histories, png_bytes

        return png_bytes(draw_histories({"": self}))


def class_labels(score_shape: tuple[int, ...], targets: Any) -> np.ndarray | None:
    """The class index of each sample when ``targets`` are class labels for scores of ``score_shape``, else None.

    Class labels are integers (or booleans) in [0, C) with the scores' shape less its last axis
    of C ≥ 2 class scores, or one-hot rows of the scores' shape. Anything else (regression
    targets, a single output per sample) has no accuracy.

    >>> class_labels((4, 3), np.array([0, 2, 1, 1])), class_labels((4, 1), np.array([0, 1, 1, 0]))
    (array([0, 2, 1, 1]), None)
    """
    if len(score_shape) == 0 or score_shape[-1] < 2:
        return None
    targets = np.asarray(targets)
    if targets.shape == tuple(score_shape[:-1]) and targets.dtype.kind in "biu":
        if targets.size and (targets.min() < 0 or targets.max() >= score_shape[-1]):
            return None
        return targets
    if targets.shape == tuple(score_shape) and targets.dtype.kind in "biuf":
        if np.all((targets == 0) | (targets == 1)) and np.all(targets.sum(axis=-1) == 1):
            return np.argmax(targets, axis=-1)
    return None


def accuracy(model: Callable[[Any], Tensor], features: Any, labels: Any) -> float:
    """Fraction of rows whose largest output is the label (computed without a graph).

    ``labels`` are integer class labels or one-hot rows; for anything else accuracy means
    nothing and this raises.
    """
    with no_grad():
        scores = model(features)
    return _accuracy(np.asarray(scores), labels)


def _accuracy(scores: np.ndarray, targets: Any) -> float:
    labels = class_labels(scores.shape, targets)
    if labels is None:
        raise ValueError(
            f"accuracy: targets of shape {format_shape(np.shape(targets))} are not class labels for scores of shape "
            f"{format_shape(scores.shape)} (integers in [0, {scores.shape[-1] if scores.ndim else 0}) "
            "or one-hot rows); accuracy means something only for classification"
        )
    return float(np.mean(np.argmax(scores, axis=-1) == labels))


def fit(
    model: Any,
    optimizer: Optimizer,
    loader: DataLoader | Iterable[tuple[Any, Any]],
    epochs: int,
    loss_fn: Callable[[Tensor, np.ndarray], Tensor] = cross_entropy,
    test: tuple[Any, Any] | None = None,
    progress: bool | None = None,
    description: str = "training",
    trace: bool = False,
    scheduler: Any = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``; returns the per-epoch ``History``.

    ``loader`` is a ``chainrule.data.DataLoader`` or any re-iterable of ``(inputs, targets)``
    batches (a list of pairs, say); features and targets as two arrays go into
    ``DataLoader(X, y, batch_size=...)`` first (``batch_size=None`` is one full batch).
    ``test`` is an ``(inputs, targets)`` pair. Arguments are checked before the first step.

    Each batch: clear gradients, forward, ``loss_fn(outputs, targets)``, backward, optimizer
    step. The recorded loss of an epoch is the mean of its batch losses weighted by batch size;
    after each epoch the loss on ``test`` is measured, and, for classification (see
    ``History``), the accuracy on the whole training set and on ``test``.
    ``progress=None`` shows a tqdm bar only when stderr is a terminal; False never does.
    ``trace=True`` replays each step from a ``chainrule.trace`` of the loss: the same numbers,
    bit for bit, with less overhead (for models whose forward has no data-dependent branches).
    ``scheduler`` (one of ``chainrule.optim.lr_scheduler``, built on ``optimizer``) steps once
    after each epoch.
    """
    _check_arguments(model, optimizer, loader, loss_fn)
    if scheduler is not None and getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError(
            "fit: the scheduler was built on another optimizer; build it on this one, "
            f"e.g. lr_scheduler.StepLR(optimizer, ...), got {_describe(scheduler)}"
        )
    epochs = check_integer("fit", "epochs", epochs)
    if test is not None:
        test = _pair("fit: test", test)
    history = History()
    traced = make_trace(lambda features, labels: loss_fn(model(features), labels)) if trace else None
    classifies: bool | None = None  # decided at the first batch, before the first step
    bar = _progress_bar(epochs, description, progress)
    try:
        for _ in range(epochs):
            started = time.perf_counter()
            _set_mode(model, training=True)
            total, count, batch_losses = 0.0, 0, []
            for features, labels in _batches(loader):
                optimizer.zero_grad()
                if traced is None:
                    outputs = model(features)
                    loss = loss_fn(outputs, labels)
                    loss.backward()
                else:
                    outputs = None
                    loss = traced(features, labels)  # forward and backward, replayed
                if classifies is None:
                    classifies = _first_batch(model, features, labels, outputs, test)
                value = loss.item()
                if not math.isfinite(value):  # never train on silently: stop before the step spreads it
                    raise _diverged(value, len(history.loss), count, history, optimizer)
                optimizer.step()
                total += value * len(labels)
                batch_losses.append((value, len(labels)))
                count += len(labels)
            if count == 0:
                raise ValueError("fit: the loader gave no batches")
            if scheduler is not None:
                scheduler.step()
            _set_mode(model, training=False)
            mean = total / count
            if not math.isfinite(mean):  # finite losses whose weighted sum overflowed: divide first
                mean = sum(value * (size / count) for value, size in batch_losses)
            history.loss.append(mean)
            if classifies:
                history.train_accuracy.append(_training_accuracy(model, loader))
            if test is not None:
                with no_grad():
                    scores = model(test[0])
                    history.test_loss.append(loss_fn(scores, test[1]).item())
                if classifies:
                    history.test_accuracy.append(_accuracy(np.asarray(scores), test[1]))
            history.seconds.append(time.perf_counter() - started)
            if bar is not None:
                bar.set_postfix(_postfix(history), refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return history


def _diverged(value: float, epoch: int, seen: int, history: History, optimizer: Any) -> DivergenceError:
    """The error for a loss that became NaN or infinite; it carries the history so far, the epoch and the loss."""
    before = f"; the last epoch's loss was {history.loss[-1]:.6g}" if history.loss else ""
    lr = getattr(optimizer, "hyperparameters", {}).get("lr")
    hint = f"lower the learning rate (lr={lr:g})" if isinstance(lr, float) else "lower the learning rate"
    error = DivergenceError(
        f"fit: the loss became {value} in epoch {epoch + 1} (after {seen} samples of it){before}; training "
        f"diverged or the data holds nan/inf: {hint}, or check the inputs; the parameters are left as they were "
        "before this step, and the error's .history holds the epochs so far"
    )
    error.history = history  # type: ignore[attr-defined]
    error.epoch, error.loss = epoch + 1, value  # type: ignore[attr-defined]
    return error


LOADER = "fit: loader must be a chainrule.data.DataLoader or a list (re-iterable) of (inputs, targets) batches"


def _check_arguments(model: Any, optimizer: Any, loader: Any, loss_fn: Any) -> None:
    """One-line errors for arguments of the wrong kind, before any training."""
    if not callable(model):
        raise TypeError(f"fit: model must be a Module or a function of the inputs, got {_describe(model)}")
    if not (callable(getattr(optimizer, "step", None)) and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(
            f"fit: optimizer must be an optimizer such as chainrule.optim.SGD(model.parameters(), lr=0.1), "
            f"got {_describe(optimizer)}"
        )
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be a function of (outputs, targets), got {_describe(loss_fn)}")
    _check_optimizer_holds_the_model(model, optimizer)
    if isinstance(loader, DataLoader):
        return
    wrap = "wrap features and targets as DataLoader(X, y, batch_size=...)"
    if isinstance(loader, (np.ndarray, Tensor)):
        raise TypeError(f"{LOADER}; got {_describe(loader)}: {wrap}")
    if isinstance(loader, (tuple, list)) and len(loader) == 2 and not _is_pair(loader[0]):
        raise TypeError(
            f"{LOADER}; got a {type(loader).__name__} of {_describe(loader[0])} and {_describe(loader[1])}: {wrap}"
        )
    if isinstance(loader, Iterator):
        raise TypeError(
            f"{LOADER}; got a one-shot {type(loader).__name__}, which would be empty after the first epoch: "
            "pass a list of batches or a DataLoader"
        )
    if isinstance(loader, (str, bytes, dict)) or not isinstance(loader, Iterable):
        raise TypeError(f"{LOADER}; got {_describe(loader)}")
    if isinstance(loader, (tuple, list)):  # batches at hand: check them all now (others are checked as they come)
        if not loader:
            raise ValueError(f"fit: loader is an empty {type(loader).__name__}: it has no batches to train on")
        for _ in _batches(loader):
            pass


def _check_optimizer_holds_the_model(model: Any, optimizer: Any) -> None:
    """An optimizer built from another model's parameters would train nothing: say so before the first step."""
    parameters, held = getattr(model, "parameters", None), getattr(optimizer, "params", None)
    if not callable(parameters) or not isinstance(held, (list, tuple)):
        return  # a plain function of the inputs, or an optimizer of another kind: nothing to compare
    own = {id(parameter) for parameter in parameters()}
    if own and not any(id(parameter) in own for parameter in held):
        raise ValueError(
            f"fit: the optimizer holds none of the model's parameters, so training would change nothing; "
            f"build it from this model: {type(optimizer).__name__}(model.parameters(), ...)"
        )


def _batches(loader: Any) -> Iterator[tuple[Any, Any]]:
    """The batches of ``loader``; those of a loader other than a DataLoader are checked one by one."""
    if isinstance(loader, DataLoader):
        yield from loader  # its batches are right by construction
        return
    for index, batch in enumerate(loader):
        if not _is_pair(batch):
            raise TypeError(f"{LOADER}; batch {index} is {_describe(batch)}, not an (inputs, targets) pair")
        yield _pair(f"fit: batch {index}", batch)


def _pair(what: str, pair: Any) -> tuple[Any, Any]:
    """``pair`` as (inputs, targets) with as many targets as inputs (at least one), or a one-line error."""
    if not _is_pair(pair):
        raise TypeError(f"{what} must be an (inputs, targets) pair, got {_describe(pair)}")
    inputs, targets = pair
    sizes = [_shape(inputs)[:1], _shape(targets)[:1]]
    if sizes[0] and sizes[1] and sizes[0] != sizes[1]:
        raise ShapeError(
            f"{what} has {sizes[0][0]} inputs but {sizes[1][0]} targets "
            f"(shapes {format_shape(_shape(inputs))} and {format_shape(_shape(targets))})"
        )
    if sizes[1] == (0,):
        raise ValueError(f"{what} has no samples")
    return inputs, targets


def _first_batch(model: Any, features: Any, labels: Any, outputs: Any, test: tuple[Any, Any] | None) -> bool:
    """Whether accuracy means something (the targets are class labels for the outputs); checks ``test`` against it."""
    if outputs is None:  # a traced step gives only the loss: see the outputs' shape in eval mode, so that
        _set_mode(model, training=False)  # batch norm's statistics and dropout's generator are left as they were
        try:
            with no_grad():
                outputs = model(features)
        finally:
            _set_mode(model, training=True)
    score_shape = _shape(outputs)
    classifies = class_labels(score_shape, labels) is not None
    if test is not None:
        for part, given, trained in (("inputs", test[0], features), ("targets", test[1], labels)):
            if _shape(given)[1:] != _shape(trained)[1:]:
                raise ShapeError(
                    f"fit: test {part} of shape {format_shape(_shape(given))} do not match the training {part} "
                    f"(a batch of shape {format_shape(_shape(trained))}): each test row must look like a training row"
                )
        if classifies and class_labels((len(test[1]), *score_shape[1:]), test[1]) is None:
            raise ValueError(
                f"fit: the training targets are class labels for {score_shape[-1]} classes, "
                "but the test targets are not (integers in that range, or one-hot rows)"
            )
    return classifies


def _training_accuracy(model: Any, loader: Any) -> float:
    """Accuracy on the whole training set after an epoch (over every batch of a loader other than a DataLoader)."""
    if isinstance(loader, DataLoader):
        return accuracy(model, loader.features, loader.labels)
    correct, count = 0.0, 0
    for features, labels in _batches(loader):
        correct += accuracy(model, features, labels) * len(labels)
        count += len(labels)
    return correct / count


def _postfix(history: History) -> dict[str, str]:
    """What the progress bar shows after an epoch: the loss, and the accuracies or the test loss recorded."""
    postfix = {"loss": f"{history.loss[-1]:.4g}"}
    if history.train_accuracy:
        postfix["train"] = f"{history.train_accuracy[-1]:.3f}"
    if history.test_accuracy:
        postfix["test"] = f"{history.test_accuracy[-1]:.3f}"
    elif history.test_loss:
        postfix["test loss"] = f"{history.test_loss[-1]:.4g}"
    return postfix


def _set_mode(model: Any, training: bool) -> None:
    """``model.train()`` or ``model.eval()`` for a Module; a plain function of the inputs has no mode."""
    switch = getattr(model, "train" if training else "eval", None)
    if callable(switch):
        switch()


def _is_pair(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2


def _shape(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else np.shape(value)


def _describe(value: Any) -> str:
    if isinstance(value, (np.ndarray, Tensor)):
        kind = "tensor" if isinstance(value, Tensor) else "NumPy array"
        return f"a {kind} of shape {format_shape(value.shape)}"
    return describe_value(value)


def _progress_bar(total: int, description: str, progress: bool | None, unit: str = "epoch", owner: str = "fit") -> Any:
    """A tqdm bar on stderr: with ``progress=None`` only on a terminal, never with False; None when there is none."""
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        if progress:
            raise ImportError(
                f'{owner}(progress=True) needs tqdm: pip install ".[progress]" in the chainrule folder'
            ) from None
        return None
    return tqdm(total=total, desc=description, unit=unit, leave=False, file=sys.stderr)
