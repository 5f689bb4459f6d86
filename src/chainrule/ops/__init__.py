"""Every differentiable op of chainrule, grouped by kind; each file pairs forward and backward.

Every op function takes ``name=`` to name its result (``cr.sigmoid(s, name="h1")``), as
``.named("h1")`` does; names show in ``chainrule.explain`` and ``chainrule.draw``.
"""

from . import methods
from .activation import leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from .convolution import conv1d, conv2d, pad
from .elementwise import abs, add, div, exp, log, mul, neg, pow, sqrt, sub
from .selection import clip, maximum, minimum, where
from .linalg import linear, matmul
from .lookup import embedding
from .loss import binary_cross_entropy, cross_entropy, mse, squared_norm
from .normalization import batch_norm, layer_norm
from .pooling import avg_pool2d, max_pool2d
from .regularization import dropout
from .reduce import logsumexp, max, mean, min, sum
from .shape import astype, broadcast_to, concatenate, getitem, reshape, stack, sum_to, transpose

methods.install()


def _mark_exact_gradients() -> None:
    """Every op class defined in this package keeps ``Function.exact_gradients``'s promise, unless it says otherwise."""
    from ..engine.function import Function
    from . import activation, convolution, elementwise, linalg, lookup, loss, normalization, pooling, reduce
    from . import regularization, selection, shape

    modules = (activation, convolution, elementwise, linalg, lookup, loss, normalization, pooling, reduce)
    for module in (*modules, regularization, selection, shape):
        for item in vars(module).values():
            if isinstance(item, type) and issubclass(item, Function) and item.__module__ == module.__name__:
                if "exact_gradients" not in vars(item):
                    item.exact_gradients = True


_mark_exact_gradients()

__all__ = [
    "abs",
    "add",
    "astype",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "broadcast_to",
    "clip",
    "concatenate",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "div",
    "dropout",
    "embedding",
    "exp",
    "getitem",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "max_pool2d",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mse",
    "mul",
    "neg",
    "pad",
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
