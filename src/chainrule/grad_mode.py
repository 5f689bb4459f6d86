"""Whether operations record a graph: ``no_grad()`` and ``enable_grad()``.

The switch is one module-level flag read by every op, so turning recording off costs nothing.
It is global to the process (not per thread).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

_enabled = True

F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True when new operations are recorded for ``backward()``."""
    return _enabled


class _GradMode:
    """Context manager (and decorator) that sets recording on or off and restores it after."""

    mode: bool

    def __enter__(self) -> None:
        global _enabled
        self._previous = _enabled
        _enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        global _enabled
        _enabled = self._previous

    def __call__(self, function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Turn graph recording off: results have no ``grad_fn`` and never require grad.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradMode):
    """Turn graph recording back on, for example inside a ``no_grad()`` block."""

    mode = True
