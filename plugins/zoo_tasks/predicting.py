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
    """The csv-images options that read `csv` the way the model's training data were read."""
    spec = model.zoo_spec
    columns = spec.standardisation
    if spec.dataset == "csv-images" and spec.dataset_options:
        options = {k: v for k, v in spec.dataset_options.items() if k != "csv"}
    else:
        features = columns.get("features", {}).get("columns")
        if not features:
            raise zoo.ConfigError(
                f"{spec.source}: the checkpoint does not record which CSV columns its features "
                f"come from (trained on dataset '{spec.dataset or 'unknown'}'); train it on "
                "csv-images or houses to predict from a CSV"
            )
        options = {
            "image_column": "image",
            "feature_columns": features,
            "target_column": (columns.get(TARGET, {}).get("columns") or ["target"])[0],
            "size": spec.config.get("image_size", 64),
            "channels": spec.config.get("channels", 3),
        }
    header = _header(csv)
    if options.get("target_column") and options["target_column"] not in header:
        options["target_column"] = ""  # new rows without the answer: predict only
    return {**options, "csv": str(csv)}


def _header(csv: Path) -> list[str]:
    try:
        with open(csv, newline="", encoding="utf-8-sig") as handle:
            return [name.strip() for name in next(csv_module.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv_module.Error):
        return []  # csv-images reports what is wrong with the file


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
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if scale is not None:
        values = scale.restore(TARGET, values)
    target = options.get("target_column") or _target_name(spec)
    metrics = None
    if data.tensors is not None and TARGET in data.tensors:
        metrics = regression_metrics(values, data.tensors[TARGET])
    if target_path is not None:
        _write(csv, target_path, values, target)
    return Prediction(values=values, target=target, metrics=metrics, out=target_path)


def _target_name(spec) -> str:
    columns = spec.standardisation.get(TARGET, {}).get("columns") or ["target"]
    return columns[0]


def _write(csv: Path, out: Path, values: torch.Tensor, target: str) -> None:
    """The input rows (blank lines dropped, as csv-images drops them) plus the predictions."""
    with open(csv, newline="", encoding="utf-8-sig") as handle:
        reader = csv_module.reader(handle)
        header = next(reader)
        rows = [row for row in reader if any(value.strip() for value in row)]
    flat = values.reshape(len(values), -1).tolist()
    names = (
        [f"predicted_{target}"]
        if len(flat[0]) == 1
        else [f"predicted_{target}_{i}" for i in range(len(flat[0]))]
    )
    text = io.StringIO()
    writer = csv_module.writer(text)
    writer.writerow([*header, *names])
    for row, predicted in zip(rows, flat, strict=True):
        writer.writerow([*row, *(f"{v:.6g}" for v in predicted)])
    atomic_write_text(out, text.getvalue())
