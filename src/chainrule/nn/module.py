"""``Module`` and ``Parameter``: networks as objects whose parameters are found by attribute.

A module's parameters are the ``Parameter`` attributes it holds (alone, in lists or in dicts), and
those of the modules (and lists and dicts of modules) it holds, in the order they were assigned, with dotted
names such as ``layers.0.weight`` (``blocks.conv.weight`` for a dict). Its buffers are the arrays
named in ``buffer_names`` (the class's, or the module's own where it depends on the arguments):
state that is saved and loaded with the parameters but never trained (``nn.Standardize``'s mean
and std, as PyTorch's running statistics).
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterator

import numpy as np

from ..errors import ChainruleError, ShapeError, format_shape
from ..engine.tensor import FLOAT_DTYPES, Tensor


class Parameter(Tensor):
    """A tensor that a module trains: a leaf with ``requires_grad=True``.

    >>> from chainrule import nn
    >>> nn.Parameter([1.0, 2.0])
    Parameter([1., 2.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("tensor") :]


class StateDictError(ChainruleError, KeyError):
    """A state whose names do not match the module's (a ``KeyError`` whose message is shown without quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Module:
    """Base class of layers and networks: subclass it and write ``forward``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 8, rng=0)
    ...         self.out = nn.Linear(8, 3, rng=1)
    ...     def forward(self, x):
    ...         return self.out(cr.tanh(self.hidden(x)))
    >>> net = TwoLayer()
    >>> [name for name, _ in net.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> net.num_parameters()
    67
    """

    training: bool
    buffer_names: ClassVar[tuple[str, ...]] = ()  # array attributes that are state but not parameters

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ----------------------------------------------------------------- parameters
    def children(self) -> Iterator[tuple[str, Module]]:
        """The modules held directly, with their attribute names (list items as ``name.index``)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple, dict)):
                for key, item in _items(value):
                    if isinstance(item, Module):
                        yield f"{name}.{key}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name, each parameter once, in assignment order."""
        seen: set[int] = set()
        for name, parameter in self._walk_parameters(prefix):
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter

    def _walk_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, (list, tuple, dict)):
                for key, item in _items(value):
                    if isinstance(item, Parameter):
                        yield f"{prefix}{name}.{key}", item
        for name, child in self.children():
            yield from child._walk_parameters(f"{prefix}{name}.")

    def parameters(self) -> list[Parameter]:
        """All parameters (what an optimizer takes)."""
        return [parameter for _, parameter in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers the module learns."""
        return sum(parameter.size for parameter in self.parameters())

    def zero_grad(self) -> None:
        """Clear the gradient of every parameter."""
        for parameter in self.parameters():
            parameter.grad = None

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Every buffer (state that is not trained, such as ``Standardize``'s mean) with its dotted name."""
        for name, (module, attribute) in self._buffer_owners(prefix).items():
            yield name, getattr(module, attribute)

    def _buffer_owners(self, prefix: str = "") -> dict[str, tuple[Module, str]]:
        """Each buffer's dotted name, with the module that holds it and its attribute there."""
        owners = {prefix + attribute: (self, attribute) for attribute in self.buffer_names}
        for name, child in self.children():
            owners.update(child._buffer_owners(f"{prefix}{name}."))
        return owners

    def check_buffers(self, owner: str, values: dict[str, np.ndarray]) -> None:
        """Raise a one-line error naming ``owner`` if ``values`` (by attribute) cannot be this module's buffers."""

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values and every buffer, by dotted name.

        >>> from chainrule import nn
        >>> list(nn.Sequential(nn.Standardize([0.0], [1.0]), nn.Linear(1, 1)).state_dict())
        ['layers.1.weight', 'layers.1.bias', 'layers.0.mean', 'layers.0.std']
        """
        state = {name: parameter.data.copy() for name, parameter in self.named_parameters()}
        state.update((name, np.array(values, copy=True)) for name, values in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy values into the parameters and buffers; names and shapes must match exactly.

        Everything is checked before anything is copied: on an error the module is unchanged.
        """
        own = {name: parameter.data for name, parameter in self.named_parameters()}
        owners = self._buffer_owners()
        own.update((name, getattr(module, attribute)) for name, (module, attribute) in owners.items())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if unexpected:
                parts.append("unexpected " + ", ".join(unexpected))
            raise StateDictError(f"load_state_dict: {'; '.join(parts)}")
        checked = {}
        for name, current in own.items():
            values = np.asarray(state[name])
            if values.shape != current.shape:
                raise ShapeError(
                    f"load_state_dict: {name} has shape {format_shape(current.shape)} in the model "
                    f"but {format_shape(values.shape)} in the state"
                )
            if values.dtype.kind not in "iuf":
                raise TypeError(f"load_state_dict: {name} holds {values.dtype} values, not numbers")
            checked[name] = values
        modules = {id(module): (module, name.rpartition(".")[0]) for name, (module, _) in owners.items()}
        for module, path in modules.values():
            buffers = {attribute: checked[name] for name, (held_by, attribute) in owners.items() if held_by is module}
            module.check_buffers(f"load_state_dict: {path or type(module).__name__}", buffers)
        for name, current in own.items():
            current[...] = checked[name]

    def train(self, mode: bool = True) -> Module:
        """Switch to training mode (or evaluation mode with ``mode=False``), recursively."""
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode, recursively."""
        return self.train(False)

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter to ``dtype`` (float32 or float64) in place; returns the module."""
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"astype: parameters must be floating point, got {dtype}")
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = None
        return self

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """Text shown inside the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        children = list(self.children())
        count = self.num_parameters()
        suffix = f"  # {count:,} parameters" if count else ""
        if not children:
            return f"{type(self).__name__}({self.extra_repr()}){suffix}"
        lines = [f"{type(self).__name__}({self.extra_repr()}{suffix}"]
        for name, child in children:
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        lines.append(")")
        return "\n".join(lines)


def _items(container: list | tuple | dict) -> Iterator[tuple[Any, Any]]:
    """(key, item) pairs of a list or tuple (the index) or a dict (the key), as dotted names use them."""
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)
