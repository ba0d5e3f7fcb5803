"""Conformance checks for plugin authors: one call per model in your own tests.

Example (in a plugin's test suite):
    import zoo.testing

    def test_my_models_conform():
        zoo.testing.check_distribution("zoo-plugin-example")

Each check raises AssertionError with a message naming the entry and what is
wrong; zoo's own suite runs them over every registered entry.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from zoo.registry import KINDS, Entry, get_entry, get_registry, normalize_distribution

__all__ = ["check_distribution", "check_entry", "check_model"]


def _fail(entry: Entry, what: str) -> AssertionError:
    return AssertionError(f"{entry.kind} '{entry.name}' from {entry.origin}: {what}")


def check_entry(entry: Entry) -> None:
    """Metadata of any entry: summary, JSON defaults, tags, and the names a model refers to."""
    if not entry.summary.strip():
        raise _fail(
            entry,
            "has no summary (pass summary=...; a callable factory's docstring also serves)",
        )
    if "\n" in entry.summary:
        raise _fail(entry, "summary must be one line")
    try:
        json.dumps(dict(entry.defaults))
    except (TypeError, ValueError) as exc:
        raise _fail(entry, f"defaults are not JSON-serialisable: {exc}") from exc
    loaded = entry.load()
    if entry.kind == "command":
        import click

        if not isinstance(loaded, click.Command):
            raise _fail(entry, f"is a {type(loaded).__name__}, not a click command")
    if entry.kind == "model":
        referred = {}
        for kind, name in (("task", entry.task), ("dataset", entry.dataset), ("init", entry.init)):
            if name is not None:
                try:
                    referred[kind] = get_entry(kind, name)
                except Exception as exc:
                    raise _fail(entry, f"refers to {kind} '{name}': {exc}") from exc
        for kind, options in dict(entry.training).items():
            scope = kind.removesuffix("_options")
            if scope in referred and isinstance(options, dict):
                unknown = sorted(set(options) - set(referred[scope].defaults))
                if unknown:
                    raise _fail(
                        entry,
                        f"training {kind} names {', '.join(unknown)}, which {scope} "
                        f"'{referred[scope].name}' does not declare",
                    )


def check_model(name: str, **config: Any) -> None:
    """A model builds from its defaults, runs forward on its dataset's samples, and round-trips.

    The round trip saves to safetensors, checks the metadata from the header,
    reloads through the registry and compares every tensor and the output.
    """
    import torch

    import zoo
    from zoo.build import default_example
    from zoo.checkpoint import inspect_checkpoint

    entry = get_entry("model", name)
    check_entry(entry)
    implied, example, note = default_example(entry)
    torch.manual_seed(0)
    model = zoo.create_model(entry.qualified_name, **{**implied, **config})
    model.eval()
    output = None
    if example is not None and entry.task:
        task = zoo.create_task(entry.task)
        with torch.no_grad():
            try:
                output = task.forward(model, example)
            except Exception as exc:
                raise _fail(entry, f"forward failed on {note}: {exc}") from exc
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.safetensors"
        zoo.save(model, path)
        described = inspect_checkpoint(path)
        metadata = described["metadata"]
        if metadata.get("model") != entry.name or metadata.get("config") != model.zoo_spec.config:
            raise _fail(entry, f"checkpoint metadata does not describe the model: {metadata}")
        loaded = zoo.load(path)
    before, after = model.state_dict(), loaded.state_dict()
    if before.keys() != after.keys():
        raise _fail(entry, "reloaded model has different tensor names")
    for key, tensor in before.items():
        if not torch.equal(tensor, after[key]):
            raise _fail(entry, f"tensor '{key}' changed in the safetensors round trip")
    if output is not None:
        with torch.no_grad():
            again = task.forward(loaded, example)
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        agains = again if isinstance(again, (tuple, list)) else (again,)
        for first, second in zip(outputs, agains, strict=False):
            if isinstance(first, torch.Tensor) and not torch.equal(first, second):
                raise _fail(entry, "reloaded model gives a different output")


def check_distribution(distribution: str) -> int:
    """Run `check_entry` on every entry and `check_model` on every model of a distribution.

    Returns how many entries were checked; fails if there are none.
    """
    wanted = normalize_distribution(distribution)
    entries = [
        e for kind in KINDS for e in get_registry().entries(kind) if e.distribution == wanted
    ]
    if not entries:
        raise AssertionError(f"distribution '{distribution}' registered nothing (is it installed?)")
    for entry in entries:
        check_entry(entry)
        if entry.kind == "model":
            check_model(entry.qualified_name)
    return len(entries)
