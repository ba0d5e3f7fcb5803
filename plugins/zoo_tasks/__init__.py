"""First-party plugin: training recipes (tasks) shared by model families, and their commands.

Kept cheap to import: factories are "module:attr" strings loaded on use.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo


@zoo.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    """Register reconstruction, denoising, regression and classification."""
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
    register(
        "regression",
        "zoo_tasks.regression:Regression",
        summary="Predict a number from any named inputs; held-out MAE, RMSE and R² in the "
        "target's units, predictions.png.",
        tags=("supervised",),
    )
    register(
        "classification",
        "zoo_tasks.classification:Classification",
        summary="One label per image: cross-entropy; held-out and per-class accuracy, "
        "confusion.png.",
        tags=("supervised", "image"),
    )


@zoo.hookimpl
def register_commands(register: Callable[..., None]) -> None:
    """Register `zoo denoise`, `zoo predict` and `zoo robustness`."""
    register(
        "denoise",
        "zoo_tasks.commands:denoise_command",
        summary="Denoise image files with a trained model (e.g. conv-denoiser).",
        tags=("image",),
    )
    register(
        "predict",
        "zoo_tasks.commands:predict_command",
        summary="Predict with a trained regression model (e.g. fusion) from a CSV of inputs.",
        tags=("regression",),
    )
    register(
        "robustness",
        "zoo_tasks.commands:robustness_command",
        summary="Accuracy of a trained classifier on clean, noisy and FGSM-attacked images.",
        tags=("classification",),
    )
