"""What a dataset gives the trainer, and how it is cut into batches.

A dataset factory returns `Data`: either named tensors held in memory (batched
by index slicing: no per-sample collate) or a torch `Dataset` read from disk
(batched by a DataLoader with workers). A batch is always a dict of named
tensors, so a task can feed any number of inputs to a model by name.

`implies` says what the data fixes about a model (feature count, channels,
image size, number of classes); the trainer fills those config keys unless the
user set them.

`standardise` names the tensors (tabular features, a regression target) the
trainer rescales per column to zero mean and unit variance, with statistics of
the training split only; the statistics travel in the checkpoint
(`Standardisation.to_json`), so predictions on new data use the same scale.

Example:
    >>> import torch, zoo
    >>> data = zoo.Data({"x": torch.zeros(10, 3), "y": torch.arange(10)},
    ...                 implies={"in_features": 3})
    >>> data.sample_shapes
    {'x': (3,), 'y': ()}
    >>> [b["x"].shape[0] for b in data.batches(4)]
    [4, 4, 2]
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from zoo.errors import DataError, ZooError

__all__ = ["Batch", "Data", "Standardisation", "model_inputs"]

Batch = dict[str, torch.Tensor]

# Shuffled in-memory data up to this size are copied once per epoch in the new
# order and batched by views; larger data are gathered batch by batch, so that
# shuffling never doubles the memory of a large dataset.
SHUFFLED_COPY_BYTES = 64 * 2**20


def model_inputs(batch: Batch, targets: Sequence[str]) -> Batch:
    """The tensors of a batch a model takes by name: every one but the `targets`.

    A multi-input model's forward names its inputs (`forward(image, features)`),
    and a dataset's tensors carry the same names, so any number of inputs pass
    through without a special case.
    """
    return {name: tensor for name, tensor in batch.items() if name not in targets}


def number_text(value: float) -> str:
    """The shortest decimal text that reads back as the same float32 `value`.

    Tensors of features, targets and predictions are float32; writing them with
    this keeps a CSV round trip exact without float64 noise digits.

    Example:
        >>> number_text(0.1), number_text(123456.78), number_text(5.0), number_text(1e20)
        ('0.1', '123456.78', '5', '1e+20')
    """
    import numpy

    text = str(numpy.float32(value))
    return text[:-2] if text.endswith(".0") else text


class Standardisation:
    """Per-column mean and standard deviation of named tensors, to rescale them and back.

    Example:
        >>> scale = Standardisation({"y": (torch.tensor(10.0), torch.tensor(2.0))})
        >>> scale.apply({"y": torch.tensor([12.0])})["y"]
        tensor([1.])
        >>> scale.restore("y", torch.tensor([1.0]))
        tensor([12.])
    """

    def __init__(
        self,
        stats: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
        columns: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.stats = {name: (mean.float(), std.float()) for name, (mean, std) in stats.items()}
        self.columns = {name: list(names) for name, names in (columns or {}).items()}

    def __contains__(self, name: str) -> bool:
        return name in self.stats

    def __repr__(self) -> str:
        return f"Standardisation({', '.join(self.stats)})"

    @classmethod
    def fit(
        cls, tensors: Mapping[str, torch.Tensor], columns: Mapping[str, Any]
    ) -> Standardisation:
        """Statistics of each tensor over its first (sample) dimension; a constant column
        gets std 1 so it stays finite."""
        stats = {}
        for name, tensor in tensors.items():
            values = tensor.double()
            if len(values) == 0:
                raise DataError(f"cannot standardise '{name}': no samples")
            mean = values.mean(dim=0)
            std = values.std(dim=0, correction=0) if len(values) > 1 else torch.ones_like(mean)
            bad = ~torch.isfinite(mean) | ~torch.isfinite(std)
            if bool(bad.any()):
                raise DataError(f"cannot standardise '{name}': it holds NaN or infinite values")
            std = torch.where(std > 1e-12, std, torch.ones_like(std))
            stats[name] = (mean, std)
        named = {k: v for k, v in columns.items() if k in stats}
        return cls(stats, named)

    def apply(self, batch: Mapping[str, torch.Tensor], names: Sequence[str] | None = None) -> Batch:
        """The batch with each standardised tensor (of `names`, default all) rescaled."""
        chosen = self.stats if names is None else {n: self.stats[n] for n in names if n in self}
        out = dict(batch)
        for name, (mean, std) in chosen.items():
            if name in out:
                tensor = out[name]
                out[name] = (tensor - mean.to(tensor.device)) / std.to(tensor.device)
        return out

    def restore(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        """Back to the original units (identity for a tensor that is not standardised)."""
        if name not in self.stats:
            return tensor
        mean, std = self.stats[name]
        return tensor * std.to(tensor.device) + mean.to(tensor.device)

    def to_json(self) -> dict[str, dict[str, Any]]:
        """Plain lists and numbers, for the checkpoint's metadata and config.json."""
        out: dict[str, dict[str, Any]] = {}
        for name, (mean, std) in self.stats.items():
            out[name] = {"mean": mean.tolist(), "std": std.tolist()}
            if name in self.columns:
                out[name]["columns"] = self.columns[name]
        return out

    @classmethod
    def from_json(cls, value: Any) -> Standardisation:
        """Read `to_json`'s form back, checking every field (it may come from a file)."""
        if not isinstance(value, Mapping):
            raise DataError("standardisation must be a JSON object")
        stats, columns = {}, {}
        for name, entry in value.items():
            if not isinstance(entry, Mapping) or not {"mean", "std"} <= set(entry):
                raise DataError(f"standardisation of '{name}' needs mean and std")
            try:
                mean = torch.tensor(entry["mean"], dtype=torch.float64)
                std = torch.tensor(entry["std"], dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError):
                raise DataError(
                    f"standardisation of '{name}': mean and std must be numbers"
                ) from None
            if mean.shape != std.shape or mean.ndim > 1 or mean.numel() > 1_000_000:
                raise DataError(f"standardisation of '{name}': mean and std differ in shape")
            finite = bool(torch.isfinite(mean).all()) and bool(torch.isfinite(std).all())
            if not (finite and bool((std > 0).all())):
                raise DataError(f"standardisation of '{name}': values must be finite, std > 0")
            stats[name] = (mean, std)
            names = entry.get("columns")
            if names is not None:
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise DataError(f"standardisation of '{name}': columns must be strings")
                columns[name] = names
        return cls(stats, columns)


