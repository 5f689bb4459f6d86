"""``ModuleList``, ``ModuleDict`` and ``Embedding``: holders of modules and a lookup table, as in PyTorch.

Modules in a ``ModuleList`` are named by position and those in a ``ModuleDict`` by key, so a
state_dict reads ``blocks.0.weight`` or ``heads.digits.weight``, as PyTorch's does.

>>> from chainrule import nn
>>> class Residual(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.blocks = nn.ModuleList([nn.Linear(4, 4, rng=i) for i in range(2)])
...     def forward(self, x):
...         for block in self.blocks:
...             x = x + block(x)
...         return x
>>> [name for name, _ in Residual().named_parameters()]
['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias']
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from .. import ops
from ..engine.tensor import Tensor
from ..errors import check_integer
from ..random import as_generator
from .module import Module, Parameter


def _module(owner: str, where: str, item: Any) -> Module:
    if not isinstance(item, Module):
        raise TypeError(f"{owner}: {where} is a {type(item).__name__}, not a Module")
    return item


class ModuleList(Module):
    """A list of modules whose parameters the owner finds (``parameters()``, ``state_dict()``, ``train()``)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self._modules: list[Module] = []
        self.extend(modules or [])

    def append(self, module: Module) -> ModuleList:
        self._modules.append(_module("ModuleList", f"item {len(self._modules)}", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        self._modules.insert(index, _module("ModuleList", f"item {index}", module))

    def children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self._modules):
            yield str(index), module

    def __getitem__(self, index: int) -> Module:
        return self._modules[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._modules[index] = _module("ModuleList", f"item {index}", module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward: call its modules (for block in self.blocks: ...)")


class ModuleDict(Module):
    """A dictionary of modules, named by key in ``named_parameters()`` and ``state_dict()``."""

    def __init__(self, modules: dict[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        self._modules: dict[str, Module] = {}
        for key, module in dict(modules or {}).items():
            self[key] = module

    def children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without dots, got {key!r}")
        self._modules[key] = _module("ModuleDict", f"the item {key!r}", module)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Any:
        return self._modules.keys()

    def values(self) -> Any:
        return self._modules.values()

    def items(self) -> Any:
        return self._modules.items()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward: call its modules (self.heads['name'](x))")


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by integer index.

    The weight starts as N(0, 1), as in PyTorch, with the ``padding_idx`` row zero (it gets no gradient).

    >>> from chainrule import nn
    >>> table = nn.Embedding(10, 3, rng=0)
    >>> table(np.array([[1, 2], [3, 4]])).shape
    (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,  # PyTorch's next positional argument is max_norm, not rng: keywords only
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.num_embeddings = check_integer("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_integer("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            padding_idx = check_integer("Embedding", "padding_idx", padding_idx, minimum=None)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} embeddings"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        values = as_generator(rng).normal(size=(num_embeddings, embedding_dim))
        if padding_idx is not None:
            values[padding_idx] = 0
        self.weight = Parameter(values, dtype=dtype)

    def forward(self, indices: Any) -> Tensor:
        return ops.embedding(indices, self.weight, padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"

    def config(self) -> dict[str, Any]:
        return {
            "type": "Embedding",
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
        }
