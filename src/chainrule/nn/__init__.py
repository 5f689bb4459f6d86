"""Neural-network building blocks, PyTorch-style: ``Module``, ``Parameter``, ``Linear``, ``Sequential``.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> net = nn.Sequential(nn.Linear(4, 16, rng=0), nn.Softplus(), nn.Linear(16, 3, rng=1))
>>> loss = cr.cross_entropy(net(np.ones((2, 4))), [0, 2])
>>> loss.backward()
>>> net.layers[0].weight.grad.shape
(16, 4)
"""

from . import init, utils
from .layers import (
    ACTIVATIONS,
    BCELoss,
    CrossEntropyLoss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Standardize,
    Tanh,
    describe,
    from_config,
)
from .module import Module, Parameter, StateDictError

__all__ = [
    "ACTIVATIONS",
    "BCELoss",
    "CrossEntropyLoss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Standardize",
    "StateDictError",
    "Tanh",
    "describe",
    "from_config",
    "init",
    "utils",
]
