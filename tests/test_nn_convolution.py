"""Conv1d, Conv2d, MaxPool2d, AvgPool2d and Flatten against torch.nn with the same weights (state_dict keys shared)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn


def torch_state(module) -> dict[str, np.ndarray]:
    return {name: value.detach().numpy().copy() for name, value in module.state_dict().items()}


def assert_same_step(mine, theirs, x: np.ndarray, torch, rng) -> None:
    """Forward, input gradient and every parameter gradient equal PyTorch's to 1e-10."""
    mine.load_state_dict(torch_state(theirs))  # PyTorch's keys and shapes load as they are
    leaf = cr.tensor(x, requires_grad=True)
    out = mine(leaf)
    torch_leaf = torch.tensor(x, requires_grad=True)
    torch_out = theirs(torch_leaf)
    weights = rng.normal(size=out.shape)
    (out * weights).sum().backward()
    (torch_out * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.data, torch_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-10)
    for name, parameter in mine.named_parameters():
        expected = dict(theirs.named_parameters())[name].grad.numpy()
        np.testing.assert_allclose(parameter.grad, expected, rtol=1e-10, atol=1e-10, err_msg=name)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 1),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_conv2d_layer_equals_torch(torch, groups, per_group, outs, kernel, stride, padding, bias, seed) -> None:
    rng = np.random.default_rng(seed)
    channels, out = groups * per_group, groups * outs
    mine = nn.Conv2d(channels, out, kernel, stride=stride, padding=padding, groups=groups, bias=bias, rng=0)
    theirs = torch.nn.Conv2d(channels, out, kernel, stride=stride, padding=padding, groups=groups, bias=bias)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert_same_step(mine, theirs, rng.normal(size=(2, channels, 5, 4)), torch, rng)


def test_conv1d_layer_equals_torch(torch, rng) -> None:
    mine, theirs = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), torch.nn.Conv1d(4, 6, 3, 2, 1, 2, 2)
    assert [(k, v.shape) for k, v in mine.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    assert_same_step(mine, theirs, rng.normal(size=(3, 4, 11)), torch, rng)


def test_a_small_cnn_equals_torch(torch, rng) -> None:
    mine = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3),
        nn.Tanh(),
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Linear(6, 3),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3),
        torch.nn.Tanh(),
        torch.nn.AvgPool2d(2, stride=1),
        torch.nn.Flatten(),
        torch.nn.Linear(6, 3),
    )
    state = {f"layers.{key}": value for key, value in torch_state(theirs).items()}  # Sequential's items: layers.i
    mine.load_state_dict(state)
    x = rng.normal(size=(5, 1, 8, 8))
    np.testing.assert_allclose(mine(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-10)


def test_initial_weights_have_pytorchs_bounds_and_follow_manual_seed() -> None:
    layer = nn.Conv2d(3, 8, (3, 2), groups=1)
    bound = 1 / np.sqrt(3 * 3 * 2)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.8 * bound
    assert np.abs(layer.bias.data).max() <= bound
    cr.manual_seed(4)
    first = nn.Conv2d(2, 2, 3).weight.data
    cr.manual_seed(4)
    assert np.array_equal(nn.Conv2d(2, 2, 3).weight.data, first)
    assert nn.Conv2d(2, 2, 3, dtype=np.float32).weight.dtype == np.float32


def test_attributes_and_repr_read_as_pytorchs() -> None:
    layer = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
    assert (layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding) == (
        3,
        8,
        (3, 3),
        (2, 2),
        (1, 1),
    )
    assert layer.bias is None and layer.weight.shape == (8, 3, 3, 3)
    assert (
        repr(layer) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)  # 216 parameters"
    )
    assert nn.Conv1d(2, 4, 3).kernel_size == (3,)
    assert nn.MaxPool2d(2).stride == 2 and nn.AvgPool2d(3, stride=1).stride == 1


def test_flatten_merges_the_axes_it_is_given(torch, rng) -> None:
    x = rng.normal(size=(2, 3, 4, 5))
    for start, end in [(1, -1), (0, -1), (1, 2), (2, 3), (-2, -1)]:
        mine = nn.Flatten(start, end)(x)
        assert mine.shape == tuple(torch.nn.Flatten(start, end)(torch.tensor(x)).shape)
        np.testing.assert_array_equal(mine.data.ravel(), x.ravel())


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: nn.Conv2d(3, 4, 3, groups=2),
            ValueError,
            "Conv2d: groups=2 must divide in_channels=3 and out_channels=4",
        ),
        (lambda: nn.Conv2d(3, 4, 0), ValueError, "Conv2d: kernel_size must be a positive integer"),
        (lambda: nn.Conv1d(3, 4, (3, 3)), TypeError, "Conv1d: kernel_size must be a positive integer"),
        (lambda: nn.MaxPool2d(2.5), TypeError, "MaxPool2d: kernel_size must be a positive integer"),
        (
            lambda: nn.Conv2d(3, 4, 3)(np.ones((3, 8, 8))),
            cr.ShapeError,
            r"conv2d: expects a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)",
        ),
        (
            lambda: nn.Flatten(3, 1)(np.ones((2, 3, 4, 5))),
            cr.ShapeError,
            r"Flatten: start_dim=3 and end_dim=1 do not name a range of axes of shape \(2, 3, 4, 5\)",
        ),
    ],
)
def test_layer_mistakes_are_explained(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()
