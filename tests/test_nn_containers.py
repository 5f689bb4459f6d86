"""ModuleList, ModuleDict (parameters, buffers, train/eval found in them, PyTorch's keys) and Embedding."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Residual(nn.Module):
    """A residual network written by the user: blocks in a ModuleList, heads in a ModuleDict."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4, rng=i) for i in range(2)])
        self.norm = nn.BatchNorm1d(4)
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2, rng=5), "b": nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 3))})

    def forward(self, x):
        for block in self.blocks:
            x = x + cr.relu(block(x))
        x = self.norm(x)
        return self.heads["a"](x), self.heads["b"](x)


def test_parameters_buffers_and_modes_are_found_in_lists_and_dicts_with_pytorchs_keys(torch) -> None:
    net = Residual()
    names = list(net.state_dict())
    assert names == [
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.weight",
        "blocks.1.bias",
        "norm.weight",
        "norm.bias",
        "heads.a.weight",
        "heads.a.bias",
        "heads.b.layers.1.weight",
        "heads.b.layers.1.bias",
        "norm.running_mean",
        "norm.running_var",
        "norm.num_batches_tracked",
    ]

    class TorchResidual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(2)])
            self.norm = torch.nn.BatchNorm1d(4)
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(4, 2)})

    torch_keys = set(TorchResidual().state_dict())
    assert torch_keys == {name for name in names if not name.startswith("heads.b")}
    net.eval()
    assert not net.heads["b"].layers[0].training and not net.norm.training
    first, second = net(np.ones((3, 4)))
    (first.sum() + second.sum()).backward()
    assert all(parameter.grad is not None for parameter in net.parameters())
    assert len(net.blocks) == 2 and "a" in net.heads and list(net.heads) == ["a", "b"]


def test_plain_dicts_of_modules_and_parameters_are_found_too() -> None:
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = {"first": nn.Linear(2, 2)}
            self.gains = {"g": nn.Parameter([1.0])}

    assert [name for name, _ in Holder().named_parameters()] == ["gains.g", "layers.first.weight", "layers.first.bias"]


def test_container_mistakes_are_explained() -> None:
    with pytest.raises(TypeError, match="ModuleList: item 1 is a function, not a Module"):
        nn.ModuleList([nn.ReLU(), cr.relu])
    with pytest.raises(KeyError, match="ModuleDict: keys must be non-empty strings without dots"):
        nn.ModuleDict({"a.b": nn.ReLU()})
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        nn.ModuleList()(1.0)


def test_embedding_layer_equals_torch(torch, rng) -> None:
    mine, theirs = nn.Embedding(6, 3, padding_idx=2, rng=0), torch.nn.Embedding(6, 3, padding_idx=2)
    assert mine.weight.data[2].tolist() == [0.0, 0.0, 0.0]
    mine.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    indices = np.array([[0, 2, 5], [2, 2, 1]])
    out, torch_out = mine(indices), theirs(torch.tensor(indices))
    grad = rng.normal(size=out.shape)
    (out * grad).sum().backward()
    (torch_out * torch.tensor(grad)).sum().backward()
    np.testing.assert_array_equal(out.data, torch_out.detach().numpy())
    np.testing.assert_allclose(mine.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12)
