"""Pooling's windows (ops/windows.py): padding with ceil_mode's overhang and its adjoints, on random shapes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.ops.windows import cropped, padded, padded_shape, scatter_windows, windows


@settings(max_examples=60, deadline=None)
@given(
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.integers(0, 2**32 - 1),
)
def test_scattering_windows_back_is_the_adjoint_of_cutting_them(size, padding, beyond, kernel, stride, seed) -> None:
    """⟨windows(padded(x)), G⟩ = ⟨x, cropped(scatter_windows(G))⟩: the gradient the pools send back is exact."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 3, *size))
    xp = padded(x, padding, 0.0, beyond)
    assert xp.shape == padded_shape(x.shape, x.shape[:2], padding, beyond)
    np.testing.assert_array_equal(cropped(xp, padding, beyond), x)
    if xp.shape[2] < kernel[0] or xp.shape[3] < kernel[1]:
        return
    cut = windows(xp, kernel, stride, (1, 1))
    grad = rng.normal(size=cut.shape)
    back = cropped(scatter_windows(grad.transpose(4, 5, 0, 1, 2, 3), xp.shape, stride, (1, 1)), padding, beyond)
    np.testing.assert_allclose(np.sum(cut * grad), np.sum(x * back), rtol=1e-12)


def test_the_overhang_is_filled_after_the_input_only() -> None:
    out = padded(np.ones((1, 1, 2, 2)), (1, 0), -np.inf, overhang=(1, 2))
    assert out.shape == (1, 1, 5, 4)
    np.testing.assert_array_equal(
        np.isfinite(out[0, 0]), [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]] + [[0] * 4]
    )
