"""Init schemes: functions applied to every submodule through `model.apply`.

As in the chapter's `weights_init` examples, a scheme looks at the type of
each layer it is given:

- the weight-and-bias schemes (xavier-*, kaiming-*, orthogonal, normal) set the
  weight of every linear, conv and transposed-conv layer and zero its bias;
- `dcgan_normal` is the chapter's DCGAN function: conv and transposed-conv
  weights N(0, std), BatchNorm weights N(1, std) and BatchNorm biases 0;
  linear layers and conv biases keep their own initialisation.

Every other layer (BatchNorm for all but dcgan-normal, embeddings, RNNs…)
keeps PyTorch's initialisation. Each scheme checks its options first, so a
bad value fails on the first module, before any weight has changed.

Example:
    >>> from torch import nn
    >>> layer = nn.Linear(4, 4)
    >>> layer.apply(lambda m: orthogonal(m, gain=1.0))
    Linear(in_features=4, out_features=4, bias=True)
    >>> bool((layer.weight @ layer.weight.T - torch.eye(4)).abs().max() < 1e-5)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

#: Layers with a weight matrix or kernel and a bias: what the weight schemes set.
WEIGHTED = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
#: The convolutions of the chapter's DCGAN `weights_init` (in every dimension).
CONVOLUTIONS = WEIGHTED[1:]
#: The normalisation layers that dcgan-normal sets (SyncBatchNorm is what DDP swaps in).
NORMALISING = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)

MODES = ("fan_in", "fan_out")
NONLINEARITIES = ("relu", "leaky_relu", "linear", "sigmoid", "tanh", "selu")


def _positive(key: str, value: float, default: float) -> None:
    # Written so that NaN, which fails every comparison, is refused too.
    if not (0 < value < math.inf):
        raise ValueError(f"{key} must be a finite number > 0 (default {default}), got {value}")


def _finite(key: str, value: float, default: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number (default {default}), got {value}")


def _one_of(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{key} must be one of {', '.join(choices)}, got {value!r}")


def _check_kaiming(mode: str, nonlinearity: str, a: float) -> None:
    _one_of("mode", mode, MODES)
    _one_of("nonlinearity", nonlinearity, NONLINEARITIES)
    _finite("a", a, 0.0)
    if a != 0 and nonlinearity != "leaky_relu":
        raise ValueError(
            f"a={a} is the negative slope of leaky_relu and only applies with "
            f"nonlinearity=leaky_relu, not {nonlinearity!r}: set both, or leave a at 0"
        )


def _weight_and_zero_bias(module: nn.Module, init_weight: Callable[[torch.Tensor], None]) -> None:
    """The chapter's pattern: a linear or conv layer gets `init_weight`, and its bias 0."""
    if not isinstance(module, WEIGHTED):
        return
    if isinstance(module.weight, nn.parameter.UninitializedParameter):
        raise ValueError(
            f"{type(module).__name__} has no weights yet (a lazy layer): run one forward "
            "pass before applying an init scheme"
        )
    init_weight(module.weight)
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def xavier_uniform(module: nn.Module, gain: float = 1.0) -> None:
    """Xavier/Glorot uniform: U(-b, b), b = gain·sqrt(6 / (fan_in + fan_out)), zero biases.

    Sets linear, conv and transposed-conv layers (a conv's fans count its
    kernel: fan_in = in_channels·kh·kw); BatchNorm and other layers keep theirs.
    The chapter's example: `xavier_uniform_(m.weight); zeros_(m.bias)`.
    Options: gain > 0 (e.g. 5/3 before tanh; `torch.nn.init.calculate_gain`).
    """
    _positive("gain", gain, 1.0)
    _weight_and_zero_bias(module, lambda weight: nn.init.xavier_uniform_(weight, gain=gain))


def xavier_normal(module: nn.Module, gain: float = 1.0) -> None:
    """Xavier/Glorot normal: N(0, std), std = gain·sqrt(2 / (fan_in + fan_out)), zero biases.

    Sets linear, conv and transposed-conv layers; BatchNorm and other layers
    keep theirs. Options: gain > 0.
    """
    _positive("gain", gain, 1.0)
    _weight_and_zero_bias(module, lambda weight: nn.init.xavier_normal_(weight, gain=gain))


