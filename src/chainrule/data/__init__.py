"""Data: the Iris and digits sets shipped with the package, seeded splits, standardisation, mini-batches.

>>> from chainrule import data
>>> iris = data.load_iris()
>>> iris.features.shape, iris.class_names
((150, 4), ('setosa', 'versicolor', 'virginica'))
>>> X_train, X_test, y_train, y_test = data.train_test_split(iris.features, iris.labels, test_fraction=0.2)
>>> len(y_train), len(y_test)
(120, 30)
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterator, NamedTuple

import numpy as np

from ..errors import ShapeError, check_flag, check_integer, check_number, describe_value, format_shape
from ..engine.tensor import Tensor
from ..random import as_generator


@dataclass(frozen=True, repr=False)
class Dataset:
    """Features (one row per sample), integer labels, and the names of both; its repr is a one-line summary.

    >>> load_iris()
    Dataset(150 samples, 4 features (sepal_length, sepal_width, petal_length, petal_width), 3 classes \
(setosa, versicolor, virginica))
    """

    features: np.ndarray
    labels: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]

    def __repr__(self) -> str:
        if self.features.ndim > 2:  # images: (N, C, H, W)
            described = "images of " + "×".join(str(size) for size in self.features.shape[1:])
        else:
            count = len(self.feature_names) if self.features.ndim < 2 else self.features.shape[1]
            described = _counted(count, "feature", self.feature_names)
        return (
            f"Dataset({len(self.features)} samples, {described}, "
            f"{_counted(len(self.class_names), 'class', self.class_names)})"
        )


def _counted(count: int, noun: str, names: tuple[str, ...]) -> str:
    """``4 features (a, b, c, d)``; the names only when there are a few of them."""
    text = f"{count} {noun}{'es' if noun.endswith('s') else 's'}" if count != 1 else f"1 {noun}"
    return f"{text} ({', '.join(names)})" if 0 < len(names) <= 10 else text


def load_iris() -> Dataset:
    """Fisher's Iris data: 150 flowers × 4 measurements (cm), 3 species of 50, read from the package."""
    text = resources.files(__package__).joinpath("iris.csv").read_text(encoding="utf-8")
    rows = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")]
    header, body = rows[0], rows[1:]
    class_names = ("setosa", "versicolor", "virginica")
    features = np.array([[float(value) for value in row[:4]] for row in body])
    labels = np.array([class_names.index(row[4]) for row in body], dtype=np.int64)
    return Dataset(features, labels, tuple(header[:4]), class_names)


class Split(NamedTuple):
    """A train/test split; unpacks in scikit-learn's order: ``X_train, X_test, y_train, y_test = split``."""

    train_features: np.ndarray
    test_features: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray


def train_test_split(
    features: Any,
    labels: Any,
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool | Any | None = None,
) -> Split:
    """Shuffle with ``seed`` and hold out ``test_fraction`` of the samples (each part gets at least one).

    ``stratify`` says which samples are kept in proportion: stratified on class labels, the same
    fraction of every class goes to the test set (rounded per class), and every class must then
    appear in both parts. ``None`` (the default) stratifies on ``labels`` when they are class
    labels (1-D integers, booleans or strings) and shuffles plainly otherwise (regression
    targets); ``True`` stratifies on ``labels`` (integer-valued floats count as classes too),
    ``False`` never does, and an array stratifies on its values, one per sample, as
    scikit-learn's ``stratify=`` does.

    >>> import numpy as np
    >>> X_train, X_test, y_train, y_test = train_test_split(np.arange(10.0), np.linspace(0, 1, 10), 0.3)
    >>> X_train.shape, X_test.shape
    ((7,), (3,))
    """
    features, labels = _rows("train_test_split", "features", features), _rows("train_test_split", "labels", labels)
    if len(features) != len(labels):
        raise ShapeError(
            f"train_test_split: {len(features)} feature rows but {len(labels)} labels "
            f"(shapes {format_shape(features.shape)} and {format_shape(labels.shape)})"
        )
    fraction = check_number("train_test_split", "test_fraction", test_fraction, minimum=None)
    if not 0 < fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    rng = np.random.default_rng(check_integer("train_test_split", "seed", seed, minimum=0))
    groups = _strata(labels, stratify)
    if groups is not None:
        test_parts = []
        for label in np.unique(groups):
            members = rng.permutation(np.flatnonzero(groups == label))
            test_parts.append(members[: _test_count(len(members), fraction, f"class {label.tolist()!r}")])
        test_index = np.sort(np.concatenate(test_parts))
    else:
        order = rng.permutation(len(labels))
        test_index = np.sort(order[: _test_count(len(labels), fraction, "")])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test_index] = True
    train_index = rng.permutation(np.flatnonzero(~is_test))
    return Split(features[train_index], features[test_index], labels[train_index], labels[test_index])


