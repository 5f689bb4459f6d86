"""Atomic file writes: a crash mid-write never leaves a half file where a good one was."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside ``path``, then rename it over ``path`` in one step.

    The rename happens only when the block finishes without an exception; otherwise the
    temporary file is removed and ``path`` is untouched. Missing folders are created. An
    ``OSError`` names ``path`` as given (never the hidden temporary file) and says why.
    """
    shown = os.fspath(path)
    path = Path(path)
    if not shown:
        raise FileNotFoundError("cannot save to an empty path; give a file name")
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {shown}: it is a folder; give a file name inside it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    except OSError as error:
        raise _naming_the_path(error, shown, path) from None
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, _mode_for(path))
        os.replace(handle.name, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        if isinstance(error, OSError):
            raise _naming_the_path(error, shown, path, handle.name) from None
        raise


def _naming_the_path(error: OSError, shown: str, path: Path, temporary: str | None = None) -> OSError:
    """The same kind of error, its message naming the path the user gave and the reason."""
    folder = "the current folder" if str(path.parent) == "." else f"the folder {path.parent}"
    blocking_file = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    if blocking_file is not None:
        reason = f"{blocking_file} is a file, not a folder"
    elif isinstance(error, PermissionError):
        reason = f"no permission to write in {folder}"
    elif isinstance(error, IsADirectoryError) or path.is_dir():
        reason = "it is a folder; give a file name inside it"
    else:
        reason = error.strerror or str(error)
        if temporary:
            reason = reason.replace(temporary, shown)
    return type(error)(f"cannot save to {shown}: {reason}")


def _mode_for(path: Path) -> int:
    """The permissions a plain ``open(path, "w")`` would give: the old file's, or 0o666 less the umask."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
