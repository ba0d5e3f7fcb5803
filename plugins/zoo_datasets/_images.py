"""What the image datasets share: picking classes by index or name, and resizing.

Every image dataset gives `x` as float32 C×H×W in [0, 1] and `y` as an int64
label; these helpers keep the option handling and the resizing the same across
digits, mnist and fashion-mnist.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from PIL.Image import Image as PILImage
from PIL.Image import Resampling

from zoo.errors import DataError, close_matches

DIGIT_LABELS: tuple[str, ...] = tuple(str(digit) for digit in range(10))

# Rows per interpolate call, so resizing 60 000 images never needs a second
# full-size temporary.
_RESIZE_CHUNK = 4096


def _normal(name: str) -> str:
    """Case, `_`, `-` and extra spaces do not matter: "Ankle-Boot" is "ankle boot"."""
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def class_indices(
    classes: Sequence[int | str], label_names: Sequence[str], dataset: str
) -> list[int]:
    """Label values for a `classes` option: indices (ints or digit strings) or class names.

    Names match case-insensitively, with `_` or `-` for a space ("ankle_boot");
    a name with a slash also matches each part ("T-shirt/top" is "t-shirt" or
    "top"). An empty list means every class and gives []. Raises ValueError
    naming the valid classes for anything else.
    """
    by_name = {_normal(name): index for index, name in enumerate(label_names)}
    for index, name in enumerate(label_names):  # "T-shirt/top" is also "t-shirt" and "top"
        for part in name.split("/") if "/" in name else ():
            by_name.setdefault(_normal(part), index)
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
            # Suggest names as they can be typed unquoted: "ankle_boot", not "ankle boot".
            typed = {name.replace(" ", "_"): name for name in by_name}
            hint = (
                close_matches(_normal(str(item)).replace(" ", "_"), typed)
                if isinstance(item, str)
                else ""
            )
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


def resize_images(images: torch.Tensor, size: int, dataset: str = "images") -> torch.Tensor:
    """N×C×H×W floats in [0, 1] to N×C×size×size: bilinear, antialiased when shrinking, clipped.

    A result too large for this machine's memory is refused (`check_memory`).
    """
    if tuple(images.shape[-2:]) == (size, size):
        return images
    check_memory(len(images), images.shape[1], size, dataset)
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


def check_memory(
    count: int,
    channels: int,
    size: int,
    dataset: str,
    remedy: str = "choose a smaller size or fewer classes",
    copies: int = 1,
) -> None:
    """Refuse, before allocating, images that would not fit in this machine's memory.

    float32 images in memory take count × channels × size² × 4 bytes, times
    `copies` when a loader holds that many at once; more than half the
    machine's memory is refused with a DataError.
    """
    import os

    needed = count * channels * size * size * 4 * copies
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform: no check
        return
    if needed > total // 2:
        raise DataError(
            f"{dataset}: {count} images of {channels}×{size}×{size}"
            f"{f' ({copies} copies at once)' if copies > 1 else ''} need "
            f"{needed / 2**30:.1f} GiB in memory, more than half of this machine's "
            f"{total / 2**30:.1f} GiB; {remedy}"
        )


def fit_square(image: PILImage, size: int) -> PILImage:
    """Resize the shorter side to `size` (antialiased), then crop the centre to size×size."""
    width, height = image.size
    scale = size / min(width, height)
    new_width, new_height = max(size, round(width * scale)), max(size, round(height * scale))
    if (new_width, new_height) != (width, height):
        image = image.resize((new_width, new_height), Resampling.BILINEAR)
    left, top = (new_width - size) // 2, (new_height - size) // 2
    return image.crop((left, top, left + size, top + size))