def kaiming_uniform(
    module: nn.Module, mode: str = "fan_in", nonlinearity: str = "relu", a: float = 0.0
) -> None:
    """Kaiming/He uniform: U(-b, b), b = gain·sqrt(3 / fan), zero biases.

    Sets linear, conv and transposed-conv layers; BatchNorm and other layers
    keep theirs. gain comes from the nonlinearity (sqrt(2) for relu,
    sqrt(2 / (1 + a²)) for leaky_relu). Options: mode fan_in (keeps the
    forward pass's variance) or fan_out (the backward pass's); nonlinearity
    one of relu, leaky_relu, linear, sigmoid, tanh, selu; a, the negative
    slope of leaky_relu (only with nonlinearity=leaky_relu).
    """
    _check_kaiming(mode, nonlinearity, a)
    _weight_and_zero_bias(
        module,
        lambda weight: nn.init.kaiming_uniform_(weight, a=a, mode=mode, nonlinearity=nonlinearity),
    )


def kaiming_normal(
    module: nn.Module, mode: str = "fan_in", nonlinearity: str = "relu", a: float = 0.0
) -> None:
    """Kaiming/He normal: N(0, std), std = gain / sqrt(fan), zero biases.

    Sets linear, conv and transposed-conv layers; BatchNorm and other layers
    keep theirs. Options as kaiming-uniform: mode (fan_in or fan_out),
    nonlinearity (relu, leaky_relu, linear, sigmoid, tanh, selu) and a (the
    negative slope of leaky_relu).
    """
    _check_kaiming(mode, nonlinearity, a)
    _weight_and_zero_bias(
        module,
        lambda weight: nn.init.kaiming_normal_(weight, a=a, mode=mode, nonlinearity=nonlinearity),
    )


def orthogonal(module: nn.Module, gain: float = 1.0) -> None:
    """(Semi-)orthogonal weights scaled by gain, zero biases.

    Sets linear, conv and transposed-conv layers; BatchNorm and other layers
    keep theirs. A conv kernel is flattened to [out_channels, in_channels·kh·kw]
    first: its rows are orthonormal (W Wᵀ = gain²·I) when there are no more
    rows than columns, otherwise its columns are (Wᵀ W = gain²·I).
    Options: gain > 0.
    """
    _positive("gain", gain, 1.0)
    _weight_and_zero_bias(module, lambda weight: nn.init.orthogonal_(weight, gain=gain))


def normal(module: nn.Module, mean: float = 0.0, std: float = 0.02) -> None:
    """Normal(mean, std) weights, zero biases.

    Sets linear, conv and transposed-conv layers; BatchNorm and other layers
    keep theirs. The chapter's example uses std 0.1 for conv layers
    (`--set init.std=0.1`). Options: mean (finite), std > 0.
    """
    _finite("mean", mean, 0.0)
    _positive("std", std, 0.02)
    _weight_and_zero_bias(module, lambda weight: nn.init.normal_(weight, mean=mean, std=std))


def dcgan_normal(module: nn.Module, std: float = 0.02) -> None:
    """The chapter's DCGAN `weights_init`: conv N(0, std), BatchNorm N(1, std) and bias 0.

    Conv and transposed-conv weights are drawn from N(0, std); their biases
    (DCGAN's convolutions have none) are left as built. Affine BatchNorm
    layers get weights from N(1, std) and biases 0. Linear layers and
    everything else keep their own initialisation, as in the chapter.
    Options: std > 0 (the DCGAN paper's 0.02).
    """
    _positive("std", std, 0.02)
    if isinstance(module, CONVOLUTIONS):
        nn.init.normal_(module.weight, mean=0.0, std=std)
    elif isinstance(module, NORMALISING) and module.affine:
        nn.init.normal_(module.weight, mean=1.0, std=std)
        nn.init.zeros_(module.bias)
