"""Use a trained regression model on new rows: a CSV of image paths and features in,
predictions out, with the standardisation stored in the checkpoint.

Example:
    >>> from zoo_tasks.predicting import predict_csv
    >>> result = predict_csv("runs/fusion/model.safetensors", "new-houses/data.csv",
    ...                      out="predictions.csv")
    >>> result.metrics  # when the CSV also has the target column
    {'mae': 12.4, 'rmse': 16.0, 'r2': 0.96}
"""

from __future__ import annotations

import csv as csv_module
import io
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

import zoo
from zoo.files import atomic_write_text
from zoo_tasks.denoising import _model
from zoo_tasks.regression import TARGET, Regression, regression_metrics


@dataclass
class Prediction:
    """What `predict_csv` produced: one prediction per CSV row, in the target's units."""

    values: torch.Tensor
    target: str
    metrics: dict[str, float] | None
    out: Path | None


def _csv_options(model: nn.Module, csv: Path) -> dict:
    """The csv-images options that read `csv` the way the model's training data were read.

    Feature columns are taken by the names recorded at training, in that
    order, wherever they stand in `csv`; other columns are ignored.
    """
    spec = model.zoo_spec
    recorded = spec.standardisation
    features = recorded.get("features", {}).get("columns")
    target = (recorded.get(TARGET, {}).get("columns") or [""])[0]
    if spec.dataset == "csv-images" and spec.dataset_options:
        options = {k: v for k, v in spec.dataset_options.items() if k != "csv"}
        features = features or options.get("feature_columns")
        target = options.get("target_column") or target
    else:
        options = {
            "image_column": "image",
            "size": spec.config.get("image_size", 64),
            "channels": spec.config.get("channels", 3),
        }
    if not features:
        raise zoo.ConfigError(
            f"{spec.source or 'the model'}: the checkpoint does not record which CSV columns its "
            "features come from; zoo predict takes models trained with zoo train on csv-images "
            "or houses"
        )
    if spec.config.get("use_image") is False:
        options["image_column"] = ""  # a table-only model needs no pictures
    header, rows = _table(csv)
    needed = [c for c in (options["image_column"], *features) if c]
    missing = [name for name in needed if name not in header]
    if missing:
        raise zoo.ConfigError(
            f"{csv} lacks column {', '.join(repr(m) for m in missing)}: model '{spec.name}' "
            f"was trained on {', '.join(repr(n) for n in needed)} (other columns are ignored); "
            f"its columns are {', '.join(repr(h) for h in header)}"
        )
    # New rows without the answer (no target column, or an empty one): predict only.
    at = header.index(target) if target in header else None
    has_target = at is not None and any(row[at].strip() for row in rows)
    options.update(feature_columns=list(features), target_column=target if has_target else "")
    return {**options, "csv": str(csv)}


