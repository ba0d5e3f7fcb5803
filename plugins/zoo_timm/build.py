"""Build a timm model for zoo, optionally starting from a local safetensors file.

Nothing here touches the network: models are made with `pretrained=False`,
and starting weights come only from the local file `pretrained` names. That
file is checked to be safetensors from its header before any byte of it is
read as tensors, so nothing is ever unpickled. timm's own keyword arguments
that would download or unpickle (`checkpoint_path`, `pretrained_cfg`, …) are
refused in `timm_options`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

import zoo
from zoo.errors import ConfigError

__all__ = ["build_model", "load_pretrained"]

# timm.create_model keywords zoo sets itself, or that would fetch or unpickle weights.
_RESERVED = {
    "in_chans": "set in_channels instead",
    "num_classes": "set num_classes instead",
    "pretrained": "set pretrained (a local .safetensors file) instead",
    "pretrained_cfg": "zoo never downloads weights; set pretrained to a local .safetensors file",
    "pretrained_cfg_overlay": "zoo never downloads weights; set pretrained to a local "
    ".safetensors file",
    "checkpoint_path": "zoo never unpickles; set pretrained to a local .safetensors file",
    "cache_dir": "zoo never downloads weights",
    "model_name": "the architecture is part of the model's name",
}
_SHOWN = 5  # names listed per kind of mismatch in an error


def build_model(
    architecture: str,
    *,
    in_channels: int = 3,
    num_classes: int = 1000,
    pretrained: str = "",
    timm_options: Mapping[str, Any] | None = None,
) -> nn.Module:
    """`timm.create_model(architecture)` with zoo's option names, then the local weights, if any."""
    name = f"timm/{architecture}"
    options = _checked_options(name, timm_options or {})
    if in_channels < 1:
        raise ConfigError(f"{name}: in_channels must be at least 1, got {in_channels}")
    if num_classes < 0:
        raise ConfigError(
            f"{name}: num_classes must be 0 (no classifier, features out) or more, "
            f"got {num_classes}"
        )
    try:
        model = timm.create_model(
            architecture,
            pretrained=False,
            in_chans=in_channels,
            num_classes=num_classes,
            **options,
        )
    except TypeError as exc:
        given = ", ".join(sorted(options)) or "none"
        raise ConfigError(
            f"{name}: timm.create_model rejected the options (timm_options given: {given}): "
            f"{_first_line(exc)}"
        ) from None
    if pretrained and not zoo.restoring_weights():
        load_pretrained(model, pretrained, name=name, in_channels=in_channels)
    return model


