"""The chapter's multi-input network: an image branch and a tabular branch, fused.

Each branch turns its input into a few numbers; the two vectors are
concatenated and a small head maps them to the prediction:

    image    [N, C, S, S] -> image branch -> [N, image_features] ┐
                                                                  ├ cat -> head -> [N, outputs]
    features [N, F]       -> MLP          -> [N, tabular_features] ┘

The image branch is any registered model that maps images to a vector,
chosen by name (`image_model`); the chapter's CNN (`fusion-cnn`) by default.
Either branch can be switched off (`use_image=false`, `use_tabular=false`)
to measure what the other contributes alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

import zoo

# The config keys image models use for the same things, in the order tried
# (timm says in_chans and num_classes, zoo's own models channels and out_features).
_CHANNEL_KEYS = ("channels", "in_channels", "in_chans")
_SIZE_KEYS = ("image_size", "img_size")
_WIDTH_KEYS = ("out_features", "num_classes")


def _conv_size(size: int, kernel: int, stride: int = 2, padding: int = 1) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class FusionCNN(nn.Module):
    """The chapter's image branch: Conv(3×3, s2) → ReLU → Conv(5×5, s2) → ReLU → Linear.

    The flattened size is computed from `image_size` (1800 at 64×64 with the
    chapter's 16 and 8 channels), so any size from 5 pixels up works.
    """

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 64,
        conv_channels: list[int] | None = None,
        out_features: int = 5,
    ) -> None:
        super().__init__()
        widths = list(conv_channels) if conv_channels is not None else [16, 8]
        if len(widths) != 2:
            raise ValueError(f"conv_channels must be two channel counts, got {conv_channels}")
        first, second = widths
        for name, value in (("channels", channels), ("out_features", out_features)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if min(first, second) < 1:
            raise ValueError(f"conv_channels must be two positive counts, got {conv_channels}")
        side = _conv_size(_conv_size(image_size, 3), 5)
        if side < 1:
            raise ValueError(f"image_size must be at least 5 pixels, got {image_size}")
        self.features = nn.Sequential(
            nn.Conv2d(channels, first, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(first, second, 5, 2, 1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.project = nn.Linear(second * side * side, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(x))


def build_image_branch(
    name: str, options: Mapping[str, Any], channels: int, image_size: int, width: int
) -> tuple[nn.Module, int]:
    """Build a registered image model as a branch; return it and its output width.

    The branch gets the channels, image size and output width under whichever
    of the usual keys it declares; `options` add to or override them. Its
    output width is measured with one forward pass, so a branch that ignores
    the requested width still fits the head.
    """
    try:
        entry = zoo.get_entry("model", name)
    except zoo.UnknownNameError as exc:
        raise zoo.ConfigError(f"image_model: {exc}") from None
    config: dict[str, Any] = {}
    for keys, value in ((_CHANNEL_KEYS, channels), (_SIZE_KEYS, image_size), (_WIDTH_KEYS, width)):
        key = next((k for k in keys if k in entry.defaults), None)
        if key is not None:
            config[key] = value
    try:
        branch = zoo.create_model(entry.qualified_name, **{**config, **options})
    except zoo.ConfigError as exc:
        raise zoo.ConfigError(
            f"image_model '{entry.name}' (set through image_options): {exc}"
        ) from None
    device = next((p.device for p in branch.parameters()), torch.device("cpu"))
    was_training = branch.training
    branch.eval()
    try:
        with torch.no_grad():
            out = branch(torch.zeros(2, channels, image_size, image_size, device=device))
    except Exception as exc:
        raise ValueError(
            f"image_model '{entry.name}' cannot take {channels}×{image_size}×{image_size} "
            f"images: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        branch.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim < 1 or len(out) != 2:
        raise ValueError(
            f"image_model '{entry.name}' must map images to one vector per image; it returns "
            f"{type(out).__name__ if not isinstance(out, torch.Tensor) else list(out.shape)}"
        )
    return branch, out[0].numel()


class Fusion(nn.Module):
    """Image branch + tabular MLP, concatenated, then a small head (the chapter's MultiModel).

    With the defaults at 64×64 this is the chapter's network exactly: CNN
    3→16→8 channels and Linear(1800, 5); MLP 10→50→5; head 10→5→1.
    `forward(image, features)` takes its inputs by name, as the regression
    task passes a dataset's named tensors.
    """

    def __init__(
        self,
        image_model: str = "fusion-cnn",
        image_options: dict[str, Any] | None = None,
        channels: int = 3,
        image_size: int = 64,
        in_features: int = 10,
        image_features: int = 5,
        tabular_hidden: int = 50,
        tabular_features: int = 5,
        head_hidden: int = 5,
        outputs: int = 1,
        use_image: bool = True,
        use_tabular: bool = True,
    ) -> None:
        super().__init__()
        if not (use_image or use_tabular):
            raise ValueError("use_image and use_tabular cannot both be false: nothing to fuse")
        for name, value in (
            ("in_features", in_features),
            ("image_features", image_features),
            ("tabular_hidden", tabular_hidden),
            ("tabular_features", tabular_features),
            ("head_hidden", head_hidden),
            ("outputs", outputs),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.image: nn.Module | None = None
        self.tabular: nn.Module | None = None
        width = 0
        if use_image:
            self.image, image_width = build_image_branch(
                image_model, image_options or {}, channels, image_size, image_features
            )
            width += image_width
        if use_tabular:
            self.tabular = nn.Sequential(
                nn.Linear(in_features, tabular_hidden),
                nn.ReLU(),
                nn.Linear(tabular_hidden, tabular_features),
            )
            width += tabular_features
        self.head = nn.Sequential(
            nn.Linear(width, head_hidden), nn.ReLU(), nn.Linear(head_hidden, outputs)
        )

    def forward(
        self, image: torch.Tensor | None = None, features: torch.Tensor | None = None
    ) -> torch.Tensor:
        parts = []
        if self.image is not None:
            if image is None:
                raise ValueError("this fusion model needs an 'image' input")
            parts.append(self.image(image).reshape(len(image), -1))
        if self.tabular is not None:
            if features is None:
                raise ValueError("this fusion model needs a 'features' input")
            parts.append(self.tabular(features))
        return self.head(torch.cat(parts, dim=1))
