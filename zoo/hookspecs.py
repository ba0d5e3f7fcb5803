"""The hooks a zoo plugin can implement; each receives a `register` callable.

A plugin module marks its functions with `zoo.hookimpl`. Every `register`
takes `(name, factory, *, defaults=None, summary=None, tags=())`; the one for
models also takes `task=`, `dataset=`, `init=` and `training=` (the model's
own trainer recipe). See docs/plugins.md.

Example:
    import zoo

    @zoo.hookimpl
    def register_models(register):
        register("tiny-ae", "my_package.models:TinyAE", task="reconstruction",
                 dataset="blobs", defaults={"in_features": 3, "hidden": 2},
                 summary="A very small autoencoder.")
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "zoo"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_models(register: Callable[..., None]) -> None:
    """Register models: factory(**config) returns a torch.nn.Module."""


@hookspec
def register_datasets(register: Callable[..., None]) -> None:
    """Register datasets: factory(**options) returns zoo.Data."""


@hookspec
def register_tasks(register: Callable[..., None]) -> None:
    """Register training recipes: factory(**options) returns a zoo.Task."""


@hookspec
def register_inits(register: Callable[..., None]) -> None:
    """Register init schemes: fn(module, **options), applied through model.apply."""


@hookspec
def register_losses(register: Callable[..., None]) -> None:
    """Register losses: factory(**options) returns a loss module."""


@hookspec
def register_commands(register: Callable[..., None]) -> None:
    """Register `zoo` subcommands: the factory is a click command, e.g. `zoo denoise`."""


HOOKS: dict[str, str] = {
    "register_models": "model",
    "register_datasets": "dataset",
    "register_tasks": "task",
    "register_inits": "init",
    "register_losses": "loss",
    "register_commands": "command",
}
