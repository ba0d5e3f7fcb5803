"""Any folder of images, read from disk by DataLoader workers.

A folder of class subfolders (`root/cat/1.png`, `root/dog/2.jpg`) is labelled
like torchvision's ImageFolder: labels are the sorted subfolder names. A flat
folder of images has no labels. Each image becomes `size`×`size`: shorter
side resized to `size`, then the centre cropped.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import Dataset

import zoo
from zoo.errors import DataError
from zoo.images import IMAGE_SUFFIXES, check_image, from_pil, open_image
from zoo_datasets._images import check_size, fit_square


def image_folder(root: str = "", size: int = 64, channels: int = 3) -> zoo.Data:
    """Images from a folder (labels from class subfolders, if any), size×size, read on demand.

    Tensors: `x` (float32, channels×size×size in [0, 1]; channels 1 is
    grayscale, 3 is RGB) and, with class subfolders, `y` (int64 index into
    the sorted folder names). Files are listed and their headers checked
    when the dataset is built; pixels are decoded by the DataLoader workers.
    """
    if not root:
        raise ValueError(
            "root is required: pass --set root=DIR, a folder of images or of class subfolders"
        )
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    check_size(size)
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist or is not a folder; check root")
    paths, labels, label_names = _scan(folder)
    for path in paths:
        try:
            check_image(path)
        except DataError as exc:
            raise DataError(f"{exc}; remove it or move it out of the folder") from exc
    dataset = ImageFiles([str(p) for p in paths], labels, size, "L" if channels == 1 else "RGB")
    return zoo.Data(
        dataset=dataset,
        names=("x", "y") if labels is not None else ("x",),
        implies={
            "in_channels": channels,
            "channels": channels,
            "image_size": size,
            **({"num_classes": len(label_names)} if labels is not None else {}),
        },
        info={"label_names": label_names} if labels is not None else {},
    )


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def _images_under(folder: Path) -> list[Path]:
    """Image files anywhere below `folder`, sorted; hidden files and folders are skipped."""
    found = []
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found.extend(Path(current) / name for name in sorted(files) if _is_image(name))
    return found


def _scan(folder: Path) -> tuple[list[Path], list[int] | None, list[str]]:
    """(image paths, labels or None, label names) in a deterministic order."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        raise DataError(f"cannot list image folder {folder}: {exc.strerror or exc}") from exc
    entries = [entry for entry in entries if not entry.name.startswith(".")]
    top = [Path(e.path) for e in entries if e.is_file() and _is_image(e.name)]
    classes = [(e.name, _images_under(Path(e.path))) for e in entries if e.is_dir()]
    empty = [name for name, images in classes if not images]
    if empty and len(empty) < len(classes):
        # Skipping it would quietly renumber every later class, so ask instead.
        raise DataError(
            f"image folder {folder}: class folder {folder / empty[0]} has no images; "
            "add images to it, or move it out of the folder (labels are the sorted "
            "class folder names)"
        )
    classes = [(name, images) for name, images in classes if images]
    if classes and top:
        raise DataError(
            f"image folder {folder} has images both at its top (e.g. {top[0].name}) and in "
            f"class subfolders ({', '.join(name for name, _ in classes)}); move the top-level "
            "images into a class folder, or point root at a folder of one kind"
        )
    if classes:
        paths = [path for _, images in classes for path in images]
        labels = [label for label, (_, images) in enumerate(classes) for _ in images]
        return paths, labels, [name for name, _ in classes]
    if top:
        return top, None, []
    raise DataError(
        f"image folder {folder} has no images: expected files ending in "
        f"{' '.join(IMAGE_SUFFIXES)} in it, or in class subfolders (one per label)"
    )


class ImageFiles(Dataset):
    """Decodes image files to float tensors in [0, 1]; module-level so workers can unpickle it."""

    def __init__(self, paths: list[str], labels: list[int] | None, size: int, mode: str) -> None:
        self.paths = paths
        self.labels = labels
        self.size = size
        self.mode = mode

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor | tuple[torch.Tensor, int]:
        path = self.paths[index]
        try:
            image = open_image(path, self.mode)
        except DataError as exc:
            raise DataError(f"{exc}; remove it or move it out of the folder") from exc
        x = from_pil(fit_square(image, self.size))
        if self.labels is None:
            return x
        return x, self.labels[index]
