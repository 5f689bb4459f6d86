"""Dropout: zero each element with probability p while training, scaling the rest by 1/(1 − p).

The mask is drawn inside the op's forward, so a ``chainrule.trace`` replay draws a fresh mask
at every step, as eager code does. Where it comes from:

* ``rng=None``: the default generator (``chainrule.manual_seed`` makes runs repeat);
* a ``numpy.random.Generator``: drawn from it, a new mask at each call;
* a seed (an int): the same mask at every call, what a gradient check needs (``gradcheck``
  evaluates the function many times and must see one function, not a new one each time).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..engine.recording import recording_trace
from ..engine.function import Function, named
from ..engine.tensor import Tensor, tensor as _tensor
from ..errors import check_flag, describe_value
from ..random import default_generator


class Dropout(Function):
    """d/dx dropout(x) = mask / (1 − p): 1/(1 − p) where the element was kept, 0 where it was dropped"""

    def formula(self, names):
        return f"dropout({names[0]}, p={self.options['p']})"

    def forward(self, x, p, rng):
        generator = np.random.default_rng(rng) if isinstance(rng, numbers.Integral) else rng or default_generator()
        if not recording_trace():
            kept = generator.random(x.shape) >= p
        else:  # a trace's recording run, replayed at once: the replay draws the mask, as one eager call would
            state = generator.bit_generator.state
            kept = generator.random(x.shape) >= p
            generator.bit_generator.state = state
        self.scale = kept * np.asarray(1 / (1 - p), dtype=x.dtype if x.dtype.kind == "f" else np.float64)
        return x * self.scale

    def backward(self, grad_out):
        return grad_out * self.scale


def dropout(
    x: Any, p: float = 0.5, training: bool = True, rng: int | np.random.Generator | None = None, name: str | None = None
) -> Tensor:
    """Zero each element with probability ``p`` and scale the others by 1/(1 − p) when ``training``; else x itself.

    >>> import chainrule as cr
    >>> cr.dropout(cr.tensor([1.0, 2.0, 3.0, 4.0]), p=0.5, rng=0)
    tensor([2., 0., 0., 0.])
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1), got {describe_value(p)}")
    check_flag("dropout", "training", training)
    seed = isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0
    if not (rng is None or seed or isinstance(rng, np.random.Generator)):
        raise TypeError(
            f"dropout: rng must be a seed (a non-negative integer) or a numpy.random.Generator, got {describe_value(rng)}"
        )
    if not training or p == 0:
        return named(x if isinstance(x, Tensor) else _tensor(x), name)
    return named(Dropout.apply(x, p=float(p), rng=int(rng) if seed else rng), name)