def _table(csv: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the non-blank rows of a CSV (csv-images drops blank lines too)."""
    if not csv.is_file():
        what = "is a folder" if csv.is_dir() else "does not exist"
        raise zoo.ConfigError(f"--csv {csv} {what}; give the CSV file of rows to predict")
    try:
        with open(csv, newline="", encoding="utf-8-sig") as handle:
            reader = csv_module.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows = [row for row in reader if any(value.strip() for value in row)]
    except (OSError, UnicodeDecodeError, csv_module.Error) as exc:
        raise zoo.DataError(f"cannot read {csv} as a CSV file: {exc}") from None
    return header, [row + [""] * (len(header) - len(row)) for row in rows]


@torch.no_grad()
def predict_csv(
    model: nn.Module | str | os.PathLike[str],
    csv: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    device: str = "auto",
    batch_size: int = 256,
) -> Prediction:
    """Predict the target of every row of `csv` with a trained regression model.

    `model` is a loaded model or a checkpoint path. The CSV has the layout of
    the model's training data (csv-images, or houses written by
    `write_csv_images`); its features are standardised with the statistics
    stored in the checkpoint and predictions come back in the target's units.
    With `out`, writes the CSV again with a `predicted_<target>` column. When
    the CSV also holds the target, `metrics` gives MAE, RMSE and R².
    """
    model = _model(model, device)
    spec = getattr(model, "zoo_spec", None)
    if spec is None or (spec.task and spec.task != "regression"):
        what = f"model '{spec.name}' trained for task '{spec.task}'" if spec else "this model"
        raise zoo.ConfigError(f"{what} does not predict numbers; give a regression checkpoint")
    csv = Path(csv)
    target_path = None if out is None else Path(out)
    if target_path is not None:
        if target_path.is_dir():
            raise zoo.ConfigError(f"--out {target_path} is a folder; give a .csv file name")
        if target_path.resolve() == csv.resolve():
            raise zoo.ConfigError(f"--out {target_path} is the input CSV; choose another name")
        if target_path.exists() and not overwrite:
            raise zoo.ConfigError(
                f"{target_path} exists; overwrite it (--overwrite) or choose another name"
            )
    options = _csv_options(model, csv)
    data = zoo.create_dataset("csv-images", **options)
    scale = zoo.Standardisation.from_json(spec.standardisation) if spec.standardisation else None
    if scale is not None:
        data = data.standardised(scale, names=[n for n in scale.stats if n != TARGET])
    task = Regression()
    device_of = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.eval()
    outputs = []
    for batch in data.batches(batch_size, device=device_of):
        try:
            output = task.forward(model, batch)
        except Exception as exc:
            shapes = ", ".join(f"{k} {list(v)}" for k, v in data.sample_shapes.items())
            raise zoo.ConfigError(
                f"model '{spec.name}' cannot take the rows of {csv} ({shapes}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        outputs.append(output.float().cpu())
    values = torch.cat(outputs)
    bad = ~torch.isfinite(values.reshape(len(values), -1)).all(dim=1)
    if bool(bad.any()):
        raise zoo.ConfigError(
            f"model '{spec.name}' gives non-finite predictions (NaN or infinity) for "
            f"{int(bad.sum())} of {len(values)} rows of {csv}; its weights may be damaged"
            " (retrain it, or check the checkpoint)"
        )
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if scale is not None:
        values = scale.restore(TARGET, values)
    target = options.get("target_column") or _target_name(spec)
    metrics = None
    if data.tensors is not None and TARGET in data.tensors:
        metrics = regression_metrics(values, data.tensors[TARGET])
    if target_path is not None:
        _write(csv, target_path, values, target, options["image_column"])
    return Prediction(values=values, target=target, metrics=metrics, out=target_path)


def _target_name(spec) -> str:
    columns = spec.standardisation.get(TARGET, {}).get("columns") or ["target"]
    return columns[0] or "target"


def _write(csv: Path, out: Path, values: torch.Tensor, target: str, image_column: str) -> None:
    """The input rows plus the predictions (replacing an earlier prediction column).

    Relative image paths are rewritten relative to the output's folder, so the
    written CSV can be read again from where it is.
    """
    header, rows = _table(csv)
    flat = values.reshape(len(values), -1).tolist()
    names = (
        [f"predicted_{target}"]
        if len(flat[0]) == 1
        else [f"predicted_{target}_{i}" for i in range(len(flat[0]))]
    )
    kept = [i for i, name in enumerate(header) if name not in names]
    image_at = header.index(image_column) if image_column in header else None
    source, destination = csv.parent.resolve(), out.parent.resolve()
    text = io.StringIO()
    writer = csv_module.writer(text)
    writer.writerow([*(header[i] for i in kept), *names])
    for row, predicted in zip(rows, flat, strict=True):
        row = list(row[: len(header)])
        if image_at is not None and source != destination:
            image = Path(row[image_at].strip()).expanduser()
            if not image.is_absolute():
                row[image_at] = os.path.relpath(source / image, destination)
        writer.writerow([*(row[i] for i in kept), *(zoo.number_text(v) for v in predicted)])
    atomic_write_text(out, text.getvalue())
