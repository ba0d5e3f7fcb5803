"""Typed configuration from one declaration: an entry's `defaults`.

A model's (or dataset's, task's, init's, loss's) `defaults` dict is the single
source of truth for its options: the valid keys, their types (taken from the
default values) and the values recorded in checkpoints. `--set key=value`
strings are typed from it; Python values are checked against it.

Example:
    >>> resolve_config({"hidden": 2, "rate": 0.5}, {"hidden": "3"}, where="model 'x'")
    {'hidden': 3, 'rate': 0.5}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from zoo.errors import ConfigError, close_matches

__all__ = ["SCOPES", "coerce", "json_safe", "parse_settings", "resolve_config", "route_settings"]

SCOPES: tuple[str, ...] = ("model", "dataset", "task", "init", "loss")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _type_name(default: Any) -> str:
    if isinstance(default, bool):
        return "a boolean (true/false)"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, (list, tuple)):
        return "a list"
    if isinstance(default, dict):
        return "a JSON object"
    return "a JSON value"


def coerce(value: Any, default: Any, *, key: str, where: str) -> Any:
    """Return `value` converted to the type of `default`, or raise ConfigError.

    Strings (from the command line) are parsed; other values must already fit.
    """

    def bad(detail: str = "") -> ConfigError:
        return ConfigError(
            f"{where}: {key}={value!r} is not valid: expected {_type_name(default)}{detail}"
        )

    if isinstance(value, str) and not isinstance(default, str):
        return _parse_text(value, default, bad)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise bad()
    if isinstance(default, int):
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad()
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad()
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise bad()
    if isinstance(default, (list, tuple)):
        if isinstance(value, (list, tuple)):
            if default:
                return _items(value, default[0], bad)
            return _json_roundtrip(list(value), bad)
        raise bad()
    if isinstance(default, dict):
        if isinstance(value, Mapping):
            return _json_roundtrip(dict(value), bad)
        raise bad()
    return _json_roundtrip(value, bad)


def _items(values: Any, example: Any, bad: Any) -> list[Any]:
    try:
        return [coerce(v, example, key="item", where="list") for v in values]
    except ConfigError:
        raise bad(f" (each item {_type_name(example)})") from None


def _json_roundtrip(value: Any, bad: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise bad(" (JSON-serialisable)") from exc


def _parse_text(text: str, default: Any, bad: Any) -> Any:
    stripped = text.strip()
    if isinstance(default, bool):
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise bad()
    if isinstance(default, int):
        try:
            return int(stripped.replace("_", ""))
        except ValueError:
            raise bad() from None
    if isinstance(default, float):
        try:
            number = float(stripped)
        except ValueError:
            raise bad() from None
        if not math.isfinite(number):
            raise bad(" (finite)")
        return number
    if isinstance(default, (list, tuple)):
        if stripped.startswith("["):
            try:
                items = json.loads(stripped)
            except ValueError:
                raise bad(" (a JSON list or comma-separated values)") from None
        else:
            items = [part.strip() for part in stripped.split(",") if part.strip()]
        if not isinstance(items, list):
            raise bad()
        if default:
            return _items(items, default[0], bad)
        return items
    try:
        parsed = json.loads(stripped)
    except ValueError:
        if isinstance(default, dict):
            raise bad() from None
        return text
    if isinstance(default, dict) and not isinstance(parsed, dict):
        raise bad()
    return parsed


def resolve_config(
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    *,
    where: str,
) -> dict[str, Any]:
    """Merge `overrides` into `defaults`, rejecting unknown keys and mistyped values."""
    config = dict(defaults)
    for key, value in (overrides or {}).items():
        if key not in defaults:
            raise ConfigError(
                f"{where} has no option '{key}'{close_matches(key, defaults)}; "
                f"valid: {_keys(defaults)}"
            )
        config[key] = coerce(value, defaults[key], key=key, where=where)
    return config


def _keys(defaults: Mapping[str, Any]) -> str:
    return ", ".join(sorted(defaults)) if defaults else "(none)"


def parse_settings(pairs: Iterable[str]) -> dict[str, str]:
    """Turn repeated `key=value` strings into a dict (later ones win)."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {pair!r} (e.g. --set hidden=3)")
        settings[key] = value
    return settings


def route_settings(
    settings: Mapping[str, Any],
    scopes: Mapping[str, tuple[str, Mapping[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Send each setting to the scopes that declare its key.

    `scopes` maps a scope ("model", "dataset", …) to (description, defaults).
    A plain key goes to every scope that has it (so `image_size` can set both the
    model and its dataset); `scope.key` goes to that scope only. Values are typed
    from each scope's defaults.
    """
    routed: dict[str, dict[str, Any]] = {scope: {} for scope in scopes}
    for raw_key, value in settings.items():
        scope, dot, key = raw_key.partition(".")
        if dot and scope in SCOPES:
            if scope not in scopes:
                raise ConfigError(f"'{raw_key}': this run has no {scope}")
            where, defaults = scopes[scope]
            if key not in defaults:
                raise ConfigError(
                    f"{where} has no option '{key}'{close_matches(key, defaults)}; "
                    f"valid: {_keys(defaults)}"
                )
            routed[scope][key] = coerce(value, defaults[key], key=key, where=where)
            continue
        targets = [s for s, (_, defaults) in scopes.items() if raw_key in defaults]
        if not targets:
            every = sorted({k for _, defaults in scopes.values() for k in defaults})
            listing = "; ".join(
                f"{where}: {_keys(defaults)}" for where, defaults in scopes.values() if defaults
            )
            if dot:
                raise ConfigError(
                    f"unknown setting '{raw_key}': '{scope}' is not a scope; write KEY or "
                    f"SCOPE.KEY with SCOPE one of {', '.join(s for s in SCOPES if s in scopes)}"
                )
            raise ConfigError(
                f"unknown setting '{raw_key}'{close_matches(raw_key, every)}; valid keys: {listing}"
            )
        for scope in targets:
            where, defaults = scopes[scope]
            routed[scope][raw_key] = coerce(value, defaults[raw_key], key=raw_key, where=where)
    return routed


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities (which strict JSON cannot hold) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
