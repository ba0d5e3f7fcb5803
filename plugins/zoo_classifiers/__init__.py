"""First-party plugin: image classifiers of our own (timm's arrive through zoo_timm).

Kept cheap to import: factories are "module:attr" strings loaded on use.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo

# Trained on the embedded digits; a held-out fifth for accuracy.
_RECIPE = {"epochs": 10, "batch_size": 64, "lr": 2e-3, "val_fraction": 0.2}


@zoo.hookimpl
def register_models(register: Callable[..., None]) -> None:
    """Register simple-cnn."""
    register(
        "simple-cnn",
        "zoo_classifiers.simple_cnn:SimpleCNN",
        task="classification",
        dataset="digits",
        training=_RECIPE,
        defaults={
            "in_channels": 1,
            "num_classes": 10,
            "image_size": 28,
            "conv_channels": [8, 16, 24],
            "dropout": 0.1,
        },
        summary="A small CNN classifier after the chapter's advice: 3×3 filters, strides 1 "
        "and 2, 8-16-24 channels.",
        tags=("image", "classification", "chapter"),
    )
