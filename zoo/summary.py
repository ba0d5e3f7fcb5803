"""Describe a model: parameter counts and a layer table for an example input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["count_parameters", "layer_table"]


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (each tied parameter counted once)."""
    unique = {id(p): p for p in model.parameters() if p.requires_grad or not trainable_only}
    return sum(p.numel() for p in unique.values())


def _shape_of(output: Any) -> str:
    if isinstance(output, torch.Tensor):
        return str(list(output.shape))
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape_of(o) for o in output)
    if isinstance(output, dict):
        return ", ".join(f"{k}: {_shape_of(v)}" for k, v in output.items())
    return type(output).__name__


def layer_table(
    model: nn.Module, *inputs: Any, call: Callable[[nn.Module], Any] | None = None
) -> list[dict[str, Any]]:
    """Run `model(*inputs)` once (eval mode, no gradients) and list every leaf layer.

    Each row: layer (dotted name), type, output shape, parameters (own only).
    `call(model)`, if given, runs the model instead (e.g. a task's `forward`,
    which may use several of its submodules), in the order it uses the layers.

    Example:
        >>> import zoo, torch
        >>> rows = layer_table(zoo.create_model("dense-ae"), torch.zeros(1, 3))
        >>> [(r["layer"], r["output"]) for r in rows][:2]
        [('encoder.0', '[1, 2]'), ('encoder.1', '[1, 2]')]
    """
    rows: list[dict[str, Any]] = []
    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):

            def record(module: nn.Module, _args: Any, output: Any, name: str = name) -> None:
                rows.append(
                    {
                        "layer": name,
                        "type": type(module).__name__,
                        "output": _shape_of(output),
                        "parameters": sum(p.numel() for p in module.parameters(recurse=False)),
                    }
                )

            handles.append(module.register_forward_hook(record))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            if call is not None:
                call(model)
            else:
                model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return rows


def describe_model(entry: Any) -> dict[str, Any]:
    """Parameters and a layer table of a registered model, for one sample of its default data.

    The model is built as `zoo train` would build it: config implied by the
    default dataset, defaults for the rest. If the dataset cannot be built
    (for example, its files are missing), or its sample does not go through
    the model (one built for another input size), the layer table is left out
    and the reason given.
    """
    from zoo.build import create_model, create_task, default_example
    from zoo.config import resolve_config

    implied, example, note = default_example(entry, count=1)
    with torch.random.fork_rng(devices=[]):
        model = create_model(entry.qualified_name, **implied)
    rows: list[dict[str, Any]] = []
    if example is not None and entry.task:
        task = create_task(entry.task)
        try:
            rows = layer_table(model, call=lambda built: task.forward(built, example))
        except Exception as exc:  # e.g. a model built for another input size: say so, no trace
            text = str(exc).strip().splitlines()
            note = f"{note} did not go through the model: {type(exc).__name__}" + (
                f": {text[0]}" if text else ""
            )
    return {
        "config": resolve_config(entry.defaults, implied, where=f"model '{entry.name}'"),
        "example": note,
        "layers": rows,
        "parameters": count_parameters(model),
        "trainable_parameters": count_parameters(model, trainable_only=True),
    }
