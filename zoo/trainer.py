"""Train any registered model on any registered dataset with any registered task.

`train()` first resolves the whole run — names, options, the model config the
dataset implies — into a plain dict (`plan_run`, written to config.json), then
runs it. The loop knows no model family: each step is the task's. It keeps the
hot path free of host syncs (metrics stay on the device until the end of an
epoch), checkpoints atomically after every epoch, stops cleanly on a
non-finite loss or Ctrl-C without losing the last good weights, and writes
`metrics.jsonl` and `loss.png`.

Example:
    >>> import zoo
    >>> run = zoo.train("dense-ae", epochs=2, out="/tmp/zoo-doc-run", verbose=False)
    >>> sorted(p.name for p in run.run_dir.iterdir())[:3]
    ['codes.png', 'config.json', 'loss.png']
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo import distributed, resume
from zoo._version import __version__
from zoo.build import apply_init, create_dataset, create_loss, create_model, create_task
from zoo.checkpoint import save
from zoo.config import coerce, json_safe, resolve_config, route_settings
from zoo.data import Data, place
from zoo.device import resolve_device
from zoo.errors import CheckpointError, ConfigError, TrainingError, ZooError
from zoo.files import atomic_write_text
from zoo.plots import plot_history
from zoo.registry import get_entry, list_entries
from zoo.resume import TrainingState
from zoo.task import RunContext, Step, Task

__all__ = ["TRAINER_DEFAULTS", "Run", "plan_run", "train"]

#: Used when neither the caller nor the model's own recipe says otherwise.
TRAINER_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 64,
    "lr": 1e-3,
    "val_fraction": 0.2,
    "shuffle": True,
    "seed": 0,
    # DataLoader worker processes for data read from disk; None: 0 for data in
    # memory (index slicing needs none), otherwise up to 4.
    "workers": None,
    # Layout of image batches and conv weights: "auto" is channels-last when the
    # model has 2-D convolutions and the device is a CPU or a CUDA GPU.
    "memory_format": "auto",
    # Print the step's metrics every this many optimisation steps (0: once per epoch).
    "log_every": 0,
    # Autocast dtype of forward passes: "auto" is bf16 on a CUDA GPU that supports
    # it and fp32 elsewhere (a CPU gains nothing from it on most chips).
    "precision": "auto",
    # Compile the model's forward with torch.compile (compile time is paid once).
    "compile": False,
    # Also write a resumable state every this many steps (0: at the end of each epoch only).
    "checkpoint_every": 0,
    # torch.use_deterministic_algorithms(True) while training: an operation without a
    # deterministic implementation is then an error instead of a source of noise.
    "deterministic": False,
}
MEMORY_FORMATS = ("auto", "channels-last", "contiguous")
PRECISIONS = ("auto", "fp32", "bf16")
CHECKPOINT = "model.safetensors"
# Signals that stop a run at the end of its current step, with a resumable state.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Run:
    """A finished training run: where it lives, the trained model and its figures."""

    run_dir: Path
    model: nn.Module
    config: dict[str, Any]
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    pictures: list[Path] = field(default_factory=list)

    @property
    def checkpoint(self) -> Path:
        """The run's weights file, loadable with `zoo.load`."""
        return self.run_dir / CHECKPOINT


# Allowed range of each numeric trainer option: (lowest, whether lowest itself is allowed, below).
_RANGES: dict[str, tuple[float, bool, float]] = {
    "epochs": (1, True, math.inf),
    "batch_size": (1, True, math.inf),
    "lr": (0.0, False, math.inf),
    "val_fraction": (0.0, True, 1.0),
    "workers": (0, True, math.inf),
    "log_every": (0, True, math.inf),
    "checkpoint_every": (0, True, math.inf),
    "seed": (0, True, 2**63),
}


def _trainer_option(key: str, value: Any) -> Any:
    """Type a trainer option like its default and check its range."""
    default = TRAINER_DEFAULTS[key]
    if default is None:  # optional: None means "choose for me"
        if value is None:
            return None
        default = 0
    value = coerce(value, default, key=key, where="training option")
    if key == "memory_format" and value not in MEMORY_FORMATS:
        raise ConfigError(
            f"memory_format must be one of {', '.join(MEMORY_FORMATS)}, got {value!r}"
        )
    if key == "precision" and value not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
    if key in _RANGES:
        low, inclusive, below = _RANGES[key]
        # Written so that NaN, which fails every comparison, is out of range too.
        if not ((value > low or (inclusive and value == low)) and value < below):
            what = "an integer" if isinstance(default, int) else "a number"
            bound = f"{'>=' if inclusive else '>'} {low:g}" + (
                f" and < {below:g}" if below != math.inf else ""
            )
            raise ConfigError(f"{key} must be {what} {bound}, got {value!r}")
    return value