def _checked_options(name: str, options: Any) -> dict[str, Any]:
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ConfigError(
            f"{name}: timm_options must be a dict of keyword arguments for timm.create_model, "
            f'e.g. {{"drop_rate": 0.1}}; got {options!r}'
        )
    for key in options:
        if key in _RESERVED:
            raise ConfigError(f"{name}: timm_options may not set '{key}': {_RESERVED[key]}")
    try:
        return json.loads(json.dumps(dict(options), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: timm_options must hold JSON values only ({exc})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _names(value: Any) -> list[str]:
    """A pretrained_cfg entry (`first_conv`, `classifier`): one module name, several, or none."""
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def load_pretrained(model: nn.Module, path: str, *, name: str, in_channels: int) -> None:
    """Copy the weights of a local safetensors file into a freshly built timm model.

    As timm does with its own pretrained weights: the first convolution is
    adapted when the file was made for another number of input channels, and
    a classifier of another size (or one the model has not got) is left out,
    so the model keeps its freshly initialised head. Any other difference is a
    `ConfigError` naming the file and the tensors that do not fit.
    """
    from safetensors.torch import load_file

    source = Path(path).expanduser()
    try:
        described = zoo.inspect_checkpoint(source)  # header only: is it safetensors at all?
    except zoo.CheckpointError as exc:
        raise ConfigError(f"{name}: pretrained weights {exc}") from None
    try:
        weights = load_file(str(source), device="cpu")
    except Exception as exc:  # the header was valid, so this is rare; still one clear line
        raise ConfigError(
            f"{name}: pretrained weights {source}: tensors could not be read: {_first_line(exc)}"
        ) from None
    cfg = getattr(model, "pretrained_cfg", None) or {}
    state = model.state_dict()
    for conv in _names(cfg.get("first_conv")):
        key = f"{conv}.weight"
        if key in weights and key in state and _channels_differ(weights[key], state[key]):
            weights[key] = _adapt_input_conv(
                weights[key], in_channels, state[key].shape[1], name, source
            )
    head = {
        f"{layer}.{part}" for layer in _names(cfg.get("classifier")) for part in ("weight", "bias")
    }
    for key in head:
        if key in weights and (key not in state or weights[key].shape != state[key].shape):
            del weights[key]  # another number of classes: the model keeps its new head
    _check_fit(state, weights, optional=head, name=name, source=source, described=described)
    with torch.no_grad():
        model.load_state_dict(weights, strict=False)


def _channels_differ(loaded: torch.Tensor, wanted: torch.Tensor) -> bool:
    """The same convolution but for other input channels (anything else is a plain mismatch)."""
    return (
        loaded.ndim == wanted.ndim == 4
        and loaded.shape[1] != wanted.shape[1]
        and loaded.shape[0] == wanted.shape[0]
        and loaded.shape[2:] == wanted.shape[2:]
    )


def _adapt_input_conv(
    weight: torch.Tensor, in_channels: int, model_inputs: int, name: str, source: Path
) -> torch.Tensor:
    """timm's `adapt_input_conv`, told how many image channels the file was made for.

    A space-to-depth stem (TResNet's) takes `k` inputs per image channel, so
    the model's conv has `in_channels * k` inputs and the file's `base * k`.
    """
    from timm.models import adapt_input_conv

    per_channel = model_inputs // in_channels if model_inputs % in_channels == 0 else 0
    base = weight.shape[1] // per_channel if per_channel else 0
    try:
        if not base or base * per_channel != weight.shape[1]:
            raise NotImplementedError("unsupported layout")
        if base == 3:  # timm's default, which every timm 1.x accepts
            return adapt_input_conv(in_channels, weight)
        if "base_chans" not in inspect.signature(adapt_input_conv).parameters:
            raise NotImplementedError("this timm adapts weights made for 3 channels only")
        return adapt_input_conv(in_channels, weight, base_chans=base)
    except (NotImplementedError, ValueError, AssertionError) as exc:
        raise ConfigError(
            f"{name}: pretrained weights {source}: cannot adapt the first convolution "
            f"{list(weight.shape)} to {in_channels} input channels "
            f"({_first_line(exc) or 'unsupported layout'})"
        ) from None


def _check_fit(
    state: Mapping[str, torch.Tensor],
    weights: Mapping[str, torch.Tensor],
    *,
    optional: set[str],
    name: str,
    source: Path,
    described: Mapping[str, Any],
) -> None:
    # Older timm checkpoints leave out BatchNorm's step counters; they carry no weights.
    missing = sorted(
        k for k in set(state) - set(weights) - optional if not k.endswith("num_batches_tracked")
    )
    unexpected = sorted(set(weights) - set(state))
    wrong = sorted(
        f"{k} (file {list(weights[k].shape)}, model {list(state[k].shape)})"
        for k in set(weights) & set(state)
        if weights[k].shape != state[k].shape
    )
    if not (missing or unexpected or wrong):
        return
    parts = [
        f"{len(keys)} {label} ({_listing(keys)})"
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong),
        )
        if keys
    ]
    written_for = described["metadata"].get("model")
    if written_for == name:
        hint = f"it is a zoo checkpoint of {name} built with other timm_options"
    elif isinstance(written_for, str) and written_for:
        hint = f"it is a zoo checkpoint of '{written_for}', another model"
    else:
        hint = f"give weights saved from {name.removeprefix('timm/')}"
    raise ConfigError(
        f"{name}: pretrained weights {source} do not fit the model's "
        f"{len(state)} tensors: {'; '.join(parts)}; {hint}"
    )


def _listing(keys: Iterable[str]) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")
