"""Checking gradients: central finite differences of any function of any-shaped inputs.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.check import numerical_gradient
    >>> numerical_gradient(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]))[0].round(6)
    array([ 3., 12.])
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import ShapeError, format_shape
from .grad_mode import no_grad
from .tensor import Tensor


def numerical_gradient(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6) -> tuple[np.ndarray, ...]:
    """∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε for every element of every input, in float64.

    ``f`` receives float64 tensors of the inputs' shapes and returns a scalar (tensor or
    number). Costs two evaluations of ``f`` per input element.
    """
    arrays = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]

    def evaluate() -> float:
        out = f(*(Tensor(a) for a in arrays))
        value = out.data if isinstance(out, Tensor) else np.asarray(out)
        if value.size != 1:
            raise ShapeError(f"numerical_gradient: f must return a scalar, got shape {format_shape(value.shape)}")
        return float(value.reshape(()))

    gradients = []
    with no_grad():
        for array in arrays:
            gradient = np.zeros_like(array)
            flat, flat_gradient = array.reshape(-1), gradient.reshape(-1)
            for index in range(flat.size):
                original = flat[index]
                flat[index] = original + eps
                above = evaluate()
                flat[index] = original - eps
                below = evaluate()
                flat[index] = original
                flat_gradient[index] = (above - below) / (2 * eps)
            gradients.append(gradient)
    return tuple(gradients)
