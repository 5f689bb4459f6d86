"""Conv1d, Conv2d, MaxPool2d, AvgPool2d and Flatten against torch.nn with the same weights (state_dict keys shared)."""

from __future__ import annotations

import warnings

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
    with warnings.catch_warnings():  # padding="same" with an even kernel: PyTorch warns that it pads a copy
        warnings.filterwarnings("ignore", "Using padding='same'", UserWarning)
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


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize(("kernel", "dilation"), [(3, 1), (4, 1), (2, 3), ((4, 3), (1, 2))])
def test_conv2d_layer_with_a_padding_string_equals_torch(torch, rng, padding, kernel, dilation) -> None:
    mine = nn.Conv2d(4, 6, kernel, padding=padding, dilation=dilation, groups=2)
    theirs = torch.nn.Conv2d(4, 6, kernel, padding=padding, dilation=dilation, groups=2)
    assert mine.padding == theirs.padding == padding
    assert repr(mine).split("  #")[0] == repr(theirs)
    assert_same_step(mine, theirs, rng.normal(size=(2, 4, 7, 8)), torch, rng)
    assert_same_step(mine, theirs, rng.normal(size=(4, 7, 8)), torch, rng)  # one sample (C, H, W)


@pytest.mark.parametrize(("padding", "kernel"), [("same", 4), ("same", 3), ("valid", 2), (2, 3)])
def test_conv1d_layer_with_a_padding_string_or_one_sample_equals_torch(torch, rng, padding, kernel) -> None:
    mine, theirs = nn.Conv1d(3, 2, kernel, padding=padding), torch.nn.Conv1d(3, 2, kernel, padding=padding)
    assert repr(mine).split("  #")[0] == repr(theirs)
    assert_same_step(mine, theirs, rng.normal(size=(2, 3, 9)), torch, rng)
    assert_same_step(mine, theirs, rng.normal(size=(3, 9)), torch, rng)  # one sample (C, L)


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda nn: nn.MaxPool2d(2, ceil_mode=True), (2, 3, 5, 7)),
        (lambda nn: nn.MaxPool2d(3, 2, 1, 1, False, True), (3, 6, 5)),  # PyTorch's order: return_indices, ceil_mode
        (lambda nn: nn.MaxPool2d(2, stride=1, dilation=2), (2, 5, 5)),
        (lambda nn: nn.AvgPool2d(3, 2, 1, True, False), (2, 2, 6, 7)),  # ceil_mode, count_include_pad
        (lambda nn: nn.AvgPool2d(2, padding=1, count_include_pad=False), (3, 4, 5)),
        (lambda nn: nn.AvgPool2d(2, ceil_mode=True), (2, 5, 5)),
    ],
)
def test_pooling_layers_with_ceil_mode_count_include_pad_and_one_image_equal_torch(torch, rng, make, shape) -> None:
    mine, theirs = make(nn), make(torch.nn)
    for name in ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"):
        assert getattr(mine, name, None) == getattr(theirs, name, None), name
    assert_same_step(mine, theirs, rng.normal(size=shape), torch, rng)


def test_pooling_layers_show_what_is_not_the_default() -> None:
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.MaxPool2d(2, ceil_mode=True)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True)"
    assert repr(nn.AvgPool2d(3, 1, 1, count_include_pad=False)) == (
        "AvgPool2d(kernel_size=3, stride=1, padding=1, count_include_pad=False)"
    )


