"""Weight initialisations: each is a function ``(shape, fan_in, fan_out, rng) -> ndarray``.

``Linear(init=...)`` takes one of these names or any function of that signature:

==================  ==============================================  ===================
name                weights                                         used for
==================  ==============================================  ===================
``"default"``       U(−1/√fan_in, 1/√fan_in) (PyTorch's default)    any
``"xavier"``        U(±√(6/(fan_in+fan_out))) (Glorot uniform)      tanh, sigmoid
``"xavier_normal"`` N(0, 2/(fan_in+fan_out))                        tanh, sigmoid
``"he"``            N(0, 2/fan_in) (Kaiming normal)                 relu
``"he_uniform"``    U(±√(6/fan_in))                                 relu
``normal(μ, σ)``    N(μ, σ²) for weights and biases (as in the      the Iris seed
                    Iris seed report)
==================  ==============================================  ===================
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import describe_value

Initializer = Callable[[tuple[int, ...], int, int, np.random.Generator], np.ndarray]


def default(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    bound = 1 / np.sqrt(fan_in) if fan_in else 0.0
    return rng.uniform(-bound, bound, size=shape)


def xavier(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    bound = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2 / (fan_in + fan_out)), size=shape)


def he(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2 / fan_in), size=shape)


def he_uniform(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    bound = np.sqrt(6 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def zeros(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    return np.zeros(shape)


def normal(mean: float = 0.0, std: float = 1.0) -> Initializer:
    """N(mean, std²) for every element (the Iris seed draws weights and biases this way)."""

    def initialize(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(mean, std, size=shape)

    initialize.__name__ = f"normal({mean}, {std})"
    return initialize


NAMED: dict[str, Initializer] = {
    "default": default,
    "xavier": xavier,
    "glorot": xavier,
    "xavier_normal": xavier_normal,
    "he": he,
    "kaiming": he,
    "he_uniform": he_uniform,
    "zeros": zeros,
}


def resolve(init: str | Initializer, owner: str | None = None, name: str = "init") -> Initializer:
    """The initializer for a name or function; unknown names list the known ones (the error names ``owner``)."""
    if callable(init):
        return init
    prefix = f"{owner}: " if owner else ""
    if not isinstance(init, str):
        raise TypeError(
            f"{prefix}{name} must be the name of an initialisation or a function, got {describe_value(init)}"
        )
    if init not in NAMED:
        raise ValueError(
            f"{prefix}unknown {name} {init!r}; choose one of {', '.join(sorted(NAMED))} or pass a function"
        )
    return NAMED[init]
