"""One error family for everything a user can get wrong.

The CLI turns any `ZooError` into one line on stderr and exit code 2; Python
callers can catch the subclass that fits. Messages name the culprit (the file,
the plugin, the key) and the next step.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AmbiguousNameError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DeviceError",
    "PluginError",
    "TrainingError",
    "UnknownNameError",
    "ZooError",
    "ZooPluginWarning",
    "close_matches",
]


class ZooError(Exception):
    """Base class of every error zoo raises on purpose."""


class UnknownNameError(ZooError, LookupError):
    """A model, dataset, task, init or loss name that no plugin registered."""


class AmbiguousNameError(ZooError, LookupError):
    """Two distributions registered the same name; `dist:name` picks one."""


class ConfigError(ZooError, ValueError):
    """A configuration key or value that does not fit its declaration."""


class CheckpointError(ZooError):
    """A weights file that cannot be read, written or trusted."""


class PluginError(ZooError):
    """A plugin that failed to import or raised inside one of its hooks."""


class DataError(ZooError):
    """A dataset that cannot be built from the given options or files."""


class DeviceError(ZooError):
    """A device that was asked for but is not available."""


class TrainingError(ZooError):
    """Training had to stop (for example, the loss became non-finite)."""


class ZooPluginWarning(UserWarning):
    """Warns once about a plugin that could not be loaded."""


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return ' (did you mean a, b?)' for the nearest candidates, or ''."""
    matches = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)
    if not matches:
        return ""
    return f" (did you mean {', '.join(matches)}?)"
