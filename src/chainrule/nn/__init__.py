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
from .containers import Embedding, ModuleDict, ModuleList
from .convolution import AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d
from .layers import (
    ACTIVATIONS,
    BUILDABLE,
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
from .normalization import BatchNorm1d, BatchNorm2d, Dropout, LayerNorm

# the layers above can be stored in model files (describe, from_config)
BUILDABLE.update(
    (cls.__name__, cls)
    for cls in (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Dropout, Embedding, Flatten, LayerNorm, MaxPool2d)
)

__all__ = [
    "ACTIVATIONS",
    "AvgPool2d",
    "BCELoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
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
