"""What the image datasets share: picking classes by index or name, and resizing.

Every image dataset gives `x` as float32 C×H×W in [0, 1] and `y` as an int64
label; these helpers keep the option handling and the resizing the same across
digits, mnist and fashion-mnist.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from zoo.errors import close_matches

DIGIT_LABELS: tuple[str, ...] = tuple(str(digit) for digit in range(10))

# Rows per interpolate call, so resizing 60 000 images never needs a second
# full-size temporary.
_RESIZE_CHUNK = 4096


def _normal(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def class_indices(
    classes: Sequence[int | str], label_names: Sequence[str], dataset: str
) -> list[int]:
    """Label values for a `classes` option: indices (ints or digit strings) or class names.

    Names match case-insensitively, with `_` for a space ("ankle_boot"). An
    empty list means every class and gives []. Raises ValueError naming the
    valid classes for anything else.
    """
    by_name = {_normal(name): index for index, name in enumerate(label_names)}
    chosen: set[int] = set()
    for item in classes:
        index: int | None = None
        if isinstance(item, int) and not isinstance(item, bool):
            index = item
        elif isinstance(item, str):
            text = item.strip()
            index = int(text) if text.isdigit() else by_name.get(_normal(text))
        if index is None or not 0 <= index < len(label_names):
            valid = f"0-{len(label_names) - 1}"
            if tuple(label_names) != DIGIT_LABELS[: len(label_names)]:
                valid += f" or a name ({', '.join(label_names)})"
            hint = close_matches(_normal(str(item)), by_name) if isinstance(item, str) else ""
            raise ValueError(f"classes: {item!r} is not a class of {dataset}{hint}; valid: {valid}")
        chosen.add(index)
    return sorted(chosen)


def keep_classes(
    images: torch.Tensor, labels: torch.Tensor, wanted: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels whose label is in `wanted` (all of them when it is empty)."""
    if not wanted:
        return images, labels
    mask = torch.isin(labels, torch.tensor(list(wanted), dtype=labels.dtype))
    return images[mask], labels[mask]


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """N×C×H×W floats in [0, 1] to N×C×size×size: bilinear, antialiased when shrinking, clipped."""
    if tuple(images.shape[-2:]) == (size, size):
        return images
    shrinking = size < max(images.shape[-2:])
    parts = [
        F.interpolate(
            images[start : start + _RESIZE_CHUNK],
            size=(size, size),
            mode="bilinear",
            align_corners=False,
            antialias=shrinking,
        ).clamp_(0.0, 1.0)
        for start in range(0, len(images), _RESIZE_CHUNK)
    ]
    if not parts:
        return images.new_empty((0, images.shape[1], size, size))
    return torch.cat(parts)


def check_size(size: int) -> None:
    """Reject an image size below one pixel (ValueError, which zoo reports as a config error)."""
    if size < 1:
        raise ValueError(f"size must be at least 1 (pixels per side), got {size}")
