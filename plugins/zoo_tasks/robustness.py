"""How a trained classifier holds up: accuracy on clean, noisy and adversarial inputs.

The chapter ends with a teaser: a little noise can change what a network
sees. `robustness` measures it on the model's own held-out samples (the
same split its training held out, recorded in the checkpoint): accuracy on
the clean images, with Gaussian noise of a few standard deviations, and
under the fast gradient sign method (FGSM), which moves every pixel by ε in
the direction that raises the loss most. Pixels stay in [0, 1], the range
of zoo's image datasets.

Example:
    >>> from zoo_tasks.robustness import robustness
    >>> result = robustness("runs/simple-cnn/model.safetensors", out="robustness.png")
    >>> print(result.table())
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

import zoo
from zoo_tasks.classification import INPUT, TARGET
from zoo_tasks.denoising import _model

NOISE_LEVELS = (0.05, 0.1, 0.2, 0.3)
EPSILONS = (0.01, 0.02, 0.05, 0.1)
_SYMBOL = {"noise": "σ", "fgsm": "ε"}


@dataclass
class Robustness:
    """Accuracy per attack and level; `examples` are one sample's images per level."""

    rows: list[tuple[str, float, float]]  # (attack, level, accuracy)
    samples: int
    which: str  # "held-out samples of digits", "samples of fashion-mnist"
    out: Path | None = None
    note: str = ""  # set when measured on another dataset than the model was trained on
    examples: dict[str, Any] = field(default_factory=dict, repr=False)

    def accuracy(self, attack: str, level: float = 0.0) -> float:
        """The accuracy of one row: `accuracy("fgsm", 0.05)`, `accuracy("clean")`."""
        for name, value, accuracy in self.rows:
            if name == attack and value == level:
                return accuracy
        raise KeyError(f"no row for {attack} at {level}")

    def table(self) -> str:
        """The rows as an aligned text table."""
        lines = [f"{'input':<8}{'level':<8}  accuracy"]
        for attack, level, accuracy in self.rows:
            shown = "" if attack == "clean" else f"{_SYMBOL[attack]} {level:g}"
            lines.append(f"{attack:<8}{shown:<8}  {accuracy:.4f}")
        return "\n".join(lines)


def _levels(values: Sequence[float], name: str) -> tuple[float, ...]:
    levels = tuple(float(v) for v in values)
    bad = [v for v in levels if not 0 < v <= 1]
    if bad:
        raise zoo.ConfigError(
            f"{name} levels must be in (0, 1] (pixels are in [0, 1]), got {bad[0]}"
        )
    return levels


def _measured_data(model: nn.Module, dataset: str | None, options: dict[str, Any] | None):
    """(name, data, samples to measure, what they are, a note or "") for `robustness`.

    By default, the held-out split of the run that trained the model, rebuilt
    from the options and the split its checkpoint records. With `dataset`
    (or `options`), every sample of it; the training dataset's recorded
    options apply unless `options` changes them, so `split=test` measures the
    test images of the same classes at the same size.
    """
    spec = model.zoo_spec
    name = dataset or spec.dataset
    if not name:
        raise zoo.ConfigError(
            f"{spec.source}: the checkpoint records no dataset; name one with --dataset"
        )
    same = name == spec.dataset or zoo.get_entry("dataset", name).name == spec.dataset
    chosen = {**(spec.dataset_options if same else {}), **(options or {})}
    data = zoo.create_dataset(name, **chosen)
    note = (
        ""
        if same
        else f"note: '{spec.name}' was trained on {spec.dataset}; its class numbers are "
        f"compared with the labels of {name}"
    )
    if dataset is None and options is None and spec.split:
        _, held_out = data.split(spec.split["val_fraction"], spec.split["seed"])
        if held_out is not None:
            return name, data, held_out, f"held-out samples of {name}", note
    return name, data, data, f"samples of {name}", note


def _check_model_takes(model: nn.Module, data: zoo.Data, name: str, target: torch.device) -> None:
    """One clear error if the model cannot classify this dataset's samples."""
    example = data.example(2)
    try:
        with torch.no_grad():
            logits = model(example[INPUT].to(target))
    except Exception as exc:
        spec = model.zoo_spec
        shapes = ", ".join(f"{k} {list(v)}" for k, v in data.sample_shapes.items())
        first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
        options = ", ".join(f"{k}={v}" for k, v in spec.dataset_options.items())
        trained = f"{spec.dataset} with {options}" if options else str(spec.dataset)
        raise zoo.ConfigError(
            f"model '{spec.name}' cannot take the samples of dataset '{name}' ({shapes}): "
            f"{type(exc).__name__}: {first}; measure it on data like those it was trained on "
            f"({trained})"
        ) from None
    if logits.ndim != 2 or len(logits) != len(example[TARGET]):
        raise zoo.ConfigError(
            f"model '{model.zoo_spec.name}' gives outputs of shape {list(logits.shape)}, not one "
            "row of class scores per sample"
        )