def test_layers_built_from_their_config_compute_the_same(rng) -> None:
    x = rng.normal(size=(2, 2, 7, 7))
    for layer in (
        nn.Conv2d(2, 3, 4, padding="same", rng=0),
        nn.Conv1d(2, 3, 2, padding="valid", rng=0),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    ):
        again = nn.from_config(nn.describe(layer))
        again.load_state_dict(layer.state_dict())
        assert repr(again) == repr(layer)
        sample = x[:, :, 0] if isinstance(layer, nn.Conv1d) else x
        np.testing.assert_array_equal(again(sample).data, layer(sample).data)


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
            lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"),
            ValueError,
            r"^Conv2d: padding='same' is not supported for strided convolutions \(stride \(2, 2\)\); give the padding",
        ),
        (
            lambda: nn.Conv1d(3, 4, 3, stride=2, padding="same"),
            ValueError,
            r"^Conv1d: padding='same' is not supported for strided convolutions \(stride \(2,\)\)",
        ),
        (
            lambda: nn.Conv2d(3, 4, 3, padding="SAME"),
            ValueError,
            "^Conv2d: padding must be 'same', 'valid', a non-negative integer or a pair of them, got the string 'SAME'",
        ),
        (
            lambda: nn.MaxPool2d(2, return_indices=True),
            ValueError,
            "^MaxPool2d: return_indices=True is not supported: chainrule's max pooling gives no indices",
        ),
        (lambda: nn.MaxPool2d(2, ceil_mode="yes"), TypeError, "^MaxPool2d: ceil_mode must be True or False"),
        (lambda: nn.AvgPool2d(2, count_include_pad=0), TypeError, "^AvgPool2d: count_include_pad must be True or"),
        (
            lambda: nn.MaxPool2d(2)(np.ones((4, 4))),
            cr.ShapeError,
            r"^max_pool2d: expects a 3-D input \(C, H, W\) or a 4-D batch \(N, C, H, W\), got shape \(4, 4\)$",
        ),
        (
            lambda: nn.Conv1d(3, 4, 3)(np.ones((2, 3, 8, 8))),
            cr.ShapeError,
            r"^conv1d: expects a 2-D input \(C, L\) or a 3-D batch \(N, C, L\), got shape \(2, 3, 8, 8\)$",
        ),
        (
            lambda: nn.Conv2d(3, 4, 3)(np.ones((8, 8))),
            cr.ShapeError,
            r"conv2d: expects a 3-D input \(C, H, W\) or a 4-D batch \(N, C, H, W\), got shape \(8, 8\)",
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


def test_a_gradient_penalty_through_a_cnn_equals_torchs(torch, rng) -> None:
    """Second order through conv, batch norm, max and average pooling: ∂/∂θ ‖∂L/∂x‖² against PyTorch."""
    mine = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten())
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1),
        torch.nn.BatchNorm2d(3),
        torch.nn.Tanh(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
    )
    mine.load_state_dict({f"layers.{key}": value for key, value in torch_state(theirs).items()})
    x = rng.normal(size=(3, 2, 4, 4))
    leaf = cr.tensor(x, requires_grad=True)
    (grad_x,) = cr.autograd.grad(cr.avg_pool2d(mine(leaf).reshape(3, 3, 2, 2), 2).sum(), leaf, create_graph=True)
    (grad_x * grad_x).sum().backward()
    torch_leaf = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.avg_pool2d(theirs(torch_leaf).reshape(3, 3, 2, 2), 2).sum()
    (torch_grad,) = torch.autograd.grad(out, torch_leaf, create_graph=True)
    (torch_grad * torch_grad).sum().backward()
    np.testing.assert_allclose(grad_x.data, torch_grad.detach().numpy(), rtol=1e-10, atol=1e-10)
    for name, parameter in mine.named_parameters():
        expected = dict(theirs.named_parameters())[name.removeprefix("layers.")].grad.numpy()
        np.testing.assert_allclose(np.asarray(parameter.grad), expected, rtol=1e-9, atol=1e-10, err_msg=name)


def test_a_default_pool_writes_the_config_an_earlier_chainrule_reads() -> None:
    assert nn.MaxPool2d(2).config() == {"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 0, "dilation": 1}
    assert nn.AvgPool2d(3, 1, 1).config() == {"type": "AvgPool2d", "kernel_size": 3, "stride": 1, "padding": 1}
    assert nn.AvgPool2d(2, count_include_pad=False).config()["count_include_pad"] is False
    assert nn.MaxPool2d(2, ceil_mode=True).config()["ceil_mode"] is True


def test_torch_s_positional_arguments_past_bias_are_not_taken_for_init_or_rng() -> None:
    with pytest.raises(TypeError, match="positional arguments"):
        nn.Conv2d(1, 4, 3, 1, 1, 1, 1, True, "zeros")  # torch's padding_mode: it was init, all-zero weights
    with pytest.raises(TypeError, match="positional arguments"):
        nn.Embedding(5, 3, None, 2)  # torch's max_norm: it was the seed
    with pytest.raises(TypeError, match="positional arguments"):
        nn.Linear(3, 4, True, "cpu")  # torch's device
