"""scikit-learn's bundled handwritten digits, upsampled: real images with no download."""

from __future__ import annotations

from collections.abc import Sequence

import torch

import zoo
from zoo_datasets._images import (
    DIGIT_LABELS,
    check_size,
    class_indices,
    keep_classes,
    resize_images,
)


def digits(size: int = 28, classes: Sequence[int | str] = ()) -> zoo.Data:
    """The 1797 8×8 digits of `sklearn.datasets.load_digits`, resized to size×size.

    Pixel values 0..16 become 0..1, then bilinear interpolation (antialiased
    when shrinking) makes them `size` pixels a side, clipped to [0, 1].
    Tensors: `x` (float32, N×1×size×size) and `y` (int64 digit). `classes`
    keeps only some digits: `--set classes=3,8`.
    """
    from sklearn.datasets import load_digits

    check_size(size)
    wanted = class_indices(classes, DIGIT_LABELS, "digits")
    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).div_(16.0).unsqueeze(1)
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    images, labels = keep_classes(images, labels, wanted)
    x = resize_images(images, size, "digits").clamp_(0.0, 1.0).contiguous()
    return zoo.Data(
        {"x": x, "y": labels},
        implies={
            "in_channels": 1,
            "channels": 1,
            "image_size": size,
            "num_classes": len(DIGIT_LABELS),
        },
        info={"label_names": list(DIGIT_LABELS)},
    )
