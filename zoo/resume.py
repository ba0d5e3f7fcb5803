"""Resumable training state: what a run needs to go on exactly where it stopped.

The trainer writes a state file into `<run>/resume/` after every epoch, every
`checkpoint_every` steps when asked, and when Ctrl-C stops it. A state file is
a safetensors file like a checkpoint, and is read with the same suspicion
(zoo.checkpoint's validated header; never a pickle). Its tensors hold the
weights, each optimizer's state, the random generators' states and the
metrics of the epoch so far; its metadata holds one JSON document with the
counters, the optimizers' hyper-parameters, Python's and NumPy's generator
states, the metrics history and the task's own state.

A state counts only once committed: written to a temp file in the same
folder, fsynced, renamed to `state-e<epoch>-s<step>.safetensors` and the
folder fsynced (zoo.files.atomic_write). A kill at any moment leaves either
the new state or the previous ones, and at most a stray temp file, which is
ignored. The two newest states are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo.checkpoint import _open_regular, _read_header_from, _read_into, _write_safetensors
from zoo.errors import CheckpointError, ZooError
from zoo.files import atomic_write

__all__ = ["STATE_DIR", "TrainingState", "latest_state", "read_state", "write_state"]

STATE_DIR = "resume"
STATE_FORMAT = "zoo-training-state"
STATE_VERSION = 1
KEEP = 2
_NAME = re.compile(r"^state-e(\d{6,})-s(\d{9,})\.safetensors$")


@dataclass
class TrainingState:
    """Where a run stands: `steps_in_epoch` steps of epoch `epoch` are done.

    `steps_in_epoch` 0 means epoch `epoch` has not started (the previous one
    ended). `tensors` and `info` are the file's content, split by kind.
    """

    epoch: int
    steps_in_epoch: int
    step_index: int
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"state-e{self.epoch:06d}-s{self.step_index:09d}.safetensors"

    def describe(self) -> str:
        if self.steps_in_epoch:
            return f"epoch {self.epoch}, step {self.steps_in_epoch} of it (step {self.step_index})"
        return f"the start of epoch {self.epoch} (step {self.step_index})"


# -- packing ------------------------------------------------------------------------


def _json_value(value: Any, where: str) -> Any:
    """JSON for a hyper-parameter or scalar state; tuples are tagged to come back as tuples."""
    if isinstance(value, tuple):
        return {"tuple": [_json_value(v, where) for v in value]}
    if isinstance(value, list):
        return [_json_value(v, where) for v in value]
    if isinstance(value, dict):
        return {"dict": {str(k): _json_value(v, where) for k, v in value.items()}}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return {"tensor": value.item(), "dtype": str(value.dtype).removeprefix("torch.")}
    raise CheckpointError(f"cannot store {where} of type {type(value).__name__} in a state file")


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"tuple"}:
            return tuple(_from_json(v) for v in value["tuple"])
        if set(value) == {"dict"}:
            return {k: _from_json(v) for k, v in value["dict"].items()}
        if set(value) == {"tensor", "dtype"}:
            return torch.tensor(value["tensor"], dtype=getattr(torch, value["dtype"]))
        raise CheckpointError(f"malformed value in a state file: {sorted(value)}")
    return value


def pack_optimizer(
    name: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]
) -> dict[str, Any]:
    """Put an optimizer's state tensors into `tensors`; return the rest as JSON."""
    state = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer/{name}/{index}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = _json_value(value, f"{name}.{key}")
    groups = [
        {k: _json_value(v, f"{name}.{k}") for k, v in group.items()}
        for group in state["param_groups"]
    ]
    return {"param_groups": groups, "scalars": scalars}


