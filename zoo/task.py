"""The task: a training recipe that turns a batch into losses and optimizer steps.

The trainer owns the loop, the device, the data order, metrics, checkpoints
and pictures of the loss; a task owns what one step means for its kind of
model. A task knows no device or loop details; the trainer knows no model
family.

Example (a complete task, registered by a plugin):
    import zoo

    class Reconstruction(zoo.Task):
        '''Reproduce the input.'''
        default_loss = "mse"

        def training_step(self, model, batch, step):
            loss = self.loss(model(batch["x"]), batch["x"])
            step.optimize(loss)
            return {"loss": loss}

        def eval_step(self, model, batch):
            return {"loss": self.loss(model(batch["x"]), batch["x"])}
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.data import Batch, Data, model_inputs

__all__ = ["RunContext", "Step", "Task", "make_optimizer"]


def make_optimizer(
    kind: type[torch.optim.Optimizer], params: Iterable[Any], **options: Any
) -> torch.optim.Optimizer:
    """`kind(params, **options)` with PyTorch's fused kernel where it has one.

    A fused optimizer (Adam, AdamW, SGD, Adagrad) updates every parameter in
    one vectorised kernel instead of a dozen small operations per tensor:
    the same algorithm, 2-8x faster per step on a CPU (a third of a small
    model's training step), and faster on CUDA. Its results differ from the
    default implementation's only in floating-point rounding. Used when the
    class takes `fused` and every parameter is a floating-point tensor on a
    device with fused kernels; otherwise, or when `options` choose `fused`
    or `foreach` themselves, PyTorch's default is used.

        optimizer = zoo.make_optimizer(torch.optim.Adam, model.parameters(), lr=1e-3)
    """
    params = [{**p, "params": list(p["params"])} if isinstance(p, Mapping) else p for p in params]
    tensors = [t for p in params for t in (p["params"] if isinstance(p, dict) else [p])]
    chosen = "fused" in options or "foreach" in options
    floating = all(isinstance(t, torch.Tensor) and t.is_floating_point() for t in tensors)
    if not chosen and floating and "fused" in inspect.signature(kind.__init__).parameters:
        try:
            return kind(params, fused=True, **options)
        except RuntimeError:  # a parameter without a fused kernel (dtype or device)
            pass
    return kind(params, **options)


class Step:
    """Given to `Task.training_step`: runs the optimizer updates the task asks for."""

    def __init__(self, optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
        self.optimizers = dict(optimizers)
        self.index = 0
        self.epoch = 0
        #: The device type whose autocast `optimize` turns off for the backward pass
        #: (set by the trainer when forward passes run in bf16), or None.
        self.autocast_device: str | None = None
        #: Called with the optimizer between the backward pass and the update: in a
        #: multi-process run the trainer averages the gradients over the processes here.
        self.synchronise: Callable[[torch.optim.Optimizer], None] | None = None

    def optimize(
        self, loss: torch.Tensor, optimizer: str = "main", *, retain_graph: bool = False
    ) -> None:
        """Clear gradients, back-propagate `loss` and step the named optimizer."""
        chosen = self.optimizers[optimizer]
        chosen.zero_grad(set_to_none=True)
        if self.autocast_device is None:
            loss.backward(retain_graph=retain_graph)
        else:  # autocast covers forward passes only, as PyTorch recommends
            with torch.autocast(self.autocast_device, enabled=False):
                loss.backward(retain_graph=retain_graph)
        if self.synchronise is not None:
            self.synchronise(chosen)
        chosen.step()


@dataclass
class RunContext:
    """What a task may look at when it draws pictures or adds final metrics."""

    run_dir: Path
    device: torch.device
    train: Data
    held_out: Data | None
    epoch: int
    epochs: int
    batch_size: int
    history: list[dict[str, Any]] = field(default_factory=list)
    pictures: list[Path] = field(default_factory=list)
    #: True when `finish` is called after Ctrl-C: draw what there is, mid-epoch.
    interrupted: bool = False

    def path(self, name: str) -> Path:
        """A file in the run folder, recorded as one of the run's pictures."""
        target = self.run_dir / name
        if target not in self.pictures:
            self.pictures.append(target)
        return target


class Task:
    """Base class of training recipes; subclass it and register it with `register_tasks`.

    Override `training_step` (required), and optionally `eval_step` (held-out
    metrics), `setup` (check the data, keep what it needs), `check_fit` (how
    to try the model on two samples), `configure_optimizers` (more than one
    optimizer, other settings),
    `start` (look at the untrained model), `epoch_end` (a picture per epoch)
    and `finish` (final pictures and metrics).
    """

    #: Loss used when the user does not pass --loss (a registered loss name).
    default_loss: str | None = "mse"
    #: Tags a loss must carry one of to be used by this task (empty: any loss).
    #: E.g. ("elementwise",) refuses cross-entropy for a reconstruction task.
    loss_tags: tuple[str, ...] = ()
    #: Batch keys fed to the model, in order, by `forward`; None: every tensor of
    #: the batch except the `targets`, by name (`model(image=..., features=...)`),
    #: so a dataset with any number of named inputs fits a model whose forward
    #: takes the same names.
    inputs: tuple[str, ...] | None = ("x",)
    #: Batch keys that are what the model should predict, never fed to it.
    targets: tuple[str, ...] = ()
    #: Panels of loss.png: a y-axis label to the metrics drawn on it. None: one
    #: panel with every metric whose name contains "loss".
    plotted: dict[str, tuple[str, ...]] | None = None

    def __init__(self, **options: Any) -> None:
        self.options: dict[str, Any] = dict(options)
        self.name = type(self).__name__
        self.loss: nn.Module | None = None

    def setup(self, model: nn.Module, data: Data, loss: nn.Module | None) -> None:
        """Called once before training; keeps the loss module as `self.loss`."""
        self.loss = loss

    def check_fit(self, model: nn.Module, example: Batch) -> None:
        """Raise if the model cannot take this data; called on two samples before training.

        The default runs `forward` once. The trainer turns any error into one
        line naming the model, the dataset and the task, before a run folder
        exists. Override it for a task whose model is not called as `forward`
        calls it.
        """
        self.forward(model, example)

    def forward(self, model: nn.Module, batch: Batch) -> Any:
        """Run the model on a batch: the tensors named in `inputs` in order, or, when
        `inputs` is None, every tensor but the `targets` by name."""
        if self.inputs is None:
            return model(**model_inputs(batch, self.targets))
        return model(*(batch[name] for name in self.inputs))

    def configure_optimizers(self, model: nn.Module, lr: float) -> dict[str, torch.optim.Optimizer]:
        """The optimizers by name; `Step.optimize(loss, name)` steps one of them.

        The default: Adam at `lr`, fused (`make_optimizer`).
        """
        return {"main": make_optimizer(torch.optim.Adam, model.parameters(), lr=lr)}

    def training_step(self, model: nn.Module, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        """Do one optimisation step on `batch`; return scalar metrics (tensors)."""
        raise NotImplementedError(f"{type(self).__name__} must implement training_step")

    def eval_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        """Scalar metrics of one held-out batch (no gradients); none by default."""
        return {}

    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, float]:
        """Held-out metrics: `eval_step` averaged over batches, weighted by their size."""
        totals: dict[str, torch.Tensor] = {}
        count = 0
        for batch in batches:
            size = len(next(iter(batch.values())))
            for key, value in self.eval_step(model, batch).items():
                weighted = value.detach().double() * size
                totals[key] = totals[key] + weighted if key in totals else weighted
            count += size
        return {key: (total / max(count, 1)).item() for key, total in totals.items()}

    def state_dict(self) -> dict[str, Any]:
        """What the task keeps across epochs that a resumed run needs back.

        Values may be tensors, lists of tensors, or JSON values (numbers,
        strings, lists, dicts). The trainer writes them into every resumable
        state. On resume it calls `start` on the untrained model, exactly as
        the first time, then `load_state_dict` with what was saved. The
        default keeps nothing.
        """
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what `state_dict` returned, when a run resumes."""

    def start(self, model: nn.Module, run: RunContext) -> None:
        """Called once before the first epoch (model in eval mode, no gradients)."""

    def epoch_end(self, model: nn.Module, run: RunContext) -> None:
        """Called after every epoch (model in eval mode, no gradients): e.g. save a frame."""

    def finish(self, model: nn.Module, run: RunContext) -> dict[str, float]:
        """Called once after the last epoch: draw pictures, return extra final metrics.

        Also called after Ctrl-C (with `run.interrupted` set, once the weights
        so far are saved), so that the pictures show the progress until then.
        """
        return {}
