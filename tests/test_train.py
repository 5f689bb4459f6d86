"""Training on Iris: the seed's GD-versus-NAG experiment, determinism, history and plots."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.examples import iris
from chainrule.plot import plot_histories


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nag_reaches_95_percent_test_accuracy_within_350_epochs(seed) -> None:
    run = iris.train("nag", hidden=16, activation="softplus", lr=0.01, epochs=350, seed=seed, progress=False)
    assert [layer.weight.shape for layer in run.model.layers[1::2]] == [(16, 4), (3, 16)]  # after Standardize
    assert run.history.epochs_to_reach(0.95) is not None
    assert run.history.test_accuracy[-1] >= 0.95


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nag_ends_with_a_lower_training_loss_than_gd_at_the_same_rate(seed) -> None:
    gd = iris.train("gd", lr=0.01, epochs=350, seed=seed, progress=False).history
    nag = iris.train("nag", lr=0.01, epochs=350, seed=seed, progress=False).history
    assert nag.loss[-1] < gd.loss[-1] / 5
    assert nag.train_accuracy[-1] > gd.train_accuracy[-1]


def test_training_is_deterministic_for_a_seed_including_mini_batches() -> None:
    first = iris.train("adam", epochs=15, seed=4, batch_size=16, progress=False)
    second = iris.train("adam", epochs=15, seed=4, batch_size=16, progress=False)
    assert first.history.loss == second.history.loss
    np.testing.assert_array_equal(first.model.layers[1].weight.data, second.model.layers[1].weight.data)
    different = iris.train("adam", epochs=15, seed=5, batch_size=16, progress=False)
    assert different.history.loss != first.history.loss


def test_history_records_every_epoch() -> None:
    loader = data.DataLoader(np.array([[0.0], [1.0]]), np.array([0, 1]))
    net = nn.Sequential(nn.Linear(1, 2, rng=0))
    history = cr.fit(
        net, optim.SGD(net.parameters(), lr=0.5), loader, epochs=40, test=(np.array([[0.0]]), [0]), progress=False
    )
    assert history.epochs == 40 and len(history.test_accuracy) == 40 and len(history.seconds) == 40
    assert history.loss == sorted(history.loss, reverse=True)
    assert history.epochs_to_reach(1.0, which="train") is not None
    assert history.epochs_to_reach(2.0) is None
    assert set(history.to_dict()) == {"loss", "train_accuracy", "test_accuracy", "seconds"}
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        cr.fit(net, optim.SGD(net.parameters(), lr=0.5), loader, epochs=0)


def test_progress_bar_is_shown_when_asked_and_quiet_otherwise(capsys) -> None:
    loader = data.DataLoader(np.array([[0.0], [1.0]]), np.array([0, 1]))
    net = nn.Sequential(nn.Linear(1, 2, rng=0))
    cr.fit(net, optim.SGD(net.parameters(), lr=0.1), loader, epochs=3, progress=True, description="demo run")
    assert "demo run" in capsys.readouterr().err
    cr.fit(net, optim.SGD(net.parameters(), lr=0.1), loader, epochs=3)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_plots_are_written_as_png_and_svg(tmp_path) -> None:
    histories = {name: iris.train(name, epochs=5, progress=False).history for name in ("gd", "nag")}
    png = plot_histories(histories, tmp_path / "curves.png")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = plot_histories(histories, tmp_path / "sub" / "curves.svg", title="GD vs NAG")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert list(tmp_path.glob(".*.tmp")) == []
    with pytest.raises(ValueError, match=r"save the figure as .png, .svg or .pdf, not .jpg"):
        plot_histories(histories, tmp_path / "curves.jpg")


@pytest.mark.parametrize("batch_size", [None, 32])
def test_traced_training_gives_the_same_history_and_weights(batch_size) -> None:
    eager = iris.train("nag", epochs=40, seed=2, batch_size=batch_size, progress=False)
    traced = iris.train("nag", epochs=40, seed=2, batch_size=batch_size, progress=False, trace=True)
    assert traced.history.loss == eager.history.loss
    assert traced.history.test_accuracy == eager.history.test_accuracy
    for mine, theirs in zip(traced.model.parameters(), eager.model.parameters()):
        np.testing.assert_array_equal(mine.data, theirs.data)