def unpack_optimizer(
    name: str, optimizer: torch.optim.Optimizer, info: dict[str, Any], state: TrainingState
) -> None:
    per_param: dict[int, dict[str, Any]] = {}
    prefix = f"optimizer/{name}/"
    for key, tensor in state.tensors.items():
        if key.startswith(prefix):
            index, what = key[len(prefix) :].split("/", 1)
            per_param.setdefault(int(index), {})[what] = tensor
    for index, values in info.get("scalars", {}).items():
        for key, value in values.items():
            per_param.setdefault(int(index), {})[key] = _from_json(value)
    groups = [{k: _from_json(v) for k, v in group.items()} for group in info["param_groups"]]
    optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    # A state file holds tensors in the default layout; give each its parameter's
    # (channels-last conv weights): a fused kernel takes another, differently
    # rounded path when the layouts differ, and the run would drift.
    for param, values in optimizer.state.items():
        for key, value in values.items():
            if (
                isinstance(value, torch.Tensor)
                and value.shape == param.shape
                and value.stride() != param.stride()
            ):
                values[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def rng_states(tensors: dict[str, torch.Tensor], data_order: torch.Tensor) -> dict[str, Any]:
    """Every generator a run draws from: torch's (CPU and CUDA), NumPy's and Python's, and
    `data_order`, the data-order generator's state when the current epoch began."""
    tensors["rng/torch"] = torch.get_rng_state()
    tensors["rng/data_order"] = data_order.clone()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, value in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{index}"] = value
    kind, keys, position, has_gauss, cached = np.random.get_state()
    tensors["rng/numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, internal, gauss = random.getstate()
    return {
        "numpy": {
            "kind": kind,
            "pos": int(position),
            "has_gauss": int(has_gauss),
            "cached": cached,
        },
        "python": {"version": version, "state": list(internal), "gauss": gauss},
    }


def restore_rng(info: dict[str, Any], state: TrainingState, generator: torch.Generator) -> None:
    tensors = state.tensors
    torch.set_rng_state(tensors["rng/torch"])
    generator.set_state(tensors["rng/data_order"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda/")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    numpy = info["numpy"]
    np.random.set_state(
        (
            numpy["kind"],
            tensors["rng/numpy"].numpy().astype(np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached"],
        )
    )
    python = info["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))


def process_rng() -> dict[str, Any]:
    """This process's torch (CPU and current CUDA device), NumPy and Python generator states,
    as JSON: what each process of a multi-process run keeps for itself."""
    state: dict[str, Any] = {"torch": torch.get_rng_state().tolist()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state().tolist()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state["numpy"] = [kind, np.asarray(keys).tolist(), int(position), int(has_gauss), cached]
    version, internal, gauss = random.getstate()
    state["python"] = [version, list(internal), gauss]
    return state


def set_process_rng(state: dict[str, Any]) -> None:
    """Take back what `process_rng` returned."""
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(torch.tensor(state["cuda"], dtype=torch.uint8))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def pack_task_state(task_state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict:
    """A task's `state_dict()`: tensors and lists of tensors into `tensors`, the rest JSON."""
    out: dict[str, Any] = {}
    for key, value in task_state.items():
        if isinstance(value, torch.Tensor):
            tensors[f"task/{key}"] = value.detach().cpu().contiguous()
            out[key] = {"tensor": True}
        elif (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, torch.Tensor) for v in value)
        ):
            for i, item in enumerate(value):
                tensors[f"task/{key}/{i:06d}"] = item.detach().cpu().contiguous()
            out[key] = {"tensors": len(value)}
        else:
            out[key] = {"json": _json_value(value, f"task state '{key}'")}
    return out


def unpack_task_state(info: dict[str, Any], state: TrainingState) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, how in info.items():
        if "tensor" in how:
            out[key] = state.tensors[f"task/{key}"]
        elif "tensors" in how:
            out[key] = [state.tensors[f"task/{key}/{i:06d}"] for i in range(how["tensors"])]
        else:
            out[key] = _from_json(how["json"])
    return out


def model_tensors(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    for name, tensor in model.state_dict().items():
        tensors[f"model/{name}"] = tensor.detach().cpu().contiguous()


def restore_model(model: nn.Module, state: TrainingState) -> None:
    weights = {k[len("model/") :]: v for k, v in state.tensors.items() if k.startswith("model/")}
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"the state file's weights do not fit this run's model ({first})"
        ) from exc


# -- files --------------------------------------------------------------------------


def write_state(run_dir: Path, state: TrainingState) -> Path:
    """Commit a state file atomically and durably; keep only the newest KEEP."""
    folder = Path(run_dir) / STATE_DIR
    metadata = {
        "format": STATE_FORMAT,
        "format_version": str(STATE_VERSION),
        "state": json.dumps(
            {
                "epoch": state.epoch,
                "steps_in_epoch": state.steps_in_epoch,
                "step_index": state.step_index,
                **state.info,
            },
            allow_nan=True,
        ),
    }
    path = atomic_write(
        folder / state.name,
        lambda temp: _write_safetensors(temp, state.tensors, metadata),
        error=CheckpointError,
    )
    _prune(folder, keep=KEEP)
    return path


def _committed(folder: Path) -> list[tuple[int, int, Path]]:
    found = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), entry))
    return sorted(found, reverse=True)


def _prune(folder: Path, keep: int) -> None:
    old = [path for _, _, path in _committed(folder)[keep:]]
    strays = list(folder.glob(".state-*.tmp"))  # left by a kill mid-write
    for path in old + strays:
        with contextlib.suppress(OSError):
            path.unlink()


def read_state(path: str | os.PathLike[str]) -> TrainingState:
    """Read and validate a state file; any problem is a CheckpointError naming the file."""
    target = Path(path)
    handle = _open_regular(target)
    try:
        header = _read_header_from(handle, target)
        meta = header.metadata
        if meta.get("format") != STATE_FORMAT:
            raise CheckpointError(f"{target}: not a zoo training state file")
        if meta.get("format_version") != str(STATE_VERSION):
            raise CheckpointError(
                f"{target}: training state format version {meta.get('format_version')!r}; "
                f"this zoo reads version {STATE_VERSION}"
            )
        try:
            info = json.loads(meta["state"])
        except (KeyError, ValueError, RecursionError):
            raise CheckpointError(f"{target}: its state metadata is not valid JSON") from None
        counters = [info.pop(k, None) for k in ("epoch", "steps_in_epoch", "step_index")]
        if not isinstance(info, dict) or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counters
        ):
            raise CheckpointError(f"{target}: its step counters are missing or invalid")
        from zoo.checkpoint import _DTYPE_TAGS

        dtypes = {tag: getattr(torch, name) for name, tag in _DTYPE_TAGS.items()}
        tensors = {}
        for name, spec in sorted(header.tensors.items(), key=lambda item: item[1].begin):
            tensor = torch.empty(spec.shape, dtype=dtypes[spec.dtype])
            if tensor.numel():
                memory = memoryview(tensor.reshape(-1).view(torch.uint8).numpy())
                _read_into(handle, header.data_start + spec.begin, memory, target)
            tensors[name] = tensor
    finally:
        os.close(handle)
    epoch, steps_in_epoch, step_index = counters
    return TrainingState(epoch, steps_in_epoch, step_index, tensors, info)


def latest_state(run_dir: Path) -> tuple[TrainingState | None, list[str]]:
    """The newest committed state that reads back whole, and why any newer one was skipped."""
    skipped: list[str] = []
    for _, _, path in _committed(Path(run_dir) / STATE_DIR):
        try:
            return read_state(path), skipped
        except ZooError as exc:
            skipped.append(str(exc))
    return None, skipped
