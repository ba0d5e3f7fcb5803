"""A small image classifier built the way the chapter's cheat sheet advises.

"Start with 3×3 filters with strides of 1 or 2; number of filters
proportional to data complexity, usually 4, 8, 16, 24; the first
convolutional layer should have more channels than the input data."
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _halved(size: int) -> int:
    """The side after a 3×3 convolution with stride 2 and padding 1."""
    return (size - 1) // 2 + 1


class SimpleCNN(nn.Module):
    """Stages of Conv 3×3 (stride 1) → BatchNorm → ReLU → Conv 3×3 (stride 2) → ReLU, then a
    linear layer from the flattened features to `num_classes` logits.

    Each entry of `conv_channels` is one stage and halves the picture's side
    (28 → 14 → 7 → 4 with the defaults); the flattened size is computed from
    `image_size`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        conv_channels: Sequence[int] = (8, 16, 24),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        widths = list(conv_channels)
        for name, value in (
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("image_size", image_size),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not widths or min(widths) < 1:
            raise ValueError(f"conv_channels must be one or more positive counts, got {widths}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if widths[0] <= in_channels:
            raise ValueError(
                f"the first of conv_channels ({widths[0]}) should exceed in_channels "
                f"({in_channels}), as the chapter advises; choose a wider first stage"
            )
        layers: list[nn.Module] = []
        previous, side = in_channels, image_size
        for width in widths:
            layers += [
                nn.Conv2d(previous, width, 3, 1, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.Conv2d(width, width, 3, 2, 1),
                nn.ReLU(),
            ]
            previous, side = width, _halved(side)
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(previous * side * side, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
