"""The three-matrix network of the seed reports, reproduced to the last digit."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.examples import three_matrix as abc


def test_seed_loss_is_reproduced_exactly() -> None:
    loss, *_ = abc.seed_gradients()
    assert loss == 44.061213140343526  # the seed's published value, bit for bit


def test_seed_gradients_are_reproduced_to_1e_12() -> None:
    _, grad_a, grad_b, grad_c = abc.seed_gradients()
    np.testing.assert_allclose(grad_a, abc.SEED_GRAD_A, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grad_b, abc.SEED_GRAD_B, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grad_c, abc.SEED_GRAD_C, rtol=0, atol=1e-12)


def test_hand_formulas_agree_with_autodiff() -> None:
    _, *grads = abc.seed_gradients()
    for auto, by_hand in zip(grads, abc.hand_gradients_rows(abc.SEED_X, abc.SEED_A, abc.SEED_B, abc.SEED_C)):
        np.testing.assert_allclose(auto, by_hand, rtol=1e-14)


def test_against_torch(torch) -> None:
    x = torch.tensor(abc.SEED_X)
    A, B, C = (torch.tensor(m, requires_grad=True) for m in (abc.SEED_A, abc.SEED_B, abc.SEED_C))
    w = (torch.sigmoid(x @ A) + x @ B) @ C
    (w * w).sum().backward()
    _, *grads = abc.seed_gradients()
    for ours, theirs in zip(grads, (A, B, C)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-13)


def test_column_convention_gives_transposed_gradients() -> None:
    _, *row_grads = abc.seed_gradients()
    leaves = [cr.tensor(m.T, requires_grad=True) for m in (abc.SEED_A, abc.SEED_B, abc.SEED_C)]
    loss = abc.loss_columns(cr.tensor(abc.SEED_X), *leaves)
    assert loss.item() == pytest.approx(abc.SEED_LOSS, rel=1e-15)
    loss.backward()
    for leaf, row_grad in zip(leaves, row_grads):
        np.testing.assert_allclose(leaf.grad, row_grad.T, rtol=1e-14)


def test_batch_training_is_vectorised_and_matches_per_sample_gradients() -> None:
    X = np.random.default_rng(1).random((5, 3))
    params = [cr.tensor(m, requires_grad=True) for m in (abc.SEED_A, abc.SEED_B, abc.SEED_C)]
    abc.loss_rows(cr.tensor(X), *params).backward()
    per_sample = [abc.hand_gradients_rows(x, abc.SEED_A, abc.SEED_B, abc.SEED_C) for x in X]
    for index, param in enumerate(params):
        np.testing.assert_allclose(param.grad, np.mean([g[index] for g in per_sample], axis=0), rtol=1e-13)


def test_gradient_descent_lowers_the_loss() -> None:
    history, (A, B, C) = abc.train(samples=1000, steps=30, lr=0.01, seed=0)
    assert len(history) == 31
    assert all(later < earlier for earlier, later in zip(history, history[1:]))
    assert history[-1] < history[0] / 10
    assert not np.allclose(A, abc.SEED_A)


def test_a_diverging_run_stops_in_one_line_instead_of_saying_the_loss_fell_to_nan() -> None:
    with pytest.raises(cr.DivergenceError, match=r"^train: the loss became inf at step \d+; lower the learning rate"):
        abc.train(samples=1000, steps=30, lr=0.5)
