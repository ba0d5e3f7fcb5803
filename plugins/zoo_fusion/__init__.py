"""First-party plugin: the chapter's multi-input network (an image and a row of numbers).

Kept cheap to import: factories are "module:attr" strings loaded on use.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo

# Trained on the embedded houses data; held-out fifth for R², MAE and RMSE.
_RECIPE = {"epochs": 30, "batch_size": 64, "lr": 2e-3, "val_fraction": 0.2}


@zoo.hookimpl
def register_models(register: Callable[..., None]) -> None:
    """Register fusion and its default image branch, fusion-cnn."""
    register(
        "fusion",
        "zoo_fusion.fusion:Fusion",
        task="regression",
        dataset="houses",
        training=_RECIPE,
        defaults={
            "image_model": "fusion-cnn",
            "image_options": {},
            "channels": 3,
            "image_size": 64,
            "in_features": 10,
            "image_features": 5,
            "tabular_hidden": 50,
            "tabular_features": 5,
            "head_hidden": 5,
            "outputs": 1,
            "use_image": True,
            "use_tabular": True,
        },
        summary="An image branch and a tabular MLP, concatenated into one head (the chapter's "
        "multi-input network).",
        tags=("multi-input", "image", "tabular", "regression", "chapter"),
    )
    register(
        "fusion-cnn",
        "zoo_fusion.fusion:FusionCNN",
        defaults={"channels": 3, "image_size": 64, "conv_channels": [16, 8], "out_features": 5},
        summary="The chapter's small image branch: two strided convolutions and a linear layer "
        "to out_features.",
        tags=("image", "branch", "chapter"),
    )
