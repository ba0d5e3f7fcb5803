"""First-party plugin: weight-initialisation schemes, chosen with `--init NAME`."""

from __future__ import annotations

from collections.abc import Callable

import zoo


@zoo.hookimpl
def register_inits(register: Callable[..., None]) -> None:
    """Register xavier-uniform, kaiming-normal, normal and dcgan-normal (the core: default)."""
    register(
        "xavier-uniform",
        "zoo_inits.schemes:xavier_uniform",
        defaults={"gain": 1.0},
        summary="Xavier/Glorot uniform weights for conv and linear layers, zero biases.",
    )
    register(
        "kaiming-normal",
        "zoo_inits.schemes:kaiming_normal",
        defaults={"mode": "fan_in", "nonlinearity": "relu"},
        summary="Kaiming/He normal weights for conv and linear layers, zero biases.",
    )
    register(
        "normal",
        "zoo_inits.schemes:normal",
        defaults={"mean": 0.0, "std": 0.02},
        summary="Normal(mean, std) weights for conv and linear layers, zero biases.",
    )
    register(
        "dcgan-normal",
        "zoo_inits.schemes:dcgan_normal",
        defaults={"std": 0.02},
        summary="The DCGAN paper's init: conv weights N(0, std), BatchNorm weights N(1, std), "
        "biases 0.",
        tags=("gan",),
    )
