"""Data: the Iris set shipped with the package, seeded splits, standardisation, mini-batches.

>>> from chainrule import data
>>> iris = data.load_iris()
>>> iris.features.shape, iris.class_names
((150, 4), ('setosa', 'versicolor', 'virginica'))
>>> split = data.train_test_split(iris.features, iris.labels, test_fraction=0.2, seed=0)
>>> len(split.train_labels), len(split.test_labels)
(120, 30)
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from typing import Iterator

import numpy as np

from ..errors import ShapeError, format_shape
from ..tensor import Tensor


@dataclass(frozen=True)
class Dataset:
    """Features (one row per sample), integer labels, and the names of both."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]


def load_iris() -> Dataset:
    """Fisher's Iris data: 150 flowers × 4 measurements (cm), 3 species of 50, read from the package."""
    text = resources.files(__package__).joinpath("iris.csv").read_text(encoding="utf-8")
    rows = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")]
    header, body = rows[0], rows[1:]
    class_names = ("setosa", "versicolor", "virginica")
    features = np.array([[float(value) for value in row[:4]] for row in body])
    labels = np.array([class_names.index(row[4]) for row in body], dtype=np.int64)
    return Dataset(features, labels, tuple(header[:4]), class_names)


@dataclass(frozen=True)
class Split:
    """A train/test split of features and labels."""

    train_features: np.ndarray
    test_features: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray


def train_test_split(
    features: np.ndarray, labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0, stratify: bool = True
) -> Split:
    """Shuffle with ``seed`` and hold out ``test_fraction`` of the samples.

    With ``stratify`` (the default) each class keeps its proportion in both parts: the same
    fraction of every class goes to the test set (rounded per class).
    """
    features, labels = np.asarray(features), np.asarray(labels)
    if len(features) != len(labels):
        raise ShapeError(
            f"train_test_split: {len(features)} feature rows but {len(labels)} labels "
            f"(shapes {format_shape(features.shape)} and {format_shape(labels.shape)})"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    if stratify:
        test_parts = []
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            test_parts.append(members[: int(round(len(members) * test_fraction))])
        test_index = np.sort(np.concatenate(test_parts))
    else:
        order = rng.permutation(len(labels))
        test_index = np.sort(order[: int(round(len(labels) * test_fraction))])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test_index] = True
    train_index = rng.permutation(np.flatnonzero(~is_test))
    return Split(features[train_index], features[test_index], labels[train_index], labels[test_index])


class Standardizer:
    """Shift and scale each feature to mean 0 and standard deviation 1, fitted on training data only.

    >>> import numpy as np
    >>> scaler = Standardizer().fit(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> scaler.transform(np.array([[2.0, 50.0]]))
    array([[0., 3.]])
    """

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)

    def fit(self, features: np.ndarray) -> Standardizer:
        features = np.asarray(features, dtype=np.float64)
        self.mean = features.mean(axis=0)
        std = features.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)  # a constant feature is left unscaled
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer: call fit() on the training features before transform()")
        features = np.asarray(features, dtype=np.float64)
        if features.shape[-1] != self.mean.shape[0]:
            raise ShapeError(
                f"Standardizer: fitted on {self.mean.shape[0]} features, "
                f"got data of shape {format_shape(features.shape)}"
            )
        return (features - self.mean) / self.std

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}  # type: ignore[union-attr]

    @classmethod
    def from_dict(cls, values: dict[str, list[float]]) -> Standardizer:
        return cls(np.array(values["mean"]), np.array(values["std"]))


class DataLoader:
    """Mini-batches of (features tensor, labels array), reshuffled each epoch with a seeded generator.

    ``batch_size=None`` gives the whole set as one batch (full-batch gradient descent).
    """

    def __init__(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        batch_size: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        if len(features) != len(labels):
            raise ShapeError(f"DataLoader: {len(features)} feature rows but {len(labels)} labels")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size}")
        self.features, self.labels = np.asarray(features), np.asarray(labels)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        if self.batch_size is None:
            return 1
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, np.ndarray]]:
        count = len(self.labels)
        if self.batch_size is None or self.batch_size >= count:
            yield Tensor._from_op(self.features, None), self.labels
            return
        order = self.rng.permutation(count) if self.shuffle else np.arange(count)
        for start in range(0, count, self.batch_size):
            index = order[start : start + self.batch_size]
            yield Tensor._from_op(self.features[index], None), self.labels[index]


def three_matrix_inputs(samples: int = 1000, seed: int = 0) -> np.ndarray:
    """The synthetic inputs of the three-matrix seed: ``samples`` points uniform in [0, 1)³."""
    return np.random.default_rng(seed).random((samples, 3))
