"""Layers, activation modules and loss modules, each a thin object around an op of ``chainrule.ops``.

Every built-in module can describe itself with ``config()`` and be rebuilt by ``from_config``;
that is how ``chainrule.save``/``chainrule.load`` store an architecture without pickling code.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

import numpy as np

from .. import ops
from ..errors import ShapeError, check_flag, check_integer, check_number, describe_value, format_shape
from ..ops.loss import _check_reduction as check_reduction
from ..engine.tensor import Tensor
from ..random import as_generator
from . import init as initializers
from .module import Module, Parameter


def _generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A seed's own generator, a generator as is, or for None the default one (``chainrule.manual_seed``)."""
    return as_generator(rng)


class Linear(Module):
    """A dense layer ``y = x Wᵀ + b`` with W of shape (out_features, in_features), as in PyTorch.

    ``init`` names an initialisation (see ``chainrule.nn.init``) or is a function; biases use
    the same one for ``"default"`` and for functions such as ``init.normal(0, 0.1)``, zeros for
    the named schemes (Xavier, He) unless ``bias_init`` says otherwise. ``rng`` is a seed or a
    NumPy generator; without one the weights come from ``chainrule.manual_seed``'s generator.

    >>> from chainrule import nn
    >>> layer = nn.Linear(4, 16, init=nn.init.normal(0.0, 0.1), rng=0)
    >>> layer
    Linear(in_features=4, out_features=16, bias=True)  # 80 parameters
    >>> layer(np.ones((5, 4))).shape
    (5, 16)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,  # PyTorch's next positional arguments (device, dtype) are not these: keywords only
        init: str | Callable[..., np.ndarray] = "default",
        bias_init: str | Callable[..., np.ndarray] | None = None,
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        in_features = check_integer("Linear", "in_features", in_features, minimum=None)
        out_features = check_integer("Linear", "out_features", out_features, minimum=None)
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear: sizes must be positive, got in_features={in_features}, out_features={out_features}"
            )
        check_flag("Linear", "bias", bias)
        is_seed = isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0
        if not (rng is None or is_seed or isinstance(rng, np.random.Generator)):
            raise TypeError(
                f"Linear: rng must be a seed (a non-negative integer) or a numpy.random.Generator, "
                f"got {describe_value(rng)}"
            )
        self.in_features, self.out_features = in_features, out_features
        generator = _generator(rng)
        weight_init = initializers.resolve(init, "Linear")
        self.weight = Parameter(
            weight_init((out_features, in_features), in_features, out_features, generator), dtype=dtype
        )
        self.bias: Parameter | None = None
        if bias:
            if bias_init is None:
                bias_init = init if (init == "default" or not isinstance(init, str)) else "zeros"
            values = initializers.resolve(bias_init, "Linear", "bias_init")(
                (out_features,), in_features, out_features, generator
            )
            self.bias = Parameter(values, dtype=dtype)

    def forward(self, x: Any) -> Tensor:
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def config(self) -> dict[str, Any]:
        return {
            "type": "Linear",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
        }


class Sequential(Module):
    """Modules applied one after the other.

    >>> from chainrule import nn
    >>> net = nn.Sequential(nn.Linear(4, 16, rng=0), nn.Softplus(), nn.Linear(16, 3, rng=1))
    >>> net(np.zeros((2, 4))).shape
    (2, 3)
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for position, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {position} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def config(self) -> dict[str, Any]:
        return {"type": "Sequential", "layers": [describe(layer) for layer in self.layers]}


class _Activation(Module):
    """A module applying one op elementwise (or along ``axis`` for the softmax family)."""

    function: Callable[..., Tensor]

    def forward(self, x: Any) -> Tensor:
        return type(self).function(x)

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__}


class Sigmoid(_Activation):
    function = staticmethod(ops.sigmoid)


class Tanh(_Activation):
    function = staticmethod(ops.tanh)


class ReLU(_Activation):
    function = staticmethod(ops.relu)


class Softplus(_Activation):
    function = staticmethod(ops.softplus)


class LeakyReLU(Module):
    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = check_number("LeakyReLU", "slope", slope, minimum=None)

    def forward(self, x: Any) -> Tensor:
        return ops.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"

    def config(self) -> dict[str, Any]:
        return {"type": "LeakyReLU", "slope": self.slope}


class Softmax(Module):
    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = check_integer(type(self).__name__, "axis", axis, minimum=None)

    def forward(self, x: Any) -> Tensor:
        return ops.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"

    def config(self) -> dict[str, Any]:
        return {"type": "Softmax", "axis": self.axis}


class LogSoftmax(Softmax):
    def forward(self, x: Any) -> Tensor:
        return ops.log_softmax(x, axis=self.axis)

    def config(self) -> dict[str, Any]:
        return {"type": "LogSoftmax", "axis": self.axis}


