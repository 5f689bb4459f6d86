"""The shipped Iris data, seeded stratified splits, standardisation and the mini-batch loader."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data


def test_iris_is_shipped_complete() -> None:
    iris = data.load_iris()
    assert iris.features.shape == (150, 4) and iris.labels.shape == (150,)
    assert iris.feature_names == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert np.bincount(iris.labels).tolist() == [50, 50, 50]
    np.testing.assert_array_equal(iris.features[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_array_equal(iris.features[-1], [5.9, 3.0, 5.1, 1.8])
    # Fisher's published column means (cm)
    np.testing.assert_allclose(iris.features.mean(axis=0), [5.8433, 3.0573, 3.7580, 1.1993], atol=1e-4)


def test_stratified_split_is_seeded_and_balanced() -> None:
    iris = data.load_iris()
    split = data.train_test_split(iris.features, iris.labels, test_fraction=0.2, seed=3)
    again = data.train_test_split(iris.features, iris.labels, test_fraction=0.2, seed=3)
    other = data.train_test_split(iris.features, iris.labels, test_fraction=0.2, seed=4)
    assert np.bincount(split.test_labels).tolist() == [10, 10, 10]
    assert np.bincount(split.train_labels).tolist() == [40, 40, 40]
    np.testing.assert_array_equal(split.test_features, again.test_features)
    assert not np.array_equal(split.test_features, other.test_features)
    rows = {tuple(row) + (label,) for row, label in zip(split.train_features, split.train_labels)}
    rows |= {tuple(row) + (label,) for row, label in zip(split.test_features, split.test_labels)}
    assert len(split.train_labels) + len(split.test_labels) == 150
    assert rows == {tuple(row) + (label,) for row, label in zip(iris.features, iris.labels)}


def test_unstratified_split_and_errors() -> None:
    split = data.train_test_split(np.arange(20.0).reshape(10, 2), np.arange(10), test_fraction=0.3, stratify=False)
    assert len(split.test_labels) == 3
    with pytest.raises(cr.ShapeError, match="10 feature rows but 9 labels"):
        data.train_test_split(np.ones((10, 2)), np.ones(9))
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        data.train_test_split(np.ones((10, 2)), np.ones(10), test_fraction=1.5)


def test_standardizer_uses_training_statistics_only() -> None:
    train = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    scaler = data.Standardizer().fit(train)
    scaled = scaler.transform(train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(scaled[:, [0, 2]].std(axis=0), 1)
    np.testing.assert_array_equal(scaled[:, 1], 0)  # a constant column is centred, not divided by 0
    np.testing.assert_allclose(scaler.transform([[7.0, 5.0, 5.0]]), [[(7 - 3) / np.std([1, 3, 5]), 0, 0]])
    rebuilt = data.Standardizer.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(rebuilt.transform(train), scaled)
    with pytest.raises(cr.ShapeError, match=r"fitted on 3 features, got data of shape \(1, 2\)"):
        scaler.transform([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match="call fit"):
        data.Standardizer().transform(train)


@pytest.mark.parametrize(
    ("features", "error", "message"),
    [
        ([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]], ValueError, r"column 1 holds nan in row 1 \(counting from 0\); "),
        ([[1.0, 2.0], [3.0, 4.0], [-np.inf, 5.0]], ValueError, "column 0 holds -inf in row 2 "),
        ([[1e308, 1.0], [1e308, 2.0]], ValueError, "column 0 holds values too large to standardise"),
        ([1.0, 2.0, 3.0], cr.ShapeError, r"features must be 2-D, .* got shape \(3,\)"),
        (np.empty((0, 2)), ValueError, "features has no samples"),
    ],
)
def test_standardizer_refuses_to_fit_what_would_make_every_value_nan(features, error, message) -> None:
    scaler = data.Standardizer()
    with pytest.raises(error, match="^Standardizer.fit: " + message) as caught:
        scaler.fit(features)
    assert "\n" not in str(caught.value) and scaler.mean is None  # nothing was fitted


def test_loader_covers_every_sample_once_per_epoch_with_seeded_shuffling() -> None:
    features, labels = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = data.DataLoader(features, labels, batch_size=4, seed=1)
    assert len(loader) == 3
    first = [batch_labels.tolist() for _, batch_labels in loader]
    second = [batch_labels.tolist() for _, batch_labels in loader]
    assert [len(batch) for batch in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10)) and sorted(sum(second, [])) == list(range(10))
    assert first != second  # reshuffled each epoch
    replay = data.DataLoader(features, labels, batch_size=4, seed=1)
    assert [b.tolist() for _, b in replay] == first
    for batch_features, batch_labels in data.DataLoader(features, labels, batch_size=3, seed=0):
        assert isinstance(batch_features, cr.Tensor)
        np.testing.assert_array_equal(batch_features.data[:, 0], batch_labels * 2.0)


def test_full_batch_loader_and_errors() -> None:
    loader = data.DataLoader(np.ones((5, 2)), np.arange(5))
    assert len(loader) == 1 and [len(labels) for _, labels in loader] == [5]
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        data.DataLoader(np.ones((5, 2)), np.arange(5), batch_size=0)
    with pytest.raises(cr.ShapeError, match="5 feature rows but 4 labels"):
        data.DataLoader(np.ones((5, 2)), np.arange(4))


def test_three_matrix_inputs() -> None:
    inputs = data.three_matrix_inputs(1000, seed=0)
    assert inputs.shape == (1000, 3) and inputs.min() >= 0 and inputs.max() < 1
    np.testing.assert_array_equal(inputs, np.random.default_rng(0).random((1000, 3)))


def test_continuous_targets_are_shuffled_plainly_and_both_parts_are_filled() -> None:
    rng = np.random.default_rng(0)
    features, targets = rng.normal(size=(50, 3)), rng.normal(size=50)
    X_train, X_test, y_train, y_test = data.train_test_split(features, targets, test_fraction=0.2, seed=1)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (40, 10, 40, 10)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == sorted(targets.tolist())
    for rows, values in ((X_train, y_train), (X_test, y_test)):  # rows stay with their targets
        np.testing.assert_array_equal(rows, features[[targets.tolist().index(value) for value in values]])
    with pytest.raises(ValueError, match="stratifying needs class labels .* got float64 values of shape \\(50,\\)"):
        data.train_test_split(features, targets, stratify=True)


def test_split_unpacks_as_scikit_learn_does_and_keeps_its_attributes() -> None:
    iris = data.load_iris()
    split = data.train_test_split(iris.features, iris.labels, test_fraction=0.2, seed=3)
    X_train, X_test, y_train, y_test = split
    np.testing.assert_array_equal(X_train, split.train_features)
    np.testing.assert_array_equal(X_test, split.test_features)
    np.testing.assert_array_equal(y_train, split.train_labels)
    np.testing.assert_array_equal(y_test, split.test_labels)
    explicit = data.train_test_split(iris.features, iris.labels, test_fraction=0.2, seed=3, stratify=True)
    np.testing.assert_array_equal(explicit.test_features, X_test)  # class labels are stratified by default
    assert np.bincount(y_test).tolist() == [10, 10, 10]


def test_stratify_takes_the_labels_to_keep_in_proportion() -> None:
    rng = np.random.default_rng(2)
    features, targets = rng.normal(size=(40, 2)), rng.normal(size=40)
    groups = np.repeat(["a", "b"], [30, 10])
    split = data.train_test_split(features, targets, test_fraction=0.2, stratify=groups)
    test_rows = [features.tolist().index(row) for row in split.test_features.tolist()]
    assert sorted(groups[test_rows].tolist()) == ["a"] * 6 + ["b"] * 2
    binary = data.train_test_split(features, (np.arange(40) < 10).astype(float), test_fraction=0.2, stratify=True)
    assert sorted(binary.test_labels.tolist()) == [0.0] * 6 + [1.0] * 2  # whole-number floats are classes too
    with pytest.raises(cr.ShapeError, match="stratify has 39 values for 40 samples"):
        data.train_test_split(features, targets, stratify=groups[:39])
    with pytest.raises(TypeError, match="stratify must be True, False, None or an array of class labels, got 'yes'"):
        data.train_test_split(features, targets, stratify="yes")


@pytest.mark.parametrize(
    ("labels", "settings", "error", "message"),
    [
        (
            np.arange(10) % 2,
            {"test_fraction": 0.05},
            ValueError,
            "test_fraction 0.05 of the 5 samples of class 0 leaves the test set empty; "
            "a stratified split needs every class in both parts",
        ),
        (np.arange(10) % 2, {"test_fraction": 0.95}, ValueError, "of class 0 leaves the training set empty"),
        (
            np.arange(10.0),
            {"test_fraction": 0.01},
            ValueError,
            "test_fraction 0.01 of the 10 samples leaves the test set empty",
        ),
        (np.arange(10.0), {"test_fraction": 0.97}, ValueError, "of the 10 samples leaves the training set empty"),
        (
            np.array([0] * 9 + [1]),
            {},
            ValueError,
            r"class 1 has only 1 sample, which cannot be split; .*stratify=False",
        ),
        (np.arange(10.0), {"test_fraction": "0.2"}, TypeError, "test_fraction must be a number, got the string '0.2'"),
        (
            np.arange(10.0),
            {"test_fraction": float("nan")},
            ValueError,
            "test_fraction must be a finite number, got nan",
        ),
        (np.arange(10.0), {"seed": 1.5}, TypeError, "train_test_split: seed must be a non-negative integer, got 1.5"),
    ],
)
def test_split_mistakes_are_explained(labels, settings, error, message) -> None:
    with pytest.raises(error, match=message) as caught:
        data.train_test_split(np.ones((10, 2)), labels, **settings)
    assert str(caught.value).startswith("train_test_split: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"batch_size": 2.5}, TypeError, "DataLoader: batch_size must be a positive integer, got 2.5"),
        ({"batch_size": "4"}, TypeError, "DataLoader: batch_size must be a positive integer, got the string '4'"),
        ({"batch_size": True}, TypeError, "DataLoader: batch_size must be a positive integer, got True"),
        ({"shuffle": "no"}, TypeError, "DataLoader: shuffle must be True or False, got the string 'no'"),
        ({"seed": -1}, ValueError, "DataLoader: seed must be a non-negative integer, got -1"),
        ({"features": np.ones((0, 2)), "labels": np.ones(0)}, ValueError, "DataLoader: features has no samples"),
        ({"features": 3.0}, cr.ShapeError, "DataLoader: features must have one row per sample, got 3.0"),
        ({"features": [[1.0], [1.0, 2.0]]}, ValueError, r"DataLoader: features could not be made into one array"),
    ],
)
def test_loader_arguments_are_checked(arguments, error, message) -> None:
    given = {"features": np.ones((2, 1)), "labels": np.arange(2), **arguments}
    with pytest.raises(error, match=message) as caught:
        data.DataLoader(given.pop("features"), given.pop("labels"), **given)
    assert "\n" not in str(caught.value)


def test_a_dataset_shows_a_summary_not_its_rows() -> None:
    iris = data.load_iris()
    assert repr(iris) == (
        "Dataset(150 samples, 4 features (sepal_length, sepal_width, petal_length, petal_width), "
        "3 classes (setosa, versicolor, virginica))"
    )
    many = data.Dataset(np.ones((2, 12)), np.array([0, 1]), tuple(f"x{i}" for i in range(12)), ("no", "yes"))
    assert repr(many) == "Dataset(2 samples, 12 features, 2 classes (no, yes))"


def test_load_digits_images_labels_and_values() -> None:
    digits = data.load_digits()
    assert digits.features.shape == (1797, 1, 8, 8) and digits.features.dtype == np.float64
    assert digits.labels.shape == (1797,) and digits.labels.dtype == np.int64
    assert digits.class_names == tuple("0123456789") and len(digits.feature_names) == 64
    counts = np.bincount(digits.labels)
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]  # the UCI test set's counts
    values = digits.features
    assert values.min() == 0 and values.max() == 16 and np.all(values == np.round(values))
    assert np.all(values[:, 0, :, 0].sum(axis=0) < values[:, 0, :, 3].sum(axis=0))  # ink is in the middle, not the edge
    flat = data.load_digits(flatten=True)
    assert flat.features.shape == (1797, 64)
    np.testing.assert_array_equal(flat.features, digits.features.reshape(1797, 64))  # row by row
    np.testing.assert_array_equal(flat.labels, digits.labels)


def test_the_first_digit_is_a_zero_drawn_as_a_ring() -> None:
    zero = data.load_digits().features[0, 0]
    assert data.load_digits().labels[0] == 0
    assert zero[3:5, 3:5].max() == 0 and zero[3:5, [2, 6]].min() >= 8  # hollow middle, inked sides
    assert zero[0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]  # scikit-learn's digits.images[0], top row


def test_the_digits_license_notice_ships_beside_the_data() -> None:
    from importlib import resources

    notice = resources.files("chainrule.data").joinpath("digits-LICENSE.txt").read_text(encoding="utf-8")
    assert "CC BY 4.0" in notice and "Alpaydin" in notice


def test_load_digits_flatten_must_be_a_flag() -> None:
    with pytest.raises(TypeError, match="^load_digits: flatten must be True or False"):
        data.load_digits(flatten="yes")
