"""A small convolutional network on the 8×8 handwritten digits, and a multilayer perceptron to compare.

The CNN (PyTorch's layers, so a PyTorch user reads it as it is)::

    Conv2d(1, 16, 3, padding=1) → [BatchNorm2d] → ReLU → MaxPool2d(2)     8×8 → 4×4
    Conv2d(16, 32, 3, padding=1) → [BatchNorm2d] → ReLU → MaxPool2d(2)    4×4 → 2×2
    Flatten → [Dropout] → Linear(128, 10)

The MLP takes the same 64 pixels as one row: Linear(64, 64) → ReLU → Linear(64, 10).

Both are trained the same way: a seeded, stratified 80/20 split (1,438 training and 359 test
images), mini-batches of 64, Adam with the learning rate annealed along a cosine
(``optim.lr_scheduler.CosineAnnealingLR``), cross-entropy. The first layer of each model is an
``nn.Standardize`` holding the training pixels' mean and standard deviation, so a trained model
takes raw pixel values (0 to 16) as ``data.load_digits`` gives them. ``chainrule.manual_seed(seed)``
makes the initial weights, the dropout masks and the batches, so a run repeats bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import data, nn, optim
from ..errors import check_flag, check_integer, check_number
from ..optim.lr_scheduler import CosineAnnealingLR
from ..random import manual_seed
from ..training.train import History, fit

MODELS = ("cnn", "mlp")
DEFAULTS = {"epochs": 15, "lr": 0.01, "batch_size": 64, "channels": (16, 32), "hidden": 64}
CLASSES = 10


@dataclass
class DigitsRun:
    """What a training run produced: the model (which takes raw pixels), its history and the split."""

    name: str
    model: nn.Sequential
    history: History
    split: data.Split
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def parameter_count(self) -> int:
        return sum(parameter.size for parameter in self.model.parameters())


def build_cnn(channels: tuple[int, int] = (16, 32), batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """conv → relu → pool → conv → relu → pool → linear, for (N, 1, 8, 8) images; weights from the default generator."""
    first, second = channels
    layers: list[nn.Module] = []
    for inputs, outputs in ((1, first), (first, second)):
        layers.append(nn.Conv2d(inputs, outputs, 3, padding=1, bias=not batch_norm))  # batch norm has its own shift
        if batch_norm:
            layers.append(nn.BatchNorm2d(outputs))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
    layers.append(nn.Flatten())
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(second * 2 * 2, CLASSES))
    return nn.Sequential(*layers)


def build_mlp(hidden: int = 64) -> nn.Sequential:
    """Linear(64, hidden) → ReLU → Linear(hidden, 10), for rows of 64 pixels."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, CLASSES))


def train(
    model: str = "cnn",
    epochs: int = DEFAULTS["epochs"],
    lr: float = DEFAULTS["lr"],
    batch_size: int = DEFAULTS["batch_size"],
    seed: int = 0,
    batch_norm: bool = False,
    dropout: float = 0.0,
    channels: tuple[int, int] = DEFAULTS["channels"],
    hidden: int = DEFAULTS["hidden"],
    test_fraction: float = 0.2,
    progress: bool | None = None,
    trace: bool = False,
) -> DigitsRun:
    """Train the CNN or the MLP on the digits; the same seed gives the same split, weights, masks and batches.

    >>> run = train("mlp", epochs=3, progress=False)
    >>> run.history.epochs, run.history.test_accuracy[-1] > 0.9
    (3, True)
    """
    if model not in MODELS:
        raise ValueError(f"digits.train: unknown model {model!r}; choose one of {', '.join(MODELS)}")
    epochs = check_integer("digits.train", "epochs", epochs)
    batch_size = check_integer("digits.train", "batch_size", batch_size)
    seed = check_integer("digits.train", "seed", seed, minimum=0)
    check_flag("digits.train", "batch_norm", batch_norm)
    dropout = check_number("digits.train", "dropout", dropout)
    if not dropout < 1:
        raise ValueError(f"digits.train: dropout must be from 0 up to (not including) 1, got {dropout}")
    if model == "mlp" and (batch_norm or dropout):
        raise ValueError("digits.train: batch_norm and dropout are options of the cnn model, not the mlp")
    digits = data.load_digits(flatten=model == "mlp")
    split = data.train_test_split(digits.features, digits.labels, test_fraction=test_fraction, seed=seed)
    manual_seed(seed)  # initial weights, dropout masks and the batches' order from here on
    body = build_cnn(channels, batch_norm, dropout) if model == "cnn" else build_mlp(hidden)
    width = split.train_features.shape[-1]  # Standardize works along the last axis: one number repeated
    mean, std = float(split.train_features.mean()), float(split.train_features.std())
    network = nn.Sequential(nn.Standardize([mean] * width, [std] * width), *body.layers)
    loader = data.DataLoader(split.train_features, split.train_labels, batch_size=batch_size, seed=None)
    optimizer = optim.Adam(network.parameters(), lr=lr)
    schedule, test = CosineAnnealingLR(optimizer, T_max=epochs), (split.test_features, split.test_labels)
    started = time.perf_counter()
    history = fit(
        network,
        optimizer,
        loader,
        epochs,
        test=test,
        progress=progress,
        description=model,
        trace=trace,
        scheduler=schedule,
    )
    settings = {
        "model": model,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "seed": seed,
        "batch_norm": batch_norm,
        "dropout": dropout,
        "channels": list(channels),
        "hidden": hidden,
    }
    return DigitsRun(model, network, history, split, time.perf_counter() - started, settings)


def confusion_matrix(run: DigitsRun) -> np.ndarray:
    """Counts of (true digit, predicted digit) on the test images."""
    from ..engine.grad_mode import no_grad

    run.model.eval()
    with no_grad():
        predicted = np.argmax(np.asarray(run.model(run.split.test_features)), axis=1)
    counts = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(counts, (run.split.test_labels, predicted), 1)
    return counts
