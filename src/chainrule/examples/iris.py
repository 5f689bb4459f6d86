"""The Iris network of the seed report: 4 inputs, a softplus hidden layer, 3 softmax outputs.

Trained with cross-entropy by full-batch gradient descent or Nesterov's accelerated gradient
(lr 0.01, 350 epochs, N_H = 16 in the report), on a seeded stratified split with features
standardised on the training part only. The standardisation is the model's first layer
(``nn.Standardize``), so the trained model takes raw measurements in centimetres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import data, nn, optim
from ..training.train import History, fit

OPTIMIZERS = ("gd", "momentum", "nag", "adam")
INIT_STD = 0.1  # weights and biases drawn from N(0, 0.1²), as the report draws them from N(MU, SIGMA)
SPLIT_RULE = "each part needs at least one flower of each species"


@dataclass
class IrisRun:
    """Everything a training run produced: the model, its history and how its inputs were prepared.

    ``model`` is Standardize → Linear → activation → Linear: it takes raw measurements.
    """

    name: str
    model: nn.Sequential
    history: History
    standardizer: data.Standardizer
    split: data.Split
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]


def build_network(hidden: int = 16, activation: str = "softplus", seed: int = 0) -> nn.Sequential:
    """Linear(4, hidden) → activation → Linear(hidden, 3); the softmax is inside the loss."""
    if activation not in nn.ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(nn.ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    init = nn.init.normal(0.0, INIT_STD)
    return nn.Sequential(
        nn.Linear(4, hidden, init=init, rng=rng), nn.ACTIVATIONS[activation](), nn.Linear(hidden, 3, init=init, rng=rng)
    )


def make_optimizer(name: str, parameters: list[Any], lr: float, momentum: float = 0.9) -> optim.Optimizer:
    """``gd``: plain gradient descent; ``momentum``: heavy ball; ``nag``: the seed's Nesterov; ``adam``."""
    if name == "gd":
        return optim.GD(parameters, lr=lr)
    if name == "momentum":
        return optim.SGD(parameters, lr=lr, momentum=momentum)
    if name == "nag":
        return optim.NAG(parameters, lr=lr)
    if name == "adam":
        return optim.Adam(parameters, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def train(
    optimizer: str = "nag",
    hidden: int = 16,
    activation: str = "softplus",
    lr: float = 0.01,
    epochs: int = 350,
    seed: int = 0,
    batch_size: int | None = None,
    test_fraction: float = 0.2,
    momentum: float = 0.9,
    progress: bool | None = None,
    trace: bool = False,
) -> IrisRun:
    """Train one network on Iris; the same seed gives the same split, initial weights and batches."""
    iris = data.load_iris()
    low, high = test_fraction_range(iris)
    if not low <= test_fraction <= high:  # NaN too
        raise ValueError(
            f"iris.train: test_fraction must be from {low:.3g} to {high:.3g} ({SPLIT_RULE}), got {test_fraction!r}"
        )
    split = data.train_test_split(iris.features, iris.labels, test_fraction=test_fraction, seed=seed)
    standardizer = data.Standardizer().fit(split.train_features)
    model = nn.Sequential(
        nn.Standardize(standardizer.mean, standardizer.std), *build_network(hidden, activation, seed).layers
    )
    loader = data.DataLoader(split.train_features, split.train_labels, batch_size=batch_size, seed=seed)
    history = fit(
        model,
        make_optimizer(optimizer, model.parameters(), lr, momentum),
        loader,
        epochs,
        test=(split.test_features, split.test_labels),
        progress=progress,
        description=optimizer,
        trace=trace,
    )
    return IrisRun(optimizer, model, history, standardizer, split, iris.class_names, iris.feature_names)


def test_fraction_range(iris: data.Dataset | None = None) -> tuple[float, float]:
    """The test fractions that leave at least one flower of each species in both parts.

    From 1/n to 1 − 1/n, n the size of the smallest class, however the per-class counts round.

    >>> test_fraction_range()
    (0.02, 0.98)
    """
    smallest = int(np.bincount((iris or data.load_iris()).labels).min())
    return 1 / smallest, 1 - 1 / smallest
