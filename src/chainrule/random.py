"""The default random source: one NumPy generator behind every draw that is not given its own.

Layers built without ``rng=`` (their initial weights), dropout without ``rng=`` and a
``DataLoader`` built with ``seed=None`` all draw from ``default_generator()``, so that
``manual_seed(n)`` makes a whole run repeat bit for bit, as ``torch.manual_seed`` does:

>>> import chainrule as cr
>>> _ = cr.manual_seed(0); first = cr.nn.Linear(3, 2).weight.data
>>> _ = cr.manual_seed(0); again = cr.nn.Linear(3, 2).weight.data
>>> bool((first == again).all())
True

Until ``manual_seed`` is called the generator is seeded from the operating system's entropy.
"""

from __future__ import annotations

import numpy as np

from .errors import check_integer

_generator = np.random.default_rng()


def default_generator() -> np.random.Generator:
    """The generator every unseeded draw uses (the same object for the whole session)."""
    return _generator


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default generator to the stream of ``seed`` (a non-negative integer); returns it.

    The generator object stays the same, so whoever holds it (a DataLoader, a dropout layer)
    follows the new stream too.
    """
    seed = check_integer("manual_seed", "seed", seed, minimum=0)
    _generator.bit_generator.state = np.random.PCG64(seed).state
    return _generator


def as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """``rng`` as a generator: a seed makes a fresh one, a generator is used as is, None is the default one."""
    if rng is None:
        return _generator
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
