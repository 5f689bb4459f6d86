"""Training on Iris: the seed's GD-versus-NAG experiment, determinism, history and plots."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.examples import iris
from chainrule.training.plot import plot_histories


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
    assert set(history.to_dict()) == {"loss", "train_accuracy", "test_accuracy", "seconds", "test_loss"}
    assert len(history.test_loss) == 40 and history.test_loss[-1] < history.test_loss[0]
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


def regression_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3))
    return features, (features @ np.array([1.0, -2.0, 0.5]))[:, None]


def small_net(outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 8, rng=0), nn.Tanh(), nn.Linear(8, outputs, rng=1))


def test_regression_records_losses_and_no_accuracy(capsys) -> None:
    features, targets = regression_problem()
    net = small_net(1)
    loader = data.DataLoader(features[:30], targets[:30], batch_size=10, seed=0)
    test = (features[30:], targets[30:])
    history = cr.fit(net, optim.SGD(net.parameters(), lr=0.05), loader, 6, loss_fn=cr.mse, test=test, progress=True)
    assert history.train_accuracy == [] and history.test_accuracy == []
    assert len(history.loss) == len(history.test_loss) == 6
    assert history.test_loss[-1] == cr.mse(net(test[0]), test[1]).item()
    assert "train=" not in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"no test accuracy was recorded \(the targets are not class labels\)"):
        history.epochs_to_reach(0.9)


def test_integer_labels_with_one_output_per_sample_get_no_accuracy() -> None:
    features, targets = regression_problem()
    labels = (targets[:, 0] > 0).astype(np.int64)  # one score per sample: argmax would always say class 0
    net = small_net(1)
    loss = lambda scores, y: cr.binary_cross_entropy(scores[:, 0], y.astype(float), from_logits=True)  # noqa: E731
    history = cr.fit(net, optim.SGD(net.parameters(), lr=0.5), data.DataLoader(features, labels), 5, loss_fn=loss)
    assert history.train_accuracy == []


@pytest.mark.parametrize("trace", [False, True])
def test_one_hot_targets_and_a_list_of_batches_get_the_accuracy_of_their_classes(trace) -> None:
    features, targets = regression_problem()
    labels = (targets[:, 0] > 0).astype(np.int64)
    one_hot = np.eye(2)[labels]
    batches = [(features[:20], one_hot[:20]), (features[20:], one_hot[20:])]
    net = small_net(2)
    history = cr.fit(
        net,
        optim.SGD(net.parameters(), lr=0.3),
        batches,
        4,
        loss_fn=cr.mse,
        test=(features[:7], one_hot[:7]),
        trace=trace,
    )
    predicted = np.argmax(net(features).data, axis=1)
    assert history.train_accuracy[-1] == np.mean(predicted == labels)
    assert history.test_accuracy[-1] == np.mean(predicted[:7] == labels[:7])
    assert 0 < history.train_accuracy[-1] < 1  # a value that tells right from wrong


def wrong_calls() -> list[tuple[str, dict, type, str]]:
    features, targets = regression_problem()
    loader = data.DataLoader(features, targets)
    return [
        (
            "arrays",
            {"loader": (features, targets)},
            TypeError,
            r"fit: loader must be a chainrule.data.DataLoader or a list \(re-iterable\) of \(inputs, targets\) "
            r"batches; got a tuple of a NumPy array of shape \(40, 3\) and a NumPy array of shape \(40, 1\): "
            r"wrap features and targets as DataLoader\(X, y, batch_size=...\)",
        ),
        ("one array", {"loader": features}, TypeError, r"got a NumPy array of shape \(40, 3\): wrap features"),
        (
            "generator",
            {"loader": ((features, targets) for _ in range(3))},
            TypeError,
            "got a one-shot generator, which would be empty after the first epoch",
        ),
        (
            "wrong batch",
            {"loader": [(features, targets), (features[:5], targets[:4])]},
            cr.ShapeError,
            r"fit: batch 1 has 5 inputs but 4 targets \(shapes \(5, 3\) and \(4, 1\)\)",
        ),
        (
            "not pairs",
            {"loader": [(features, targets, targets)]},
            TypeError,
            "batch 0 is a tuple, not an \\(inputs, targets\\) pair",
        ),
        ("empty", {"loader": []}, ValueError, "fit: loader is an empty list"),
        (
            "test lengths",
            {"loader": loader, "test": (features, targets[:5])},
            cr.ShapeError,
            r"fit: test has 40 inputs but 5 targets",
        ),
        (
            "test inputs",
            {"loader": loader, "test": (features[:, :2], targets)},
            cr.ShapeError,
            r"fit: test inputs of shape \(40, 2\) do not match the training inputs \(a batch of shape \(40, 3\)\)",
        ),
        (
            "test targets",
            {"loader": loader, "test": (features, targets[:, 0])},
            cr.ShapeError,
            r"fit: test targets of shape \(40,\) do not match",
        ),
        (
            "test alone",
            {"loader": loader, "test": features},
            TypeError,
            r"fit: test must be an \(inputs, targets\) pair, got a NumPy array",
        ),
        ("epochs", {"loader": loader, "epochs": 2.5}, TypeError, "fit: epochs must be a positive integer, got 2.5"),
        ("swapped", {"loader": loader, "optimizer": loader}, TypeError, "fit: optimizer must be an optimizer such as"),
        (
            "another model's optimizer",
            {"loader": loader, "optimizer": optim.SGD(small_net(1).parameters(), lr=0.1)},
            ValueError,
            r"^fit: the optimizer holds none of the model's parameters, so training would change nothing; "
            r"build it from this model: SGD\(model.parameters\(\), ...\)$",
        ),
    ]


@pytest.mark.parametrize(("case", "arguments", "error", "message"), wrong_calls(), ids=lambda value: str(value)[:20])
def test_fit_arguments_are_checked_before_the_first_step(case, arguments, error, message) -> None:
    net = small_net(1)
    before = [p.data.copy() for p in net.parameters()]
    arguments = {"optimizer": optim.SGD(net.parameters(), lr=0.1), "epochs": 2, "loss_fn": cr.mse, **arguments}
    with pytest.raises(error, match=message) as caught:
        cr.fit(net, **arguments)
    assert "\n" not in str(caught.value)
    for param, start in zip(net.parameters(), before):
        np.testing.assert_array_equal(param.data, start)  # no step was taken


def test_class_labels_in_training_need_class_labels_in_the_test_set() -> None:
    features, targets = regression_problem()
    labels = (targets[:, 0] > 0).astype(np.int64)
    net = small_net(2)
    with pytest.raises(
        ValueError, match="training targets are class labels for 2 classes, but the test targets are not"
    ):
        cr.fit(
            net,
            optim.SGD(net.parameters(), lr=0.1),
            data.DataLoader(features, labels),
            2,
            test=(features, labels + 0.5),
        )


def test_history_repr_is_a_short_summary_and_jupyter_gets_its_curves() -> None:
    history = iris.train("nag", epochs=60, seed=1, progress=False).history
    best = int(np.argmax(history.test_accuracy))
    assert repr(history) == (
        f"History(60 epochs, final loss {history.loss[-1]:.4g}, final test loss {history.test_loss[-1]:.4g}, "
        f"best train accuracy {max(history.train_accuracy):.3f} (epoch {int(np.argmax(history.train_accuracy)) + 1}), "
        f"best test accuracy {history.test_accuracy[best]:.3f} (epoch {best + 1}))"
    )
    assert len(repr(history)) < 200
    assert history._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")
    assert cr.History()._repr_png_() is None and repr(cr.History()) == "History(0 epochs)"


def test_plotting_leaves_the_users_backend_and_figures_alone(monkeypatch, tmp_path) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    backend = dict.__getitem__(matplotlib.rcParams, "backend")
    figures = plt.get_fignums()
    switches: list[object] = []
    monkeypatch.setattr(matplotlib, "use", lambda *args, **kwargs: switches.append(args))
    monkeypatch.setattr(plt, "switch_backend", lambda *args, **kwargs: switches.append(args))
    history = iris.train("gd", epochs=3, progress=False).history
    plot_histories({"gd": history}, tmp_path / "curves.png")
    history._repr_png_()
    assert switches == [] and dict.__getitem__(matplotlib.rcParams, "backend") == backend
    assert plt.get_fignums() == figures


def test_regression_histories_are_plotted_without_an_accuracy_panel(tmp_path) -> None:
    from chainrule.training.plot import draw_histories

    regression = cr.History(loss=[2.0, 1.0, -0.5], test_loss=[2.5, 1.5, 0.5], seconds=[0.1] * 3)
    figure = draw_histories({"": regression})
    (axes,) = figure.axes
    assert axes.get_yscale() == "linear"  # a negative loss cannot go on a log axis
    assert [line.get_label() for line in axes.get_lines()] == ["training", "test"]
    np.testing.assert_array_equal(axes.get_lines()[1].get_ydata(), [2.5, 1.5, 0.5])
    assert plot_histories({"mse": regression}, tmp_path / "mse.png").read_bytes().startswith(b"\x89PNG")


def test_a_plain_function_of_the_inputs_can_be_trained() -> None:
    features, targets = regression_problem()
    weights = cr.tensor(np.zeros((3, 1)), requires_grad=True)
    history = cr.fit(
        lambda x: x @ weights, optim.SGD([weights], lr=0.1), data.DataLoader(features, targets), 200, loss_fn=cr.mse
    )
    np.testing.assert_allclose(weights.data[:, 0], [1.0, -2.0, 0.5], atol=1e-6)
    assert history.loss[-1] < 1e-10 and history.train_accuracy == []


@pytest.mark.parametrize("trace", [False, True])
def test_a_diverging_run_stops_with_a_clear_error_before_spreading_nan(trace) -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(32, 3))
    targets = features @ np.array([[1.0], [-2.0], [0.5]])
    model = nn.Sequential(nn.Linear(3, 1, rng=0))
    opt = optim.SGD(model.parameters(), lr=5.0)  # far too large: the loss grows until it overflows
    loader = data.DataLoader(features, targets, batch_size=32)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(cr.DivergenceError, match=r"^fit: the loss became (inf|nan) in epoch \d+ .*lr=5") as error:
            cr.fit(model, opt, loader, epochs=500, loss_fn=cr.mse, trace=trace)
    history = error.value.history
    assert 1 <= len(history.loss) < 500 and all(np.isfinite(history.loss))
    assert error.value.epoch == len(history.loss) + 1 and not np.isfinite(error.value.loss)
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # the step that would spread it was not taken


def test_an_optimizer_of_some_of_the_models_parameters_trains_those_only() -> None:
    features, targets = regression_problem()
    net = small_net(1)
    first = net.layers[0].weight.data.copy()
    last = net.layers[2].weight.data.copy()
    cr.fit(net, optim.SGD(net.layers[2].parameters(), lr=0.1), data.DataLoader(features, targets), 3, loss_fn=cr.mse)
    np.testing.assert_array_equal(net.layers[0].weight.data, first)  # fine-tuning the last layer is allowed
    assert not np.array_equal(net.layers[2].weight.data, last)


@pytest.mark.parametrize(
    ("histories", "error", "message"),
    [
        (
            [cr.History(loss=[1.0])],
            TypeError,
            r"pass a dict of run name to History, e.g. \{'nag': history\}; got a list$",
        ),
        (cr.History(loss=[1.0]), TypeError, "pass a dict of run name to History, .*; got a History alone$"),
        ({}, ValueError, "the dict of histories is empty, so there is nothing to plot; pass a dict"),
        ({"gd": [1.0, 0.5]}, TypeError, r"histories\['gd'\] is a list, not a History; pass a dict"),
        ({"gd": cr.History()}, ValueError, r"histories\['gd'\] has no epochs to plot$"),
    ],
)
def test_plotting_something_other_than_named_histories_is_one_line(tmp_path, histories, error, message) -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught, pytest.raises(error, match="^plot_histories: " + message):
        warnings.simplefilter("always")
        plot_histories(histories, tmp_path / "curves.png")
    assert caught == [] and list(tmp_path.iterdir()) == []


def test_fit_steps_a_scheduler_once_per_epoch_and_the_steps_use_its_rates() -> None:
    x, y = np.linspace(-1, 1, 12)[:, None], np.arange(12) % 2

    def run(with_scheduler: bool):
        net = nn.Sequential(nn.Linear(1, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
        optimizer = optim.SGD(net.parameters(), lr=0.4)
        loader = data.DataLoader(x, y, batch_size=4, seed=0)
        if not with_scheduler:  # the same rates set by hand, epoch by epoch
            for lr in (0.4, 0.2, 0.1):
                optimizer.param_groups[0]["lr"] = lr
                cr.fit(net, optimizer, loader, 1, progress=False)
            return net, optimizer
        scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        cr.fit(net, optimizer, loader, 3, progress=False, scheduler=scheduler)
        assert scheduler.last_epoch == 3
        return net, optimizer

    scheduled, optimizer = run(True)
    by_hand, _ = run(False)
    assert optimizer.lr == 0.05
    for mine, other in zip(scheduled.parameters(), by_hand.parameters()):
        np.testing.assert_array_equal(mine.data, other.data)


def test_fit_refuses_a_scheduler_of_another_optimizer() -> None:
    net = nn.Linear(1, 2, rng=0)
    other = optim.SGD(nn.Linear(1, 2, rng=1).parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(other, step_size=1)
    with pytest.raises(ValueError, match="^fit: the scheduler was built on another optimizer"):
        cr.fit(net, optim.SGD(net.parameters(), lr=0.1), [(np.ones((2, 1)), np.array([0, 1]))], 1, scheduler=scheduler)
