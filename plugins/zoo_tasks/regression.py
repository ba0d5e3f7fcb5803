"""Regression: predict a number (or a few) from any named inputs; report errors in real units.

The model gets every tensor of a batch but the target `y`, by name, so a
multi-input model (`forward(image, features)`) and a plain one
(`forward(x)`) train alike. When the dataset standardises the target, the
loss works in standardised units but MAE, RMSE and R² are reported in the
target's own units (e.g. thousands), over the whole held-out split.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

import zoo

TARGET = "y"


def regression_metrics(predicted: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    """MAE, RMSE and R² of predictions against true values (same units, same shape).

    R² is 1 − SS_res / SS_tot per output column, averaged over columns (as
    scikit-learn's r2_score does); 0 means no better than predicting the mean.
    A column with no spread (a constant target, or a single sample) has no
    variance to explain: like scikit-learn, it scores 1 when predicted exactly
    and 0 otherwise.

    Example:
        >>> regression_metrics(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 2.0, 3.0]))
        {'mae': 0.3333333333333333, 'rmse': 0.5773502691896257, 'r2': 0.5}
    """
    p = predicted.double().reshape(len(predicted), -1)
    t = true.double().reshape(len(true), -1)
    error = p - t
    residual = (error**2).sum(dim=0)
    total = ((t - t.mean(dim=0)) ** 2).sum(dim=0)
    flat = torch.where(residual == 0, 1.0, 0.0).double()
    r2 = torch.where(total > 0, 1 - residual / total.clamp_min(1e-300), flat)
    return {
        "mae": error.abs().mean().item(),
        "rmse": math.sqrt((error**2).mean().item()),
        "r2": r2.mean().item(),
    }


class Regression(zoo.Task):
    """Fit `loss(model(**inputs), y)`; held-out loss, MAE, RMSE and R² in the target's units.

    After training, `predictions.png` plots predicted against true values of
    the held-out samples (the training samples when nothing is held out).
    """

    default_loss = "mse"
    loss_tags = ("regression",)  # mse, l1, huber, smooth-l1: not bce on a price
    inputs = None  # every tensor but the target, by name
    targets = (TARGET,)

    def setup(self, model: nn.Module, data: zoo.Data, loss: nn.Module | None) -> None:
        super().setup(model, data, loss)
        if TARGET not in data.sample_shapes:
            raise zoo.DataError(
                f"regression needs a target tensor '{TARGET}'; the data have "
                f"{', '.join(data.sample_shapes)} (for csv-images, name the target with "
                "--set target_column=NAME)"
            )
        self.scale = data.scale
        units = "standardised target" if data.scale is not None and TARGET in data.scale else ""
        name = type(loss).__name__ if loss is not None else "loss"
        self.plotted = {
            f"{name} ({units})" if units else name: ("loss",),
            "R² (1 is perfect)": ("r2",),
        }
        columns = data.scale.columns.get(TARGET, []) if data.scale is not None else []
        self.target_name = columns[0] if len(columns) == 1 else "target"
        self.unit = str(data.info.get("target_unit", ""))

    def predict(self, model: nn.Module, batch: zoo.Batch) -> torch.Tensor:
        """The model's output for a batch, shaped like the batch's target."""
        output = self.forward(model, batch)
        target = batch[TARGET]
        if output.numel() != target.numel():
            raise ValueError(
                f"the model gives {list(output.shape)} outputs for targets of shape "
                f"{list(target.shape)}; set the model's outputs to match"
            )
        return output.reshape(target.shape)

    def check_fit(self, model: nn.Module, example: zoo.Batch) -> None:
        self.predict(model, example)  # the output must match the target, not just run

    def training_step(self, model, batch, step):
        loss = self.loss(self.predict(model, batch), batch[TARGET])
        step.optimize(loss)
        return {"loss": loss}

    def eval_step(self, model, batch):
        return {"loss": self.loss(self.predict(model, batch), batch[TARGET])}

    def gather(
        self, model: nn.Module, batches: Iterable[zoo.Batch]
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(predicted, true) in the target's own units, and the mean loss, over all batches."""
        predicted, true, loss_sum, count = [], [], 0.0, 0
        for batch in batches:
            output = self.predict(model, batch)
            target = batch[TARGET]
            loss_sum += float(self.loss(output, target)) * len(target)
            count += len(target)
            predicted.append(self._restore(output).float().cpu())
            true.append(self._restore(target).float().cpu())
        return torch.cat(predicted), torch.cat(true), loss_sum / max(count, 1)

    def _restore(self, values: torch.Tensor) -> torch.Tensor:
        return values if self.scale is None else self.scale.restore(TARGET, values)

    def evaluate(self, model, batches):
        predicted, true, loss = self.gather(model, batches)
        return {"loss": loss, **regression_metrics(predicted, true)}

    def finish(self, model, run):
        data = run.held_out if run.held_out is not None else run.train
        which = "held-out" if run.held_out is not None else "training"
        predicted, true, _ = self.gather(model, data.batches(run.batch_size))
        metrics = regression_metrics(predicted, true)
        label = self.target_name + (f" ({self.unit})" if self.unit else "")
        title = f"{which} {label}: R² {metrics['r2']:.3f}, MAE {metrics['mae']:.4g}"
        plot_predictions(predicted, true, run.path("predictions.png"), title, label)
        return {} if run.held_out is not None else {f"train_{k}": v for k, v in metrics.items()}


def plot_predictions(
    predicted: torch.Tensor, true: torch.Tensor, path: str | Path, title: str, label: str = "target"
) -> Path:
    """Scatter of predicted against true values with the line where they are equal."""
    from zoo.plots import figure, save_figure

    p, t = predicted.reshape(-1).numpy(), true.reshape(-1).numpy()
    fig = figure(figsize=(5.5, 5.5))
    axes = fig.add_subplot(1, 1, 1)
    axes.scatter(t, p, s=8, alpha=0.5, edgecolors="none")
    low, high = float(min(p.min(), t.min())), float(max(p.max(), t.max()))
    axes.plot([low, high], [low, high], color="black", linewidth=1, label="predicted = true")
    axes.set_xlabel(f"true {label}")
    axes.set_ylabel(f"predicted {label}")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper left")
    axes.set_aspect("equal", adjustable="datalim")
    return save_figure(fig, path)
