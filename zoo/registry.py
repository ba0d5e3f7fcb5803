"""Find plugins through entry points and keep what they register.

Every model, dataset, task, init scheme, loss and plugin command arrives
through the same door: a module named by an entry point in the ``zoo`` group
whose functions, marked with `zoo.hookimpl`, call the ``register`` callable
they receive.
A plugin that fails to import, or raises inside a hook, contributes nothing
and is reported once; the others carry on.

Example:
    >>> import zoo
    >>> entry = zoo.get_entry("model", "dense-ae")
    >>> entry.distribution, entry.task
    ('zoo', 'reconstruction')
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType, ModuleType
from typing import Any

import pluggy

from zoo import hookspecs
from zoo.errors import (
    AmbiguousNameError,
    PluginError,
    UnknownNameError,
    ZooPluginWarning,
    close_matches,
)

__all__ = [
    "KINDS",
    "Entry",
    "PluginInfo",
    "Registry",
    "get_entry",
    "get_registry",
    "list_entries",
    "list_models",
    "normalize_distribution",
    "reset_registry",
]

#: The kinds of entry, in the order listings show them. A command is a `zoo` subcommand
#: (a click command) that a plugin adds, such as `zoo denoise`.
KINDS: tuple[str, ...] = ("model", "dataset", "task", "init", "loss", "command")
ENTRY_POINT_GROUP = "zoo"
DISABLE_ENV = "ZOO_DISABLE_PLUGINS"

# Trainer options a model may set as its own recipe (`register(..., training=...)`).
TRAINING_KEYS = frozenset(
    {
        "epochs",
        "batch_size",
        "lr",
        "val_fraction",
        "shuffle",
        "log_every",
        "loss",
        "dataset_options",
        "task_options",
        "init_options",
    }
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")


def normalize_distribution(name: str) -> str:
    """Spell a distribution name the way PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _plural(kind: str) -> str:
    return "losses" if kind == "loss" else f"{kind}s"