def robustness(
    model: nn.Module | str | os.PathLike[str],
    *,
    noise: Sequence[float] = NOISE_LEVELS,
    eps: Sequence[float] = EPSILONS,
    dataset: str | None = None,
    dataset_options: dict[str, Any] | None = None,
    samples: int | None = None,
    batch_size: int = 256,
    seed: int = 0,
    device: str = "auto",
    out: str | os.PathLike[str] | None = None,
) -> Robustness:
    """Accuracy of a classifier (or its checkpoint) clean, with noise and under FGSM.

    Measured on the held-out samples of the run that trained it (the split
    recorded in the checkpoint), or on every sample of `dataset` when one is
    named; `samples` keeps only the first N. `out` writes a picture of one
    sample per level with the model's prediction.
    """
    noise, eps = _levels(noise, "noise"), _levels(eps, "eps")
    if samples is not None and samples < 1:
        raise zoo.ConfigError(f"samples must be at least 1, got {samples}")
    model = _model(model, device)
    spec = getattr(model, "zoo_spec", None)
    if spec is None or spec.task != "classification":
        task = getattr(spec, "task", None) or "none"
        raise zoo.ConfigError(
            f"robustness measures classifiers (task classification); this model's task is "
            f"{task}: train one with e.g. zoo train simple-cnn"
        )
    name, data, measured, which, note = _measured_data(model, dataset, dataset_options)
    if INPUT not in data.sample_shapes or TARGET not in data.sample_shapes:
        raise zoo.DataError(
            f"dataset '{name}' has {', '.join(data.sample_shapes)}; robustness needs images "
            f"'{INPUT}' and labels '{TARGET}'"
        )
    if samples is not None and samples < len(measured):
        measured = measured.subset(torch.arange(samples))
    target = next(model.parameters()).device
    _check_model_takes(model, data, name, target)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    model.eval()
    correct = {("clean", 0.0): 0, **{("noise", s): 0 for s in noise}}
    correct.update({("fgsm", e): 0 for e in eps})
    count, examples = 0, {}
    for batch in measured.batches(batch_size):
        x, y = batch[INPUT].to(target), batch[TARGET].to(target)
        inputs = {("clean", 0.0): x}
        # One draw of noise per batch, scaled to every level: the levels differ only in σ.
        jitter = torch.randn(x.shape, generator=generator).to(target)
        for sigma in noise:
            inputs[("noise", sigma)] = (x + sigma * jitter).clamp(0, 1)
        gradient = _input_gradient(model, x, y)
        for epsilon in eps:
            inputs[("fgsm", epsilon)] = (x + epsilon * gradient.sign()).clamp(0, 1)
        with torch.no_grad():
            for key, images in inputs.items():
                logits = model(images)
                correct[key] += int((logits.argmax(dim=1) == y).sum())
                if count == 0:  # the first sample of the first batch, at every level
                    _keep_example(examples, key, images[0], logits[0], int(y[0]))
        count += len(y)
    if count == 0:
        raise zoo.DataError(f"dataset '{name}' has no samples to measure")
    rows = [(attack, level, hits / count) for (attack, level), hits in correct.items()]
    result = Robustness(rows, count, which, note=note, examples=examples)
    if out is not None:
        result.out = plot_examples(result, _label_names(data), out)
    return result


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d cross_entropy(model(x), y) / dx, the direction FGSM steps in."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y)
        (gradient,) = torch.autograd.grad(loss, x)
    return gradient


def _keep_example(
    examples: dict, key: tuple[str, float], image: torch.Tensor, logits: torch.Tensor, label: int
) -> None:
    probability = torch.softmax(logits.float(), dim=0)
    examples[key] = (
        image.detach().float().cpu(),
        int(probability.argmax()),
        float(probability.max()),
        label,
    )


def _label_names(data: zoo.Data) -> list[str]:
    return [str(name) for name in data.info.get("label_names", [])]


def plot_examples(result: Robustness, names: Sequence[str], path: str | os.PathLike[str]) -> Path:
    """One sample per level: clean and noisy in the top row, clean and FGSM below."""
    from zoo.plots import figure, save_figure

    def name_of(label: int) -> str:
        return names[label] if label < len(names) else str(label)

    clean = ("clean", 0.0)
    rows = [
        [clean, *(k for k in result.examples if k[0] == attack)] for attack in ("noise", "fgsm")
    ]
    rows = [row for row in rows if len(row) > 1] or [[clean]]  # no row of the clean image alone
    columns = max(len(row) for row in rows)
    # Wide enough for the title however few the levels.
    width = max(2.0 * columns, 4.4)
    row_height = 0.75 + 0.85 * width / columns  # a square picture and its two-line title
    fig = figure(figsize=(width, 0.7 + row_height * len(rows)))
    for r, row in enumerate(rows):
        for c, key in enumerate(row):
            image, predicted, probability, label = result.examples[key]
            axes = fig.add_subplot(len(rows), columns, r * columns + c + 1)
            if image.shape[0] == 1:
                axes.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                axes.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
            attack, level = key
            heading = "clean" if attack == "clean" else f"{attack} {_SYMBOL[attack]} {level:g}"
            accuracy = result.accuracy(attack, level)
            colour = "black" if predicted == label else "tab:red"
            axes.set_title(
                f"{heading}: acc {accuracy:.3f}\n{name_of(predicted)} ({probability:.0%})",
                fontsize=8,
                color=colour,
            )
            axes.set_xticks([])
            axes.set_yticks([])
    label = result.examples[("clean", 0.0)][3]
    fig.suptitle(
        f"one of {result.samples} {result.which} (true: {name_of(label)}):\n"
        "the model's answer at each level, and its accuracy over all",
        fontsize=10,
    )
    return save_figure(fig, path)