class Data:
    """Named tensors in memory, or a torch Dataset, plus what they imply about a model."""

    def __init__(
        self,
        tensors: Mapping[str, torch.Tensor] | None = None,
        *,
        dataset: Dataset | None = None,
        names: Sequence[str] | None = None,
        implies: Mapping[str, Any] | None = None,
        info: Mapping[str, Any] | None = None,
        standardise: Sequence[str] = (),
        scale: Standardisation | None = None,
    ) -> None:
        if (tensors is None) == (dataset is None):
            raise DataError("Data needs either tensors or a dataset, not both")
        self.implies: dict[str, Any] = dict(implies or {})
        self.info: dict[str, Any] = dict(info or {})
        self.tensors: dict[str, torch.Tensor] | None = None
        self.dataset: Dataset | None = dataset
        self.names = tuple(names) if names else None
        #: Names of tensors the trainer standardises with training-split statistics.
        self.standardise = tuple(standardise)
        #: The statistics already applied to this data (None: raw values).
        self.scale = scale
        if tensors is not None:
            if not tensors:
                raise DataError("Data needs at least one named tensor")
            lengths = {name: len(t) for name, t in tensors.items()}
            if len(set(lengths.values())) != 1:
                raise DataError(f"named tensors differ in length: {lengths}")
            self.tensors = dict(tensors)
        elif dataset is not None and not hasattr(dataset, "__len__"):
            raise DataError("a Dataset given to Data must have a length")

    @property
    def in_memory(self) -> bool:
        """True when the data are tensors held in memory."""
        return self.tensors is not None

    def __len__(self) -> int:
        if self.tensors is not None:
            return len(next(iter(self.tensors.values())))
        return len(self.dataset)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{list(v)}" for k, v in self.sample_shapes.items())
        where = "in memory" if self.in_memory else "from a Dataset"
        return f"Data({len(self)} samples {where}: {shapes})"

    def _item(self, index: int) -> Batch:
        if self.tensors is not None:
            return {name: t[index] for name, t in self.tensors.items()}
        item = self.dataset[index]  # type: ignore[index]
        if isinstance(item, Mapping):
            return {name: torch.as_tensor(value) for name, value in item.items()}
        if isinstance(item, (tuple, list)):
            names = self.names or ("x", "y")[: len(item)]
            if len(names) != len(item):
                raise DataError(
                    f"dataset items have {len(item)} parts; give Data(names=...) for each"
                )
            return {name: torch.as_tensor(value) for name, value in zip(names, item, strict=True)}
        return {(self.names or ("x",))[0]: torch.as_tensor(item)}

    @property
    def sample_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of one sample of each named tensor (no batch dimension)."""
        if self.tensors is not None:
            return {name: tuple(t.shape[1:]) for name, t in self.tensors.items()}
        return {name: tuple(t.shape) for name, t in self._item(0).items()}

    def example(self, count: int = 2) -> Batch:
        """The first `count` samples as one batch (for shape checks and layer tables)."""
        count = max(1, min(count, len(self)))
        if self.tensors is not None:
            return {name: t[:count] for name, t in self.tensors.items()}
        items = [self._item(i) for i in range(count)]
        return {name: torch.stack([item[name] for item in items]) for name in items[0]}

    def _like(self, tensors: Mapping[str, torch.Tensor] | None = None, **changes: Any) -> Data:
        """A Data with these tensors (or dataset) and the same declarations as this one."""
        kept = {
            "implies": self.implies,
            "info": self.info,
            "standardise": self.standardise,
            "scale": self.scale,
        }
        if tensors is None:
            kept.update(dataset=self.dataset, names=self.names)
        return Data(tensors, **{**kept, **changes})

    def subset(self, indices: torch.Tensor) -> Data:
        """The samples at `indices` (a 1-D integer tensor), keeping what the data declare."""
        if self.tensors is not None:
            return self._like({name: t[indices] for name, t in self.tensors.items()})
        return self._like(dataset=Subset(self.dataset, indices.tolist()))  # type: ignore[arg-type]

    def fit_standardisation(self) -> Standardisation | None:
        """Statistics of the tensors named in `standardise` (None when it names none).

        Data read from disk are read once, keeping only those tensors.
        """
        if not self.standardise:
            return None
        shapes = self.sample_shapes
        missing = [name for name in self.standardise if name not in shapes]
        if missing:
            raise DataError(
                f"standardise names {', '.join(missing)}, which the data do not have "
                f"(they have {', '.join(shapes)})"
            )
        if self.tensors is not None:
            chosen = {name: self.tensors[name] for name in self.standardise}
        else:
            items = [self._item(i) for i in range(len(self))]
            chosen = {
                name: torch.stack([item[name] for item in items]) for name in self.standardise
            }
        return Standardisation.fit(chosen, self.info.get("columns", {}))

    def standardised(self, scale: Standardisation, names: Sequence[str] | None = None) -> Data:
        """This data rescaled by `scale` (only `names`, if given); records it in `.scale`."""
        if self.tensors is not None:
            return self._like(scale.apply(self.tensors, names), scale=scale)
        return self._like(dataset=_Rescaled(self, scale, names), names=None, scale=scale)

    def split(self, fraction: float, seed: int = 0) -> tuple[Data, Data | None]:
        """Split into (train, held-out) with a seeded shuffle; fraction 0 means no held-out part."""
        if not 0.0 <= fraction < 1.0:
            raise DataError(f"held-out fraction must be in [0, 1), got {fraction}")
        held_out = round(len(self) * fraction)
        if held_out == 0:
            return self, None
        if held_out >= len(self):
            raise DataError(f"held-out fraction {fraction} leaves no training samples")
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        return self.subset(order[held_out:].sort().values), self.subset(
            order[:held_out].sort().values
        )

    def to(self, device: torch.device | str, *, channels_last: bool = False) -> Data:
        """Move in-memory tensors to `device` once (a Dataset stays where it is).

        With `channels_last`, 4-D float tensors (image batches) are also laid
        out channels-last, the layout fast convolution kernels prefer.
        """
        if self.tensors is None:
            return self
        return self._like(
            {name: place(t, device, channels_last) for name, t in self.tensors.items()}
        )

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        workers: int = 0,
        channels_last: bool = False,
        shard: tuple[int, int] | None = None,
    ) -> Batches:
        """Batches of named tensors: index slicing in memory, a DataLoader otherwise.

        `channels_last` lays out 4-D float batches channels-last (data in
        memory keep the layout they have: use `to(..., channels_last=True)`).
        `shard=(rank, processes)` gives process `rank` its share of every
        epoch (see `zoo.distributed.shard_order`); `batch_size` is then the
        batch of one process.
        """
        if batch_size < 1:
            raise DataError(f"batch size must be at least 1, got {batch_size}")
        return Batches(self, batch_size, shuffle, generator, device, workers, channels_last, shard)


class Batches:
    """One pass over `Data` in batches; `len()` is the number of batches."""

    def __init__(
        self,
        data: Data,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None,
        device: torch.device | str | None,
        workers: int,
        channels_last: bool = False,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.data = data
        self.shard = shard if shard is not None and shard[1] > 1 else None
        self.channels_last = channels_last
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = torch.device(device) if device is not None else None
        self.workers = workers
        self._loader: DataLoader | None = None

    def __len__(self) -> int:
        return -(-self.samples() // self.batch_size)

    def samples(self) -> int:
        """Samples an epoch takes in this process (its share, padded like the others')."""
        count = len(self.data)
        return count if self.shard is None else -(-count // self.shard[1])

    def __iter__(self) -> Iterator[Batch]:
        if self.data.tensors is not None:
            return self._sliced(self.data.tensors)
        return self._loaded()

    def order(self) -> torch.Tensor | None:
        """This epoch's sample order (drawn from the generator when shuffling), cut to
        this process's share; None for all samples in their order."""
        count = len(self.data)
        order = torch.randperm(count, generator=self.generator) if self.shuffle else None
        if self.shard is not None:
            from zoo.distributed import shard_order

            order = shard_order(count, order, self.shard)
        return order

    def _sliced(self, tensors: dict[str, torch.Tensor]) -> Iterator[Batch]:
        size = self.batch_size
        order = self.order()
        if order is not None:
            count = len(order)
            first = next(iter(tensors.values()))
            if order.device != first.device:
                order = order.to(first.device)
            nbytes = sum(t.element_size() * t.nelement() for t in tensors.values())
            if nbytes > SHUFFLED_COPY_BYTES:
                yield from self._gathered(tensors, order)
                return
            # Small data: one shuffled copy per epoch, then each batch is a view of it
            # (two index_selects a step cost more than a W1 step's Adam update).
            tensors = {name: _take(t, order) for name, t in tensors.items()}
        else:
            count = len(self.data)
        for start in range(0, count, size):
            yield {name: t[start : start + size] for name, t in tensors.items()}

    def _gathered(self, tensors: dict[str, torch.Tensor], order: torch.Tensor) -> Iterator[Batch]:
        """Each batch gathered from the data in place: no second copy of large data."""
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            yield {name: _take(t, index) for name, t in tensors.items()}

    def _loaded(self) -> Iterator[Batch]:
        if self._loader is None:
            pin = self.device is not None and self.device.type == "cuda"
            self._loader = DataLoader(
                _Named(self.data),
                batch_size=self.batch_size,
                sampler=_Order(self),
                generator=self.generator,
                num_workers=self.workers,
                pin_memory=pin,
                # Fresh workers each epoch, seeded from `generator` as the epoch starts:
                # persistent ones would carry their random state from epoch to epoch, so
                # a run resumed mid-way could not draw what it drew before.
                persistent_workers=False,
            )
        non_blocking = self.device is not None and self.device.type == "cuda"
        try:
            for batch in self._loader:
                if self.device is not None or self.channels_last:
                    batch = {
                        k: place(v, self.device, self.channels_last, non_blocking)
                        for k, v in batch.items()
                    }
                yield batch
        except ZooError as exc:
            original = _worker_message(exc)
            if original is None:
                raise
            # Shut the workers down now, while nothing else is being freed: the wrapped
            # error's frames hold the loader's iterator in a reference cycle, and when the
            # garbage collector ends it later, torch waits out a 5 s join timeout.
            traceback.clear_frames(exc.__traceback__)
            self._loader = None
            raise type(exc)(original) from None


def place(
    tensor: torch.Tensor,
    device: torch.device | str | None,
    channels_last: bool,
    non_blocking: bool = False,
) -> torch.Tensor:
    """`tensor` on `device` (None: where it is), channels-last if asked and it is images."""
    if channels_last and tensor.ndim == 4 and tensor.is_floating_point():
        return tensor.to(device, memory_format=torch.channels_last, non_blocking=non_blocking)
    return tensor if device is None else tensor.to(device, non_blocking=non_blocking)


def _take(tensor: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The rows `index` of `tensor`, in its own layout."""
    # index_select would return channels-last images in the default layout.
    return tensor[index] if _is_channels_last(tensor) else tensor.index_select(0, index)


def _is_channels_last(tensor: torch.Tensor) -> bool:
    """Laid out channels-last, and not also in the default layout (as one channel can be)."""
    return (
        tensor.ndim == 4
        and not tensor.is_contiguous()
        and tensor.is_contiguous(memory_format=torch.channels_last)
    )


def _worker_message(exc: ZooError) -> str | None:
    """The message a DataLoader worker's error had before torch wrapped it, if it was wrapped.

    torch re-raises a worker's exception as the same type with the message
    "Caught DataError in DataLoader worker process 0. Original Traceback ...
    zoo.errors.DataError: <message>"; the CLI shows errors as one line, so
    only <message> is kept.
    """
    text = str(exc)
    if not text.startswith("Caught ") or "Original Traceback" not in text:
        return None
    kind = type(exc)
    names = [f"{kind.__module__}.{kind.__qualname__}: "]
    if kind.__module__ in ("__main__", "builtins"):
        names.append(f"{kind.__qualname__}: ")
    for name in names:
        at = text.rfind(f"\n{name}")
        if at >= 0:
            return text[at + 1 + len(name) :].strip()
    return None


class _Order(Sampler):
    """The DataLoader's sampler: each epoch's order from `Batches.order`, drawn when the
    epoch starts, as in-memory data draw theirs (so sharding works the same way)."""

    def __init__(self, batches: Batches) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return self.batches.samples()

    def __iter__(self) -> Iterator[int]:
        order = self.batches.order()
        if order is None:
            return iter(range(len(self.batches.data)))
        return iter(order.tolist())


class _Named(Dataset):
    """Presents any Data's items as dicts of tensors for the DataLoader's collate."""

    def __init__(self, data: Data) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> Batch:
        return self.data._item(index)


class _Rescaled(Dataset):
    """A Dataset's items standardised on the fly (module-level, so spawned workers import it)."""

    def __init__(self, data: Data, scale: Standardisation, names: Sequence[str] | None) -> None:
        self.data = data
        self.scale = scale
        self.names = names

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> Batch:
        return self.scale.apply(self.data._item(index), self.names)
