"""BatchNorm1d/2d, LayerNorm and Dropout against torch.nn: values, gradients, running statistics, train and eval."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from test_nn_convolution import assert_same_step, torch_state


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"momentum": None},
        {"momentum": 0.3, "affine": False},
        {"track_running_stats": False},
        {"eps": 1e-2},
    ],
    ids=str,
)
@pytest.mark.parametrize(
    ("kind", "shape"), [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (3, 3, 4, 2))]
)
def test_batch_norm_layers_equal_torch_through_training_and_evaluation(torch, rng, kind, shape, settings) -> None:
    mine, theirs = getattr(nn, kind)(3, **settings), getattr(torch.nn, kind)(3, **settings)
    if settings.get("affine", True):
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.normal_()
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for step in range(3):  # three training steps: the running statistics move, num_batches_tracked counts
        assert_same_step(mine, theirs, rng.normal(size=shape) * 2 + step, torch, rng)
        mine.zero_grad()
        theirs.zero_grad()
        assert mine.training
        for name, values in torch_state(theirs).items():
            if name in dict(mine.named_buffers()):
                np.testing.assert_allclose(dict(mine.named_buffers())[name], values, rtol=1e-12, err_msg=name)
    mine.eval()
    theirs.eval()
    assert_same_step(mine, theirs, rng.normal(size=shape), torch, rng)  # evaluation: the running statistics
    if settings.get("track_running_stats", True):
        assert int(mine.num_batches_tracked) == 3  # three training steps; evaluation counts none


def test_batch_norm_layers_check_their_input(rng) -> None:
    with pytest.raises(cr.ShapeError, match=r"BatchNorm2d: expects a 4-D \(N, C, H, W\) input, got shape \(4, 3\)"):
        nn.BatchNorm2d(3)(np.ones((4, 3)))
    with pytest.raises(cr.ShapeError, match=r"BatchNorm1d\(3\): input of shape \(4, 2\) has 2 channels"):
        nn.BatchNorm1d(3)(np.ones((4, 2)))
    with pytest.raises(ValueError, match="batch_norm: training needs more than one value per channel"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    assert nn.BatchNorm1d(3).eval()(np.ones((1, 3))).shape == (1, 3)  # evaluation mode takes a single sample


def test_batch_norm_float32_layer_keeps_float32(rng) -> None:
    layer = nn.BatchNorm2d(2).astype(np.float32)
    out = layer(cr.tensor(rng.normal(size=(3, 2, 2, 2)), dtype=np.float32))
    assert out.dtype == layer.running_mean.dtype == layer.running_var.dtype == np.float32
    out.sum().backward()
    assert layer.weight.grad.dtype == np.float32
    assert layer.eval()(np.ones((1, 2, 1, 1), dtype=np.float32)).dtype == np.float32
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.Sequential(nn.BatchNorm2d(2))).astype(np.float32)  # nested too
    assert net.layers[1].layers[0].running_var.dtype == np.float32
    assert net.layers[1].layers[0].num_batches_tracked.dtype == np.int64
    assert [type(m).__name__ for m in net.modules()] == ["Sequential", "Conv2d", "Sequential", "BatchNorm2d"]


def test_layer_norm_layer_equals_torch(torch, rng) -> None:
    for shape, normalized, bias in [((4, 5), 5, True), ((2, 3, 4), (3, 4), True), ((2, 6), 6, False)]:
        mine, theirs = nn.LayerNorm(normalized, bias=bias), torch.nn.LayerNorm(normalized, bias=bias)
        with torch.no_grad():
            theirs.weight.normal_()
        assert list(mine.state_dict()) == list(theirs.state_dict())
        assert_same_step(mine, theirs, rng.normal(size=shape), torch, rng)


def test_dropout_layer_drops_in_training_and_passes_in_evaluation() -> None:
    layer = nn.Dropout(0.25, rng=5)
    x = np.ones((20, 50))
    first, second = layer(x).data, layer(x).data
    assert set(np.unique(first)) == {0.0, 1 / 0.75} and not np.array_equal(first, second)
    assert abs((first == 0).mean() - 0.25) < 0.04
    layer.eval()
    assert np.array_equal(layer(x).data, x)
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2)).eval()
    assert not net.layers[1].training and not net.layers[2].training
    assert net.train().layers[1].training
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\), got 1"):
        nn.Dropout(1)


def test_dropout_layer_without_rng_follows_manual_seed() -> None:
    layer = nn.Dropout(0.5)
    cr.manual_seed(2)
    first = layer(np.ones(100)).data
    cr.manual_seed(2)
    assert np.array_equal(layer(np.ones(100)).data, first)


def test_integer_running_statistics_loaded_into_a_layer_become_its_floats_as_in_torch(torch, rng) -> None:
    mine, theirs = nn.BatchNorm1d(3).eval(), torch.nn.BatchNorm1d(3).eval()
    state = {**torch_state(theirs), "running_mean": np.array([1, -2, 3]), "running_var": np.array([4, 1, 2])}
    theirs.load_state_dict({name: torch.tensor(values) for name, values in state.items()})
    mine.load_state_dict(state)
    assert (
        mine.running_mean.dtype == np.float64 and theirs.running_mean.dtype == torch.float64
    )  # the fixture makes float64 the default
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(mine(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(mine.running_mean, [1.0, -2.0, 3.0])


def test_integer_running_statistics_are_refused_at_the_layer_or_where_they_are_put() -> None:
    with pytest.raises(
        cr.DTypeError, match=r"^BatchNorm2d: dtype must be a floating-point type \(float32 or float64\), got int64$"
    ):
        nn.BatchNorm2d(3, dtype=np.int64, affine=False)
    layer = nn.BatchNorm1d(3)
    layer.running_mean = np.zeros(3, dtype=np.int64)  # replaced by hand: refused at the next forward, in one line
    with pytest.raises(cr.DTypeError, match="^batch_norm: running_mean holds int64 numbers"):
        layer(np.ones((4, 3)))
