"""chainrule.check.finite_differences: f at x ± eps, the corners where it kinks or jumps, the points where it is not finite."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.check.finite_differences import Differences


def differences_of(f, x: np.ndarray) -> Differences:
    differences = Differences(lambda: float(f(x)), [x], 1e-6)
    differences.find_jumps(1e-5, 1e-8)
    return differences


def test_a_jump_is_told_from_a_kink() -> None:
    x = np.array([0.0, 0.0, 1.0])
    differences = differences_of(lambda x: np.abs(x[0]) + (x[1] > 0) + x[2] ** 2, x)
    np.testing.assert_array_equal(differences.corners(0, 1e-5, 1e-8), [True, True, False])
    (jump,) = differences.jumps[0].values()
    assert jump.index == (1,)
    assert jump.after - jump.before == pytest.approx(1.0)
    assert jump.left == pytest.approx(0.0, abs=1e-6) and jump.right == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_array_equal(x, [0.0, 0.0, 1.0])  # every element put back


def test_points_where_f_is_not_finite_a_step_away() -> None:
    x = np.array([0.0, 1.0])
    with np.errstate(invalid="ignore"):
        differences = differences_of(lambda x: np.sqrt(x).sum(), x)
    np.testing.assert_array_equal(differences.undefined(0), [True, False])
    assert np.isnan(differences.below[0][0]) and np.isfinite(differences.above[0][0])
