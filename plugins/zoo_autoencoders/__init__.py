"""First-party plugin: autoencoders from the course chapter.

This module is what the entry point loads, so it stays cheap: factories are
named as "module:attr" strings and imported only when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo


@zoo.hookimpl
def register_models(register: Callable[..., None]) -> None:
    """Register dense-ae and conv-denoiser."""
    register(
        "dense-ae",
        "zoo_autoencoders.dense:DenseAutoencoder",
        task="reconstruction",
        dataset="blobs",
        init="default",
        defaults={"in_features": 3, "hidden": 2, "output_activation": "sigmoid"},
        summary="Dense autoencoder in -> hidden -> in with sigmoid layers (the chapter's 3-2-3).",
        tags=("autoencoder", "tabular", "chapter"),
        training={"epochs": 5, "batch_size": 100, "lr": 1e-3},
    )
    register(
        "conv-denoiser",
        "zoo_autoencoders.conv:ConvDenoiser",
        task="denoising",
        dataset="digits",
        init="default",
        defaults={"in_channels": 1, "image_size": 28, "widths": [32, 16, 8]},
        summary="Convolutional denoising autoencoder (the chapter's 32-16-8 encoder, "
        "transposed-conv decoder).",
        tags=("autoencoder", "image", "denoising", "chapter"),
        # The chapter's recipe: batch 32, Adam at its default lr, MSE, 20 epochs.
        training={"epochs": 20, "batch_size": 32, "lr": 1e-3},
    )
