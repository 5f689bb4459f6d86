"""Every differentiable op of chainrule, grouped by kind; each file pairs forward and backward.

Every op function takes ``name=`` to name its result (``cr.sigmoid(s, name="h1")``), as
``.named("h1")`` does; names show in ``chainrule.explain`` and ``chainrule.draw``.
"""

from . import methods
from .activation import leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from .elementwise import abs, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub, where
from .linalg import linear, matmul
from .loss import binary_cross_entropy, cross_entropy, mse, squared_norm
from .reduce import logsumexp, max, mean, min, sum
from .shape import astype, broadcast_to, concatenate, getitem, reshape, stack, sum_to, transpose

methods.install()


def _mark_exact_gradients() -> None:
    """Every op class defined in this package keeps ``Function.exact_gradients``'s promise, unless it says otherwise."""
    from ..engine.function import Function
    from . import activation, elementwise, linalg, loss, reduce, shape

    for module in (activation, elementwise, linalg, loss, reduce, shape):
        for item in vars(module).values():
            if isinstance(item, type) and issubclass(item, Function) and item.__module__ == module.__name__:
                if "exact_gradients" not in vars(item):
                    item.exact_gradients = True


_mark_exact_gradients()

__all__ = [
    "abs",
    "add",
    "astype",
    "binary_cross_entropy",
    "broadcast_to",
    "clip",
    "concatenate",
    "cross_entropy",
    "div",
    "exp",
    "getitem",
    "leaky_relu",
    "linear",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mse",
    "mul",
    "neg",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "softplus",
    "sqrt",
    "squared_norm",
    "stack",
    "sub",
    "sum",
    "sum_to",
    "tanh",
    "transpose",
    "where",
]
