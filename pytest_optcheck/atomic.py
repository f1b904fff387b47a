"""Writing files so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from pytest_optcheck.errors import OptcheckError


def write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) atomically: see `write_with`."""
    write_with(path, lambda handle: handle.write(text.encode("utf-8")))


def write_with(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Let `write` fill a temporary file beside `path`, flush it to disk, then rename it into place.

    Readers see the old file or the new one, never half of one, whatever interrupts the writer.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OptcheckError(f"cannot write {path}: {exc.strerror or exc}; check the folder's permissions") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _plain_file_mode())  # mkstemp makes files private; these are shared like any file
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OptcheckError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _plain_file_mode() -> int:
    """The mode a plainly created file gets under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed); other processes wait.

    The operating system releases the lock when the holder exits, even when killed,
    so an interrupted run never leaves a stale lock behind.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no cross-process locking; atomic writes still keep files whole
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
