"""Classification: one label per image; held-out accuracy, per-class accuracy, confusion.png.

The model maps `x` (N×C×H×W) to logits (N×classes); the loss is
cross-entropy against the integer labels `y`. Held-out accuracy is reported
every epoch; after training, `confusion.png` shows the confusion matrix of
the held-out samples with each class's accuracy, and the final metrics
include the accuracy of every class (`val_accuracy_<label>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import nn

import zoo

INPUT, TARGET = "x", "y"


def confusion_matrix(predicted: torch.Tensor, true: torch.Tensor, classes: int) -> torch.Tensor:
    """classes×classes counts: row = true label, column = predicted label.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), 2).tolist()
        [[1, 1], [0, 1]]
    """
    index = true.long() * classes + predicted.long()
    return torch.bincount(index, minlength=classes * classes).reshape(classes, classes)


def class_accuracies(matrix: torch.Tensor) -> dict[int, float]:
    """Accuracy of every class that has samples: its diagonal count over its row's total."""
    totals = matrix.sum(dim=1)
    return {
        label: float(matrix[label, label]) / float(totals[label])
        for label in range(len(matrix))
        if totals[label] > 0
    }


def metric_label(name: str) -> str:
    """A label name as part of a metric name: lower case, runs of other characters → '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "class"


class Classification(zoo.Task):
    """Fit `cross_entropy(model(x), y)`; held-out loss and accuracy, per-class accuracy.

    After training, `confusion.png` shows the held-out confusion matrix (the
    training samples' when nothing is held out).
    """

    default_loss = "cross-entropy"
    loss_tags = ("multiclass",)  # logits N×classes against integer labels
    inputs = (INPUT,)
    targets = (TARGET,)

    def setup(self, model: nn.Module, data: zoo.Data, loss: nn.Module | None) -> None:
        super().setup(model, data, loss)
        self.plotted = {"cross-entropy": ("loss",), "accuracy": ("accuracy",)}
        missing = [name for name in (INPUT, TARGET) if name not in data.sample_shapes]
        if missing:
            raise zoo.DataError(
                f"classification needs images '{INPUT}' and integer labels '{TARGET}'; the "
                f"data have {', '.join(data.sample_shapes) or 'nothing'} (a dataset without "
                "labels, such as a flat image folder, cannot train a classifier)"
            )
        example = data.example(1)[TARGET]
        if example.is_floating_point() or example.is_complex():
            raise zoo.DataError(
                f"classification needs integer class labels in '{TARGET}', got {example.dtype}; "
                "for a number to predict use --task regression"
            )
        self.label_names = [str(n) for n in data.info.get("label_names", [])]
        if data.tensors is not None:  # in memory: cheap to check that there is a choice
            present = data.tensors[TARGET].unique().tolist()
            if len(present) < 2:
                shown = ", ".join(self.name_of(int(label)) for label in present) or "none"
                raise zoo.DataError(
                    f"classification needs samples of at least two classes to tell apart; "
                    f"the training data hold only {shown} (choose two or more with "
                    "--set classes=…, or leave classes unset for all)"
                )

    def logits(self, model: nn.Module, batch: zoo.Batch) -> torch.Tensor:
        """The model's N×classes output for a batch, checked against the labels."""
        output = self.forward(model, batch)
        labels = batch[TARGET]
        if output.ndim != 2 or len(output) != len(labels):
            raise ValueError(
                f"the model gives outputs of shape {list(output.shape)} for {len(labels)} "
                "labels; a classifier must give one row of class scores per sample"
            )
        return output

    def check_fit(self, model: nn.Module, example: zoo.Batch) -> None:
        classes = self.logits(model, example).shape[1]
        if self.label_names and classes < len(self.label_names):
            raise ValueError(
                f"the model scores {classes} classes but the data have "
                f"{len(self.label_names)} ({', '.join(self.label_names[:5])}"
                f"{', …' if len(self.label_names) > 5 else ''}); set num_classes="
                f"{len(self.label_names)}"
            )

    def training_step(self, model, batch, step):
        loss = self.loss(self.logits(model, batch), batch[TARGET])
        step.optimize(loss)
        return {"loss": loss}

    def eval_step(self, model, batch):
        logits = self.logits(model, batch)
        labels = batch[TARGET]
        return {
            "loss": self.loss(logits, labels),
            "accuracy": (logits.argmax(dim=1) == labels).double().mean(),
        }

    def gather(self, model: nn.Module, batches: Iterable[zoo.Batch]) -> tuple[torch.Tensor, ...]:
        """(predicted labels, true labels) over all batches, on the CPU."""
        predicted, true = [], []
        for batch in batches:
            predicted.append(self.logits(model, batch).argmax(dim=1).cpu())
            true.append(batch[TARGET].cpu())
        return torch.cat(predicted), torch.cat(true)

    def name_of(self, label: int) -> str:
        return self.label_names[label] if label < len(self.label_names) else str(label)

    def finish(self, model, run):
        data = run.held_out if run.held_out is not None else run.train
        which = "held-out" if run.held_out is not None else "training"
        predicted, true = self.gather(model, data.batches(run.batch_size))
        classes = max(len(self.label_names), int(predicted.max()) + 1, int(true.max()) + 1)
        matrix = confusion_matrix(predicted, true, classes)
        accuracy = float((predicted == true).double().mean())
        plot_confusion(
            matrix,
            [self.name_of(i) for i in range(classes)],
            run.path("confusion.png"),
            f"{which} accuracy {accuracy:.3f} ({len(true)} samples)",
        )
        prefix = "val_" if run.held_out is not None else "train_"
        metrics = {
            f"{prefix}accuracy_{metric_label(self.name_of(label))}": value
            for label, value in class_accuracies(matrix).items()
        }
        if run.held_out is None:
            metrics["train_accuracy"] = accuracy
        return metrics


def plot_confusion(
    matrix: torch.Tensor, names: Sequence[str], path: str | Path, title: str
) -> Path:
    """The confusion matrix as a picture: rows true, columns predicted, each row's accuracy.

    Only classes with samples or predictions are drawn; cells hold counts,
    shaded by their share of the row (the true class).
    """
    from zoo.plots import figure, save_figure

    present = [i for i in range(len(matrix)) if matrix[i].sum() > 0 or matrix[:, i].sum() > 0]
    shown = matrix[present][:, present].double()
    shares = shown / shown.sum(dim=1, keepdim=True).clamp_min(1)
    size = min(max(4.0, 0.45 * len(present) + 2.5), 16.0)
    fig = figure(figsize=(size + 0.5, size))
    axes = fig.add_subplot(1, 1, 1)
    axes.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    labels = [names[i] for i in present]
    rows = [
        f"{names[i]} ({float(matrix[i, i]) / float(matrix[i].sum()):.0%})"
        if matrix[i].sum() > 0
        else names[i]
        for i in present
    ]
    if max(len(name) for name in labels) > 2:  # slanted only when the names need room
        axes.set_xticks(range(len(present)), labels, rotation=45, ha="right")
    else:
        axes.set_xticks(range(len(present)), labels)
    axes.set_yticks(range(len(present)), rows)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class (its accuracy)")
    if len(present) <= 30:
        for r in range(len(present)):
            for c in range(len(present)):
                count = int(shown[r, c])
                if count:
                    colour = "white" if shares[r, c] > 0.5 else "black"
                    axes.text(c, r, str(count), ha="center", va="center", fontsize=7, color=colour)
    axes.set_title(title, fontsize=10)
    return save_figure(fig, path)
