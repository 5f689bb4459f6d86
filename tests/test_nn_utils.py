"""nn.utils.clip_grad_norm_ against torch.nn.utils.clip_grad_norm_."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1e6])  # clipped hard, a little, not at all
def test_the_same_norm_and_gradients_as_torch(norm_type, max_norm, torch, rng) -> None:
    shapes = [(4, 3), (3,), (), (2, 2, 2)]
    gradients = [rng.normal(size=shape) for shape in shapes]
    ours = [cr.tensor(rng.normal(size=shape), requires_grad=True) for shape in shapes]
    theirs = [torch.tensor(p.data, requires_grad=True) for p in ours]
    for mine, other, gradient in zip(ours, theirs, gradients):
        mine.grad, other.grad = gradient.copy(), torch.tensor(gradient)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total == pytest.approx(expected.item(), rel=1e-13)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=1e-13, atol=1e-15)
    everything = np.concatenate([g.reshape(-1) for g in gradients])
    assert total == pytest.approx(np.linalg.norm(everything, ord=norm_type), rel=1e-13)  # measured before clipping
    clipped = np.concatenate([p.grad.reshape(-1) for p in ours])
    assert np.linalg.norm(clipped, ord=norm_type) <= max_norm * (1 + 1e-12)


def test_a_single_tensor_a_model_and_parameters_without_gradient() -> None:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    cr.cross_entropy(model(np.ones((5, 3))), [0, 1, 0, 1, 1]).backward()
    model.layers[2].bias.grad = None
    before = [None if p.grad is None else p.grad.copy() for p in model.parameters()]
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1e-3)
    assert total == pytest.approx(math.sqrt(sum((g * g).sum() for g in before if g is not None)), rel=1e-12)
    for old, parameter in zip(before, model.parameters()):
        if old is None:
            assert parameter.grad is None
        else:
            np.testing.assert_allclose(parameter.grad, old * (1e-3 / (total + 1e-6)), rtol=1e-14)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    w.grad = np.array([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(w, 1.0) == 5.0
    np.testing.assert_allclose(w.grad, [0.6, 0.8], rtol=1e-6)


def test_float32_gradients_stay_float32() -> None:
    w = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    w.grad = np.full(3, 10.0, dtype=np.float32)
    nn.utils.clip_grad_norm_([w], 1.0)
    assert w.grad.dtype == np.float32


def test_a_non_finite_norm_can_be_made_an_error() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    w.grad = np.array([np.inf, 1.0])
    with pytest.raises(ValueError, match="^clip_grad_norm_: the gradients' total 2.0-norm is inf"):
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert np.isinf(nn.utils.clip_grad_norm_([w], 1.0))  # PyTorch's default: scaled, and the norm says so


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (({"w": 1},), "^clip_grad_norm_: parameter 0 is"),
        ((np.ones(3),), "^clip_grad_norm_: parameter 0 is"),
        ((5,), "^clip_grad_norm_: parameters must be tensors"),
        (([], -1.0), "^clip_grad_norm_: max_norm must not be negative, got -1.0$"),
        (([], 1.0, 0), "^clip_grad_norm_: norm_type must be positive"),
    ],
)
def test_bad_arguments_are_one_line(arguments, message) -> None:
    if len(arguments) == 1:
        arguments = (*arguments, 1.0)
    with pytest.raises((TypeError, ValueError), match=message):
        nn.utils.clip_grad_norm_(*arguments)


@pytest.mark.parametrize("grad", [np.array([3, 4]), [3, 4], np.array([3, 4], dtype=np.uint8)])
def test_clipping_an_integer_grad_set_by_hand_scales_it_in_the_parameter_s_dtype(grad) -> None:
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    w.grad = grad  # scaled in place as integers it was cut to [0, 0]
    assert nn.utils.clip_grad_norm_([w], 1.0) == 5.0
    np.testing.assert_allclose(w.grad, [0.6, 0.8], rtol=1e-6)
    assert w.grad.dtype == np.float64
