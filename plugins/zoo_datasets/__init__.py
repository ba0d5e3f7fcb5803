"""First-party plugin: built-in datasets, and readers for MNIST files and image folders.

Kept cheap to import: each factory is a "module:attr" string loaded on use, so
nothing here imports torch, torchvision, PIL or scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo


def _idx_defaults() -> dict[str, object]:
    """The options mnist and fashion-mnist share; `classes` [] means every class."""
    return {"root": "", "split": "train", "classes": [], "size": 28, "download": False}


@zoo.hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    """Register blobs, digits, mnist, fashion-mnist, image-folder, houses and csv-images."""
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
    register(
        "digits",
        "zoo_datasets.digits:digits",
        defaults={"size": 28, "classes": []},
        summary="scikit-learn's 1797 bundled 8×8 handwritten digits, resized (default 28×28).",
        tags=("image", "grayscale", "labelled", "offline", "real"),
    )
    register(
        "mnist",
        "zoo_datasets.mnist:mnist",
        defaults=_idx_defaults(),
        summary="MNIST handwritten digits from local IDX files (root or $ZOO_DATA_DIR).",
        tags=("image", "grayscale", "labelled", "real"),
    )
    register(
        "fashion-mnist",
        "zoo_datasets.mnist:fashion_mnist",
        defaults=_idx_defaults(),
        summary="Fashion-MNIST clothing images from local IDX files (or Debian's package).",
        tags=("image", "grayscale", "labelled", "real"),
    )
    register(
        "image-folder",
        "zoo_datasets.image_folder:image_folder",
        defaults={"root": "", "size": 64, "channels": 3},
        summary="Any folder of images (labels from class subfolders), read from disk.",
        tags=("image", "real", "files"),
    )
    register(
        "houses",
        "zoo_datasets.houses:houses",
        defaults={"n_samples": 4000, "size": 64, "random_state": 0},
        summary="Drawn house pictures with ten listing features and a price that needs both "
        "(generated).",
        tags=("image", "tabular", "multi-input", "regression", "synthetic", "offline"),
    )
    register(
        "csv-images",
        "zoo_datasets.csv_images:csv_images",
        defaults={
            "csv": "",
            "image_column": "image",
            "feature_columns": [],
            "target_column": "target",
            "size": 64,
            "channels": 3,
        },
        summary="A CSV of image paths, numeric features and a target (images relative to the CSV).",
        tags=("image", "tabular", "multi-input", "regression", "real", "files"),
    )
