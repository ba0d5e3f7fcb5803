"""Weights files: safetensors with zoo's metadata, written atomically, read with suspicion.

A zoo checkpoint is a plain safetensors file. Its `__metadata__` (string to
string) records the format version, the model's registered name, its JSON
config, the plugin distribution and version that provides it, zoo's version,
the task, init and dataset it was trained with, and its final metrics. That is
enough for `zoo.load(path)` to rebuild the model through the registry from the
file alone. Nothing is ever unpickled, and no name from a file reaches
`importlib`: names resolve only through the registry.

Reading checks everything before trusting anything: the header is parsed and
validated in pure Python (length, JSON, dtypes, shapes, offsets that tile the
data exactly); the config is validated against the model's declaration; the
model is first built on torch's "meta" device (no memory) and its tensor
table compared with the file's; only then is the model built for real and the
file's tensors read into it, straight into its own parameters where they can
take them. See docs/checkpoint-format.md.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo._version import __version__
from zoo.errors import CheckpointError, ConfigError, DataError, UnknownNameError, ZooError

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Header",
    "inspect_checkpoint",
    "load",
    "read_header",
    "save",
]

FORMAT = "zoo"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024 * 1024
REQUIRED_KEYS = ("format", "format_version", "model", "config")

# safetensors dtype tags and their sizes in bytes.
DTYPE_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as the header describes it."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Header:
    """A validated safetensors header: metadata and the tensor table."""

    path: Path
    metadata: dict[str, str]
    tensors: dict[str, TensorInfo]
    data_start: int
    file_size: int


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _fail(path: Path | str, what: str) -> CheckpointError:
    """An error naming the file; control characters a hostile file may put in the
    names it reports are escaped, so the message stays one line."""
    message = f"{path}: {what}"
    return CheckpointError(_CONTROL.sub(lambda m: repr(m.group())[1:-1], message))


def _open_regular(path: Path) -> int:
    """Open a path for reading only if it is a regular file (never blocks on a FIFO)."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, "is a directory, not a weights file") from None
    except PermissionError:
        raise _fail(path, "permission denied") from None
    except OSError as exc:
        raise _fail(path, f"cannot open: {exc.strerror or exc}") from None
    mode = os.fstat(handle).st_mode
    if not stat.S_ISREG(mode):
        os.close(handle)
        kind = (
            "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        )
        raise _fail(path, f"is {kind}; expected a .safetensors file")
    return handle


def _read_into(handle: int, offset: int, buffer: memoryview, path: Path) -> None:
    """Fill `buffer` with the file's bytes from `offset` on; a short file is an error."""
    reader = io.FileIO(handle, "rb", closefd=False)
    reader.seek(offset)
    filled = 0
    while filled < len(buffer):
        count = reader.readinto(buffer[filled:])
        if not count:
            raise _fail(
                path, f"file ended early (truncated while reading at byte {offset + filled})"
            )
        filled += count


def _read_exactly(handle: int, offset: int, size: int, path: Path) -> bytes:
    chunks = []
    remaining = size
    position = offset
    while remaining:
        chunk = os.pread(handle, min(remaining, 1 << 24), position)
        if not chunk:
            raise _fail(path, f"file ended early (truncated while reading at byte {position})")
        chunks.append(chunk)
        remaining -= len(chunk)
        position += len(chunk)
    return b"".join(chunks)


def _sniff(prefix: bytes) -> str:
    if prefix.startswith(b"PK\x03\x04"):
        return (
            "; it looks like a torch.save (zip/pickle) file, which zoo never unpickles: "
            "convert it with safetensors.torch.save_file in a trusted session"
        )
    if prefix[:1] == b"\x80" and prefix[1:2] in {bytes([v]) for v in range(2, 6)}:
        return "; it looks like a Python pickle, which zoo never loads"
    return "; give a model.safetensors written by zoo (zoo.save or zoo train)"


def _parse_header(raw: bytes, path: Path) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            raise _fail(path, "header repeats a key")
        return dict(pairs)

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "not a safetensors file (header is not UTF-8 text)") from None
    if not text.lstrip().startswith("{"):
        raise _fail(path, "not a safetensors file (header is not a JSON object)")
    try:
        header = json.loads(text, object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError):
        raise _fail(path, "not a safetensors file (header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise _fail(path, "not a safetensors file (header is not a JSON object)")
    return header


def _tensor_info(name: str, spec: Any, path: Path) -> TensorInfo:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        raise _fail(path, f"tensor '{name}' has a malformed entry in the header")
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
        raise _fail(path, f"tensor '{name}' has unsupported dtype {dtype!r}")

    def is_count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if not isinstance(shape, list) or not all(is_count(d) for d in shape):
        raise _fail(path, f"tensor '{name}' has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(is_count(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise _fail(path, f"tensor '{name}' has invalid data offsets {offsets!r}")
    info = TensorInfo(dtype, tuple(shape), offsets[0], offsets[1])
    if info.end - info.begin != info.numel * DTYPE_SIZES[dtype]:
        raise _fail(
            path,
            f"tensor '{name}': {dtype}{list(shape)} needs {info.numel * DTYPE_SIZES[dtype]} "
            f"bytes but its offsets span {info.end - info.begin}",
        )
    return info


def _validate_layout(tensors: dict[str, TensorInfo], data_size: int, path: Path) -> None:
    position = 0
    for name, info in sorted(tensors.items(), key=lambda item: (item[1].begin, item[1].end)):
        if info.begin != position:
            what = "overlaps another tensor" if info.begin < position else "leaves a gap"
            raise _fail(path, f"tensor '{name}' {what} in the data section")
        position = info.end
    if position < data_size:
        raise _fail(path, f"{data_size - position} unexpected trailing bytes after the tensors")
    if position > data_size:
        raise _fail(
            path,
            f"truncated: the header describes {position} bytes of tensor data, "
            f"the file holds {data_size}",
        )


def _read_header_from(handle: int, path: Path) -> Header:
    size = os.fstat(handle).st_size
    if size < 8:
        raise _fail(path, f"not a safetensors file (only {size} bytes)")
    prefix = _read_exactly(handle, 0, min(size, 16), path)
    length = int.from_bytes(prefix[:8], "little")
    if 2 <= length <= MAX_HEADER_BYTES and length > size - 8 and prefix[8:9] == b"{":
        raise _fail(path, f"truncated: the header needs {length} bytes, the file holds {size - 8}")
    if length < 2 or length > size - 8 or length > MAX_HEADER_BYTES:
        raise _fail(
            path,
            f"not a safetensors file (header length {length} does not fit a file of {size} bytes)"
            + _sniff(prefix),
        )
    header = _parse_header(_read_exactly(handle, 8, length, path), path)
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _fail(path, "__metadata__ must map strings to strings")
    tensors = {name: _tensor_info(name, spec, path) for name, spec in header.items()}
    _validate_layout(tensors, size - 8 - length, path)
    return Header(path, dict(metadata), tensors, 8 + length, size)


def read_header(path: str | os.PathLike[str]) -> Header:
    """Read and validate a safetensors header (pure Python: no torch, no plugins)."""
    target = Path(path)
    handle = _open_regular(target)
    try:
        return _read_header_from(handle, target)
    finally:
        os.close(handle)


def _json_field(header: Header, key: str, default: Any = None) -> Any:
    raw = header.metadata.get(key)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise _fail(header.path, f"metadata '{key}' is not valid JSON") from None


def _check_zoo_metadata(header: Header) -> None:
    if header.metadata.get("format") == "zoo-training-state":
        run = header.path.parent.parent
        raise _fail(
            header.path,
            "a resumable training state, not a model checkpoint: load "
            f"{run / 'model.safetensors'}, or continue the run with zoo train --resume {run}",
        )
    missing = [key for key in REQUIRED_KEYS if key not in header.metadata]
    if missing:
        raise _fail(
            header.path,
            f"safetensors file without zoo metadata (missing {', '.join(missing)}); "
            "it was not written by zoo.save — load its tensors with safetensors directly",
        )
    if header.metadata["format"] != FORMAT:
        raise _fail(header.path, f"unknown format {header.metadata['format']!r}, expected 'zoo'")
    version = header.metadata["format_version"]
    if not version.isdigit():
        raise _fail(header.path, f"format version {version!r} is not a whole number")
    if int(version) > FORMAT_VERSION:
        raise _fail(
            header.path,
            f"format version {version!r} is newer than this zoo reads ({FORMAT_VERSION}); "
            "upgrade zoo",
        )
    if not isinstance(_json_field(header, "config"), dict):
        raise _fail(header.path, "metadata 'config' must be a JSON object")


def inspect_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe a weights file from its header alone: metadata and tensor table.

    Imports neither torch nor the plugin the file names, so it is safe and fast
    on any file.
    """
    header = read_header(path)
    metadata: dict[str, Any] = {}
    order = [*REQUIRED_KEYS, *sorted(set(header.metadata) - set(REQUIRED_KEYS))]
    for key in order:
        if key not in header.metadata:
            continue
        value = header.metadata[key]
        try:
            metadata[key] = json.loads(value) if value[:1] in "{[" else value
        except (ValueError, RecursionError):
            metadata[key] = value
    tensors = [
        {
            "name": name,
            "dtype": info.dtype,
            "shape": list(info.shape),
            "bytes": info.end - info.begin,
        }
        for name, info in sorted(header.tensors.items())
    ]
    return {
        "path": str(header.path),
        "file_bytes": header.file_size,
        "is_zoo_checkpoint": all(key in header.metadata for key in REQUIRED_KEYS),
        "metadata": metadata,
        "tensors": tensors,
        "parameters": sum(info.numel for info in header.tensors.values()),
    }


# -- writing -----------------------------------------------------------------
def _metadata_for(model: nn.Module, metrics: Mapping[str, Any] | None) -> dict[str, str]:
    import torch

    from zoo.config import json_safe

    spec = getattr(model, "zoo_spec", None)
    if spec is None:
        raise CheckpointError(
            f"{type(model).__name__} was not built by zoo.create_model, so zoo cannot "
            "record how to rebuild it; build it with zoo.create_model(name, ...)"
        )
    merged = {**spec.metrics, **(metrics or {})}
    entries = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "model": spec.name,
        "distribution": spec.distribution,
        "distribution_version": spec.version,
        "config": json.dumps(spec.config, sort_keys=True),
        "task": spec.task or "",
        "dataset": spec.dataset or "",
        "init": spec.init or "",
        "init_options": json.dumps(spec.init_options, sort_keys=True),
        "metrics": json.dumps(json_safe(merged), sort_keys=True, allow_nan=False),
        "zoo_version": __version__,
        "torch_version": torch.__version__,
    }
    # Only what a run recorded: a model built by hand carries neither.
    if spec.dataset_options:
        entries["dataset_options"] = json.dumps(json_safe(spec.dataset_options), sort_keys=True)
    if spec.standardisation:
        entries["standardisation"] = json.dumps(spec.standardisation, sort_keys=True)
    if spec.split:
        entries["split"] = json.dumps(spec.split, sort_keys=True)
    if spec.reproducibility:
        entries["reproducibility"] = json.dumps(spec.reproducibility, sort_keys=True)
    return entries


def _valid_split(split: Any) -> bool:
    """A recorded data split: {"seed": int, "val_fraction": number in [0, 1)}."""
    if not isinstance(split, dict) or set(split) != {"seed", "val_fraction"}:
        return False
    seed, fraction = split["seed"], split["val_fraction"]
    return (
        isinstance(seed, int)
        and not isinstance(seed, bool)
        and isinstance(fraction, (int, float))
        and not isinstance(fraction, bool)
        and 0 <= fraction < 1
    )


def _owned_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as contiguous CPU tensors (tied weights are written once per name)."""
    return {
        name: tensor.detach().to("cpu").contiguous() for name, tensor in model.state_dict().items()
    }


_DTYPE_TAGS = {
    "bool": "BOOL",
    "uint8": "U8",
    "int8": "I8",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "int16": "I16",
    "uint16": "U16",
    "float16": "F16",
    "bfloat16": "BF16",
    "int32": "I32",
    "uint32": "U32",
    "float32": "F32",
    "int64": "I64",
    "uint64": "U64",
    "float64": "F64",
}


def _write_safetensors(
    path: str, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]
) -> None:
    """Write the safetensors layout with sorted keys, so equal models give equal bytes.

    (The safetensors library orders metadata by hash, which differs run to run.)
    Tensors are streamed one by one: no second copy of the whole model in memory.
    """
    import torch

    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name]
        tag = _DTYPE_TAGS.get(str(tensor.dtype).removeprefix("torch."))
        if tag is None:
            raise CheckpointError(
                f"tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot store"
            )
        size = tensor.numel() * tensor.element_size()
        header[name] = {
            "dtype": tag,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # align the data section, as safetensors does
    with open(path, "wb") as out:
        out.write(len(text).to_bytes(8, "little"))
        out.write(text)
        for name in sorted(tensors):
            tensor = tensors[name]
            if tensor.numel():
                out.write(memoryview(tensor.reshape(-1).view(torch.uint8).numpy()))


def save(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    metrics: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model built by zoo to a safetensors file, atomically (temp, fsync, rename).

    Example:
        >>> import zoo
        >>> zoo.save(zoo.create_model("dense-ae"), "/tmp/ae.safetensors")
        PosixPath('/tmp/ae.safetensors')
    """
    from zoo.files import atomic_write

    metadata = _metadata_for(model, metrics)
    tensors = _owned_tensors(model)
    return atomic_write(
        path, lambda temp: _write_safetensors(temp, tensors, metadata), error=CheckpointError
    )


# -- reading -----------------------------------------------------------------
def _resolve_entry(header: Header) -> Any:
    from zoo.registry import get_entry

    name = header.metadata["model"]
    distribution = header.metadata.get("distribution", "")
    try:
        return get_entry("model", f"{distribution}:{name}" if distribution else name)
    except UnknownNameError:
        pass
    try:
        return get_entry("model", name)
    except UnknownNameError:
        version = header.metadata.get("distribution_version", "")
        needed = f" from {distribution} {version}".rstrip() if distribution else ""
        raise _fail(
            header.path,
            f"needs model '{name}'{needed}, which no installed plugin provides "
            f"(install {distribution or 'the plugin that provides it'}; 'zoo list models' "
            "shows what is installed)",
        ) from None
    except ZooError as exc:
        raise _fail(header.path, str(exc)) from None


def _compare_tables(
    expected: Mapping[str, tuple[tuple[int, ...], Any]],
    header: Header,
    strict: bool,
) -> tuple[list[str], list[str], list[str]]:
    missing = sorted(set(expected) - set(header.tensors))
    unexpected = sorted(set(header.tensors) - set(expected))
    mismatched = sorted(
        f"{name} (file {list(header.tensors[name].shape)}, model {list(shape)})"
        for name, (shape, _) in expected.items()
        if name in header.tensors and tuple(header.tensors[name].shape) != tuple(shape)
    )
    if strict and (missing or unexpected or mismatched):
        parts = []
        for label, names in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", mismatched),
        ):
            if names:
                shown = ", ".join(names[:5]) + (
                    f" and {len(names) - 5} more" if len(names) > 5 else ""
                )
                parts.append(f"{label}: {shown}")
        raise _fail(
            header.path,
            "tensors do not match the model its metadata describes ("
            + "; ".join(parts)
            + "); pass strict=False to load what fits",
        )
    return missing, unexpected, mismatched


def _build(entry: Any, config: dict[str, Any], header: Header) -> nn.Module:
    import torch
    from torch import nn

    from zoo.build import _call

    try:
        with torch.random.fork_rng(devices=[]):  # loading leaves the caller's RNG alone
            model = _call(entry, config)
    except ConfigError as exc:
        raise _fail(header.path, f"bad config: {exc}") from None
    if not isinstance(model, nn.Module):
        raise _fail(header.path, f"model '{entry.name}' factory did not return a torch.nn.Module")
    return model


def _meta_table(
    entry: Any, config: dict[str, Any]
) -> dict[str, tuple[tuple[int, ...], Any]] | None:
    """The model's tensor table built on the meta device (no memory), or None if it cannot be."""
    import torch

    try:
        with torch.device("meta"):
            skeleton = entry.load()(**config)
        return {k: (tuple(v.shape), v.dtype) for k, v in skeleton.state_dict().items()}
    except Exception:
        return None  # e.g. a factory that reads tensor values: checked after the real build


# A relaxed load may build a model that differs from the file (a new head, say),
# but not one vastly larger than the file justifies.
RELAXED_SLACK_BYTES = 64 * 1024 * 1024


def _check_relaxed_size(
    expected: Mapping[str, tuple[tuple[int, ...], Any]], header: Header
) -> None:
    model_bytes = sum(math.prod(shape) * dtype.itemsize for shape, dtype in expected.values())
    file_bytes = header.file_size - header.data_start
    if model_bytes > 2 * file_bytes + RELAXED_SLACK_BYTES:
        raise _fail(
            header.path,
            f"its config describes a model of {model_bytes:,} bytes but the file holds "
            f"{file_bytes:,} bytes of tensors; refusing to build it even in a relaxed load",
        )


def _read_tensors(
    handle: int,
    header: Header,
    state: Mapping[str, torch.Tensor],
    skip: set[str],
) -> dict[str, torch.Tensor]:
    """Read the file's tensors, front to back, through the handle that validated it.

    A tensor goes straight into the model's own memory (the matching
    `state_dict()` tensor) when that is a contiguous CPU tensor of the file's
    dtype; any other gets a tensor of its own, which `load_state_dict` then
    converts and copies. No bytes object, no memory map: the model owns its
    memory afterwards, and a file cut short meanwhile is an error, not a crash.
    """
    import torch

    dtypes = {tag: getattr(torch, name) for name, tag in _DTYPE_TAGS.items()}
    tensors: dict[str, torch.Tensor] = {}
    for name, info in sorted(header.tensors.items(), key=lambda item: item[1].begin):
        if name in skip or name not in state:
            continue
        dtype, target = dtypes[info.dtype], state[name]
        if not (
            type(target) is torch.Tensor
            and target.device.type == "cpu"
            and target.layout == torch.strided
            and target.dtype == dtype
            and target.is_contiguous()
            and not (target.is_conj() or target.is_neg())
        ):
            target = torch.empty(info.shape, dtype=dtype)
        if target.numel():
            memory = memoryview(target.detach().reshape(-1).view(torch.uint8).numpy())
            _read_into(handle, header.data_start + info.begin, memory, header.path)
        tensors[name] = target
    return tensors


def load(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    strict: bool = True,
) -> nn.Module:
    """Rebuild a model from a zoo checkpoint alone, through the registry.

    Loading is strict: every tensor must be present with the right shape.
    `strict=False` loads what fits, warns, and lists what it skipped in
    `model.zoo_spec.skipped`. The returned model owns its memory; the file can be
    changed or deleted afterwards.

    Example:
        >>> import zoo
        >>> model = zoo.load("/tmp/ae.safetensors")
        >>> model.zoo_spec.name
        'dense-ae'
    """
    from zoo.build import ModelSpec, restoring
    from zoo.config import resolve_config
    from zoo.data import Standardisation
    from zoo.device import resolve_device

    target = Path(path)
    destination = resolve_device(device)
    handle = _open_regular(target)
    try:
        header = _read_header_from(handle, target)
        _check_zoo_metadata(header)
        entry = _resolve_entry(header)
        try:
            config = resolve_config(
                entry.defaults, _json_field(header, "config"), where=f"model '{entry.name}'"
            )
        except ConfigError as exc:
            raise _fail(target, f"bad config: {exc}") from None
        dataset_options = _json_field(header, "dataset_options", {})
        if not isinstance(dataset_options, dict):
            raise _fail(target, "metadata 'dataset_options' must be a JSON object")
        standardisation = _json_field(header, "standardisation", {})
        split = _json_field(header, "split", {})
        if split and not _valid_split(split):
            raise _fail(
                target,
                "metadata 'split' must be a JSON object with an integer 'seed' and a "
                "'val_fraction' in [0, 1)",
            )
        try:
            Standardisation.from_json(standardisation)
        except DataError as exc:
            raise _fail(target, f"metadata 'standardisation' is invalid: {exc}") from None

        # A shape check on the meta device first: a file cannot make us allocate
        # more than its own tensors justify. Both builds run under `restoring()`,
        # so a factory skips starting weights of its own (a `pretrained` file):
        # the checkpoint holds the weights, and that file may be gone by now.
        with restoring():
            expected = _meta_table(entry, config)
            if expected is not None:
                _compare_tables(expected, header, strict)
                if not strict:
                    _check_relaxed_size(expected, header)

            model = _build(entry, config, header)
        state_now = model.state_dict()
        missing, unexpected, mismatched = _compare_tables(
            {k: (tuple(v.shape), v.dtype) for k, v in state_now.items()}, header, strict
        )
        skip = set(unexpected) | {m.split(" ")[0] for m in mismatched}
        state = _read_tensors(handle, header, state_now, skip)
    finally:
        os.close(handle)
    # Most tensors already hold the file's values (their copy onto themselves is a
    # no-op); load_state_dict still runs, for the others and for the model's hooks.
    model.load_state_dict(state, strict=strict)
    del state, state_now
    model.to(destination)
    model.eval()
    metrics = _json_field(header, "metrics", {})
    model.zoo_spec = ModelSpec(  # type: ignore[assignment]
        name=entry.name,
        distribution=entry.distribution,
        version=entry.version,
        config=config,
        task=header.metadata.get("task") or None,
        dataset=header.metadata.get("dataset") or None,
        init=header.metadata.get("init") or None,
        init_options=_json_field(header, "init_options", {}) or {},
        metrics=metrics if isinstance(metrics, dict) else {},
        dataset_options=dataset_options,
        standardisation=standardisation,
        split=split,
        source=str(target),
        skipped={"missing": missing, "unexpected": unexpected, "wrong_shape": mismatched},
    )
    if not strict and (missing or unexpected or mismatched):
        warnings.warn(
            f"{target}: relaxed load skipped {len(missing)} missing, {len(unexpected)} "
            f"unexpected and {len(mismatched)} mis-shaped tensors (see model.zoo_spec.skipped)",
            stacklevel=2,
        )
    return model
