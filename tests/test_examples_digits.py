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


def test_the_cnn_with_default_settings_reaches_97_percent_on_the_test_images() -> None:
    run = digits.train("cnn", progress=False)  # 15 epochs, about 3 s on a quiet core
    assert run.history.epochs == 15 and run.parameter_count == 16 * 9 + 16 + 32 * 16 * 9 + 32 + 128 * 10 + 10
    assert run.history.test_accuracy[-1] >= 0.97
    assert run.history.train_accuracy[-1] >= 0.99


def test_batch_norm_and_dropout_runs_repeat_bit_for_bit_under_a_seed() -> None:
    """manual_seed covers the weights, the dropout masks and the batches: two runs, the same numbers."""
    first = digits.train("cnn", epochs=2, batch_norm=True, dropout=0.3, seed=5, progress=False)
    again = digits.train("cnn", epochs=2, batch_norm=True, dropout=0.3, seed=5, progress=False)
    assert first.history.loss == again.history.loss and first.history.test_accuracy == again.history.test_accuracy
    for (name, mine), (_, other) in zip(first.model.state_dict().items(), again.model.state_dict().items()):
        np.testing.assert_array_equal(mine, other, err_msg=name)
    assert any("running_mean" in name for name in first.model.state_dict())
    without_dropout = digits.train("cnn", epochs=2, batch_norm=True, seed=5, progress=False)
    assert without_dropout.history.loss != first.history.loss  # the masks did something


def test_a_saved_cnn_loads_with_its_running_statistics_and_predicts_the_same(tmp_path) -> None:
    import chainrule as cr

    run = digits.train("cnn", epochs=1, batch_norm=True, progress=False)
    path = tmp_path / "cnn.npz"
    cr.save(run.model, path)
    loaded = cr.load(path)
    loaded.eval()
    run.model.eval()
    images = run.split.test_features[:20]
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(run.model(images)))


@pytest.mark.parametrize("options", [{}, {"batch_norm": True, "dropout": 0.3}])
def test_a_traced_run_is_the_eager_run_bit_for_bit(options) -> None:
    """Batch norm's running statistics and dropout's masks included: the trace's recording calls leave them alone."""
    traced = digits.train("cnn", epochs=2, trace=True, progress=False, **options)
    eager = digits.train("cnn", epochs=2, progress=False, **options)
    assert traced.history.loss == eager.history.loss and traced.history.test_accuracy == eager.history.test_accuracy
    for (name, mine), (_, other) in zip(traced.model.state_dict().items(), eager.model.state_dict().items()):
        np.testing.assert_array_equal(mine, other, err_msg=name)
