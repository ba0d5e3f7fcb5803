"""zoo: a plugin-based PyTorch model zoo.

Everything public is importable from here. Names load lazily, so
`import zoo` (and `zoo --help`, `zoo list`) never import torch.

Example:
    >>> import zoo
    >>> model = zoo.create_model("dense-ae")
    >>> path = zoo.save(model, "/tmp/dense-ae.safetensors")
    >>> zoo.load(path).zoo_spec.name
    'dense-ae'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from zoo._version import __version__
from zoo.errors import (
    AmbiguousNameError,
    CheckpointError,
    ConfigError,
    DataError,
    DeviceError,
    PluginError,
    TrainingError,
    UnknownNameError,
    ZooError,
    ZooPluginWarning,
)
from zoo.hookspecs import hookimpl
from zoo.registry import (
    Entry,
    PluginInfo,
    get_entry,
    get_registry,
    list_entries,
    list_models,
    reset_registry,
)

if TYPE_CHECKING:
    from zoo.build import (
        ModelSpec,
        apply_init,
        create_dataset,
        create_loss,
        create_model,
        create_task,
        restoring_weights,
    )
    from zoo.checkpoint import inspect_checkpoint, load, save
    from zoo.data import Data, Standardisation, model_inputs
    from zoo.device import resolve_device
    from zoo.files import cache_dir
    from zoo.summary import count_parameters, layer_table
    from zoo.task import RunContext, Step, Task, make_optimizer
    from zoo.trainer import Run, train

# Public names that need torch, and the module that defines each.
_LAZY = {
    "ModelSpec": "zoo.build",
    "apply_init": "zoo.build",
    "create_dataset": "zoo.build",
    "create_loss": "zoo.build",
    "create_model": "zoo.build",
    "create_task": "zoo.build",
    "restoring_weights": "zoo.build",
    "inspect_checkpoint": "zoo.checkpoint",
    "load": "zoo.checkpoint",
    "save": "zoo.checkpoint",
    "Data": "zoo.data",
    "Standardisation": "zoo.data",
    "model_inputs": "zoo.data",
    "number_text": "zoo.data",
    "resolve_device": "zoo.device",
    # no torch here, but nothing at start-up needs it either
    "cache_dir": "zoo.files",
    "count_parameters": "zoo.summary",
    "layer_table": "zoo.summary",
    "RunContext": "zoo.task",
    "Step": "zoo.task",
    "Task": "zoo.task",
    "make_optimizer": "zoo.task",
    "Run": "zoo.trainer",
    "train": "zoo.trainer",
}

__all__ = [
    "__version__",
    "hookimpl",
    "Entry",
    "PluginInfo",
    "get_entry",
    "get_registry",
    "list_entries",
    "list_models",
    "reset_registry",
    "ZooError",
    "UnknownNameError",
    "AmbiguousNameError",
    "ConfigError",
    "CheckpointError",
    "PluginError",
    "DataError",
    "DeviceError",
    "TrainingError",
    "ZooPluginWarning",
    # loaded on first use (they need torch)
    "ModelSpec",
    "apply_init",
    "create_dataset",
    "create_loss",
    "create_model",
    "create_task",
    "restoring_weights",
    "inspect_checkpoint",
    "load",
    "save",
    "Data",
    "Standardisation",
    "model_inputs",
    "number_text",
    "resolve_device",
    "cache_dir",
    "count_parameters",
    "layer_table",
    "RunContext",
    "Step",
    "Task",
    "make_optimizer",
    "Run",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
