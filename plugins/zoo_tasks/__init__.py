"""First-party plugin: training recipes (tasks) shared by model families, and their commands.

Kept cheap to import: factories are "module:attr" strings loaded on use.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo


@zoo.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    """Register reconstruction and denoising."""
    register(
        "reconstruction",
        "zoo_tasks.reconstruction:Reconstruction",
        summary="Reproduce the input (autoencoders); held-out loss, code scatter, linear probe.",
        tags=("unsupervised",),
    )
    register(
        "denoising",
        "zoo_tasks.denoising:Denoising",
        defaults={"sigma": 0.5, "samples": 8},
        summary="Remove Gaussian noise from images; held-out MSE and PSNR, samples.png, "
        "progress.gif.",
        tags=("image", "unsupervised"),
    )


@zoo.hookimpl
def register_commands(register: Callable[..., None]) -> None:
    """Register `zoo denoise`."""
    register(
        "denoise",
        "zoo_tasks.commands:denoise_command",
        summary="Denoise image files with a trained model (e.g. conv-denoiser).",
        tags=("image",),
    )
