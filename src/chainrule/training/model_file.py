"""Model files: weights in ``.npz`` (read with ``allow_pickle=False``) plus the architecture as JSON.

Loading never executes code: the archive holds plain numeric arrays and one JSON header that
names built-in layers only. Writes are atomic. Every way a file can be wrong (missing,
truncated, corrupt, written by something else, not matching its own architecture) gets a
one-line ``ModelFileError``.

    >>> import os, tempfile
    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> net = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Softmax())
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> cr.save(net, path, metadata={"classes": ["a", "b", "c"]})
    >>> again = cr.load(path)
    >>> again.metadata["classes"], bool((again.layers[0].weight.data == net.layers[0].weight.data).all())
    (['a', 'b', 'c'], True)
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChainruleError, format_shape
from .files import atomic_write
from ..nn import Module, Sequential, Standardize, describe, from_config

FORMAT = "chainrule-model"
VERSION = 1
HEADER_KEY = "__chainrule__"
PARAMETER_PREFIX = "parameter:"
BUFFER_PREFIX = "buffer:"


class ModelFileError(ChainruleError, ValueError):
    """A model file that cannot be loaded, with the reason in one line."""


def save(model: Module, path: str | Path, metadata: dict[str, Any] | None = None) -> None:
    """Write ``model`` (its architecture and weights) and JSON-able ``metadata`` to ``path`` atomically."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": describe(model),
        "metadata": metadata or {},
        "buffers": True,  # every buffer is stored (batch norm's running statistics); older files kept none
        "training": bool(model.training),  # the mode load() gives back (dropout and batch norm depend on it)
    }
    try:
        header_bytes = json.dumps(header).encode("utf-8")
    except TypeError as error:
        raise TypeError(f"save: metadata must be JSON-serialisable ({error})") from None
    arrays = {PARAMETER_PREFIX + name: parameter.data for name, parameter in model.named_parameters()}
    arrays.update((BUFFER_PREFIX + name, np.asarray(values)) for name, values in model.named_buffers())
    arrays[HEADER_KEY] = np.frombuffer(header_bytes, dtype=np.uint8)
    with atomic_write(path) as handle:
        np.savez(handle, **arrays)


def load(path: str | Path) -> Module:
    """Rebuild the model saved at ``path``, in the mode it was saved in (``eval()`` or ``train()``).

    Its ``metadata`` dictionary is attached as ``model.metadata``.

    Models that ``chainrule train --save`` wrote before the standardisation became the model's
    first layer kept it in their metadata (``"standardizer"``); such a model is loaded with an
    ``nn.Standardize`` layer put first, so that it takes raw measurements as newer files do.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ModelFileError(f"load: {path} does not exist" if not path.exists() else f"load: {path} is not a file")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"load: {name} is not a chainrule model file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if HEADER_KEY not in archive.files:
                raise ModelFileError(f"load: {name} is an .npz archive but not a chainrule model (no chainrule header)")
            header = _read_header(name, archive[HEADER_KEY])
            arrays = {
                key[len(PARAMETER_PREFIX) :]: archive[key] for key in archive.files if key.startswith(PARAMETER_PREFIX)
            }
            buffers = {
                key[len(BUFFER_PREFIX) :]: archive[key] for key in archive.files if key.startswith(BUFFER_PREFIX)
            }
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise ModelFileError(f"load: {name} is damaged or truncated ({_one_line(error)})") from None
    try:
        model = from_config(header["architecture"])
    except (ValueError, TypeError, KeyError) as error:
        raise ModelFileError(
            f"load: {name} describes an architecture chainrule cannot build ({_one_line(error)})"
        ) from None
    expected = dict(model.named_parameters())
    _check_names(name, "weights", expected, arrays)
    for key, parameter in expected.items():
        values = arrays[key]
        if values.shape != parameter.shape:
            raise ModelFileError(
                f"load: {name}: {key} has shape {format_shape(values.shape)} but the architecture needs "
                f"{format_shape(parameter.shape)}"
            )
        if values.dtype.kind != "f":
            raise ModelFileError(f"load: {name}: {key} holds {values.dtype} values, not floating-point weights")
        parameter.data = values.copy()
    if header.get("buffers") or buffers:
        _load_buffers(name, model, buffers)
    metadata = header.get("metadata", {})
    if isinstance(metadata, dict) and metadata.get("task") == "iris" and "standardizer" in metadata:
        model, metadata = _standardizing_first(name, model, metadata)
    # the mode it was saved in, as PyTorch's whole-model files keep it; files without it (before dropout and
    # batch norm existed, when the mode changed nothing) load for predictions, in eval mode
    model.train(header.get("training") is True)
    model.metadata = metadata  # type: ignore[attr-defined]
    return model


def _check_names(name: str, kind: str, expected: dict[str, Any], stored: dict[str, np.ndarray]) -> None:
    """A ModelFileError unless the file stores exactly the ``kind`` (weights, buffers) the architecture has."""
    missing = sorted(set(expected) - set(stored))
    if missing:
        raise ModelFileError(f"load: {name} lacks the {kind} of {', '.join(missing)}")
    unexpected = sorted(set(stored) - set(expected))
    if unexpected:
        raise ModelFileError(f"load: {name} holds {kind} its architecture does not use: {', '.join(unexpected)}")


def _load_buffers(name: str, model: Module, buffers: dict[str, np.ndarray]) -> None:
    """Put the stored buffers (running statistics) into ``model``, checked as its weights are.

    Files written before buffers were stored have none: their only buffers (``Standardize``'s)
    came from the architecture.
    """
    _check_names(name, "buffers", model._buffer_owners(), buffers)
    try:
        model.load_state_dict({**model.state_dict(), **buffers})
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"load: {name}: {_one_line(error)}") from None


def _standardizing_first(name: str, model: Module, metadata: dict[str, Any]) -> tuple[Module, dict[str, Any]]:
    """A file of ``chainrule train --save`` from before ``nn.Standardize``: move its standardisation into the model."""
    metadata = dict(metadata)
    values = metadata.pop("standardizer")
    try:
        layer = Standardize(values["mean"], values["std"])
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(f"load: {name} holds a damaged standardizer ({_one_line(error)})") from None
    if not isinstance(model, Sequential):
        raise ModelFileError(f"load: {name} holds a standardizer but its model is not a Sequential")
    return Sequential(layer, *model.layers), metadata


def _read_header(name: str, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"load: {name} has a malformed chainrule header")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"load: {name} has a damaged chainrule header (not valid JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"load: {name} is not a chainrule model file (unknown header)")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ModelFileError(
            f"load: {name} was written in model format {version!r}; this chainrule reads format {VERSION}"
        )
    return header


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
