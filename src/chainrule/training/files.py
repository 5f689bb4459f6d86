"""Atomic file writes: a crash mid-write never leaves a half file where a good one was."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

SPECIAL_FILES = {
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
}


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside ``path``, then rename it over ``path`` in one step.

    The rename happens only when the block finishes without an exception; otherwise the
    temporary file is removed and ``path`` is untouched. Missing folders are created. A
    symbolic link is written through: its target gets the new contents and the link stays.
    A destination that is not a regular file (a folder, a device, a named pipe, a socket) is
    refused before anything is written. An ``OSError`` names ``path`` as given (never the
    hidden temporary file) and says why.
    """
    shown = os.fspath(path)
    path = destination(path)
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


def destination(path: str | Path) -> Path:
    """The regular file that writing to ``path`` replaces: ``path`` itself, or the target of a symbolic link.

    Raises a one-line ``OSError`` naming ``path`` as given when it is empty, a folder, or a
    special file (device, named pipe, socket) that a rename would destroy.
    """
    shown = os.fspath(path)
    if not shown:
        raise FileNotFoundError("cannot save to an empty path; give a file name")
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path  # a new file (or the new target of a dangling link)
    except OSError as error:  # a loop of links, a file used as a folder, no permission to look
        raise _naming_the_path(error, shown, path) from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"cannot save to {shown}: it is a folder; give a file name inside it")
    if not stat.S_ISREG(mode):
        kind = SPECIAL_FILES.get(stat.S_IFMT(mode), "not a regular file")
        raise OSError(f"cannot save to {shown}: it is {kind}, not a regular file; give another file name")
    return path


def check_writable(path: str | Path) -> Path:
    """Fail now, before long work, when ``atomic_write(path)`` could not write; returns the file it would replace.

    Checks what can be known without writing: the destination (see ``destination``) and its
    folder, or the nearest folder that exists above it (missing folders are created then).
    """
    shown = os.fspath(path)
    target = destination(path)
    folder = _nearest_existing(target.parent)
    if not folder.is_dir():
        raise _naming_the_path(NotADirectoryError(errno.ENOTDIR, "Not a directory"), shown, target)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _naming_the_path(PermissionError(errno.EACCES, "Permission denied"), shown, target)
    return target


def _nearest_existing(folder: Path) -> Path:
    """``folder``, or the nearest folder above it that exists (or a file in the way)."""
    return next((candidate for candidate in (folder, *folder.parents) if candidate.exists()), folder)


def _naming_the_path(error: OSError, shown: str, path: Path, temporary: str | None = None) -> OSError:
    """The same kind of error, its message naming the path the user gave and the reason."""
    existing = _nearest_existing(path.parent)
    folder = "the current folder" if str(existing) == "." else f"the folder {existing}"
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
