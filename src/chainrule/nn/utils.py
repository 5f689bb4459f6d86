"""Helpers for training loops: ``clip_grad_norm_`` (PyTorch's ``torch.nn.utils``).

>>> import chainrule as cr
>>> w = cr.tensor([3.0, 4.0], requires_grad=True)
>>> (w * w).sum().backward()  # gradient (6, 8), norm 10
>>> float(clip_grad_norm_([w], max_norm=5.0)), w.grad.round(6)
(10.0, array([3., 4.]))
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..engine.tensor import Tensor, gradient_values
from ..errors import check_flag, check_number, describe_value


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> np.float64:
    """Scale the parameters' gradients together so that their joint norm is at most ``max_norm``; returns that norm.

    The total norm is the ``norm_type``-norm of all gradients as one vector (``math.inf`` for
    the largest absolute value). When it exceeds ``max_norm`` every gradient is multiplied by
    max_norm / (total + 1e-6), as PyTorch does; otherwise they are left as they are.
    Parameters without a gradient are skipped. The norm is measured before clipping. A NaN or
    infinite norm raises with ``error_if_nonfinite=True``; otherwise, as in PyTorch, the
    gradients are scaled by the resulting NaN or 0 (check the returned norm).
    """
    owner = "clip_grad_norm_"
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Iterable):
        raise TypeError(
            f"{owner}: parameters must be tensors such as model.parameters(), got {describe_value(parameters)}"
        )
    parameters = list(parameters)
    for position, parameter in enumerate(parameters):
        if not isinstance(parameter, Tensor):
            raise TypeError(f"{owner}: parameter {position} is {describe_value(parameter)}, not a chainrule tensor")
    max_norm = check_number(owner, "max_norm", max_norm)
    norm_type = check_number(owner, "norm_type", norm_type) if norm_type != math.inf else math.inf
    if norm_type == 0:
        raise ValueError(f"{owner}: norm_type must be positive (2.0 for the Euclidean norm, math.inf for the largest)")
    check_flag(owner, "error_if_nonfinite", error_if_nonfinite)
    with_grad = [parameter for parameter in parameters if parameter.grad is not None]
    if not with_grad:
        return np.float64(0.0)
    values = [gradient_values(parameter.grad) for parameter in with_grad]  # arrays of the .grad, checked once
    norms = np.array([_norm(array, norm_type) for array in values], dtype=np.float64)
    total = np.float64(_norm(norms, norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise ValueError(
            f"{owner}: the gradients' total {norm_type}-norm is {total}, so they cannot be clipped; "
            "pass error_if_nonfinite=False to scale them anyway"
        )
    coefficient = min(max_norm / (total + 1e-6), 1.0)  # NaN for a NaN total, 0 for an infinite one
    if coefficient != 1.0:
        with np.errstate(invalid="ignore"):  # an infinite gradient times 0: NaN, as in PyTorch (the norm says so)
            for parameter, array in zip(with_grad, values):
                grad = parameter.grad
                if isinstance(grad, Tensor):  # left by backward(create_graph=True): scale its values, keep its graph
                    grad.data = (array * coefficient).astype(array.dtype, copy=False)
                else:  # a number or an integer .grad set by hand is scaled into the parameter's float dtype, not cut
                    dtype = array.dtype if array.dtype.kind == "f" else parameter.data.dtype
                    parameter.grad = (array * coefficient).astype(dtype, copy=False)
    return total


def _norm(values: np.ndarray, norm_type: float) -> float:
    """The ``norm_type``-norm of ``values`` taken as one vector."""
    flat = np.abs(np.asarray(values, dtype=np.float64).reshape(-1))
    if flat.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(flat.max())
    if norm_type == 2.0:
        return float(math.sqrt(np.dot(flat, flat)))
    if norm_type == 1.0:
        return float(flat.sum())
    return float((flat**norm_type).sum() ** (1.0 / norm_type))