class Standardize(Module):
    """``(x − mean) / std`` per feature: preprocessing that travels with the model.

    ``mean`` and ``std`` (one number per feature, std > 0) are buffers, not parameters, as
    PyTorch's running statistics: an optimizer leaves them alone, ``state_dict()`` holds them
    and ``load_state_dict()`` restores them (checked as the constructor checks them), and
    ``describe``/``chainrule.save`` store them in the architecture. Put it first in a
    ``Sequential`` and the model takes raw measurements wherever it is loaded. A float32 input
    stays float32.

    >>> from chainrule import nn
    >>> layer = nn.Standardize(mean=[1.0, 10.0], std=[2.0, 5.0])
    >>> layer
    Standardize(features=2)
    >>> layer(np.array([[3.0, 0.0]]))
    tensor([[ 1., -2.]])
    >>> sorted(layer.state_dict())
    ['mean', 'std']
    """

    buffer_names = ("mean", "std")

    def __init__(self, mean: Any, std: Any) -> None:
        super().__init__()
        try:
            mean, std = np.array(mean, dtype=np.float64), np.array(std, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"Standardize: mean and std must be numbers, got {mean!r} and {std!r}") from None
        if mean.ndim != 1 or mean.shape != std.shape or mean.size == 0:
            raise ShapeError(
                "Standardize: mean and std need one number per feature (1-D, the same length), "
                f"got shapes {format_shape(mean.shape)} and {format_shape(std.shape)}"
            )
        self.check_buffers("Standardize", {"mean": mean, "std": std})
        self.mean, self.std = mean, std

    def check_buffers(self, owner: str, values: dict[str, np.ndarray]) -> None:
        """A mean that is finite and a std that is positive and finite, or a one-line ValueError naming ``owner``."""
        if not np.isfinite(values["mean"]).all():
            raise ValueError(f"{owner}: mean must be finite, got {values['mean'].tolist()}")
        std = values["std"]
        if not (np.isfinite(std).all() and (std > 0).all()):
            raise ValueError(f"{owner}: std must be positive and finite, got {std.tolist()}")

    def forward(self, x: Any) -> Tensor:
        shape = x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)
        if not shape or shape[-1] != self.mean.size:
            raise ShapeError(
                f"Standardize: expects {self.mean.size} features in the last axis, got shape {format_shape(shape)}"
            )
        mean, std = self.mean, self.std
        if getattr(x, "dtype", None) == np.float32:
            mean, std = mean.astype(np.float32), std.astype(np.float32)
        return ops.div(ops.sub(x, mean), std)

    def extra_repr(self) -> str:
        return f"features={self.mean.size}"

    def config(self) -> dict[str, Any]:
        return {"type": "Standardize", "mean": self.mean.tolist(), "std": self.std.tolist()}


class CrossEntropyLoss(Module):
    """``cross_entropy(logits, target)`` as a module (softmax output layer + negative log-likelihood)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def forward(self, logits: Any, target: Any) -> Tensor:
        return ops.cross_entropy(logits, target, reduction=self.reduction)


class MSELoss(CrossEntropyLoss):
    """``mse(prediction, target)`` as a module."""

    def forward(self, prediction: Any, target: Any) -> Tensor:
        return ops.mse(prediction, target, reduction=self.reduction)


class BCELoss(CrossEntropyLoss):
    """``binary_cross_entropy(probabilities, target)`` as a module (``from_logits=True`` for scores)."""

    def __init__(self, reduction: str = "mean", from_logits: bool = False) -> None:
        super().__init__(reduction)
        self.from_logits = check_flag("BCELoss", "from_logits", from_logits)

    def forward(self, prediction: Any, target: Any) -> Tensor:
        return ops.binary_cross_entropy(prediction, target, reduction=self.reduction, from_logits=self.from_logits)


BUILDABLE: dict[str, type[Module]] = {
    cls.__name__: cls
    for cls in (Linear, Sequential, Sigmoid, Tanh, ReLU, Softplus, LeakyReLU, Softmax, LogSoftmax, Standardize)
}
ACTIVATIONS: dict[str, type[Module]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "softplus": Softplus,
    "leaky_relu": LeakyReLU,
}


def describe(module: Module) -> dict[str, Any]:
    """The JSON-able architecture of a built-in module (what ``from_config`` rebuilds)."""
    config = getattr(module, "config", None)
    if config is None or type(module).__name__ not in BUILDABLE:
        raise TypeError(
            f"{type(module).__name__} is not a built-in layer, so its architecture cannot be stored; "
            "build the model from nn.Sequential and built-in layers, or save its state_dict()"
        )
    return config()


def from_config(config: dict[str, Any]) -> Module:
    """Rebuild a module from ``describe(module)``; its parameters are placeholders until loaded."""
    if not isinstance(config, dict) or config.get("type") not in BUILDABLE:
        kind = config.get("type") if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"unknown layer type {kind!r}; known: {', '.join(sorted(BUILDABLE))}")
    kind = config["type"]
    if kind == "Sequential":
        return Sequential(*(from_config(layer) for layer in config["layers"]))
    if kind == "Linear":
        return Linear(int(config["in_features"]), int(config["out_features"]), bias=bool(config["bias"]), init="zeros")
    arguments = {key: value for key, value in config.items() if key != "type"}
    return BUILDABLE[kind](**arguments)