def plan_run(
    name: str,
    *,
    dataset: str | None = None,
    task: str | None = None,
    init: str | None = None,
    loss: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    val_fraction: float | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    workers: int | None = None,
    memory_format: str | None = None,
    log_every: int | None = None,
    precision: str | None = None,
    compile: bool | None = None,
    checkpoint_every: int | None = None,
    deterministic: bool | None = None,
    device: str = "auto",
    config: Mapping[str, Any] | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    task_options: Mapping[str, Any] | None = None,
    init_options: Mapping[str, Any] | None = None,
    loss_options: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Resolve every name and option of a run, checking them all before any work.

    `settings` are `--set`-style keys routed to whichever of model, dataset,
    task, init and loss declares them (`scope.key` picks one). Returns the
    plan that `train` runs and writes to config.json.
    """
    for what, value in (("model", name), ("dataset", dataset), ("task", task), ("init", init)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"{what} must be a registered {what}'s name (a string), not "
                f"{type(value).__name__}; register your own {what} with a plugin "
                "(see docs/plugins.md)"
            )
    model_entry = get_entry("model", name)
    recipe = dict(model_entry.training)
    dataset_name = dataset or model_entry.dataset
    task_name = task or model_entry.task
    if not dataset_name:
        raise ConfigError(f"model '{model_entry.name}' has no default dataset; pass --dataset NAME")
    if not task_name:
        raise ConfigError(f"model '{model_entry.name}' has no default task; pass --task NAME")
    dataset_entry = get_entry("dataset", dataset_name)
    task_entry = get_entry("task", task_name)
    init_entry = get_entry("init", init or model_entry.init or "default")
    loss_name = loss or recipe.get("loss") or getattr(task_entry.load(), "default_loss", None)
    loss_entry = get_entry("loss", loss_name) if loss_name else None
    if loss_entry is not None:
        _check_loss_suits_task(loss_entry, task_entry)

    scopes = {
        "model": (f"model '{model_entry.name}'", model_entry.defaults),
        "dataset": (f"dataset '{dataset_entry.name}'", dataset_entry.defaults),
        "task": (f"task '{task_entry.name}'", task_entry.defaults),
        "init": (f"init '{init_entry.name}'", init_entry.defaults),
    }
    if loss_entry is not None:
        scopes["loss"] = (f"loss '{loss_entry.name}'", loss_entry.defaults)
    _check_not_trainer_options(settings or {}, scopes)
    routed = route_settings(settings or {}, scopes)

    given = {**(config or {}), **routed["model"]}
    typed = resolve_config(model_entry.defaults, given, where=f"model '{model_entry.name}'")
    model_overrides = {key: typed[key] for key in given}
    # An image size set for the model is the size an image dataset resizes to,
    # unless the dataset's own `size` is given too.
    follows = {}
    if "image_size" in model_overrides and "size" in dataset_entry.defaults:
        follows["size"] = model_overrides["image_size"]

    def options(
        scope: str,
        recipe_key: str | None,
        given: Mapping[str, Any] | None,
        follows: Mapping[str, Any] | None = None,
    ) -> dict:
        where, defaults = scopes[scope]
        base = {k: v for k, v in recipe.get(recipe_key, {}).items() if k in defaults}
        chosen = {**base, **(follows or {}), **(given or {}), **routed[scope]}
        return resolve_config(defaults, chosen, where=where)

    chosen = {"epochs": epochs, "batch_size": batch_size, "lr": lr}
    chosen.update(val_fraction=val_fraction, shuffle=shuffle, seed=seed, workers=workers)
    chosen.update(memory_format=memory_format, log_every=log_every)
    chosen.update(precision=precision, compile=compile, checkpoint_every=checkpoint_every)
    chosen.update(deterministic=deterministic)
    trainer = {
        key: _trainer_option(
            key, recipe.get(key, TRAINER_DEFAULTS[key]) if value is None else value
        )
        for key, value in chosen.items()
    }
    plan = {
        "model": model_entry.name,
        "distribution": model_entry.distribution,
        "distribution_version": model_entry.version,
        "config_overrides": model_overrides,
        "dataset": {
            "name": dataset_entry.name,
            "options": options("dataset", "dataset_options", dataset_options, follows),
        },
        "task": {"name": task_entry.name, "options": options("task", "task_options", task_options)},
        "init": {"name": init_entry.name, "options": options("init", "init_options", init_options)},
        "loss": None
        if loss_entry is None
        else {"name": loss_entry.name, "options": options("loss", None, loss_options)},
        **trainer,
        "device": str(device),
        "zoo_version": __version__,
        "torch_version": torch.__version__,
    }
    # An init scheme checks its option values on its first call: try it on an
    # empty module, so that `--set init.std=-1` fails before any data is read.
    # (Other errors of a plugin's scheme surface when the real model is built.)
    with contextlib.suppress(AttributeError, RuntimeError, KeyError, IndexError):
        apply_init(torch.nn.Module(), init_entry.name, **plan["init"]["options"])
    return plan


def _check_not_trainer_options(settings: Mapping[str, Any], scopes: Mapping[str, Any]) -> None:
    """Point a training option given as `--set lr=0.1` to its own option (`--lr 0.1`)."""
    declared = {key for _, defaults in scopes.values() for key in defaults}
    for key, value in settings.items():
        if key in TRAINER_DEFAULTS and key not in declared:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(
                f"'{key}' is a training option, not a --set key: use {flag} {value} "
                f"(zoo.train({key}=...) in Python)"
            )


def _check_loss_suits_task(loss_entry: Any, task_entry: Any) -> None:
    """Refuse a loss the task cannot use (the task's `loss_tags`), before any work."""
    wanted = tuple(getattr(task_entry.load(), "loss_tags", ()))
    if not wanted or set(wanted) & set(loss_entry.tags):
        return
    fitting = sorted(e.name for e in list_entries("loss") if set(wanted) & set(e.tags))
    raise ConfigError(
        f"loss '{loss_entry.name}' does not suit task '{task_entry.name}', which takes a "
        f"loss tagged {' or '.join(wanted)}; choose one of "
        f"{', '.join(fitting) or '(none installed)'} with --loss"
    )


def _check_out(out: str | os.PathLike[str] | None) -> None:
    """Refuse an --out folder that is a file or already holds a run (before any work)."""
    if out is None:
        return
    run_dir = Path(out)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {run_dir} exists and is not a folder")
    if (run_dir / CHECKPOINT).exists() or (run_dir / "config.json").exists():
        raise ConfigError(
            f"--out {run_dir} already holds a run; choose another folder or remove it first"
        )


def _new_run_dir(model: str, out: str | os.PathLike[str] | None, runs_dir: str | Path) -> Path:
    """Create the run folder: `out`, or `runs/<model>/<timestamp>[-N]`."""
    _check_out(out)
    if out is not None:
        run_dir = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path(runs_dir) / model.replace("/", "_")
        run_dir = base / stamp
        counter = 2
        while run_dir.exists():
            run_dir = base / f"{stamp}-{counter}"
            counter += 1
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZooError(f"cannot create run folder {run_dir}: {exc.strerror or exc}") from exc
    return run_dir


def _use_channels_last(choice: str, model: nn.Module, device: torch.device) -> bool:
    """Whether to lay out conv weights and image batches channels-last for this run.

    Channels-last lets oneDNN (CPU) and cuDNN (CUDA) pick their fast
    convolution kernels; "auto" uses it only where that helps: models with
    2-D convolutions, on a CPU or a CUDA GPU.
    """
    if choice != "auto":
        return choice == "channels-last"
    has_conv = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())
    return has_conv and device.type in ("cpu", "cuda")


def _autocast_dtype(choice: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a run's forward passes, or None for plain fp32.

    "auto" is bf16 on a CUDA GPU that supports it (half the memory traffic,
    tensor cores) and fp32 elsewhere: CPUs without bf16 units run it slower.
    """
    if choice == "fp32":
        return None
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
        if choice == "bf16" and not supported:
            raise ConfigError(
                f"precision bf16 is not supported by {torch.cuda.get_device_name(device)}; "
                "use --precision fp32"
            )
        return torch.bfloat16 if supported else None
    if choice == "bf16":
        if device.type != "cpu":
            raise ConfigError(f"precision bf16 is not supported on {device.type}; use fp32")
        return torch.bfloat16
    return None


@contextlib.contextmanager
def _deterministic(wanted: bool) -> Iterator[None]:
    """torch's deterministic algorithms for the run's duration, if wanted; restored after."""
    if not wanted:
        yield
        return
    before = torch.are_deterministic_algorithms_enabled()
    # cuBLAS needs a fixed workspace to be deterministic; it reads this on first use.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    try:
        yield
    except RuntimeError as exc:
        if "deterministic" not in str(exc):
            raise
        raise TrainingError(
            f"--deterministic: {_first_line(exc)}; this model or task uses an operation "
            "without a deterministic implementation on this device; train without "
            "--deterministic"
        ) from exc
    finally:
        torch.use_deterministic_algorithms(before)


def _remove_run(run_dir: Path, *, remove_folder: bool) -> None:
    """Delete what a run wrote (config, metrics, pictures), and its folder if zoo made it."""
    for name in ("config.json", "metrics.jsonl", "loss.png"):
        with contextlib.suppress(OSError):
            (run_dir / name).unlink()
    if remove_folder:
        with contextlib.suppress(OSError):
            run_dir.rmdir()  # only if empty: a task's own files are left alone


def _seed_everything(seed: int) -> None:
    import numpy

    random.seed(seed)
    numpy.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _Stopped(KeyboardInterrupt):
    """A stop asked for by Ctrl-C or SIGTERM, made at the end of a step (with a state)."""


def _count(number: int, noun: str) -> str:
    """'1 thread', '2 threads'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _process_seed(seed: int, rank: int) -> int:
    """The seed of process `rank`'s own random draws (rank 0 keeps the run's seed)."""
    return (seed + rank * 0x9E3779B97F4A7C15) % 2**63


def _first_line(exc: BaseException) -> str:
    """`TypeName: first line of the message`, for one-line errors."""
    first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
    return f"{type(exc).__name__}: {first}"


class _StepValues:
    """Each metric's value at every step of an epoch, kept where the model computes.

    Values are copied into one buffer per metric, sized for the epoch when the
    metric first appears: a step allocates nothing that outlives it. (Keeping
    each step's 0-d tensor instead scatters hundreds of small blocks across
    the heap and keeps the allocator from reusing the memory a conv backward
    frees: peak memory grew by up to 60 % that way.)
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.buffers: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self._slots: dict[str, tuple[torch.Tensor, ...]] = {}  # each buffer's 0-d views
        # How many values of each metric are averaged over the processes already.
        self.shared: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.buffers)

    def add(self, key: str, value: Any) -> None:
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(float(value))
        elif value.numel() != 1:
            raise TrainingError(
                f"training_step returned metric '{key}' with {value.numel()} values "
                f"(shape {list(value.shape)}); a metric must be one number per step: "
                "return its mean"
            )
        count = self.counts.get(key, 0)
        slots = self._slots.get(key)
        if slots is None or count == len(slots):
            self._grow(key, value)
            slots = self._slots[key]
        if value.dim():  # one value, e.g. shaped [1]; (reshape costs more than the copy)
            value = value.reshape(())
        slots[count].copy_(value.detach())
        self.counts[key] = count + 1

    def _grow(self, key: str, value: torch.Tensor) -> None:
        """Make the metric's buffer at its first step; double it past the announced steps."""
        buffer = self.buffers.get(key)
        if buffer is None:
            dtype = torch.promote_types(value.dtype, torch.float32)
            buffer = torch.empty(self.capacity, dtype=dtype, device=value.device)
        else:
            buffer = torch.cat([buffer, torch.empty_like(buffer)])
        self.buffers[key] = buffer
        self._slots[key] = buffer.unbind(0)

    def share(self, processes: distributed.Processes | None) -> None:
        """Average the values not averaged yet over the processes (every process calls it)."""
        if processes is None:
            return
        for key, buffer in self.buffers.items():
            done, count = self.shared.get(key, 0), self.counts[key]
            if count > done:
                processes.average_(buffer[done:count])
            self.shared[key] = count

    def latest(self, processes: distributed.Processes | None = None) -> dict[str, float]:
        """The last value of each metric, as numbers (one host sync); averaged over the
        processes if given (every process must then call it at the same step)."""
        if not self.buffers:
            return {}
        keys = list(self.buffers)
        last = torch.stack([self.buffers[k][self.counts[k] - 1].double() for k in keys])
        if processes is not None:
            processes.average_(last)
        return dict(zip(keys, last.cpu().tolist(), strict=True))

    def numbers(self) -> dict[str, list[float]]:
        """Every value of every metric, as numbers (one host sync)."""
        keys = list(self.buffers)
        flat = torch.cat([self.buffers[k][: self.counts[k]].double().cpu() for k in keys])
        numbers = flat.tolist()
        out, offset = {}, 0
        for key in keys:
            out[key] = numbers[offset : offset + self.counts[key]]
            offset += self.counts[key]
        return out


def _format(record: Mapping[str, Any]) -> str:
    shown = [
        f"{k} {v:.4g}"
        for k, v in record.items()
        if k not in {"epoch", "seconds"} and isinstance(v, float)
    ]
    return "  ".join(shown)


class _Loop:
    """The state of one run while it trains (kept out of `train` to keep that readable)."""

    def __init__(self, plan: dict[str, Any], verbose: bool) -> None:
        self.plan = plan
        self.verbose = verbose
        self.history: list[dict[str, Any]] = []
        self.saved_epoch = 0
        self.last_state: resume.TrainingState | None = None
        self.stop_requested = False
        # Set by prepare() in a multi-process run (torchrun); None in one process.
        self.processes: distributed.Processes | None = None
        self.main = True  # the process that writes, prints and draws

    @contextlib.contextmanager
    def joined(self) -> Iterator[None]:
        """The run's lifetime: in a multi-process run, leave the process group at the end."""
        owned = not distributed.initialized()
        try:
            yield
            if self.processes is not None:
                # Rank 0 still draws and saves: the others wait, rather than close their
                # connections under it (a gloo peer that leaves early can abort).
                self.processes.barrier()
        finally:
            if self.processes is not None and owned:
                self.processes.leave()

    def on_main(self, work: Any) -> Any:
        """`work()` on rank 0 alone; its result (a path) or its error reaches every process."""
        if self.processes is None:
            return work()
        result, problem = None, None
        if self.main:
            try:
                result = str(work())
            except ZooError as exc:
                problem = str(exc)
        shared = self.processes.gather_json([result, problem])[0]
        if shared[1] is not None:
            raise ZooError(shared[1])
        return Path(shared[0])

    def autocast(self) -> Any:
        """The run's autocast context (bf16 forward passes), or no context for fp32."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def say(self, text: str) -> None:
        if self.verbose and self.main:
            from tqdm import tqdm

            tqdm.write(text, file=sys.stderr)

    def prepare(self) -> None:
        plan = self.plan
        self.processes = distributed.join(plan["device"])
        if self.processes is not None:
            self.main = self.processes.main
            self.device = self.processes.device
            self.local_batch = distributed.split_batch(plan["batch_size"], self.processes.world)
        else:
            self.device = resolve_device(plan["device"])
            self.local_batch = plan["batch_size"]
        plan["processes"] = 1 if self.processes is None else self.processes.world
        _seed_everything(plan["seed"])
        data = create_dataset(plan["dataset"]["name"], **plan["dataset"]["options"])
        model_entry = get_entry("model", f"{plan['distribution']}:{plan['model']}")
        overrides = plan["config_overrides"]
        for key, value in data.implies.items():
            if key in overrides and overrides[key] != value:
                raise ConfigError(
                    f"{key}={overrides[key]} does not fit the data: dataset "
                    f"'{plan['dataset']['name']}' implies {key}={value}; leave {key} unset "
                    "or change the dataset's options"
                )
        implied = {
            k: v
            for k, v in data.implies.items()
            if k in model_entry.defaults and k not in overrides
        }
        try:
            self.model = create_model(
                f"{plan['distribution']}:{plan['model']}",
                init=plan["init"]["name"],
                init_options=plan["init"]["options"],
                **{**implied, **overrides},
            )
        except ConfigError as exc:
            # Blame an implied value only where the message names both the key and the
            # value, and names no value the user set (that is the likelier culprit).
            text = str(exc)
            blamed = [f"{k}={v}" for k, v in implied.items() if k in text and str(v) in text]
            theirs = [k for k, v in overrides.items() if k in text and str(v) in text]
            if not blamed or theirs:
                raise
            raise ConfigError(
                f"{exc}; {', '.join(blamed)} comes from dataset '{plan['dataset']['name']}' "
                "(the model takes it from the data): change the dataset's options to fit"
            ) from exc
        spec = self.model.zoo_spec
        spec.task, spec.dataset = plan["task"]["name"], plan["dataset"]["name"]
        plan["config"] = spec.config
        self.task: Task = create_task(plan["task"]["name"], **plan["task"]["options"])
        loss = (
            None
            if plan["loss"] is None
            else create_loss(plan["loss"]["name"], **plan["loss"]["options"])
        )
        if loss is not None:
            loss = loss.to(self.device)
        self.channels_last = _use_channels_last(plan["memory_format"], self.model, self.device)
        plan["memory_format"] = "channels-last" if self.channels_last else "contiguous"
        train_data, held_out = data.split(plan["val_fraction"], plan["seed"])
        spec.dataset_options = dict(plan["dataset"]["options"])
        spec.split = {"seed": plan["seed"], "val_fraction": plan["val_fraction"]}
        # CPU results depend on the thread count too: recorded beside the seed.
        plan["threads"] = torch.get_num_threads()
        spec.reproducibility = {
            "seed": plan["seed"],
            "threads": plan["threads"],
            "deterministic": plan["deterministic"],
            "processes": plan["processes"],
        }
        scale = train_data.fit_standardisation()  # training split only: nothing leaks
        if scale is not None:
            train_data = train_data.standardised(scale)
            held_out = None if held_out is None else held_out.standardised(scale)
            spec.standardisation = plan["standardisation"] = scale.to_json()
        layout = {"channels_last": self.channels_last}
        self.train_data: Data = train_data.to(self.device, **layout)
        self.held_out: Data | None = (
            None if held_out is None else held_out.to(self.device, **layout)
        )
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if self.processes is not None:
            self.processes.broadcast_model(self.model)
        self.autocast_dtype = _autocast_dtype(plan["precision"], self.device)
        plan["precision"] = "fp32" if self.autocast_dtype is None else "bf16"
        if plan["compile"]:
            # In place: the forward is compiled, the parameters and their names stay.
            self.model.compile()
        self.task.setup(self.model, self.train_data, loss)
        self._check_fit(model_entry)
        self.optimizers = self.task.configure_optimizers(self.model, plan["lr"])
        self.step = Step(self.optimizers)
        if self.processes is not None:
            self.step.synchronise = self.processes.average_gradients
        if self.autocast_dtype is not None:
            self.step.autocast_device = self.device.type
        self.generator = torch.Generator().manual_seed(plan["seed"])
        self.context = RunContext(
            run_dir=Path(),
            device=self.device,
            train=self.train_data,
            held_out=self.held_out,
            epoch=0,
            epochs=plan["epochs"],
            batch_size=plan["batch_size"],
            history=self.history,
        )
        if plan["workers"] is None:
            plan["workers"] = 0 if data.in_memory else min(4, os.cpu_count() or 1)
        plan["device"] = str(self.device)
        plan["samples"] = {
            "train": len(self.train_data),
            "held_out": len(held_out) if held_out else 0,
        }

    def _check_fit(self, model_entry: Any) -> None:
        """Try the model on two training samples, so a mismatch fails before any folder exists."""
        plan = self.plan
        example = self.train_data.example(2)
        example = {name: place(t, self.device, self.channels_last) for name, t in example.items()}
        self.model.eval()
        shapes = ", ".join(f"{k} {list(v)}" for k, v in self.train_data.sample_shapes.items())
        where = (
            f"dataset '{plan['dataset']['name']}' ({shapes}) under task '{plan['task']['name']}'"
        )
        other_task = bool(model_entry.task) and plan["task"]["name"] != model_entry.task
        if other_task:
            # The task is the likelier culprit: it may feed the model the wrong thing.
            remedy = f"use the model's own task ({model_entry.task}) or another model"
        elif plan["dataset"]["name"] == model_entry.dataset:
            remedy = "change the model's options (--set) or the dataset's"
        else:
            default = f" (its default: {model_entry.dataset})" if model_entry.dataset else ""
            remedy = f"choose a dataset the model fits{default} or change the model's options"
        checks = [(self.task.check_fit, f"model '{plan['model']}' does not fit {where}", remedy)]
        if plan["loss"] is not None:
            # Score the same two samples, so a loss that cannot take these outputs or
            # targets (bce on values outside [0, 1], say) fails here, not mid-run.
            loss_default = getattr(self.task, "default_loss", None)
            checks.append(
                (
                    self.task.eval_step,
                    f"loss '{plan['loss']['name']}' cannot score model '{plan['model']}' "
                    f"on {where}",
                    remedy
                    if other_task
                    else "choose another --loss"
                    + (f" (the task's default is {loss_default})" if loss_default else ""),
                )
            )
        for check, problem, remedy in checks:
            problem, remedy = self._blame_loss_option(check, problem, remedy)
            # Warnings of a check that fails (torch's broadcasting warning before the
            # error it explains) would only clutter the one error line; a check that
            # passes keeps its warnings.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with torch.no_grad(), self.autocast():
                        check(self.model, example)
                except ZooError:
                    raise
                except Exception as exc:
                    raise ConfigError(f"{problem}: {_first_line(exc)}; {remedy}") from exc
            for warning in caught:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )

    def _blame_loss_option(self, check: Any, problem: str, remedy: str) -> tuple[str, str]:
        """For the loss's check: if an option the user set is refused, say that instead.

        A torch loss checks some options only when it is called (cross-entropy's
        label_smoothing): the error then names the option, and the option is to blame.
        """
        loss = self.plan["loss"]
        if check != self.task.eval_step or loss is None:
            return problem, remedy
        entry = get_entry("loss", loss["name"])
        given = {k: v for k, v in loss["options"].items() if entry.defaults.get(k) != v}
        if not given:
            return problem, remedy
        named = ", ".join(f"{k}={v}" for k, v in given.items())
        return (
            f"loss '{loss['name']}' refused its options ({named})",
            f"change {' or '.join(f'--set loss.{k}' for k in given)}",
        )

    def open(self, run_dir: Path) -> None:
        """Use `run_dir` for every file of the run; write config.json there."""
        self.run_dir = self.context.run_dir = run_dir
        if self.main:
            atomic_write_text(run_dir / "config.json", json.dumps(self.plan, indent=2) + "\n")

    def run(self, resume: TrainingState | None = None) -> Run:
        plan = self.plan
        processes = self.processes
        batches = self.train_data.batches(
            self.local_batch,
            shuffle=plan["shuffle"],
            generator=self.generator,
            device=self.device,
            workers=plan["workers"],
            channels_last=self.channels_last,
            shard=None if processes is None else (processes.rank, processes.world),
        )
        # Held-out figures are measured by rank 0 alone, on the whole held-out split:
        # the same numbers as in one process, with no sample counted twice.
        held_out_batches = (
            None
            if self.held_out is None or not self.main
            else self.held_out.batches(
                plan["batch_size"],
                device=self.device,
                workers=plan["workers"],
                channels_last=self.channels_last,
            )
        )
        total = len(batches) * plan["epochs"]
        self.model.eval()
        with torch.no_grad():
            # On resume too: the model is still the untrained one the run began with
            # (same seed), so the task sees what it saw the first time.
            self.task.start(self.model, self.context)
        first_epoch, skip, values = 1, 0, None
        if resume is not None:
            first_epoch, skip, values = self._restore(resume, len(batches))
        elif processes is not None and not self.main:
            # Each process draws its own noise, dropout masks...; rank 0 draws what a
            # one-process run would.
            _seed_everything(_process_seed(plan["seed"], processes.rank))
        bar = self._bar(total, done=(first_epoch - 1) * len(batches) + skip)
        final: dict[str, Any] = self.history[-1] if self.history else {}
        # The stop signals stay caught while an interrupted run saves and draws: a
        # repeated SIGTERM then must not end the process half-way.
        with self._interrupt_at_step_end(), _deterministic(self.plan["deterministic"]):
            try:
                for epoch in range(first_epoch, plan["epochs"] + 1):
                    self.step.epoch = epoch
                    self.context.epoch = epoch
                    if not skip:  # the data order of this epoch comes from here
                        self.epoch_order = self.generator.get_state()
                    started = time.perf_counter()
                    record = {"epoch": epoch, **self._train_epoch(batches, bar, skip, values)}
                    skip, values = 0, None
                    if processes is not None:
                        processes.broadcast_buffers(self.model)
                    self.model.eval()
                    with torch.no_grad():
                        if held_out_batches is not None:
                            with self.autocast():
                                evaluated = self.task.evaluate(self.model, held_out_batches)
                            record.update({f"val_{k}": v for k, v in evaluated.items()})
                        if self.main:
                            self._draw(self.task.epoch_end, f"after epoch {epoch}")
                            if epoch == plan["epochs"]:
                                record.update(self._draw(self.task.finish, "at the end") or {})
                    record["seconds"] = round(time.perf_counter() - started, 4)
                    if processes is not None:  # rank 0's figures (held-out, final) for all
                        shared = processes.gather_json(json_safe(record) if self.main else None)
                        record = record if self.main else shared[0]
                    self.history.append(record)
                    if self.main:
                        self._append_metrics(record)
                        self._save(record)
                    else:
                        self.saved_epoch = epoch
                    self.epoch_order = self.generator.get_state()
                    self._save_state(epoch + 1, 0, None)
                    self.say(f"epoch {epoch}/{plan['epochs']}  {_format(record)}")
                    final = record
            except KeyboardInterrupt as exc:
                if bar is not None:
                    bar.close()
                if self.main and self._save_interrupted():
                    self._finish_interrupted()
                if processes is not None and isinstance(exc, _Stopped):
                    processes.barrier()  # all stopped after the same step: rank 0's files
                raise
            except TrainingError:
                if bar is not None:
                    bar.close()
                if self.main:
                    self._draw_loss()
                raise
        if bar is not None:
            bar.close()
        if self.main:
            self._draw_loss()
        pictures = [str(path) for path in self.context.pictures]
        if processes is not None:
            pictures = processes.gather_json(pictures if self.main else None)[0]
        return Run(
            run_dir=self.run_dir,
            model=self.model,
            config=plan,
            history=self.history,
            metrics={k: v for k, v in final.items() if k != "epoch"},
            pictures=[Path(path) for path in pictures],
        )

    # -- resumable state ------------------------------------------------------------

    def _save_state(self, epoch: int, steps_in_epoch: int, values: _StepValues | None) -> None:
        """Commit a resumable state: `steps_in_epoch` steps of `epoch` are done.

        In a multi-process run every process calls it at the same step (it
        averages the metrics and gathers each process's random generators);
        rank 0 writes.
        """
        if values is not None:
            self._summarise(values, steps_in_epoch)  # never commit a state past a NaN
        others = None
        if self.processes is not None:  # every process's own generators, rank 0's first
            others = self.processes.gather_json(resume.process_rng())[1:]
        problem = None
        if self.main:
            state = self._state(epoch, steps_in_epoch, values, others)
            try:
                resume.write_state(self.run_dir, state)
                self.last_state = state
            except CheckpointError as exc:
                problem = f"training stopped: {exc}; {self._kept()}"
        if self.processes is not None:  # the others stop too when rank 0 could not write
            problem = next((p for p in self.processes.gather_json(problem) if p), None)
        if problem is not None:
            raise TrainingError(problem)

    def _state(
        self,
        epoch: int,
        steps_in_epoch: int,
        values: _StepValues | None,
        others: list[Any] | None,
    ) -> TrainingState:
        """The run's state now, as `resume.write_state` writes it."""
        tensors: dict[str, torch.Tensor] = {}
        resume.model_tensors(self.model, tensors)
        optimizers = {
            name: resume.pack_optimizer(name, optimizer, tensors)
            for name, optimizer in self.optimizers.items()
        }
        rng = resume.rng_states(tensors, self.epoch_order)
        if others is not None:
            rng["processes"] = others
        counts = {}
        if values is not None:
            for key, buffer in values.buffers.items():
                counts[key] = values.counts[key]
                tensors[f"values/{key}"] = buffer[: values.counts[key]].detach().cpu()
        task_state = resume.pack_task_state(self.task.state_dict(), tensors)
        info = {
            "optimizers": optimizers,
            "rng": rng,
            "values": counts,
            "task": task_state,
            "history": json_safe(self.history),
            "saved_epoch": self.saved_epoch,
            "seed": self.plan["seed"],
            "threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
        }
        return resume.TrainingState(epoch, steps_in_epoch, self.step.index, tensors, info)

    def _resume_command(self) -> str:
        command = f"zoo train --resume {self.run_dir}"
        processes = self.plan.get("processes", 1)
        return command + (f" --nproc {processes}" if processes > 1 else "")

    def _kept(self) -> str:
        """What survives a stop: the newest committed state and checkpoint."""
        if self.last_state is None:
            return "no resumable state had been written yet"
        return (
            f"the last committed state ({self.last_state.describe()}) is intact in "
            f"{self.run_dir / resume.STATE_DIR}: continue with {self._resume_command()}"
        )

    def _restore(
        self, state: resume.TrainingState, steps_per_epoch: int
    ) -> tuple[int, int, _StepValues | None]:
        """Put the run back where `state` left it; return (epoch, steps done of it, values)."""
        info = state.info
        try:
            resume.restore_model(self.model, state)
            for name, optimizer in self.optimizers.items():
                resume.unpack_optimizer(name, optimizer, info["optimizers"][name], state)
            self.task.load_state_dict(resume.unpack_task_state(info.get("task", {}), state))
            resume.restore_rng(info["rng"], state, self.generator)
            self._restore_process_rng(info["rng"], state.step_index)
            history = info["history"]
            values = None
            if state.steps_in_epoch:
                values = _StepValues(steps_per_epoch)
                for key, count in info["values"].items():
                    saved = state.tensors[f"values/{key}"]
                    if len(saved) != count:
                        raise ValueError(f"metric {key} holds {len(saved)} values, not {count}")
                    for value in saved:
                        values.add(key, value)
                values.shared = dict(values.counts)  # saved after averaging over processes
        except CheckpointError:
            raise
        except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
            raise CheckpointError(
                f"{self.run_dir / resume.STATE_DIR / state.name}: does not fit this run "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        if state.steps_in_epoch > steps_per_epoch:
            raise CheckpointError(
                f"{state.name}: {state.steps_in_epoch} steps into an epoch of {steps_per_epoch}"
            )
        self.epoch_order = state.tensors["rng/data_order"]
        self.history[:] = history
        self.saved_epoch = info.get("saved_epoch", 0)
        self.step.index = state.step_index
        self.last_state = state
        if info.get("threads") not in (None, torch.get_num_threads()):
            self.say(
                f"note: the run trained with {_count(info['threads'], 'thread')} and goes on "
                f"with {torch.get_num_threads()}; on a CPU its numbers may then differ in the "
                "last bits from an uninterrupted run"
            )
        return state.epoch, state.steps_in_epoch, values

    @contextlib.contextmanager
    def _interrupt_at_step_end(self) -> Iterator[None]:
        """Turn the first Ctrl-C (or SIGTERM) into a stop at the end of the current step.

        The step finishes, a resumable state is committed, then KeyboardInterrupt
        is raised as usual. A second Ctrl-C interrupts at once; a second SIGTERM
        changes nothing (machines repeat it: torchrun passing one on while the
        process's parent-death signal arrives too; a scheduler that will not wait
        sends SIGKILL). (Only the main thread can catch signals; elsewhere
        Ctrl-C interrupts at once.)
        """
        self.stop_requested = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum: int, frame: Any) -> None:
            self.stop_requested = True
            if signum == signal.SIGINT:  # the next Ctrl-C interrupts at once
                signal.signal(signal.SIGINT, previous[signal.SIGINT])

        # SIGTERM too: what a job scheduler sends before it kills a job.
        previous = {number: signal.signal(number, request_stop) for number in STOP_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _bar(self, total: int, done: int = 0) -> Any:
        if not (self.verbose and self.main and sys.stderr.isatty()):
            return None
        from tqdm import tqdm

        return tqdm(
            total=total, initial=done, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False
        )

    def _train_epoch(
        self, batches: Any, bar: Any, skip: int = 0, values: _StepValues | None = None
    ) -> dict[str, float]:
        """One epoch; the first `skip` batches were trained on before a resume."""
        self.model.train()
        values = values if values is not None else _StepValues(len(batches))
        steps = 0
        interval = max(1, len(batches) // 10)
        log_every = self.plan["log_every"]
        checkpoint_every = self.plan["checkpoint_every"]
        for batch in batches:
            if steps < skip:  # the same order as before the stop, up to where it stopped
                steps += 1
                continue
            with self.autocast():
                metrics = self.task.training_step(self.model, batch, self.step)
            for key, value in metrics.items():
                values.add(key, value)
            self.step.index += 1
            steps += 1
            # The only mid-epoch host syncs, for display.
            if log_every and self.step.index % log_every == 0:
                latest = values.latest(self.processes)  # every process, at the same steps
                self.say(
                    f"epoch {self.step.epoch}/{self.plan['epochs']}  step {self.step.index}  "
                    + _format(latest)
                )
            if bar is not None:
                bar.update(1)
                if steps % interval == 0:
                    shown = {k: f"{v:.4g}" for k, v in list(values.latest().items())[:4]}
                    bar.set_postfix(epoch=self.step.epoch, **shown)
            if self._stop_now():
                self._save_state(self.step.epoch, steps, values)
                raise _Stopped
            # (The epoch's end writes one anyway.)
            due = checkpoint_every and self.step.index % checkpoint_every == 0
            if due and steps < len(batches):
                self._save_state(self.step.epoch, steps, values)
        return self._summarise(values, steps)

    def _stop_now(self) -> bool:
        """Whether to stop after this step: asked by a signal here (or, in a multi-process
        run, in any process; all of them then stop after the same step)."""
        if self.processes is None:
            return self.stop_requested
        if self.stop_requested:
            self.processes.request_stop()
        return self.processes.stop_agreed(self.step.index)

    def _restore_process_rng(self, rng: dict[str, Any], step_index: int) -> None:
        """In a multi-process run, a process other than rank 0 takes back its own generators."""
        if self.processes is None or self.main:
            return
        saved = rng.get("processes", [])
        if len(saved) == self.processes.world - 1:
            resume.set_process_rng(saved[self.processes.rank - 1])
        else:  # a different number of processes: their draws cannot go on as before
            seed = _process_seed(self.plan["seed"] + step_index, self.processes.rank)
            _seed_everything(seed)

    def _summarise(self, values: _StepValues, steps: int) -> dict[str, float]:
        values.share(self.processes)
        if not values:
            return {}
        summary = {}
        for key, chunk in values.numbers().items():  # one host sync per epoch
            bad = [i for i, v in enumerate(chunk) if not math.isfinite(v)]
            if bad:
                first_step = self.step.index - steps + bad[0] + 1
                kept = (
                    f"the last good checkpoint (epoch {self.saved_epoch}) is kept in {self.run_dir}"
                    if self.saved_epoch
                    else "no checkpoint had been written yet"
                )
                raise TrainingError(
                    f"{key} became non-finite ({chunk[bad[0]]}) at step {first_step} "
                    f"(epoch {self.step.epoch}); training stopped and {kept}; "
                    "try a lower --lr"
                )
            summary[key] = math.fsum(chunk) / len(chunk)
        return summary

    def _append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps(json_safe(record), allow_nan=False) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _save(self, record: dict[str, Any]) -> None:
        metrics = {k: v for k, v in record.items() if k != "seconds"}
        self.model.zoo_spec.metrics = metrics
        save(self.model, self.run_dir / CHECKPOINT)
        self.saved_epoch = record["epoch"]

    def _save_interrupted(self) -> bool:
        """Save the weights so far if they are finite; return whether they were saved."""
        finite = all(bool(torch.isfinite(p).all()) for p in self.model.parameters())
        # The interrupt may land after epoch N is recorded but before epoch N + 1
        # starts: the weights are then epoch N's, and the run stopped in N + 1.
        finished = self.history[-1]["epoch"] if self.history else 0
        stopped_in = max(self.step.epoch, finished + 1)
        if finite:
            self.model.zoo_spec.metrics = {
                **(self.history[-1] if self.history else {}),
                "interrupted_in_epoch": stopped_in,
            }
            self.model.zoo_spec.metrics.pop("seconds", None)
            save(self.model, self.run_dir / CHECKPOINT)
            self.say(
                f"interrupted in epoch {stopped_in}: weights so far saved to "
                f"{self.run_dir / CHECKPOINT}"
                + (
                    f"; continue with {self._resume_command()}"
                    if self.last_state is not None
                    else ""
                )
            )
        else:
            self.say(f"interrupted; the last good checkpoint (epoch {self.saved_epoch}) is kept")
        self._draw_loss()
        return finite

    def _draw(self, hook: Any, when: str) -> Any:
        """Run a task's picture hook; a failure is a warning, never the loss of the run.

        (A picture that cannot be written, for a full disk or an image too
        large, must not take the epoch's weights with it.)
        """
        try:
            return hook(self.model, self.context)
        except Exception as exc:
            print(
                f"zoo: warning: task '{self.plan['task']['name']}' could not draw its pictures "
                f"{when}: {_first_line(exc)}; training goes on and the weights are saved",
                file=sys.stderr,
            )
            return None

    def _finish_interrupted(self) -> None:
        """After Ctrl-C, once the weights so far are saved, let the task draw what it has."""
        self.context.interrupted = True
        self.model.eval()
        try:
            with torch.no_grad():
                self._draw(self.task.finish, "after the interrupt")
        except KeyboardInterrupt:  # a second Ctrl-C: stop drawing
            pass

    def _draw_loss(self) -> None:
        if self.history:
            loss = self.plan["loss"]
            path = plot_history(
                self.history,
                self.run_dir / "loss.png",
                title=f"{self.plan['model']} on {self.plan['dataset']['name']}",
                ylabel=f"loss ({loss['name']})" if loss else "loss",
                panels=self.task.plotted,
            )
            if path not in self.context.pictures:
                self.context.pictures.insert(0, path)


def train(
    name: str | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs",
    verbose: bool = True,
    resume: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Run:
    """Train a registered model and write a run folder; return the `Run`.

    Options are those of `plan_run`: dataset, task, init, loss, epochs,
    batch_size, lr, val_fraction, shuffle, seed, workers, memory_format,
    log_every, precision, compile, checkpoint_every, deterministic, device, config,
    dataset_options, task_options, init_options, loss_options and settings
    (`--set`-style keys). The folder is `out`, or `runs/<model>/<timestamp>/`.

    `resume=RUN_DIR` continues a stopped run from its newest resumable state
    (or `resume=STATE_FILE` from that one), exactly as planned in its
    config.json; only `epochs` may change, to train on for longer.

    Example:
        >>> run = zoo.train("dense-ae", epochs=5, settings={"n_samples": 2000})
        >>> run.metrics["val_loss"] < 1.0
        True
    """
    if resume is not None:
        return _resume(resume, name, out, verbose, options)
    if name is None:
        raise ConfigError("give the name of a model to train (zoo list models), or resume=RUN")
    plan = plan_run(name, **options)
    _check_out(out)
    loop = _Loop(plan, verbose)
    with loop.joined():
        loop.prepare()  # data, model, task: every mistake surfaces before a folder is made
        existed = out is not None and Path(out).exists()
        run_dir = loop.on_main(lambda: _new_run_dir(plan["model"], out, runs_dir))
        return _train_in(loop, run_dir, existed)


def _train_in(loop: _Loop, run_dir: Path, existed: bool) -> Run:
    plan = loop.plan
    try:
        loop.open(run_dir)
        loop.say(
            f"training {plan['model']} on {plan['dataset']['name']} ({plan['task']['name']}) "
            f"on {loop.device}; run folder {run_dir}"
        )
        if plan["val_fraction"] > 0 and not plan["samples"]["held_out"]:
            loop.say(
                f"note: val_fraction {plan['val_fraction']} of {plan['samples']['train']} "
                "samples holds none out; every metric is measured on the training data"
            )
        run = loop.run()
    except BaseException:
        nothing = not (run_dir / CHECKPOINT).exists() and loop.last_state is None
        if loop.main and nothing:
            # Nothing was trained yet: leave no half run behind to block a rerun with --out.
            _remove_run(run_dir, remove_folder=not existed)
        raise
    loop.say(f"done: {_format(run.metrics)}; weights in {run.checkpoint}")
    return run


# Options of a planned run, as `plan_run` takes them, read back from its config.json.
_REPLANNED = (
    "batch_size",
    "lr",
    "val_fraction",
    "shuffle",
    "seed",
    "workers",
    "memory_format",
    "log_every",
    "precision",
    "compile",
    "checkpoint_every",
    "deterministic",
    "device",
)


def _replan(saved: Any, epochs: int | None, where: Path) -> dict[str, Any]:
    """Check a run's config.json through `plan_run` again, as if given anew."""
    try:
        loss = saved["loss"]
        options = {key: saved[key] for key in _REPLANNED if key in saved}
        return plan_run(
            saved["model"],
            dataset=saved["dataset"]["name"],
            dataset_options=saved["dataset"]["options"],
            task=saved["task"]["name"],
            task_options=saved["task"]["options"],
            init=saved["init"]["name"],
            init_options=saved["init"]["options"],
            loss=None if loss is None else loss["name"],
            loss_options=None if loss is None else loss["options"],
            config=saved["config_overrides"],
            epochs=epochs if epochs is not None else saved["epochs"],
            **options,
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(
            f"{where} is not a zoo run's config.json (missing or malformed: {exc}); "
            "resume needs the run folder zoo train wrote"
        ) from None


def _resume(
    target: str | os.PathLike[str],
    name: str | None,
    out: str | os.PathLike[str] | None,
    verbose: bool,
    options: dict[str, Any],
) -> Run:
    target = Path(target)
    explicit = target.suffix == ".safetensors" or target.is_file()
    run_dir = target.parent.parent if explicit else target
    changed = sorted(key for key, value in options.items() if value is not None)
    if [key for key in changed if key != "epochs"] or (out is not None and Path(out) != run_dir):
        given = [key for key in changed if key != "epochs"] + (["out"] if out is not None else [])
        raise ConfigError(
            f"resume continues a run as its config.json planned it; only epochs may change, "
            f"not {', '.join(given)}"
        )
    if explicit and not target.exists():
        raise CheckpointError(f"{target}: no such state file")
    if not (run_dir / "config.json").is_file():
        raise ConfigError(
            f"--resume {target}: {'no such folder' if not run_dir.is_dir() else 'not a run folder'}"
            " (no config.json); give the folder zoo train wrote"
        )
    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{run_dir / 'config.json'} cannot be read as JSON: {exc}") from None
    plan = _replan(saved, options.get("epochs"), run_dir / "config.json")
    if name is not None and get_entry("model", name).name != plan["model"]:
        raise ConfigError(f"{run_dir} trains model '{plan['model']}', not '{name}'")
    if explicit:
        state, skipped = resume.read_state(target), []
    else:
        state, skipped = resume.latest_state(run_dir)
    if state is None:
        why = f" ({'; '.join(skipped)})" if skipped else ""
        raise CheckpointError(
            f"{run_dir} holds no resumable state{why}: the run stopped before its first "
            "state was committed; start it again"
        )
    if state.info.get("seed") != plan["seed"]:
        raise CheckpointError(f"{state.name} belongs to a run with another seed, not {run_dir}")
    if state.epoch > plan["epochs"] and options.get("epochs") is not None:
        done = state.epoch - 1
        raise ConfigError(
            f"{run_dir} has trained {done} epoch{'s' if done != 1 else ''} already; "
            f"epochs {plan['epochs']} leaves nothing to train: give more than {done}"
        )
    if state.epoch > plan["epochs"]:
        raise ConfigError(
            f"{run_dir} has finished its {plan['epochs']} epoch"
            f"{'s' if plan['epochs'] != 1 else ''}; pass epochs (--epochs) "
            f"above {plan['epochs']} to train on"
        )
    loop = _Loop(plan, verbose)
    with loop.joined():
        loop.prepare()
        loop.open(run_dir)
        for reason in skipped:
            loop.say(f"note: skipped a newer state that does not read back: {reason}")
        loop.say(f"resuming {plan['model']} from {state.describe()}; run folder {run_dir}")
        before = saved.get("processes", 1)
        if before != plan["processes"]:
            loop.say(
                f"note: the run trained in {before} process{'es' if before != 1 else ''} and "
                f"goes on in {plan['processes']}: the same global batches, but each process's "
                "own random draws (noise, dropout) differ from an uninterrupted run"
            )
        history = state.info.get("history", [])
        if loop.main:
            atomic_write_text(
                run_dir / "metrics.jsonl",
                "".join(json.dumps(row, allow_nan=False) + "\n" for row in history),
            )
        run = loop.run(resume=state)
        loop.say(f"done: {_format(run.metrics)}; weights in {run.checkpoint}")
        return run
