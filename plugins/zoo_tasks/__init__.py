"""First-party plugin: training recipes (tasks) shared by model families."""

from __future__ import annotations

from collections.abc import Callable

import zoo


@zoo.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    """Register reconstruction."""
    register(
        "reconstruction",
        "zoo_tasks.reconstruction:Reconstruction",
        summary="Reproduce the input (autoencoders); held-out loss, code scatter, linear probe.",
        tags=("unsupervised",),
    )
