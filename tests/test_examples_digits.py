"""The digits example: seeded runs repeat bit for bit and reach their accuracy; models take raw pixels."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import data
from chainrule.examples import digits


def test_the_mlp_learns_the_digits_and_a_seeded_run_repeats_bit_for_bit() -> None:
    first = digits.train("mlp", epochs=4, progress=False)
    again = digits.train("mlp", epochs=4, progress=False)
    assert first.history.loss == again.history.loss
    for mine, other in zip(first.model.parameters(), again.model.parameters()):
        np.testing.assert_array_equal(mine.data, other.data)
    assert first.history.test_accuracy[-1] >= 0.93
    other_seed = digits.train("mlp", epochs=4, seed=1, progress=False)
    assert other_seed.history.loss != first.history.loss


def test_the_model_takes_raw_pixels_and_its_accuracy_is_the_recorded_one() -> None:
    run = digits.train("mlp", epochs=2, progress=False)
    raw = data.load_digits(flatten=True)
    assert run.split.test_features.max() == 16  # the split holds raw pixels; the model standardises them itself
    counts = digits.confusion_matrix(run)
    assert counts.sum() == len(run.split.test_labels) == 359
    assert np.trace(counts) / counts.sum() == pytest.approx(run.history.test_accuracy[-1], abs=1e-12)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(run.split.test_labels, minlength=10))
    assert run.model(raw.features[:3]).shape == (3, 10)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"model": "rnn"}, "^digits.train: unknown model 'rnn'; choose one of cnn, mlp$"),
        ({"model": "mlp", "dropout": 0.5}, "^digits.train: batch_norm and dropout are options of the cnn model"),
        ({"dropout": 1.0}, r"^digits.train: dropout must be from 0 up to \(not including\) 1, got 1.0$"),
        ({"epochs": 0}, "^digits.train: epochs must be a positive integer, got 0$"),
    ],
)
def test_bad_settings_are_one_line(settings, message) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        digits.train(**settings, progress=False)
