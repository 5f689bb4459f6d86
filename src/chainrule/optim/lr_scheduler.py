"""Learning-rate schedules, PyTorch's ``torch.optim.lr_scheduler`` with its formulas and API.

A scheduler sets the optimizer's learning rate (``optimizer.param_groups[0]["lr"]``); call its
``step()`` once per epoch, after the optimizer's steps of that epoch::

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(...)        # optimizer.step() for each batch
        scheduler.step()

``last_epoch`` counts the scheduler's steps (0 once it is built); ``get_last_lr()`` gives the
learning rates it set last, one per parameter group. Each schedule updates the learning rate
from the current one (PyTorch's recursive form), so the numbers equal PyTorch's step by step;
the closed form each one follows is in its docstring. ``state_dict()`` and ``load_state_dict()``
resume a schedule exactly (save the optimizer's state too: it holds the learning rate).

>>> import chainrule as cr
>>> w = cr.tensor([1.0], requires_grad=True)
>>> optimizer = cr.optim.SGD([w], lr=1.0)
>>> scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
>>> rates = []
>>> for epoch in range(5):
...     rates.append(scheduler.get_last_lr()[0]); optimizer.step(); scheduler.step()
>>> rates
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import check_integer, check_number, describe_value
from . import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"]


class LRScheduler:
    """Base class: remembers the initial learning rates (``base_lrs``) and sets new ones at each ``step()``.

    A subclass's ``get_lr()`` gives the learning rates for epoch ``last_epoch`` from the
    current ones; ``self._initial`` is True for the call made while the scheduler is built.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{owner}: optimizer must be a chainrule optimizer such as optim.SGD(model.parameters(), lr=0.1), "
                f"got {describe_value(optimizer)}"
            )
        if check_integer(owner, "last_epoch", last_epoch, minimum=None) != -1:
            raise ValueError(
                f"{owner}: build a scheduler with last_epoch=-1; to resume one, call load_state_dict() "
                "with its saved state_dict()"
            )
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._step_count = 0
        self._initial = True
        self.step()  # epoch 0: the starting learning rate (LinearLR's start_factor applies here)
        self._initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch and set the optimizer's learning rates for it."""
        self._step_count += 1
        self.last_epoch += 1
        rates = self.get_lr()
        for group, rate in zip(self.optimizer.param_groups, rates):
            group["lr"] = rate
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()`` (one per parameter group)."""
        return list(self._last_lr)

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer: the settings, ``base_lrs``, ``last_epoch`` and the step count."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_initial")}
        state["base_lrs"], state["_last_lr"] = list(self.base_lrs), list(self._last_lr)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from a ``state_dict()`` of a scheduler of the same kind."""
        expected = set(self.state_dict())
        if not isinstance(state, dict) or set(state) != expected:
            given = sorted(state) if isinstance(state, dict) else describe_value(state)
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected a state with keys {sorted(expected)}, got {given}"
            )
        self.__dict__.update({key: list(value) if isinstance(value, list) else value for key, value in state.items()})

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{key}={value}"
            for key, value in self.state_dict().items()
            if not key.startswith("_") and key != "base_lrs"
        )
        return f"{type(self).__name__}({settings})"


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs: lr = base_lr · gamma^⌊epoch/step_size⌋.

    >>> import chainrule as cr
    >>> optimizer = cr.optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1)
    >>> scheduler = StepLR(optimizer, step_size=10)
    >>> for _ in range(25):
    ...     scheduler.step()
    >>> scheduler.last_epoch, round(scheduler.get_last_lr()[0], 12)
    (25, 0.001)
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = check_integer("StepLR", "step_size", step_size)
        self.gamma = check_number("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return self._current()
        return [rate * self.gamma for rate in self._current()]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: lr = base_lr · gamma^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_number("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._initial:
            return self._current()
        return [rate * self.gamma for rate in self._current()]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the initial learning rate down to ``eta_min`` over ``T_max`` epochs (SGDR without restarts).

    lr = eta_min + (base_lr − eta_min)(1 + cos(π·epoch/T_max))/2, reached recursively as PyTorch
    does; past ``T_max`` the rate climbs back along the cosine, as PyTorch's does.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:  # noqa: N803 - PyTorch's name
        self.T_max = check_integer("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_number("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._initial:
            return self._current()
        epoch, period, low = self.last_epoch, self.T_max, self.eta_min
        if (epoch - 1 - period) % (2 * period) == 0:  # at the bottom: the first step back up
            return [
                rate + (base - low) * (1 - math.cos(math.pi / period)) / 2
                for rate, base in zip(self._current(), self.base_lrs)
            ]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period))
        return [ratio * (rate - low) + low for rate in self._current()]


class LinearLR(LRScheduler):
    """Warm-up: scale the learning rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    lr = base_lr · (start_factor + (end_factor − start_factor) · min(epoch, total_iters)/total_iters)

    >>> import chainrule as cr
    >>> optimizer = cr.optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.3)
    >>> scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=3)
    >>> rates = [scheduler.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     scheduler.step(); rates.append(scheduler.get_last_lr()[0])
    >>> [round(rate, 12) for rate in rates]
    [0.03, 0.12, 0.21, 0.3, 0.3]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        self.start_factor = check_number("LinearLR", "start_factor", start_factor)
        self.end_factor = check_number("LinearLR", "end_factor", end_factor)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be greater than 0 and at most 1, got {start_factor}")
        if not self.end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be from 0 to 1, got {end_factor}")
        self.total_iters = check_integer("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [rate * self.start_factor for rate in self._current()]
        if self.last_epoch > self.total_iters:
            return self._current()
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (self.total_iters * self.start_factor + (self.last_epoch - 1) * change)
        return [rate * factor for rate in self._current()]
