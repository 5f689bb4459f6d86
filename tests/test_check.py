"""The finite-difference helper the other tests rely on is itself checked against known derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import numerical_gradient


def test_central_differences_of_known_functions() -> None:
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    (grad_x,) = numerical_gradient(lambda t: (t * t * t).sum(), x)
    np.testing.assert_allclose(grad_x, 3 * x**2, rtol=1e-7)
    grad_a, grad_b = numerical_gradient(lambda a, b: (a @ b).sum(), np.ones((2, 3)), np.arange(6.0).reshape(3, 2))
    np.testing.assert_allclose(grad_a, np.tile(np.arange(6.0).reshape(3, 2).sum(axis=1), (2, 1)), rtol=1e-7)
    np.testing.assert_allclose(grad_b, np.full((3, 2), 2.0), rtol=1e-7)


def test_inputs_are_left_unchanged_and_scalars_required() -> None:
    x = np.array([1.0, 2.0])
    numerical_gradient(lambda t: t.sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    with pytest.raises(cr.ShapeError, match=r"numerical_gradient: f must return a scalar, got shape \(2,\)"):
        numerical_gradient(lambda t: t * 2, x)
