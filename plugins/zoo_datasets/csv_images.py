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

#: Largest image side csv-images decodes to (larger pictures are shrunk to `size`).
MAX_SIZE = 1024
FLOAT32_MAX = 3.4028234663852886e38


def csv_images(
    csv: str = "",
    image_column: str = "image",
    feature_columns: Sequence[str] = (),
    target_column: str = "target",
    size: int = 64,
    channels: int = 3,
) -> zoo.Data:
    """Images, features and target from a CSV (every row checked; images decoded into memory).

    Tensors: `image` (float32, channels×size×size in [0, 1]; left out when
    `image_column` is empty: a table alone), `features` (float32, one column
    per feature: `feature_columns`, or every column but the image and target
    ones) and `y` (float32 target; left out when `target_column` is empty,
    for prediction).
    """
    if not csv:
        raise ValueError(
            "csv is required: pass --set csv=FILE, a CSV with an image-path column, "
            "numeric feature columns and a target column"
        )
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    check_size(size)
    if size > MAX_SIZE:
        raise ValueError(f"size must be at most {MAX_SIZE} pixels, got {size}")
    path = Path(csv).expanduser()
    header, rows = read_rows(path)
    chosen = bool(feature_columns)
    features = list(feature_columns) or [
        c for c in header if c not in (image_column, target_column)
    ]
    wanted = [*([image_column] if image_column else []), *features]
    wanted += [target_column] if target_column else []
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataError(
            f"{path}: no column {_names(missing)}; its columns are {_names(header)} "
            "(set image_column, feature_columns and target_column to match)"
        )
    if "" in features:
        raise DataError(
            f"{path}: column {header.index('') + 1} has no name in the header (a row index, "
            "or a trailing comma?); name it, or list the features with feature_columns"
        )
    if not features:
        raise DataError(
            f"{path}: no feature columns besides the image ('{image_column}') and target "
            f"('{target_column}'); add numeric columns or use an image dataset"
        )
    if len(set(wanted)) != len(wanted):
        raise DataError(f"{path}: a column is used twice among {_names(wanted)}")

    hint = "" if chosen else "; if it is not a feature, list the features with feature_columns"
    folder = path.parent
    image_paths, feature_rows, targets = [], [], []
    for line, row in rows:
        if image_column:
            image_paths.append(_image_path(row[image_column], folder, path, line, image_column))
        feature_rows.append([_number(row[name], path, line, name, hint) for name in features])
        if target_column:
            targets.append(_number(row[target_column], path, line, target_column))
    tensors: dict[str, torch.Tensor] = {}
    implies: dict[str, int] = {"in_features": len(features)}
    if image_column:
        tensors["image"] = _decode(rows, image_paths, size, channels, path, image_column)
        implies.update(channels=channels, in_channels=channels, image_size=size)
    tensors["features"] = torch.tensor(feature_rows, dtype=torch.float32)
    columns = {"features": features}
    if target_column:
        tensors["y"] = torch.tensor(targets, dtype=torch.float32)
        columns["y"] = [target_column]
    return zoo.Data(
        tensors,
        implies=implies,
        info={"columns": columns, "csv": str(path)},
        standardise=tuple(name for name in ("features", "y") if name in tensors),
    )


def _decode(
    rows: list[tuple[int, dict[str, str]]],
    paths: list[Path],
    size: int,
    channels: int,
    csv: Path,
    column: str,
) -> torch.Tensor:
    """Every image, size×size, as one float tensor (the memory is checked first)."""
    check_memory(len(paths), channels, size, f"csv-images {csv}", remedy="choose a smaller size")
    mode = "L" if channels == 1 else "RGB"
    images = torch.empty(len(paths), channels, size, size)
    for index, ((line, _), image_path) in enumerate(zip(rows, paths, strict=True)):
        try:
            images[index] = from_pil(fit_square(open_image(image_path, mode), size))
        except DataError as exc:
            raise DataError(f"{csv} line {line}, column '{column}': {exc}") from None
    return images


def _names(names: Sequence[str]) -> str:
    """Column names quoted, since a name may hold a comma or be empty."""
    return ", ".join(repr(name) for name in names)


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the (line number, row) pairs of a CSV, every row checked for its width."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv_module.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not header or not any(header):
                raise DataError(f"{path}: empty file; the first line must name the columns")
            if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
                sign = "';'" if ";" in header[0] else "tabs"
                raise DataError(
                    f"{path}: the header looks separated by {sign}; zoo reads comma-separated "
                    "files (save it as CSV with commas)"
                )
            if len(set(header)) != len(header):
                twice = sorted({name for name in header if header.count(name) > 1})
                raise DataError(f"{path}: column {_names(twice)} appears twice in the header")
            rows = []
            for values in reader:
                if not any(value.strip() for value in values):
                    continue  # blank lines carry nothing
                if len(values) != len(header):
                    raise DataError(
                        f"{path} line {reader.line_num}: {len(values)} values for "
                        f"{len(header)} columns ({_names(header)})"
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


def _number(text: str, path: Path, line: int, column: str, hint: str = "") -> float:
    value = text.strip()
    where = f"{path} line {line}, column '{column}'"
    if not value:
        raise DataError(f"{where}: empty; every value must be set{hint}")
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"{where}: {value!r} is not a number{hint}") from None
    if not math.isfinite(number):
        raise DataError(f"{where}: {value!r} is not a finite number")
    if abs(number) > FLOAT32_MAX:
        raise DataError(f"{where}: {value!r} is too large for 32-bit floats (at most ±3.4e38)")
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
    tensors = data.tensors
    if tensors is None or "image" not in tensors or "features" not in tensors:
        raise DataError("write_csv_images needs in-memory data with 'image' and 'features'")
    if data.scale is not None:
        raise DataError("write_csv_images needs the data in their own units, not standardised")
    if tensors["image"].ndim != 4 or tensors["image"].shape[1] not in (1, 3):
        raise DataError("write_csv_images needs images shaped N×C×H×W with 1 or 3 channels")
    if tensors["features"].ndim != 2:
        raise DataError("write_csv_images needs features shaped N×F (one row per sample)")
    if tensors["image"].min() < 0 or tensors["image"].max() > 1:
        raise DataError("write_csv_images needs image values in [0, 1]")
    out = Path(folder)
    try:
        (out / "images").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot write to {out}: {exc.strerror or exc}") from None
    columns = data.info.get("columns", {})
    feature_count = tensors["features"].shape[1]
    features = list(columns.get("features", [f"x{i}" for i in range(feature_count)]))
    target = (columns.get("y") or ["target"])[0]
    has_target = "y" in tensors
    rows = []
    for index in range(len(data)):
        relative = f"images/{index:05d}.png"
        write_image(tensors["image"][index], out / relative)
        values = [zoo.number_text(v) for v in tensors["features"][index].tolist()]
        if has_target:
            values.append(zoo.number_text(float(tensors["y"][index])))
        rows.append([relative, *values])
    csv_path = out / name
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(["image", *features, *([target] if has_target else [])])
        writer.writerows(rows)
    return csv_path
