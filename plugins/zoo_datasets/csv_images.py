"""`csv-images`: a CSV file whose rows name an image and give numbers, for multi-input models.

The layout a user with real files has: one row per sample, an image-path
column (relative to the CSV's folder, or absolute), numeric feature columns
and a numeric target column:

    image,area_m2,rooms,age_years,price
    photos/0001.png,120,4,35,512.5
    photos/0002.jpg,86,3,70,388

Every row is checked when the dataset is built; a missing image or a value
that is not a number is an error naming the line and the column, never a
silent skip. Images are decoded once into memory at `size`×`size` (shorter
side resized, centre cropped). Features and target are standardised by the
trainer with training-split statistics, which the checkpoint keeps.

`write_csv_images` writes any image + features + target data (such as
`houses`) in this layout.
"""

from __future__ import annotations

import csv as csv_module
import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

import zoo
from zoo.errors import DataError
from zoo.images import check_image, from_pil, open_image, write_image
from zoo_datasets._images import check_memory, check_size, fit_square


def csv_images(
    csv: str = "",
    image_column: str = "image",
    feature_columns: Sequence[str] = (),
    target_column: str = "target",
    size: int = 64,
    channels: int = 3,
) -> zoo.Data:
    """Images, features and target from a CSV (every row checked; images decoded into memory).

    Tensors: `image` (float32, channels×size×size in [0, 1]), `features`
    (float32, one column per feature: `feature_columns`, or every column but
    the image and target ones) and `y` (float32 target; left out when
    `target_column` is empty, for prediction).
    """
    if not csv:
        raise ValueError(
            "csv is required: pass --set csv=FILE, a CSV with an image-path column, "
            "numeric feature columns and a target column"
        )
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    check_size(size)
    path = Path(csv).expanduser()
    header, rows = read_rows(path)
    features = list(feature_columns) or [
        c for c in header if c not in (image_column, target_column)
    ]
    wanted = [image_column, *features] + ([target_column] if target_column else [])
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataError(
            f"{path}: no column {', '.join(repr(m) for m in missing)}; its columns are "
            f"{', '.join(header)} (set image_column, feature_columns and target_column to match)"
        )
    if not features:
        raise DataError(
            f"{path}: no feature columns besides the image ('{image_column}') and target "
            f"('{target_column}'); add numeric columns or use an image dataset"
        )
    if len(set(wanted)) != len(wanted):
        raise DataError(f"{path}: a column is used twice among {', '.join(wanted)}")

    folder = path.parent
    image_paths, feature_rows, targets = [], [], []
    for line, row in rows:
        image_paths.append(_image_path(row[image_column], folder, path, line, image_column))
        feature_rows.append([_number(row[name], path, line, name) for name in features])
        if target_column:
            targets.append(_number(row[target_column], path, line, target_column))
    check_memory(len(image_paths), channels, size, f"csv-images {path}")
    mode = "L" if channels == 1 else "RGB"
    images = torch.empty(len(image_paths), channels, size, size)
    for index, ((line, _), image_path) in enumerate(zip(rows, image_paths, strict=True)):
        try:
            images[index] = from_pil(fit_square(open_image(image_path, mode), size))
        except DataError as exc:
            raise DataError(f"{path} line {line}, column '{image_column}': {exc}") from None
    tensors = {"image": images, "features": torch.tensor(feature_rows, dtype=torch.float32)}
    columns = {"features": features}
    if target_column:
        tensors["y"] = torch.tensor(targets, dtype=torch.float32)
        columns["y"] = [target_column]
    return zoo.Data(
        tensors,
        implies={
            "channels": channels,
            "in_channels": channels,
            "image_size": size,
            "in_features": len(features),
        },
        info={"columns": columns, "csv": str(path)},
        standardise=tuple(name for name in ("features", "y") if name in tensors),
    )


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the (line number, row) pairs of a CSV, every row checked for its width."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv_module.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not header or not any(header):
                raise DataError(f"{path}: empty file; the first line must name the columns")
            if len(set(header)) != len(header):
                twice = sorted({name for name in header if header.count(name) > 1})
                raise DataError(f"{path}: column {', '.join(twice)} appears twice in the header")
            rows = []
            for values in reader:
                if not any(value.strip() for value in values):
                    continue  # blank lines carry nothing
                if len(values) != len(header):
                    raise DataError(
                        f"{path} line {reader.line_num}: {len(values)} values for "
                        f"{len(header)} columns ({', '.join(header)})"
                    )
                rows.append((reader.line_num, dict(zip(header, values, strict=True))))
    except FileNotFoundError:
        raise DataError(f"CSV file {path} does not exist; check csv") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; csv must be a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file; csv must be a CSV file") from None
    except csv_module.Error as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not rows:
        raise DataError(f"{path}: no data rows after the header")
    return header, rows


def _number(text: str, path: Path, line: int, column: str) -> float:
    value = text.strip()
    if not value:
        raise DataError(f"{path} line {line}, column '{column}': empty; every value must be set")
    try:
        number = float(value)
    except ValueError:
        raise DataError(
            f"{path} line {line}, column '{column}': {value!r} is not a number"
        ) from None
    if not math.isfinite(number):
        raise DataError(f"{path} line {line}, column '{column}': {value!r} is not a finite number")
    return number


def _image_path(text: str, folder: Path, path: Path, line: int, column: str) -> Path:
    value = text.strip()
    if not value:
        raise DataError(f"{path} line {line}, column '{column}': empty; give an image path")
    image = Path(value).expanduser()
    image = image if image.is_absolute() else folder / image
    try:
        check_image(image)
    except DataError as exc:
        raise DataError(f"{path} line {line}, column '{column}': {exc}") from None
    return image


def write_csv_images(
    data: zoo.Data, folder: str | os.PathLike[str], *, name: str = "data.csv"
) -> Path:
    """Write in-memory image + features (+ target) data as PNG files and a CSV; return the CSV.

    Column names come from the data's `info["columns"]` (feature names and the
    target's name), so `houses` comes out with its own headers. Images go to
    `folder/images/00000.png`, …, referenced relative to the CSV.

    Example:
        >>> import zoo
        >>> from zoo_datasets.csv_images import write_csv_images
        >>> write_csv_images(zoo.create_dataset("houses", n_samples=20), "/tmp/houses-csv")
        PosixPath('/tmp/houses-csv/data.csv')
    """
    if data.tensors is None or "image" not in data.tensors or "features" not in data.tensors:
        raise DataError("write_csv_images needs in-memory data with 'image' and 'features'")
    if data.scale is not None:
        raise DataError("write_csv_images needs the data in their own units, not standardised")
    out = Path(folder)
    (out / "images").mkdir(parents=True, exist_ok=True)
    columns = data.info.get("columns", {})
    feature_count = data.tensors["features"].shape[1]
    features = list(columns.get("features", [f"x{i}" for i in range(feature_count)]))
    target = (columns.get("y") or ["target"])[0]
    has_target = "y" in data.tensors
    rows = []
    for index in range(len(data)):
        relative = f"images/{index:05d}.png"
        write_image(data.tensors["image"][index], out / relative)
        values = [f"{v:.6g}" for v in data.tensors["features"][index].tolist()]
        if has_target:
            values.append(f"{float(data.tensors['y'][index]):.6g}")
        rows.append([relative, *values])
    csv_path = out / name
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(["image", *features, *([target] if has_target else [])])
        writer.writerows(rows)
    return csv_path