@dataclass(frozen=True)
class Entry:
    """One registered thing: what it is, how to build it, and who registered it."""

    kind: str
    name: str
    factory: Callable[..., Any] | str
    summary: str
    defaults: Mapping[str, Any]
    tags: tuple[str, ...]
    plugin: str
    distribution: str
    version: str
    task: str | None = None
    dataset: str | None = None
    init: str | None = None
    training: Mapping[str, Any] = field(default_factory=dict)
    _resolved: list[Callable[..., Any]] = field(default_factory=list, repr=False, compare=False)

    @property
    def qualified_name(self) -> str:
        """`distribution:name`, which resolves even when two plugins clash."""
        return f"{self.distribution}:{self.name}"

    @property
    def origin(self) -> str:
        """Who registered this entry, for messages: `plugin (dist version)`."""
        return f"plugin '{self.plugin}' ({self.distribution} {self.version})"

    def load(self) -> Callable[..., Any]:
        """Return the factory, importing a lazy `"module:attr"` string on first use."""
        if self._resolved:
            return self._resolved[0]
        factory = self.factory
        if isinstance(factory, str):
            factory = _import_string(factory, self)
        self._resolved.append(factory)
        return factory

    @property
    def doc(self) -> str:
        """The factory's docstring (imports a lazy factory)."""
        import inspect

        loaded = self.load()
        if self.kind == "command":  # a click command's own docstring is click's
            text = inspect.cleandoc(getattr(loaded, "help", None) or "")
            # click's "\b" lines (keep the next paragraph unwrapped) mean nothing here.
            return "\n".join(line for line in text.splitlines() if line.strip() != "\b")
        return inspect.getdoc(loaded) or ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description, the stable shape of `zoo list --json`."""
        row: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "qualified_name": self.qualified_name,
            "summary": self.summary,
            "defaults": dict(self.defaults),
            "tags": list(self.tags),
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
        }
        if self.kind == "model":
            row.update(
                task=self.task,
                dataset=self.dataset,
                init=self.init,
                training=dict(self.training),
            )
        return row


def _import_string(target: str, entry: Entry) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        raise PluginError(
            f"{entry.kind} '{entry.name}' from {entry.origin}: cannot import "
            f"'{target}': {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(obj):
        raise PluginError(
            f"{entry.kind} '{entry.name}' from {entry.origin}: '{target}' is not callable"
        )
    return obj


@dataclass
class PluginInfo:
    """What one plugin (an entry point) contributed, or why it did not."""

    name: str
    distribution: str
    version: str
    module: str
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    disabled: bool = False

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description, the stable shape of `zoo plugins --json`."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "registered": dict(self.counts),
            "error": self.error,
            "disabled": self.disabled,
        }


class Registry:
    """All entries of all plugins, looked up by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, list[Entry]]] = {kind: {} for kind in KINDS}
        self.plugins: list[PluginInfo] = []
        self.problems: list[str] = []

    # -- building ---------------------------------------------------------
    @classmethod
    def discover(cls, disabled: Iterable[str] | None = None) -> Registry:
        """Load the core's own entries, then every entry point in the `zoo` group."""
        from zoo import builtin

        registry = cls()
        if disabled is None:
            disabled = os.environ.get(DISABLE_ENV, "").split(",")
        skip = {normalize_distribution(s.strip()) for s in disabled if s.strip()}
        from zoo._version import __version__

        registry.add_plugin(
            builtin, name="core", distribution="zoo", version=__version__, target="zoo.builtin"
        )
        seen: set[tuple[str, str]] = set()
        for entry_point in sorted(
            metadata.entry_points(group=ENTRY_POINT_GROUP),
            key=lambda ep: (_dist_name(ep), ep.name),
        ):
            distribution = _dist_name(entry_point)
            if (distribution, entry_point.name) in seen:
                continue  # the same distribution found twice on sys.path
            seen.add((distribution, entry_point.name))
            version = entry_point.dist.version if entry_point.dist else "unknown"
            if normalize_distribution(entry_point.name) in skip or distribution in skip:
                registry.plugins.append(
                    PluginInfo(
                        entry_point.name, distribution, version, entry_point.value, disabled=True
                    )
                )
                continue
            try:
                module = entry_point.load()
            except (Exception, SystemExit) as exc:
                registry._failed(
                    PluginInfo(entry_point.name, distribution, version, entry_point.value),
                    f"failed to import: {_describe(exc)}",
                )
                continue
            registry.add_plugin(
                module,
                name=entry_point.name,
                distribution=distribution,
                version=version,
                target=entry_point.value,
            )
        registry._report_clashes()
        return registry

    def add_plugin(
        self,
        plugin: ModuleType | object,
        *,
        name: str,
        distribution: str,
        version: str,
        target: str | None = None,
    ) -> PluginInfo:
        """Call one plugin's hooks; keep its entries only if every hook succeeds.

        `plugin` is the module (or any object) holding `zoo.hookimpl` functions;
        `target` is the entry point's value, shown by `zoo plugins`.
        """
        info = PluginInfo(
            name=name,
            distribution=normalize_distribution(distribution),
            version=version,
            module=target or getattr(plugin, "__name__", repr(plugin)),
        )
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        staged: list[Entry] = []
        try:
            manager.register(plugin, name=name)
            _check_hook_names(plugin)
            for hook_name, kind in hookspecs.HOOKS.items():
                getattr(manager.hook, hook_name)(register=_make_register(kind, info, staged))
        except (Exception, SystemExit) as exc:
            self._failed(info, f"raised while registering: {_describe(exc)}")
            return info
        for entry in staged:
            self._entries[entry.kind].setdefault(entry.name, []).append(entry)
            info.counts[entry.kind] = info.counts.get(entry.kind, 0) + 1
        self.plugins.append(info)
        return info

    def _failed(self, info: PluginInfo, reason: str) -> None:
        info.error = reason
        self.plugins.append(info)
        self.problems.append(
            f"plugin '{info.name}' ({info.distribution} {info.version}) {reason}; "
            f"other plugins still work; set {DISABLE_ENV}={info.name} to skip it"
        )

    def _report_clashes(self) -> None:
        for kind, by_name in self._entries.items():
            for name, entries in by_name.items():
                if len(entries) > 1:
                    who = " and ".join(f"{e.distribution} {e.version}" for e in entries)
                    self.problems.append(
                        f"{kind} '{name}' is registered by {who}; "
                        f"use {' or '.join(repr(e.qualified_name) for e in entries)}"
                    )

    # -- lookup -------------------------------------------------------------
    def get(self, kind: str, name: str) -> Entry:
        """Find one entry by `name` or `distribution:name`; errors suggest close matches."""
        _check_kind(kind)
        by_name = self._entries[kind]
        distribution, sep, bare = name.rpartition(":")
        if sep:
            wanted = normalize_distribution(distribution)
            for entry in by_name.get(bare, []):
                if entry.distribution == wanted:
                    return entry
            known = sorted(e.qualified_name for es in by_name.values() for e in es)
            raise UnknownNameError(
                f"no {kind} '{name}' is installed{close_matches(name, known)}; "
                f"'zoo list {_plural(kind)}' shows what is"
            )
        entries = by_name.get(name, [])
        if len(entries) == 1:
            return entries[0]
        if len(entries) > 1:
            who = " and ".join(f"{e.distribution} {e.version}" for e in entries)
            choices = " or ".join(repr(e.qualified_name) for e in entries)
            raise AmbiguousNameError(
                f"{kind} '{name}' is registered by {who}; write {choices} to choose"
            )
        elsewhere = [k for k, named in self._entries.items() if k != kind and name in named]
        if elsewhere:
            kinds = " and ".join(_a(k) for k in elsewhere)
            raise UnknownNameError(
                f"unknown {kind} '{name}': '{name}' is {kinds}, not {_a(kind)}; "
                f"'zoo list {_plural(kind)}' shows the {_plural(kind)}"
            )
        raise UnknownNameError(
            f"unknown {kind} '{name}'{close_matches(name, by_name)}; "
            f"'zoo list {_plural(kind)}' shows what is installed"
        )

    def entries(
        self,
        kind: str | None = None,
        pattern: str | None = None,
        tags: Iterable[str] = (),
    ) -> list[Entry]:
        """Entries of one kind (or all), whose name matches a glob and carries every tag."""
        kinds = KINDS if kind is None else (_check_kind(kind),)
        wanted_tags = set(tags)
        found = []
        for each_kind in kinds:
            for name in sorted(self._entries[each_kind]):
                for entry in self._entries[each_kind][name]:
                    if pattern and not (
                        fnmatch.fnmatchcase(entry.name.lower(), pattern.lower())
                        or fnmatch.fnmatchcase(entry.qualified_name.lower(), pattern.lower())
                    ):
                        continue
                    if not wanted_tags <= set(entry.tags):
                        continue
                    found.append(entry)
        return found

    def names(self, kind: str) -> list[str]:
        """Sorted registered names of one kind."""
        return sorted(self._entries[_check_kind(kind)])


