"""The list of timm's architectures, kept in a JSON file so that listing never imports timm.

`import timm` takes seconds and imports torch, yet `zoo list` must stay fast
and torch-free. So the architectures (each with the timm module that defines
it) are read once from timm and written to `<cache>/timm/architectures.json`
(`zoo.cache_dir()`), keyed by timm's installed version, which
`importlib.metadata` reads without importing timm. The file is rebuilt when
timm's version changes and whenever it is missing, unreadable or malformed;
when it cannot be written the list is simply rebuilt in memory each time.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from zoo.errors import PluginError, ZooError
from zoo.files import atomic_write_text, cache_dir

__all__ = ["FORMAT", "Architecture", "architectures", "cache_path", "timm_version"]

#: Bumped whenever the file's layout changes, so older files are rebuilt.
FORMAT = 1
_ARCHITECTURE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Architecture:
    """One timm architecture: the name `timm.create_model` takes and the module defining it."""

    name: str
    module: str


def cache_path() -> Path:
    """Where the architecture list is kept."""
    return cache_dir() / "timm" / "architectures.json"


def timm_version() -> str:
    """The installed timm's version, read from its metadata (timm itself is not imported)."""
    try:
        return metadata.version("timm")
    except metadata.PackageNotFoundError:
        raise PluginError("timm is not installed; install it with 'pip install timm'") from None


def architectures() -> list[Architecture]:
    """timm's architectures, sorted by name: from the cache file, or from timm (then cached)."""
    version = timm_version()
    path = cache_path()
    cached = _read(path, version)
    if cached is not None:
        return cached
    found = _from_timm()
    document = {
        "format": FORMAT,
        "timm_version": version,
        "architectures": [[a.name, a.module] for a in found],
    }
    with contextlib.suppress(ZooError):  # an unwritable cache costs time, never the listing
        atomic_write_text(path, json.dumps(document, separators=(",", ":")) + "\n")
    return found


def _read(path: Path, version: str) -> list[Architecture] | None:
    """The cached list when the file is valid and made for this timm version, else None."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not (
        isinstance(document, dict)
        and document.get("format") == FORMAT
        and document.get("timm_version") == version
        and isinstance(document.get("architectures"), list)
        and document["architectures"]
    ):
        return None
    found = []
    for row in document["architectures"]:
        if not (
            isinstance(row, list)
            and len(row) == 2
            and all(isinstance(part, str) for part in row)
            and _ARCHITECTURE.match(row[0])
            and _MODULE.match(row[1])
        ):
            return None
        found.append(Architecture(row[0], row[1]))
    names = [a.name for a in found]
    if names != sorted(set(names)):
        return None  # duplicates or out of order: not a file this module wrote
    return found


def _from_timm() -> list[Architecture]:
    """Ask timm itself (slow: imports timm and torch)."""
    import timm

    found = {
        name: module for module in timm.list_modules() for name in timm.list_models(module=module)
    }
    # Every listed architecture has a module; keep any that would not, rather than lose it.
    for name in timm.list_models():
        found.setdefault(name, "timm")
    return [Architecture(name, found[name]) for name in sorted(found)]
