"""chainrule: backpropagation you can see, check and trust.

A reverse-mode automatic differentiation engine on NumPy arrays::

    >>> import chainrule as cr
    >>> w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x = cr.tensor([1.0, -1.0])
    >>> loss = cr.squared_norm(cr.sigmoid(x @ w))
    >>> loss.backward()
    >>> w.grad.shape
    (2, 2)
"""

from __future__ import annotations

from .engine.anomaly import AnomalyError, detect_anomaly
from .errors import AxisError, ChainruleError, DivergenceError, DTypeError, GraphError, ShapeError
from .engine.function import Function
from .functional import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from .engine.grad_mode import enable_grad, is_grad_enabled, no_grad
from . import ops
from .ops import *  # noqa: F403 - every op function, listed once in chainrule/ops/__init__.py
from .engine import autograd
from .engine.tensor import Tensor, tensor
from .random import default_generator, manual_seed

# Layers above the engine: networks, optimizers, data, training, model files.
from . import data, nn, optim  # noqa: E402  (isort: skip)
from .training.model_file import ModelFileError, load, save  # noqa: E402
from .training.train import History, fit  # noqa: E402

# Seeing and checking: explanations, drawings, gradient checks (chainrule.check).
from . import check  # noqa: E402
from .explanation.draw import draw  # noqa: E402
from .explanation.explain import explain  # noqa: E402
from .engine.trace import trace  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "autograd",
    "AxisError",
    "ChainruleError",
    "detect_anomaly",
    "DTypeError",
    "Function",
    "DivergenceError",
    "GraphError",
    "History",
    "ModelFileError",
    "ShapeError",
    "Tensor",
    "check",
    "data",
    "draw",
    "explain",
    "fit",
    "load",
    "manual_seed",
    "default_generator",
    "nn",
    "optim",
    "save",
    "trace",
    "enable_grad",
    "grad",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "jvp",
    "no_grad",
    "tensor",
    "value_and_grad",
    "vjp",
    *ops.__all__,
]
