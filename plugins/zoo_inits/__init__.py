"""First-party plugin: weight-initialisation schemes, chosen with `--init NAME`.

The schemes live in `zoo_inits.schemes`, imported only when one is applied,
so listing them never imports torch. docs/inits.md describes the family.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo

KAIMING = {"mode": "fan_in", "nonlinearity": "relu", "a": 0.0}


@zoo.hookimpl
def register_inits(register: Callable[..., None]) -> None:
    """Register the xavier, kaiming, orthogonal, normal and dcgan-normal schemes.

    The core registers `default` (the model as its constructor built it).
    """
    register(
        "xavier-uniform",
        "zoo_inits.schemes:xavier_uniform",
        defaults={"gain": 1.0},
        summary="Xavier/Glorot uniform weights for conv and linear layers, zero biases.",
    )
    register(
        "xavier-normal",
        "zoo_inits.schemes:xavier_normal",
        defaults={"gain": 1.0},
        summary="Xavier/Glorot normal weights for conv and linear layers, zero biases.",
    )
    register(
        "kaiming-uniform",
        "zoo_inits.schemes:kaiming_uniform",
        defaults=dict(KAIMING),
        summary="Kaiming/He uniform weights for conv and linear layers, zero biases.",
    )
    register(
        "kaiming-normal",
        "zoo_inits.schemes:kaiming_normal",
        defaults=dict(KAIMING),
        summary="Kaiming/He normal weights for conv and linear layers, zero biases.",
    )
    register(
        "orthogonal",
        "zoo_inits.schemes:orthogonal",
        defaults={"gain": 1.0},
        summary="(Semi-)orthogonal weights for conv and linear layers, zero biases.",
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
        summary="DCGAN's init: conv weights N(0, std); BatchNorm weights N(1, std), biases 0.",
        tags=("gan",),
    )
