"""Build any registered thing by name: models, datasets, tasks, losses, init schemes.

Each builder looks the name up in the registry, checks the options against the
entry's `defaults` (the one declaration of valid keys and types) and calls the
plugin's factory. A model remembers how it was built in `model.zoo_spec`, which
is what `zoo.save` writes into the checkpoint.

Example:
    >>> import zoo
    >>> model = zoo.create_model("dense-ae", hidden=3)
    >>> model.zoo_spec.config
    {'in_features': 3, 'hidden': 3, 'output_activation': 'sigmoid'}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo.config import resolve_config
from zoo.errors import ConfigError, PluginError, ZooError
from zoo.registry import Entry, get_entry

if TYPE_CHECKING:
    from torch import nn

    from zoo.data import Data
    from zoo.task import Task

__all__ = [
    "ModelSpec",
    "apply_init",
    "create_dataset",
    "create_loss",
    "create_model",
    "create_task",
    "default_example",
    "restoring_weights",
]

# Set while zoo.load rebuilds a model whose every weight it is about to overwrite.
_RESTORING: ContextVar[bool] = ContextVar("zoo_restoring_weights", default=False)


def restoring_weights() -> bool:
    """Whether the model being built will take all its weights from a zoo checkpoint next.

    True while `zoo.load` rebuilds a model from a checkpoint's recorded config.
    A factory that reads starting weights from a file of its own (such as a
    `pretrained` option naming a local file) skips that read then: the
    checkpoint already holds the weights, and the original file may be gone.

    Example:
        >>> import zoo
        >>> zoo.restoring_weights()
        False
    """
    return _RESTORING.get()


@contextmanager
def restoring() -> Iterator[None]:
    """Build models inside this block for `zoo.load`: `restoring_weights()` is True."""
    token = _RESTORING.set(True)
    try:
        yield
    finally:
        _RESTORING.reset(token)


@dataclass
class ModelSpec:
    """How a model was built: enough to rebuild it by name from a checkpoint."""

    name: str
    distribution: str
    version: str
    config: dict[str, Any]
    task: str | None = None
    dataset: str | None = None
    init: str | None = None
    init_options: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    #: The options of the dataset it was trained on, and the statistics its
    #: standardised inputs and targets were rescaled with (`Standardisation.to_json`).
    dataset_options: dict[str, Any] = field(default_factory=dict)
    standardisation: dict[str, Any] = field(default_factory=dict)
    #: How the run split its data (`{"seed": 0, "val_fraction": 0.2}`), so that
    #: `Data.split` can give the same held-out samples again.
    split: dict[str, Any] = field(default_factory=dict)
    #: What its training run's numbers depend on besides the data: seed, CPU
    #: thread count and whether deterministic algorithms were enforced.
    reproducibility: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    skipped: dict[str, list[str]] = field(default_factory=dict)


def _call(entry: Entry, options: Mapping[str, Any]) -> Any:
    """Call an entry's factory; a ValueError or TypeError from it is a config problem."""
    factory = entry.load()
    try:
        return factory(**options)
    except ZooError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{entry.kind} '{entry.name}' from {entry.origin} rejected its options: {exc}"
        ) from exc


def _build(
    kind: str, name: str, options: Mapping[str, Any], expected: type, what: str
) -> tuple[Entry, dict[str, Any], Any]:
    """Look up, check options, call the factory and check what it returned."""
    entry = get_entry(kind, name)
    resolved = resolve_config(entry.defaults, options, where=f"{kind} '{entry.name}'")
    built = _call(entry, resolved)
    if not isinstance(built, expected):
        raise PluginError(
            f"{kind} '{entry.name}' from {entry.origin}: factory returned "
            f"{type(built).__name__}, not {what}"
        )
    return entry, resolved, built


def create_model(
    name: str,
    *,
    init: str | None = None,
    init_options: Mapping[str, Any] | None = None,
    **config: Any,
) -> nn.Module:
    """Build a registered model from its defaults updated by `config`.

    The model's own init scheme (or `init`) is applied; `model.zoo_spec` records
    the name, the resolved config and the init, so `zoo.save` needs nothing else.
    """
    from torch import nn

    entry, resolved, model = _build("model", name, config, nn.Module, "a torch.nn.Module")
    init_name = init or entry.init or "default"
    used_options = apply_init(model, init_name, **dict(init_options or {}))
    model.zoo_spec = ModelSpec(  # type: ignore[assignment]
        name=entry.name,
        distribution=entry.distribution,
        version=entry.version,
        config=resolved,
        task=entry.task,
        dataset=entry.dataset,
        init=init_name,
        init_options=used_options,
    )
    return model


def apply_init(model: nn.Module, name: str, **options: Any) -> dict[str, Any]:
    """Apply a registered init scheme to every submodule; return the options used.

    A model built by zoo records the scheme in `model.zoo_spec`, so a later
    `zoo.save` writes the init that was really applied.
    """
    entry = get_entry("init", name)
    resolved = resolve_config(entry.defaults, options, where=f"init '{entry.name}'")
    scheme = entry.load()
    try:
        model.apply(lambda module: scheme(module, **resolved))
    except ZooError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"init '{entry.name}' from {entry.origin} failed: {exc}") from exc
    spec = getattr(model, "zoo_spec", None)
    if spec is not None:
        spec.init, spec.init_options = entry.name, resolved
    return resolved


def create_dataset(name: str, **options: Any) -> Data:
    """Build a registered dataset; it returns `zoo.Data`."""
    from zoo.data import Data

    return _build("dataset", name, options, Data, "zoo.Data")[2]


def create_task(name: str, **options: Any) -> Task:
    """Build a registered task (a training recipe) with its options checked."""
    from zoo.task import Task

    entry, resolved, task = _build("task", name, options, Task, "a zoo.Task")
    task.name = entry.name
    task.options = resolved
    return task


def create_loss(name: str, **options: Any) -> nn.Module:
    """Build a registered loss module, e.g. create_loss('huber', delta=0.5)."""
    from torch import nn

    return _build("loss", name, options, nn.Module, "a torch.nn.Module")[2]


def default_example(entry: Entry, count: int = 2) -> tuple[dict[str, Any], Any, str]:
    """A few samples of a model's default dataset and the config they imply.

    Returns (implied config, example batch or None, a note saying what the
    example is or why there is none). Used by `zoo info` and `zoo.testing`.
    """
    if not entry.dataset:
        return {}, None, "no default dataset"
    try:
        dataset_entry = get_entry("dataset", entry.dataset)
        recipe = dict(entry.training).get("dataset_options", {})
        options = {k: v for k, v in recipe.items() if k in dataset_entry.defaults}
        data = create_dataset(dataset_entry.name, **options)
    except ZooError as exc:
        return {}, None, f"dataset '{entry.dataset}' unavailable: {exc}"
    implied = {k: v for k, v in data.implies.items() if k in entry.defaults}
    example = data.example(count)
    shapes = ", ".join(f"{k} {list(v.shape[1:])}" for k, v in example.items())
    return (
        implied,
        example,
        f"{len(next(iter(example.values())))} sample(s) of {dataset_entry.name} ({shapes})",
    )
