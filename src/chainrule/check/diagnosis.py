"""Likely mistakes in a hand-written gradient of an image-like input (a convolution's, a pooling's).

``check_gradient`` names the element where a hand-written gradient parts from the true one;
for gradients of arrays with spatial axes (the last two: height and width) these notes add
the usual causes, each said only when the numbers show it:

* the whole gradient is the true one rotated 180° in its last two axes: a flipped kernel
  (a textbook convolution where PyTorch and chainrule compute a cross-correlation);
* the gradient is the true one shifted by a pixel or two: the padding cut off on the wrong side;
* every wrong element lies on the border of the last two axes: padding handled wrong;
* the gradient is right for the first sample (or channel) of axis 0 only: a loop or a sum over
  the batch missing.
"""

from __future__ import annotations

import numpy as np


def spatial_mistakes(name: str, given: np.ndarray, exact: np.ndarray, rtol: float, atol: float) -> list[str]:
    """Notes naming the likely mistake in ``given`` (the hand-written gradient for ``name``) against ``exact``."""
    if given.ndim < 2 or given.shape != exact.shape or min(given.shape[-2:]) < 2:
        return []
    wrong = ~np.isclose(given, exact, rtol=rtol, atol=atol)
    if not wrong.any():
        return []
    if np.allclose(given, exact[..., ::-1, ::-1], rtol=rtol, atol=atol):
        return [
            f"the gradient for {name} is the true one rotated 180° in its last two axes: a flipped kernel? "
            "(conv2d is a cross-correlation, as in PyTorch: no flip)"
        ]
    shift = _shift(given, exact, rtol, atol)
    if shift is not None:
        return [
            f"the gradient for {name} is the true one shifted by {shift} along its last two axes: "
            "the padding cut off the wrong side (or an off-by-one in the window's position)?"
        ]
    notes = []
    inside = np.zeros(given.shape[-2:], dtype=bool)
    inside[1:-1, 1:-1] = True
    if inside.any() and not (wrong & inside).any():
        notes.append(
            f"every wrong element of the gradient for {name} is on the border of its last two axes: "
            "is the padding handled right (the windows that reach past the edge)?"
        )
    if given.ndim >= 3 and given.shape[0] > 1 and not wrong[0].any():
        notes.append(
            f"the gradient for {name} is right for index 0 of its first axis and wrong for others: "
            "a loop or a sum over the batch that stops after the first sample?"
        )
    return notes


def _shift(given: np.ndarray, exact: np.ndarray, rtol: float, atol: float) -> tuple[int, int] | None:
    """The (rows, columns) by which ``given`` is ``exact`` moved, where they overlap, for moves of up to 2; or None."""
    height, width = given.shape[-2:]
    for rows in range(-2, 3):
        for columns in range(-2, 3):
            if (rows, columns) == (0, 0) or height - abs(rows) < 2 or width - abs(columns) < 2:
                continue
            moved = given[..., max(rows, 0) : height + min(rows, 0), max(columns, 0) : width + min(columns, 0)]
            source = exact[..., max(-rows, 0) : height + min(-rows, 0), max(-columns, 0) : width + min(-columns, 0)]
            unmoved = exact[..., max(rows, 0) : height + min(rows, 0), max(columns, 0) : width + min(columns, 0)]
            if np.allclose(unmoved, source, rtol=rtol, atol=atol):
                continue  # exact looks the same shifted (constant along the axes): a shift says nothing
            if np.allclose(moved, source, rtol=rtol, atol=atol):
                return rows, columns
    return None
