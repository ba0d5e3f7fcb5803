"""Reconstruction: train a model to reproduce its input, then look at its codes."""

from __future__ import annotations

import math

import torch
from torch import nn

import zoo

# Inputs encoded at once when codes are gathered (no gradients, so no activations
# kept): about 4 MiB of float32 input per pass, and never fewer than a training batch.
CODE_PASS_ELEMENTS = 2**20


def _all_codes(
    model: nn.Module, data: zoo.Data, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    per_sample = math.prod(data.sample_shapes["x"]) or 1
    codes, labels = [], []
    for batch in data.batches(max(batch_size, CODE_PASS_ELEMENTS // per_sample)):
        codes.append(model.encode(batch["x"]).float().flatten(1).cpu())
        if "y" in batch:
            labels.append(batch["y"].cpu())
    return torch.cat(codes), (torch.cat(labels) if labels else None)


def linear_probe_accuracy(
    train_codes: torch.Tensor,
    train_labels: torch.Tensor,
    test_codes: torch.Tensor,
    test_labels: torch.Tensor,
) -> float:
    """Accuracy of a least-squares linear classifier fitted on train codes, scored on test codes.

    A simple, deterministic measure of how linearly separable the classes are
    in code space (1.0: a straight line splits them perfectly).
    """
    classes = int(max(train_labels.max(), test_labels.max())) + 1

    def design(codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([codes.double(), torch.ones(len(codes), 1, dtype=torch.float64)], dim=1)

    targets = torch.nn.functional.one_hot(train_labels, classes).double() * 2 - 1
    weights = torch.linalg.lstsq(design(train_codes), targets).solution
    predicted = (design(test_codes) @ weights).argmax(dim=1)
    return float((predicted == test_labels).double().mean())


class Reconstruction(zoo.Task):
    """Reproduce the input: loss(model(x), x).

    After training, a model with an `encode` method gets `codes.png`: its codes
    (the first two principal directions when there are more than two) coloured
    by label, and, when the data carry two or more labels and part is held out, the metric
    `code_linear_accuracy`: the held-out accuracy of a linear classifier fitted
    on the training codes, next to `code_linear_accuracy_untrained`, the same
    measure for the codes of the model before training (random projections of
    well-separated classes are often separable already).
    """

    default_loss = "mse"
    loss_tags = ("elementwise",)  # output and target compared element by element

    def training_step(self, model, batch, step):
        x = batch["x"]
        loss = self.loss(model(x), x)
        step.optimize(loss)
        return {"loss": loss}

    def eval_step(self, model, batch):
        x = batch["x"]
        return {"loss": self.loss(model(x), x)}

    def _codes(self, model, run):
        train_codes, train_labels = _all_codes(model, run.train, run.batch_size)
        held_codes, held_labels = (
            _all_codes(model, run.held_out, run.batch_size)
            if run.held_out is not None
            else (None, None)
        )
        accuracy = None
        # A probe needs two classes to tell apart (one blob scores a meaningless 100 %).
        if (
            train_labels is not None
            and held_labels is not None
            and len(torch.unique(train_labels)) > 1
        ):
            accuracy = linear_probe_accuracy(train_codes, train_labels, held_codes, held_labels)
        return train_codes, train_labels, held_codes, held_labels, accuracy

    def start(self, model, run):
        self.untrained_accuracy = None
        # Without a held-out split there is no probe to score, so no codes to gather yet.
        if callable(getattr(model, "encode", None)) and run.held_out is not None:
            self.untrained_accuracy = self._codes(model, run)[-1]

    def finish(self, model, run):
        if not callable(getattr(model, "encode", None)):
            return {}
        train_codes, train_labels, held_codes, held_labels, accuracy = self._codes(model, run)
        metrics = {}
        if accuracy is not None:
            metrics["code_linear_accuracy"] = accuracy
            metrics["code_linear_accuracy_untrained"] = self.untrained_accuracy
        draw_codes(
            run.path("codes.png"),
            train_codes,
            train_labels,
            held_codes,
            held_labels,
            run.train.info.get("label_names"),
            metrics.get("code_linear_accuracy"),
            self.untrained_accuracy,
        )
        return metrics


# A scatter of more points than this is slow to draw and no clearer to read.
MAX_POINTS = 3000


def _project(codes: torch.Tensor, center: torch.Tensor, basis: torch.Tensor | None) -> torch.Tensor:
    return codes if basis is None else (codes - center) @ basis


def _thin(codes: torch.Tensor, labels: torch.Tensor | None):
    if len(codes) <= MAX_POINTS:
        return codes, labels
    keep = torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))[:MAX_POINTS]
    return codes[keep], (labels[keep] if labels is not None else None)


def draw_codes(
    path, train_codes, train_labels, held_codes, held_labels, label_names, accuracy, untrained
):
    """codes.png: each sample's code as a point, coloured by its label."""
    from zoo.plots import figure, save_figure

    center = train_codes.mean(dim=0)
    basis = None
    axis_names = ("code 1", "code 2")
    if train_codes.shape[1] > 2:
        basis = torch.linalg.svd(train_codes - center, full_matrices=False).Vh[:2].T
        axis_names = ("principal direction 1", "principal direction 2")
    fig = figure(figsize=(7.5, 4.5))
    axes = fig.add_subplot(1, 1, 1)
    thinned: list[str] = []
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for codes, labels, marker, part in (
        (train_codes, train_labels, "o", "train"),
        (held_codes, held_labels, "^", "held-out"),
    ):
        if codes is None:
            continue
        total = len(codes)
        codes, labels = _thin(codes, labels)
        if len(codes) < total:
            thinned.append(f"{len(codes):,} of {total:,} {part} points")
        points = _project(codes, center, basis)
        ys = points[:, 1] if points.shape[1] > 1 else torch.zeros(len(points))
        if labels is None:
            axes.scatter(points[:, 0], ys, s=12, marker=marker, alpha=0.6, label=part)
            continue
        for value in labels.unique().tolist():
            chosen = labels == value
            name = (
                label_names[value] if label_names and value < len(label_names) else f"label {value}"
            )
            axes.scatter(
                points[chosen, 0],
                ys[chosen],
                s=14 if marker == "o" else 26,
                marker=marker,
                alpha=0.55 if marker == "o" else 0.9,
                color=colors[value % len(colors)],
                edgecolors="black" if marker == "^" else "none",
                linewidths=0.5,
                label=f"{name} ({part})",
            )
    axes.set_xlabel(axis_names[0])
    axes.set_ylabel(axis_names[1])
    title = "codes"
    if accuracy is not None:
        title += f" — linear classifier on held-out codes: {accuracy:.1%}"
        if untrained is not None:
            title += f"\n(untrained model: {untrained:.1%})"
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if thinned:
        axes.set_xlabel(f"{axis_names[0]}\n(showing {' and '.join(thinned)})", fontsize=9)
    return save_figure(fig, path)