def _dist_name(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return normalize_distribution(dist.name) if dist is not None else "unknown"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownNameError(
            f"unknown kind '{kind}'{close_matches(kind, KINDS)}; kinds are {', '.join(KINDS)}"
        )
    return kind


def _check_hook_names(plugin: object) -> None:
    """Catch a misspelt hook (`register_model`), which pluggy would silently ignore."""
    for attribute in dir(plugin):
        value = getattr(plugin, attribute, None)
        is_hook = callable(value) and hasattr(value, f"{hookspecs.PROJECT}_impl")
        if is_hook and attribute not in hookspecs.HOOKS:
            raise PluginError(
                f"'{attribute}' is not a zoo hook{close_matches(attribute, hookspecs.HOOKS)}"
            )


def _make_register(kind: str, info: PluginInfo, staged: list[Entry]) -> Callable[..., None]:
    """Build the `register` callable one plugin's hook receives for one kind."""
    seen: set[str] = set()

    def register(
        name: str,
        factory: Callable[..., Any] | str,
        *,
        defaults: Mapping[str, Any] | None = None,
        summary: str | None = None,
        tags: Iterable[str] = (),
        **model_only: Any,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise PluginError(
                f"{kind} name {name!r} is not valid: use letters, digits and . _ / + - "
                "(no ':', which separates a distribution from a name)"
            )
        if isinstance(factory, str):
            if ":" not in factory:
                raise PluginError(
                    f"{kind} '{name}': lazy factory {factory!r} must read 'module:attribute'"
                )
        elif not callable(factory):
            raise PluginError(f"{kind} '{name}': factory must be callable or 'module:attr'")
        if summary is None:
            doc = "" if isinstance(factory, str) else (factory.__doc__ or "")
            summary = doc.strip().splitlines()[0] if doc.strip() else ""
        extras = _model_extras(kind, name, model_only)
        if name in seen:  # a set, not a scan of `staged`: one plugin may register thousands
            raise PluginError(f"{kind} '{name}' is registered twice by the same plugin")
        seen.add(name)
        staged.append(
            Entry(
                kind=kind,
                name=name,
                factory=factory,
                summary=str(summary),
                defaults=MappingProxyType(_json_checked(kind, name, "defaults", defaults or {})),
                tags=tuple(str(tag) for tag in tags),
                plugin=info.name,
                distribution=info.distribution,
                version=info.version,
                **extras,
            )
        )

    register.__doc__ = f"Register a {kind} (see docs/plugins.md)."
    return register


def _model_extras(kind: str, name: str, given: dict[str, Any]) -> dict[str, Any]:
    allowed = {"task", "dataset", "init", "training"} if kind == "model" else set()
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise PluginError(
            f"{kind} '{name}': unexpected keyword(s) {', '.join(unknown)}"
            + (f"; a {kind} takes defaults, summary, tags" if kind != "model" else "")
        )
    extras: dict[str, Any] = {}
    for key in ("task", "dataset", "init"):
        if given.get(key) is not None:
            if not isinstance(given[key], str):
                raise PluginError(f"model '{name}': {key} must be a registered name (a str)")
            extras[key] = given[key]
    if kind == "model":
        training = _json_checked(kind, name, "training", given.get("training") or {})
        bad = sorted(set(training) - TRAINING_KEYS)
        if bad:
            raise PluginError(
                f"model '{name}': unknown training key(s) {', '.join(bad)}; "
                f"valid: {', '.join(sorted(TRAINING_KEYS))}"
            )
        extras["training"] = MappingProxyType(training)
    return extras


def _json_checked(kind: str, name: str, what: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise PluginError(f"{kind} '{name}': {what} must be a dict with str keys")
    try:
        return json.loads(json.dumps(dict(value)))
    except (TypeError, ValueError) as exc:
        raise PluginError(f"{kind} '{name}': {what} must be JSON-serialisable ({exc})") from exc


# -- the process-wide registry ------------------------------------------------
_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The registry of this process, discovered on first use; warns once per broken plugin."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.discover()
        for problem in _REGISTRY.problems:
            warnings.warn(problem, ZooPluginWarning, stacklevel=_first_caller_outside_zoo())
    return _REGISTRY


def _first_caller_outside_zoo() -> int:
    """The stacklevel that points a warning at the user's line, not at zoo's internals."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)  # get_registry
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    return level


def reset_registry() -> None:
    """Forget the registry so the next lookup discovers plugins again (after an install)."""
    global _REGISTRY
    _REGISTRY = None


def get_entry(kind: str, name: str) -> Entry:
    """Look up one entry by kind and `name` or `distribution:name`."""
    return get_registry().get(kind, name)


def list_entries(
    kind: str | None = None, pattern: str | None = None, tags: Iterable[str] = ()
) -> list[Entry]:
    """Registered entries, optionally of one kind, matching a glob and tags."""
    return get_registry().entries(kind, pattern, tags)


def list_models(pattern: str | None = None, tags: Iterable[str] = ()) -> list[str]:
    """Names of the registered models, optionally filtered by a glob and tags."""
    return [entry.name for entry in get_registry().entries("model", pattern, tags)]
