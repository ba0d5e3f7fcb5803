"""Durable file writes (a reader sees the old file or the new one, never half of one),
and the folder where zoo keeps files it derives."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from zoo.errors import ZooError

__all__ = ["atomic_write", "atomic_write_text", "cache_dir"]


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[str], None],
    *,
    error: type[ZooError] = ZooError,
) -> Path:
    """Write through `write(temp_path)` into a temp file beside `path`, fsync, then rename.

    On any failure the temp file is removed and `path` keeps its previous content.
    Example:
        >>> atomic_write_text("/tmp/zoo-example.txt", "hello")  # doctest: +ELLIPSIS
        PosixPath('/tmp/zoo-example.txt')
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(handle)
    except OSError as exc:
        raise error(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        write(temp)
        os.chmod(temp, _mode_for(target))
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
        _fsync_directory(target.parent)
    except OSError as exc:
        _remove(temp)
        raise error(
            f"cannot write {target}: {exc.strerror or exc}; any previous {target.name} is intact"
        ) from exc
    except BaseException:
        _remove(temp)
        raise
    return target


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, error: type[ZooError] = ZooError
) -> Path:
    """Atomically replace a text file (UTF-8)."""

    def write(temp: str) -> None:
        with open(temp, "w", encoding="utf-8") as out:
            out.write(text)

    return atomic_write(path, write, error=error)


def cache_dir() -> Path:
    """Where zoo keeps files it derives: $ZOO_CACHE_DIR, $XDG_CACHE_HOME/zoo or ~/.cache/zoo.

    Only the path: nothing is created. Everything kept there can be rebuilt, so
    deleting the folder is always safe.
    """
    if os.environ.get("ZOO_CACHE_DIR"):
        return Path(os.environ["ZOO_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "zoo"
    return Path.home() / ".cache" / "zoo"


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0o666 minus umask.

    (mkstemp creates its file 0o600, which would hide run folders from other users.)
    """
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _remove(temp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)
