"""Init schemes: functions applied to every submodule through `model.apply`.

Each touches only layers with a weight matrix or kernel (linear, conv,
transposed conv); normalisation layers and the rest keep their own
initialisation. Biases are zeroed, as the chapter's examples do.
"""

from __future__ import annotations

from torch import nn

WEIGHTED = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


def _zero_bias(module: nn.Module) -> None:
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)


def xavier_uniform(module: nn.Module, gain: float = 1.0) -> None:
    """Xavier/Glorot uniform weights (scaled by `gain`), zero biases."""
    if gain <= 0:
        raise ValueError(f"gain must be > 0, got {gain}")
    if isinstance(module, WEIGHTED):
        nn.init.xavier_uniform_(module.weight, gain=gain)
        _zero_bias(module)


def kaiming_normal(module: nn.Module, mode: str = "fan_in", nonlinearity: str = "relu") -> None:
    """Kaiming/He normal weights for the given fan mode and nonlinearity, zero biases."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be fan_in or fan_out, got {mode!r}")
    if nonlinearity not in ("relu", "leaky_relu", "linear", "sigmoid", "tanh", "selu"):
        raise ValueError(
            "nonlinearity must be one of relu, leaky_relu, linear, sigmoid, tanh, selu, "
            f"got {nonlinearity!r}"
        )
    if isinstance(module, WEIGHTED):
        nn.init.kaiming_normal_(module.weight, mode=mode, nonlinearity=nonlinearity)
        _zero_bias(module)


def normal(module: nn.Module, mean: float = 0.0, std: float = 0.02) -> None:
    """Normal(mean, std) weights, zero biases."""
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std}")
    if isinstance(module, WEIGHTED):
        nn.init.normal_(module.weight, mean=mean, std=std)
        _zero_bias(module)
