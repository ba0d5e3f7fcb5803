"""Init schemes: functions applied to every submodule through `model.apply`.

Each touches layers with a weight matrix or kernel (linear, conv, transposed
conv) and zeroes their biases, as the chapter's examples do; only
`dcgan_normal` also sets BatchNorm layers. Everything else keeps its own
initialisation.
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


NORMALISING = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def dcgan_normal(module: nn.Module, std: float = 0.02) -> None:
    """The DCGAN paper's init: conv weights N(0, std), BatchNorm weights N(1, std), biases 0."""
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std}")
    if isinstance(module, WEIGHTED):
        nn.init.normal_(module.weight, mean=0.0, std=std)
        _zero_bias(module)
    elif isinstance(module, NORMALISING) and module.affine:
        nn.init.normal_(module.weight, mean=1.0, std=std)
        nn.init.zeros_(module.bias)