def _strata(labels: np.ndarray, stratify: Any) -> np.ndarray | None:
    """The class label of each sample to stratify on, or None for a plain shuffle."""
    if stratify is None:
        return labels if _are_classes(labels, floats=False) else None
    if isinstance(stratify, (bool, np.bool_)):
        groups = labels if stratify else None
    elif isinstance(stratify, str):
        raise TypeError(
            f"train_test_split: stratify must be True, False, None or an array of class labels, got {stratify!r}"
        )
    else:
        groups = _rows("train_test_split", "stratify", stratify)
        if len(groups) != len(labels):
            raise ShapeError(f"train_test_split: stratify has {len(groups)} values for {len(labels)} samples")
    if groups is not None and not _are_classes(groups, floats=True):
        raise ValueError(
            "train_test_split: stratifying needs class labels (1-D integers, booleans or strings), got "
            f"{groups.dtype} values of shape {format_shape(groups.shape)}; pass stratify=False to shuffle plainly"
        )
    return groups


def _are_classes(values: np.ndarray, floats: bool) -> bool:
    """Whether ``values`` are 1-D class labels: integers, booleans, strings (and whole-number floats if ``floats``)."""
    if values.ndim != 1:
        return False
    kind = values.dtype.kind
    if kind == "O":
        return all(isinstance(value, str) for value in values)
    if kind == "f":
        return floats and bool(np.all(np.isfinite(values) & (values == np.round(values))))
    return kind in "biuUS"


def _test_count(count: int, fraction: float, what: str) -> int:
    """How many of ``count`` samples (of one class, ``what``) go to the test set; both parts get at least one."""
    taken = int(round(count * fraction))
    if 0 < taken < count:
        return taken
    of = f"of {what} " if what else ""
    hint = (
        "; a stratified split needs every class in both parts (pass stratify=False to shuffle plainly)" if what else ""
    )
    if count == 1:
        raise ValueError(f"train_test_split: {what or 'the data'} has only 1 sample, which cannot be split{hint}")
    side = "test" if taken == 0 else "training"
    raise ValueError(
        f"train_test_split: test_fraction {fraction} of the {count} samples {of}leaves the {side} set empty{hint}"
    )


def _rows(owner: str, name: str, values: Any) -> np.ndarray:
    """``values`` as an array with one row per sample (at least one), or a one-line error naming ``owner``."""
    if isinstance(values, Tensor):
        values = values.data
    try:
        array = np.asarray(values)
    except ValueError:
        raise ValueError(f"{owner}: {name} could not be made into one array (rows of different lengths?)") from None
    if array.ndim == 0:
        raise ShapeError(f"{owner}: {name} must have one row per sample, got {describe_value(values)}")
    if len(array) == 0:
        raise ValueError(f"{owner}: {name} has no samples")
    return array


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
        """Learn each column's mean and standard deviation; a constant column is centred and left unscaled.

        The features are rows of finite numbers: a NaN or infinity would make every
        standardised value NaN, so it is refused with the column (and row) it is in.
        """
        features = _rows("Standardizer.fit", "features", features)
        try:
            features = features.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"Standardizer.fit: features must be numbers, got {features.dtype} values") from None
        if features.ndim != 2:
            raise ShapeError(
                "Standardizer.fit: features must be 2-D, one row per sample and one column per feature, "
                f"got shape {format_shape(features.shape)}"
            )
        bad = ~np.isfinite(features)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise ValueError(
                f"Standardizer.fit: column {column} holds {features[row, column]} in row {row} (counting from 0); "
                "standardising needs finite numbers: drop or fill the missing values first"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = features.mean(axis=0), features.std(axis=0)
        too_large = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
        if too_large.size:
            raise ValueError(
                f"Standardizer.fit: column {too_large[0]} holds values too large to standardise "
                "(its mean or standard deviation overflows float64)"
            )
        self.mean = mean
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
    ``seed=None`` shuffles with the default generator, which ``chainrule.manual_seed`` seeds.
    """

    def __init__(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        batch_size: int | None = None,
        shuffle: bool = True,
        seed: int | None = 0,
    ) -> None:
        features, labels = _rows("DataLoader", "features", features), _rows("DataLoader", "labels", labels)
        if len(features) != len(labels):
            raise ShapeError(f"DataLoader: {len(features)} feature rows but {len(labels)} labels")
        self.features, self.labels = features, labels
        self.batch_size = None if batch_size is None else check_integer("DataLoader", "batch_size", batch_size)
        self.shuffle = check_flag("DataLoader", "shuffle", shuffle)
        self.rng = as_generator(None if seed is None else check_integer("DataLoader", "seed", seed, minimum=0))

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


from .digits import load_digits as load_digits  # noqa: E402 - it builds a Dataset, defined above


def three_matrix_inputs(samples: int = 1000, seed: int = 0) -> np.ndarray:
    """The synthetic inputs of the three-matrix seed: ``samples`` points uniform in [0, 1)³."""
    return np.random.default_rng(seed).random((samples, 3))
