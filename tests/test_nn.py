"""Modules: parameters found by attribute, state dicts, modes, printing, initialisations, configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter([2.0])
        self.inner = [nn.Linear(3, 2, rng=0), nn.Linear(2, 1, bias=False, rng=1)]
        self.alias = self.scale  # the same parameter twice is listed once

    def forward(self, x):
        for layer in self.inner:
            x = cr.tanh(layer(x))
        return x * self.scale


def test_parameters_are_found_by_attribute_in_order() -> None:
    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["scale", "inner.0.weight", "inner.0.bias", "inner.1.weight"]
    assert block.num_parameters() == 1 + 6 + 2 + 2
    assert all(p.requires_grad for p in block.parameters())


def test_gradients_reach_every_parameter_and_zero_grad_clears_them() -> None:
    block = Block()
    block(np.ones((4, 3))).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


def test_state_dict_round_trip_and_shape_checks() -> None:
    source, target = Block(), Block()
    target.inner[0].weight.data[...] = 0
    state = source.state_dict()
    state["scale"][0] = 5.0  # a copy: editing it leaves the model alone
    assert source.scale.data[0] == 2.0
    target.load_state_dict(state)
    np.testing.assert_array_equal(target.inner[0].weight.data, source.inner[0].weight.data)
    assert target.scale.data[0] == 5.0
    state["inner.0.weight"] = np.zeros((3, 2))
    with pytest.raises(
        cr.ShapeError, match=r"inner.0.weight has shape \(2, 3\) in the model but \(3, 2\) in the state"
    ):
        target.load_state_dict(state)
    with pytest.raises(KeyError) as error:
        target.load_state_dict({**{k: v for k, v in source.state_dict().items() if k != "scale"}, "extra": np.ones(1)})
    assert str(error.value) == "load_state_dict: missing scale; unexpected extra"  # no KeyError quotes around it


def test_train_and_eval_switch_recursively() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    net.eval()
    assert not net.training and not net.layers[1].layers[0].training
    net.train()
    assert net.layers[1].layers[0].training


def test_repr_shows_layers_and_parameter_counts() -> None:
    net = nn.Sequential(nn.Linear(4, 16), nn.Softplus(), nn.Linear(16, 3))
    assert repr(net) == (
        "Sequential(  # 131 parameters\n"
        "  (layers.0): Linear(in_features=4, out_features=16, bias=True)  # 80 parameters\n"
        "  (layers.1): Softplus()\n"
        "  (layers.2): Linear(in_features=16, out_features=3, bias=True)  # 51 parameters\n"
        ")"
    )


@pytest.mark.parametrize(
    ("init", "check"),
    [
        ("default", lambda w: np.abs(w).max() <= 1 / np.sqrt(400) and np.abs(w).max() > 0.9 / np.sqrt(400)),
        (
            "xavier",
            lambda w: np.abs(w).max() <= np.sqrt(6 / 700) and w.std() == pytest.approx(np.sqrt(2 / 700), rel=0.05),
        ),
        ("xavier_normal", lambda w: w.std() == pytest.approx(np.sqrt(2 / 700), rel=0.05)),
        ("he", lambda w: w.std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)),
        (
            "he_uniform",
            lambda w: np.abs(w).max() <= np.sqrt(6 / 400) and w.std() == pytest.approx(np.sqrt(2 / 400), rel=0.05),
        ),
        (
            nn.init.normal(0.5, 0.1),
            lambda w: w.mean() == pytest.approx(0.5, abs=0.01) and w.std() == pytest.approx(0.1, rel=0.05),
        ),
    ],
)
def test_initialisations_have_their_distributions(init, check) -> None:
    layer = nn.Linear(400, 300, init=init, rng=0)
    assert layer.weight.shape == (300, 400)
    assert check(layer.weight.data)


def test_bias_initialisation_follows_the_scheme() -> None:
    assert np.all(nn.Linear(5, 4, init="he", rng=0).bias.data == 0)
    assert np.all(nn.Linear(5, 4, init=nn.init.normal(3.0, 1e-9), rng=0).bias.data == pytest.approx(3.0))
    assert np.any(nn.Linear(5, 4, rng=0).bias.data != 0)
    with pytest.raises(ValueError, match="^Linear: unknown init 'uniformish'; choose one of default"):
        nn.Linear(2, 2, init="uniformish")
    with pytest.raises(ValueError, match="^Linear: unknown bias_init 'one'; choose one of default"):
        nn.Linear(2, 2, bias_init="one")
    with pytest.raises(TypeError, match="^Linear: init must be the name of an initialisation or a function, got 0.1$"):
        nn.Linear(2, 2, init=0.1)


def test_same_seed_same_weights_and_float32_layers() -> None:
    np.testing.assert_array_equal(nn.Linear(3, 2, rng=7).weight.data, nn.Linear(3, 2, rng=7).weight.data)
    layer = nn.Linear(3, 2, dtype=np.float32, rng=0)
    out = layer(np.ones((4, 3), dtype=np.float32))
    assert out.dtype == np.float32


def test_modules_compute_what_the_functions_compute(rng) -> None:
    x = cr.tensor(rng.normal(size=(5, 3)))
    for module, function in [
        (nn.Sigmoid(), cr.sigmoid),
        (nn.Tanh(), cr.tanh),
        (nn.ReLU(), cr.relu),
        (nn.Softplus(), cr.softplus),
        (nn.Softmax(axis=0), lambda t: cr.softmax(t, axis=0)),
        (nn.LogSoftmax(), cr.log_softmax),
        (nn.LeakyReLU(0.2), lambda t: cr.leaky_relu(t, 0.2)),
    ]:
        np.testing.assert_array_equal(module(x).data, function(x).data)
    labels = np.array([0, 2, 1, 1, 0])
    assert nn.CrossEntropyLoss()(x, labels).item() == cr.cross_entropy(x, labels).item()
    assert nn.MSELoss(reduction="sum")(x, x * 2).item() == cr.mse(x, x * 2, reduction="sum").item()
    probabilities = cr.sigmoid(x)
    assert (
        nn.BCELoss()(probabilities, np.ones((5, 3))).item()
        == cr.binary_cross_entropy(probabilities, np.ones((5, 3))).item()
    )


def test_linear_layer_matches_torch(torch, rng) -> None:
    layer = nn.Linear(3, 4, rng=0)
    reference = torch.nn.Linear(3, 4, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.data))
        reference.bias.copy_(torch.tensor(layer.bias.data))
    x = rng.normal(size=(6, 3))
    layer(x).tanh().sum().backward()
    reference(torch.tensor(x)).tanh().sum().backward()
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=1e-12)


def test_config_round_trip_and_custom_modules() -> None:
    net = nn.Sequential(nn.Linear(4, 5), nn.LeakyReLU(0.3), nn.Linear(5, 2, bias=False), nn.LogSoftmax(axis=-1))
    rebuilt = nn.from_config(nn.describe(net))
    assert repr(rebuilt) == repr(net)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in net.parameters()]
    with pytest.raises(TypeError, match="Block is not a built-in layer"):
        nn.describe(Block())
    with pytest.raises(ValueError, match="unknown layer type 'LSTM'"):
        nn.from_config({"type": "LSTM"})


def test_module_mistakes_are_explained() -> None:
    with pytest.raises(TypeError, match="Sequential: item 1 is a function, not a Module"):
        nn.Sequential(nn.ReLU(), cr.relu)
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(1.0)
    with pytest.raises(ValueError, match="Linear: sizes must be positive"):
        nn.Linear(0, 3)
    with pytest.raises(cr.ShapeError, match=r"linear: input of shape \(2, 5\) does not fit a weight of shape \(3, 4\)"):
        nn.Linear(4, 3)(np.ones((2, 5)))


def test_parameters_in_lists_are_found_too() -> None:
    class Gains(nn.Module):
        def __init__(self):
            super().__init__()
            self.gains = [nn.Parameter([1.0]), nn.Parameter([2.0, 3.0])]

        def forward(self, x):
            return x * self.gains[0] + self.gains[1]

    module = Gains()
    assert [name for name, _ in module.named_parameters()] == ["gains.0", "gains.1"]
    assert module.num_parameters() == 3
    module(cr.tensor([1.0, 1.0])).sum().backward()
    np.testing.assert_array_equal(module.gains[0].grad, [2.0])


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: nn.Linear(4.5, 3), TypeError, "Linear: in_features must be an integer, got 4.5"),
        (lambda: nn.Linear(4, "3"), TypeError, "Linear: out_features must be an integer, got the string '3'"),
        (lambda: nn.Linear(True, 3), TypeError, "Linear: in_features must be an integer, got True"),
        (lambda: nn.Linear(4, 3, bias=0.5), TypeError, "Linear: bias must be True or False, got 0.5"),
        (
            lambda: nn.Linear(4, 3, rng=1.5),
            TypeError,
            "Linear: rng must be a seed .* or a numpy.random.Generator, got 1.5",
        ),
        (lambda: nn.LeakyReLU("0.1"), TypeError, "LeakyReLU: slope must be a number, got the string '0.1'"),
        (lambda: nn.LeakyReLU(float("nan")), ValueError, "LeakyReLU: slope must be a finite number, got nan"),
        (lambda: nn.Softmax(1.5), TypeError, "Softmax: axis must be an integer, got 1.5"),
        (lambda: nn.LogSoftmax("-1"), TypeError, "LogSoftmax: axis must be an integer, got the string '-1'"),
        (lambda: nn.CrossEntropyLoss("avg"), ValueError, "CrossEntropyLoss: reduction must be one of mean, sum, none"),
        (lambda: nn.MSELoss(None), ValueError, "MSELoss: reduction must be one of mean, sum, none; got None"),
        (lambda: nn.BCELoss(from_logits="yes"), TypeError, "BCELoss: from_logits must be True or False"),
    ],
)
def test_layer_arguments_are_checked_when_the_layer_is_built(build, error, message) -> None:
    with pytest.raises(error, match=message) as caught:
        build()
    assert "\n" not in str(caught.value)


def test_standardize_shifts_and_scales_each_feature_with_constants(rng) -> None:
    from chainrule import data
    from chainrule.check import gradcheck

    mean, std = np.array([5.8, 3.05, 3.76, 1.2]), np.array([0.83, 0.43, 1.76, 0.76])
    layer = nn.Standardize(mean, std)
    raw = rng.normal(size=(6, 4)) * std + mean
    out = layer(raw)
    np.testing.assert_array_equal(out.data, data.Standardizer(mean, std).transform(raw))  # bit for bit
    assert layer.parameters() == [] and repr(layer) == "Standardize(features=4)"  # constants: nothing trains them
    x = cr.tensor(raw, requires_grad=True)
    (layer(x) * np.arange(24.0).reshape(6, 4)).sum().backward()
    np.testing.assert_allclose(x.grad, np.arange(24.0).reshape(6, 4) / std, rtol=1e-15)
    assert gradcheck(lambda values: cr.softplus(layer(values)).sum(), raw)
    assert layer(raw.astype(np.float32)).dtype == np.float32
    mean[0] = 100.0  # the layer keeps its own copy
    assert layer.mean[0] == 5.8


def test_standardize_is_described_and_rebuilt_exactly(rng) -> None:
    net = nn.Sequential(nn.Standardize([0.1 + 0.2, 1 / 3], [1e-3, 7.0]), nn.Linear(2, 2, rng=0))
    config = nn.describe(net)
    assert config["layers"][0] == {"type": "Standardize", "mean": [0.1 + 0.2, 1 / 3], "std": [1e-3, 7.0]}
    rebuilt = nn.from_config(json.loads(json.dumps(config)))
    rebuilt.load_state_dict(net.state_dict())
    x = rng.normal(size=(3, 2))
    np.testing.assert_array_equal(rebuilt(x).data, net(x).data)


@pytest.mark.parametrize(
    ("mean", "std", "error", "message"),
    [
        ([1.0, 2.0], [1.0], cr.ShapeError, r"mean and std need one number per feature .* got shapes \(2,\) and \(1,\)"),
        ([[1.0]], [[1.0]], cr.ShapeError, r"mean and std need .* got shapes \(1, 1\) and \(1, 1\)"),
        ([1.0, float("nan")], [1.0, 1.0], ValueError, r"mean must be finite, got \[1.0, nan\]"),
        ([1.0, 2.0], [0.0, 1.0], ValueError, r"std must be positive and finite, got \[0.0, 1.0\]"),
        ("ab", [1.0, 2.0], TypeError, "mean and std must be numbers"),
    ],
)
def test_standardize_refuses_bad_constants(mean, std, error, message) -> None:
    with pytest.raises(error, match="^Standardize: " + message):
        nn.Standardize(mean, std)


def test_standardize_names_itself_for_inputs_of_the_wrong_width() -> None:
    with pytest.raises(cr.ShapeError, match=r"^Standardize: expects 2 features in the last axis, got shape \(4, 3\)$"):
        nn.Standardize([0.0, 0.0], [1.0, 1.0])(np.ones((4, 3)))


def test_standardize_statistics_are_buffers_in_the_state_dict(rng) -> None:
    mean, std = np.array([5.8, 3.05, 3.76, 1.2]), np.array([0.83, 0.43, 1.76, 0.76])
    trained = nn.Sequential(nn.Standardize(mean, std), nn.Linear(4, 3, rng=0))
    state = trained.state_dict()
    assert list(state) == ["layers.1.weight", "layers.1.bias", "layers.0.mean", "layers.0.std"]
    np.testing.assert_array_equal(state["layers.0.std"], std)
    state["layers.0.std"][0] = 9.0  # a copy: editing it leaves the model alone
    assert trained.layers[0].std[0] == 0.83
    assert [name for name, _ in trained.named_buffers()] == ["layers.0.mean", "layers.0.std"]
    assert len(trained.parameters()) == 2  # buffers are never trained

    fresh = nn.Sequential(nn.Standardize(np.zeros(4), np.ones(4)), nn.Linear(4, 3, rng=5))
    fresh.load_state_dict(trained.state_dict())
    raw = rng.normal(size=(6, 4)) * std + mean
    np.testing.assert_array_equal(fresh(raw).data, trained(raw).data)
    np.testing.assert_array_equal(fresh(raw.astype(np.float32)).data, trained(raw.astype(np.float32)).data)


def test_loading_bad_standardize_buffers_is_refused_and_changes_nothing() -> None:
    net = nn.Sequential(nn.Standardize([0.0, 0.0], [1.0, 1.0]), nn.Linear(2, 1, rng=0))
    before = net.state_dict()
    state = net.state_dict()
    state["layers.1.weight"] = state["layers.1.weight"] + 1.0
    state["layers.0.std"] = np.array([2.0, 0.0])
    with pytest.raises(
        ValueError, match=r"^load_state_dict: layers.0: std must be positive and finite, got \[2.0, 0.0\]$"
    ):
        net.load_state_dict(state)
    state["layers.0.std"] = np.array([1.0, 2.0, 3.0])
    with pytest.raises(
        cr.ShapeError, match=r"^load_state_dict: layers.0.std has shape \(2,\) in the model but \(3,\) in the state$"
    ):
        net.load_state_dict(state)
    state["layers.0.std"], state["layers.0.mean"] = np.ones(2), np.array([np.inf, 0.0])
    with pytest.raises(ValueError, match=r"^load_state_dict: layers.0: mean must be finite, got \[inf, 0.0\]$"):
        net.load_state_dict(state)
    for name, values in net.state_dict().items():  # nothing was copied, weights included
        np.testing.assert_array_equal(values, before[name])
    missing = {name: values for name, values in before.items() if name != "layers.0.mean"}
    with pytest.raises(KeyError) as error:
        net.load_state_dict(missing)
    assert str(error.value) == "load_state_dict: missing layers.0.mean"
