"""Watching the engine at work: one mechanism for every hook on ops, backward steps and value reads.

An *observer* is told what the engine does in the thread that installed it: each op applied
(with its node, inputs, options and result), each node's backward step, each value that
leaves tensor ops (``.item()``, ``float()``, ``bool()``…) and each change in place. The engine's
own checks are observers: ``detect_anomaly()`` (the user's line of each op, NaN and inf checks,
checksums of saved arrays) and ``chainrule.trace`` while it records ``f`` (the ops, and the
refusal of values and changes a replay could not repeat). Your own hooks are written the same
way, for instance to count ops or log their shapes::

    >>> import chainrule as cr
    >>> from chainrule.engine.observers import Observer, observe
    >>> class CountOps(Observer):
    ...     def __init__(self):
    ...         self.names = []
    ...     def op_applied(self, node, inputs, options, out):
    ...         self.names.append(node.name)
    >>> counter = CountOps()
    >>> with observe(counter):
    ...     y = cr.exp(cr.tensor([1.0, 2.0], requires_grad=True)).sum()
    >>> counter.names
    ['exp', 'sum']

While no thread has an observer (nearly always), an op pays one read of a module global
(``_threads_on``) for all of this; with one, ops take a slower path that calls each observer.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class Observer:
    """Base class of observers: override the methods for what you want to see (each does nothing here).

    ``wants_locations``: ops record the line of user code that called them (``node.created_at``),
    which costs a walk up the Python stack per op. ``quiet_numpy``: forward and backward run with
    NumPy's floating-point warnings off (an observer that checks the values reports them better).
    """

    wants_locations: bool = False
    quiet_numpy: bool = False

    def op_applied(self, node: Any, inputs: tuple[Any, ...], options: dict[str, Any], out: Any) -> None:
        """After an op's forward: ``out.grad_fn`` is ``node`` when the op was recorded in the graph."""

    def before_backward(self, node: Any, grad_out: Any) -> None:
        """Before ``node``'s backward (or differentiable ``vjp``) runs with ``grad_out``."""

    def after_backward(self, node: Any, input_grads: tuple[Any, ...]) -> None:
        """After ``node``'s backward: one gradient (or None) per input."""

    def value_read(self, tensor: Any, how: str) -> None:
        """A tensor's value left tensor ops (``how``: ``.item()``, ``float()``, ``bool()``, ``.numpy()``…)."""

    def changed_in_place(self, tensor: Any, symbol: str, location: str) -> None:
        """``tensor`` is about to be changed in place by ``symbol`` (``+=``…) at ``location``."""


class _ThreadState(threading.local):
    observers: tuple[Observer, ...] = ()  # this thread's, innermost last


_state = _ThreadState()
_threads_on = 0  # threads with at least one observer now; while 0, ops never read _state
_lock = threading.Lock()


def active() -> tuple[Observer, ...]:
    """This thread's observers (empty nearly always)."""
    return _state.observers if _threads_on else ()


class observe:  # noqa: N801 - used like a function
    """Context manager: ``observer`` sees every op, backward step and value read in this thread while inside."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer

    def __enter__(self) -> Observer:
        global _threads_on
        if not _state.observers:
            with _lock:
                _threads_on += 1
        _state.observers = _state.observers + (self.observer,)
        return self.observer

    def __exit__(self, *exc_info: object) -> None:
        global _threads_on
        _state.observers = tuple(item for item in _state.observers if item is not self.observer)
        if not _state.observers:
            with _lock:
                _threads_on -= 1


def wants_locations() -> bool:
    return any(observer.wants_locations for observer in active())


def quiet_numpy() -> bool:
    return any(observer.quiet_numpy for observer in active())


def op_applied(node: Any, inputs: tuple[Any, ...], options: dict[str, Any], out: Any) -> None:
    for observer in active():
        observer.op_applied(node, inputs, options, out)


def value_read(tensor: Any, how: str) -> None:
    for observer in active():
        observer.value_read(tensor, how)


def changed_in_place(tensor: Any, symbol: str, location: str) -> None:
    for observer in active():
        observer.changed_in_place(tensor, symbol, location)


def observed_backward(node: Any, grad_out: Any, differentiable: bool = False) -> Any:
    """``node.backward(grad_out)`` (or ``node.vjp`` on tensors), shown to this thread's observers before and after."""
    watching = active()
    for observer in watching:
        observer.before_backward(node, grad_out)
    if differentiable:
        input_grads = node.vjp(grad_out, *node.inputs)
    elif any(observer.quiet_numpy for observer in watching):
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            input_grads = node.backward(grad_out)
    else:
        input_grads = node.backward(grad_out)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    for observer in watching:
        observer.after_backward(node, input_grads)
    return input_grads
