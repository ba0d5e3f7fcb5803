"""First-party plugin: built-in datasets that need no download.

Kept cheap to import: each factory is a "module:attr" string loaded on use.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo


@zoo.hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    """Register blobs."""
    register(
        "blobs",
        "zoo_datasets.blobs:blobs",
        defaults={
            "n_samples": 500,
            "n_features": 2,
            "centers": 2,
            "cluster_std": 1.0,
            "random_state": 123,
            "noise_features": 1,
            "standardize": True,
        },
        summary="Gaussian blobs plus uniform noise columns, standardised (the chapter's data).",
        tags=("tabular", "synthetic", "labelled"),
    )
