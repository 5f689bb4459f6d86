"""Changes in place, and the check that no backward reads a value changed after its forward pass.

An op's forward saves arrays for its backward (``self.x = x``): references to its inputs' and
result's arrays, not copies. Changing one of them in place between the forward and the backward
pass (``w -= lr * w.grad`` inside ``no_grad()``, ``optimizer.step()``) would make the backward
compute the gradient at values the forward never saw: a wrong number, silently. So

* every change in place that chainrule makes (the ``+= -= *= /=`` operators of a tensor, the
  optimizers' steps) is *stamped* on the memory it changed: the array that owns it, so that
  views and ``detach()`` share the stamp. The stamp is a number from ``creation_order``, the
  counter that also numbers the ops as they are recorded (``Function.sequence``);
* ``graph.backward`` compares each node's number with ``latest``, the newest stamp: one integer
  comparison per node. Only a node older than some change has its saved arrays looked up, and
  if one of them was changed after the node was made, ``check_saved`` raises, naming the tensor,
  the op and the line of the change.

Writing into ``.data`` directly (``w.data[0] = 1``) is not seen here, as in PyTorch; inside
``chainrule.detect_anomaly()`` the checksums of ``anomaly`` catch that too.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GraphError, format_shape

if TYPE_CHECKING:  # pragma: no cover
    from .function import Function

#: Numbers ops as they are recorded and changes as they are made: one order for both.
creation_order = itertools.count()
#: The newest stamp; every node made after it has seen every change (-1: nothing was ever changed).
latest = -1
#: id of the array owning changed memory -> [a weak reference to it, the stamp, where it was changed]
_stamps: dict[int, list[Any]] = {}


def owner(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory: itself, or the array it is a view of.

    ``as_strided`` and ``sliding_window_view`` (a convolution's windows) make views whose base
    is a NumPy helper object holding the viewed array as its own ``.base``: followed too.
    """
    while True:
        base = array.base
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)
            if not isinstance(base, np.ndarray):
                return array
        array = base


def stamp(*arrays: np.ndarray, where: Any) -> None:
    """Record that the memory of ``arrays`` was changed in place now, by the code ``where`` names."""
    global latest
    latest = next(creation_order)
    for array in arrays:
        entry = _stamps.get(id(array))
        if entry is not None and entry[0]() is array:  # its own memory, stamped before (every optimizer step)
            entry[1] = latest
            entry[2] = where
            continue
        memory = owner(array)
        entry = _stamps.get(id(memory))
        if entry is not None and entry[0]() is memory:
            entry[1], entry[2] = latest, where
        else:
            key = id(memory)
            _stamps[key] = [weakref.ref(memory, lambda _, key=key: _stamps.pop(key, None)), latest, where]


def _change_after(array: Any, sequence: int) -> str | None:
    """Where ``array``'s memory was changed after the node numbered ``sequence`` was made, or None."""
    if not isinstance(array, np.ndarray):
        return None
    memory = owner(array)
    entry = _stamps.get(id(memory))
    if entry is None or entry[0]() is not memory or entry[1] < sequence:
        return None
    return entry[2]


def saved_arrays(node: Function) -> list[tuple[str, np.ndarray]]:
    """The arrays a node's forward saved for its backward: its attributes, and arrays in tuples or lists."""
    saved = []
    for key, value in vars(node).items():
        if isinstance(value, np.ndarray):
            saved.append((key, value))
        elif isinstance(value, (tuple, list)) and key != "inputs":
            saved += [(key, item) for item in value if isinstance(item, np.ndarray)]
    return saved


def check(node: Function, caller: str = "backward") -> None:
    """``check_saved`` for a node older than the newest change (``graph.backward`` inlines this test)."""
    if node.sequence < latest:
        check_saved(node, caller)


def check_saved(node: Function, caller: str = "backward") -> None:
    """Raise if an array ``node`` saved for its backward was changed in place after the node was made.

    ``caller`` names the function the user called in the message (``backward``, ``explain``).
    """
    for _, array in saved_arrays(node):
        where = _change_after(array, node.sequence)
        if where is not None:
            raise GraphError(
                f"{caller}: {describe(node, array)} was changed in place by {where} after {node.name} saved it "
                f"for its backward, so the gradient could be wrong; compute the loss again after the change "
                f"(or make the change after backward()){_created(node)}"
            )


def check_inputs(node: Function, caller: str = "backward") -> None:
    """Raise if an input of ``node`` was changed in place after the node was made.

    A differentiable backward (``vjp``) computes with the input tensors themselves, not only with
    what the forward saved, so each of their arrays must still hold the values the forward saw.
    """
    for tensor in node.inputs or ():
        where = _change_after(tensor.data, node.sequence)
        if where is not None:
            raise GraphError(
                f"{caller}: {describe(node, tensor.data)} was changed in place by {where} after {node.name} "
                f"used it, so the gradient could be wrong; compute the loss again after the change{_created(node)}"
            )


def describe(node: Function, array: np.ndarray) -> str:
    """Which tensor a saved array belongs to, for a message: its name, or its place among the op's inputs."""
    memory = owner(array)
    for position, tensor in enumerate(node.inputs or ()):
        if owner(tensor.data) is memory:
            name = f"'{tensor.name}'" if tensor.name else f"input {position}"
            return f"{name} of {node.name} (shape {format_shape(tensor.data.shape)})"
    return f"the result of {node.name} (shape {format_shape(array.shape)})"


def _created(node: Function) -> str:
    created_at = getattr(node, "created_at", None)
    if created_at is not None:
        return f"; {node.name} was created at {created_at}"
    return f"; run inside cr.detect_anomaly() to see the line that created {node.name}"
