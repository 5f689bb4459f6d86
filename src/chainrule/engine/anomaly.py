"""``detect_anomaly()``: stop at the first op whose forward or backward makes a NaN or an infinity.

Inside the context every op remembers the line of user code that called it, checks its
result, and each backward checks the gradients it returns. The first non-finite number
raises ``AnomalyError`` naming the op and that line. Outside the context none of this runs.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 0.0], requires_grad=True)
    >>> with cr.detect_anomaly():
    ...     y = cr.log(x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.engine.anomaly.AnomalyError: detect_anomaly: log produced -inf in its forward pass from finite inputs, at ...
"""

from __future__ import annotations

import linecache
import os
import sys
import threading
import zlib
from typing import Any, Sequence

import numpy as np

from . import versions
from ..errors import ChainruleError


class _ThreadState(threading.local):
    """Each thread's switches, as grad mode's: the class attributes are a new thread's starting values."""

    enabled = False  # ops take the slow path that records the user's line of each op
    check_values = False  # ... and check each result for NaN and inf (detect_anomaly)
    recorder: list[Any] | None = None  # while chainrule.trace records f in this thread: every op applied


_state = _ThreadState()
_threads_on = 0  # threads whose `enabled` is True now; while 0 (nearly always) ops do not read _state
_lock = threading.Lock()


def is_enabled() -> bool:
    """True when ops in this thread take the slow path (inside detect_anomaly, or while a trace records)."""
    return bool(_threads_on) and _state.enabled


def checking_values() -> bool:
    """True inside ``detect_anomaly()`` in this thread."""
    return bool(_threads_on) and _state.check_values


def recorder() -> list[Any] | None:
    """The list a trace recording in this thread appends every op to, or None."""
    return _state.recorder if _threads_on else None


_PACKAGE_DIRECTORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # chainrule/, above engine/


class AnomalyError(ChainruleError, FloatingPointError):
    """A NaN or infinity appeared in an op's forward or backward inside ``detect_anomaly()``."""


class detect_anomaly:  # noqa: N801 - used like a function, as torch.autograd.detect_anomaly
    """Context manager: raise at the first op that turns finite numbers into NaN or ±inf."""

    check_values = True

    def __enter__(self) -> detect_anomaly:
        global _threads_on
        self._previous = (_state.enabled, _state.check_values)
        if not _state.enabled:
            with _lock:
                _threads_on += 1
        _state.enabled, _state.check_values = True, self.check_values
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _threads_on
        enabled, check_values = self._previous
        if not enabled:
            with _lock:
                _threads_on -= 1
        _state.enabled, _state.check_values = enabled, check_values


class record_locations(detect_anomaly):  # noqa: N801
    """Context manager: ops remember the user's line that created them, without any value checks."""

    check_values = False


def user_location() -> str:
    """``file:line: code`` of the innermost caller outside the chainrule package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIRECTORY):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:  # pragma: no cover - only chainrule frames, e.g. an example module
        return "inside chainrule"
    filename, line = frame.f_code.co_filename, frame.f_lineno
    code = linecache.getline(filename, line).strip()
    shown = filename
    if not filename.startswith("<"):
        relative = os.path.relpath(filename)
        shown = filename if relative.startswith("..") else relative
    return f"{shown}:{line}" + (f": {code}" if code else "")


def _describe(values: np.ndarray) -> str:
    if np.isnan(values).any():
        return "nan"
    return "-inf" if np.isneginf(values).any() else "inf"


def check_forward(name: str, inputs: Sequence[Any], output: np.ndarray, location: str) -> None:
    """Raise if ``output`` holds NaN or ±inf although every input was finite."""
    if checking_values() and np.issubdtype(output.dtype, np.floating) and not np.isfinite(output).all():
        finite_inputs = all(np.isfinite(t.data).all() for t in inputs if np.issubdtype(t.data.dtype, np.floating))
        source = "from finite inputs" if finite_inputs else "(an input already held a non-finite value)"
        raise AnomalyError(
            f"detect_anomaly: {name} produced {_describe(output)} in its forward pass {source}, at {location}"
        )


def _checksum(array: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).view(np.uint8))


def take_checksums(node: Any) -> None:
    """Remember a checksum of every array ``node`` saved for its backward (checked by ``checked_backward``).

    A write into ``.data`` (``w.data[0] = 100``) escapes the version stamps of ``versions``; inside
    ``detect_anomaly()`` the checksums catch it.
    """
    node.saved_checksums = [(array, _checksum(array)) for _, array in versions.saved_arrays(node)]


def checked_backward(node: Any, grad_out: np.ndarray) -> tuple[Any, ...]:
    """Run ``node.backward`` and raise if a saved array changed since the forward or a gradient is NaN or ±inf."""
    for array, checksum in getattr(node, "saved_checksums", ()):
        if _checksum(array) != checksum:
            raise AnomalyError(
                f"detect_anomaly: {versions.describe(node, array)} was changed after {node.name} saved it for its "
                f"backward (written into .data?), so the gradient could be wrong; {node.name} was created at "
                f"{getattr(node, 'created_at', 'an unknown line')}"
            )
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        input_grads = node.backward(grad_out)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    if not checking_values():
        return input_grads
    for position, grad in enumerate(input_grads):
        if grad is not None and not np.isfinite(grad).all():
            location = getattr(node, "created_at", "an unknown line")
            raise AnomalyError(
                f"detect_anomaly: the backward of {node.name} produced {_describe(np.asarray(grad))} in the "
                f"gradient of its input {position}, for the op created at {location}"
            )
    return input_grads
