"""The core's own entries: standard torch losses and the `default` init scheme.

They are generic, not a model family, and the core relies on them: every task
has a default loss, and every model that names no init scheme gets `default`.
Plugins add more through the same hooks; a task picks a loss by name
(`zoo train … --loss l1`) and builds it with `zoo.create_loss`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo.hookspecs import hookimpl


def keep_default(module: Any) -> None:
    """Leave the layer as PyTorch initialised it."""


@hookimpl
def register_inits(register: Callable[..., None]) -> None:
    """Register default: the model as its constructor built it."""
    register(
        "default",
        keep_default,
        summary="PyTorch's own initialisation of each layer (leaves the model as built).",
    )


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    """Register mse, l1, huber, smooth-l1, bce, bce-with-logits and cross-entropy.

    "elementwise" marks a loss that compares output and target element by
    element, which is what reconstruction-like tasks ask for (`Task.loss_tags`);
    "unbounded" one that scores outputs of any real value, such as logits (bce
    takes probabilities in [0, 1] only); "multiclass" one that scores N×classes
    logits against integer labels (the classification task's).
    """
    register(
        "mse",
        "torch.nn:MSELoss",
        summary="Mean squared error.",
        tags=("regression", "elementwise", "unbounded"),
    )
    register(
        "l1",
        "torch.nn:L1Loss",
        summary="Mean absolute error.",
        tags=("regression", "elementwise", "unbounded"),
    )
    register(
        "huber",
        "torch.nn:HuberLoss",
        defaults={"delta": 1.0},
        summary="Huber loss: squared near zero, linear beyond delta.",
        tags=("regression", "elementwise", "unbounded"),
    )
    register(
        "smooth-l1",
        "torch.nn:SmoothL1Loss",
        defaults={"beta": 1.0},
        summary="Smooth L1 loss: L1 with a quadratic zone of width beta.",
        tags=("regression", "elementwise", "unbounded"),
    )
    register(
        "bce",
        "torch.nn:BCELoss",
        summary="Binary cross-entropy on probabilities in [0, 1].",
        tags=("classification", "elementwise"),
    )
    register(
        "bce-with-logits",
        "torch.nn:BCEWithLogitsLoss",
        summary="Binary cross-entropy on logits (numerically stable; prefer it to bce).",
        tags=("classification", "elementwise", "unbounded"),
    )
    register(
        "cross-entropy",
        "torch.nn:CrossEntropyLoss",
        defaults={"label_smoothing": 0.0},
        summary="Multi-class cross-entropy on logits.",
        tags=("classification", "multiclass"),
    )
