"""MNIST and Fashion-MNIST from local IDX files through torchvision, held in memory.

Where the four IDX files are looked for, in order:
  1. `root`, when given (and then nowhere else: a wrong root is an error, not
     a silent switch to other data);
  2. otherwise `$ZOO_DATA_DIR`, then (Fashion-MNIST only) Debian's
     /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist), then
     `<cache>/datasets`.
`download=true` (when no files are found) fetches them into `root`, else
`$ZOO_DATA_DIR`, else `<cache>/datasets`, where later runs find them.
Each folder may hold torchvision's layout (`MNIST/raw/...`,
`FashionMNIST/raw/...`) or the files themselves, gzipped or not. Files in
torchvision's layout are read where they are; others are unpacked once into
the cache (`$ZOO_CACHE_DIR`, else `$XDG_CACHE_HOME/zoo`, else ~/.cache/zoo),
never into the folder they came from. Headers and lengths are checked first,
so a damaged file is an error naming it rather than a crash inside torchvision.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

import zoo
from zoo.errors import DataError
from zoo.files import atomic_write, cache_dir
from zoo_datasets._images import (
    DIGIT_LABELS,
    check_size,
    class_indices,
    keep_classes,
    resize_images,
)

# Debian's dataset-fashion-mnist package puts the four gzipped files here, flat.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

FASHION_MNIST_LABELS: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

SPLITS = ("train", "test", "all")

# (images, labels) per split, named as torchvision expects them unpacked.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_FILES = tuple(name for pair in SPLIT_FILES.values() for name in pair)


@dataclass(frozen=True)
class _Kind:
    name: str  # the zoo dataset name
    layout: str  # torchvision's class name, which is also its folder name
    label_names: tuple[str, ...]
    system_folders: tuple[Path, ...]
    install_hint: str


def _mnist_kind() -> _Kind:
    return _Kind("mnist", "MNIST", DIGIT_LABELS, (), "")


def _fashion_kind() -> _Kind:
    # Looked up at call time so tests can point the constant elsewhere.
    return _Kind(
        "fashion-mnist",
        "FashionMNIST",
        FASHION_MNIST_LABELS,
        (DEBIAN_FASHION_MNIST,),
        "apt-get install dataset-fashion-mnist, ",
    )


def mnist(
    root: str = "",
    split: str = "train",
    classes: Sequence[int | str] = (),
    size: int = 28,
    download: bool = False,
) -> zoo.Data:
    """MNIST handwritten digits (70 000, 28×28) from local IDX files, held in memory.

    The four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each may end in .gz) are
    looked for in `root` when given (and only there), else in $ZOO_DATA_DIR,
    then in zoo's cache folder ($ZOO_CACHE_DIR, $XDG_CACHE_HOME/zoo or
    ~/.cache/zoo, under datasets/); in each folder directly or in
    torchvision's MNIST/raw/. Files that are gzipped or not in torchvision's
    layout are unpacked once into the cache, never beside the originals.

    Tensors: `x` (float32, N×1×size×size in [0, 1]) and `y` (int64 digit).
    `split` is train (60 000), test (10 000) or all; `classes` keeps some
    digits (`--set classes=3,8`); `download=true` fetches the files with
    torchvision when none are found (needs a network).
    """
    return _load(_mnist_kind(), root, split, classes, size, download)


def fashion_mnist(
    root: str = "",
    split: str = "train",
    classes: Sequence[int | str] = (),
    size: int = 28,
    download: bool = False,
) -> zoo.Data:
    """Fashion-MNIST clothing images (70 000, 28×28) from local IDX files, held in memory.

    The four IDX files are looked for as for mnist (`root`, else
    $ZOO_DATA_DIR, then the cache), and also where Debian's package
    dataset-fashion-mnist installs them, /usr/share/datasets/fashion-mnist
    (searched after $ZOO_DATA_DIR). As there, files are unpacked into zoo's
    cache when needed, never beside the originals.

    Tensors: `x` (float32, N×1×size×size in [0, 1]) and `y` (int64 label).
    The ten classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot. `classes` takes
    indices or names, any case, `_` or `-` for a space:
    `--set classes=bag,ankle_boot`. `split` and `download` work as for mnist.
    """
    return _load(_fashion_kind(), root, split, classes, size, download)


def _load(
    kind: _Kind,
    root: str,
    split: str,
    classes: Sequence[int | str],
    size: int,
    download: bool,
) -> zoo.Data:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    check_size(size)
    wanted = class_indices(classes, kind.label_names, kind.name)
    torchvision_root, origins, fetch = _locate(kind, root, download)
    parts = [
        _read(kind, torchvision_root, part, origins, fetch)
        for part in (("train", "test") if split == "all" else (split,))
    ]
    images = torch.cat([images for images, _ in parts])
    labels = torch.cat([labels for _, labels in parts])
    images, labels = keep_classes(images, labels, wanted)
    if wanted and not len(labels):
        chosen = ", ".join(kind.label_names[i] for i in wanted)
        raise DataError(
            f"{kind.name} ({split}) in {torchvision_root} has no samples of classes {chosen}"
        )
    x = resize_images(images.unsqueeze(1).to(torch.float32).div_(255.0), size, kind.name)
    return zoo.Data(
        {"x": x.contiguous(), "y": labels},
        implies={
            "in_channels": 1,
            "channels": 1,
            "image_size": size,
            "num_classes": len(kind.label_names),
        },
        info={"label_names": list(kind.label_names)},
    )


def _search_roots(kind: _Kind, root: str) -> list[Path]:
    if root:
        return [Path(root).expanduser()]
    roots = []
    if os.environ.get("ZOO_DATA_DIR"):
        roots.append(Path(os.environ["ZOO_DATA_DIR"]).expanduser())
    roots.extend(kind.system_folders)
    roots.append(cache_dir() / "datasets")
    return roots


def _locate(kind: _Kind, root: str, download: bool) -> tuple[Path, dict[str, Path], bool]:
    """The folder to hand torchvision, the file each IDX name came from, and whether to fetch."""
    roots = _search_roots(kind, root)
    partial = []
    for base in roots:
        in_layout = base / kind.layout / "raw"
        for folder in (in_layout, base):
            found = {}
            for name in IDX_FILES:
                plain, packed = folder / name, folder / f"{name}.gz"
                if plain.is_file():
                    found[name] = plain
                elif packed.is_file():
                    found[name] = packed
            if len(found) < len(IDX_FILES):
                if found:
                    missing = ", ".join(n for n in IDX_FILES if n not in found)
                    partial.append(f"{folder} lacks {missing}")
                continue
            lengths = _check_files(found)
            if folder == in_layout and not any(p.suffix == ".gz" for p in found.values()):
                return base, found, False
            return _unpack(kind, folder, found, lengths), found, False
    if download:
        target = Path(root).expanduser() if root else None
        if target is None and os.environ.get("ZOO_DATA_DIR"):
            target = Path(os.environ["ZOO_DATA_DIR"]).expanduser()
        target = target or cache_dir() / "datasets"
        raw = target / kind.layout / "raw"
        return target, {name: raw / name for name in IDX_FILES}, True
    searched = ", ".join(f"{base}{'' if base.is_dir() else ' (missing)'}" for base in roots)
    found_some = f" ({'; '.join(partial)})" if partial else ""
    if root:
        places = ", ".join(["ZOO_DATA_DIR", "the cache", *map(str, kind.system_folders)])
        get = f"check --set root (or leave it unset to search {places}), "
    else:
        get = f"--set root=DIR, or set ZOO_DATA_DIR=DIR, {kind.install_hint}"
    raise DataError(
        f"{kind.name}: IDX files not found; searched {searched}, each directly and in "
        f"{kind.layout}/raw/{found_some}. Expected {', '.join(IDX_FILES)} (each may end in .gz). "
        f"Get them: {get}or --set download=true with a network"
    )


def _check_files(found: dict[str, Path]) -> dict[str, int]:
    """Check each IDX header against its file's length and the counts of each split's pair.

    Returns the unpacked length of each file.
    """
    lengths, counts = {}, {}
    for name, path in found.items():
        counts[name], lengths[name] = _check_idx(path, 3 if "images" in name else 1)
    for images, labels in SPLIT_FILES.values():
        if counts[images] != counts[labels]:
            raise DataError(
                f"{found[images]} holds {counts[images]} images but {found[labels]} holds "
                f"{counts[labels]} labels; use files from the same release"
            )
    return lengths


def _check_idx(path: Path, ndim: int) -> tuple[int, int]:
    """(item count, unpacked length) of an unsigned-byte IDX file, or DataError naming it."""
    what = "images" if ndim == 3 else "labels"
    expected = f"00 00 08 {ndim:02x}"
    packed = path.suffix == ".gz"
    try:
        with gzip.open(path, "rb") if packed else open(path, "rb") as stream:
            header = stream.read(4 + 4 * ndim)
        stored = path.stat().st_size
        if packed:
            with open(path, "rb") as raw:
                raw.seek(max(0, stored - 4))
                stored = int.from_bytes(raw.read(4), "little")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path} is truncated or damaged ({exc}); fetch the file again") from exc
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if header[:4] != bytes.fromhex(expected)[: len(header)]:
        found = header[:4].hex(" ") or "empty"
        raise DataError(
            f"{path} is not an IDX {what} file: its header starts {found}, expected "
            f"{expected}; fetch the file again"
        )
    if len(header) < 4 + 4 * ndim:
        raise DataError(
            f"{path} is truncated or damaged: it ends inside its header; fetch the file again"
        )
    dims = struct.unpack(f">{ndim}I", header[4:])
    if ndim == 3 and 0 in dims[1:]:
        raise DataError(f"{path} describes images of {dims[1]}×{dims[2]} pixels; fetch it again")
    length = 4 + 4 * ndim + math.prod(dims)
    # gzip's trailer keeps the unpacked length modulo 2**32.
    if stored != (length % 2**32 if packed else length):
        size = "does not unpack to" if packed else f"is {stored} bytes, not"
        raise DataError(
            f"{path} {size} the {length} bytes its header ({' × '.join(map(str, dims))} "
            f"{what}) needs: the file is truncated or damaged; fetch it again"
        )
    return dims[0], length


def _unpack(kind: _Kind, folder: Path, found: dict[str, Path], lengths: dict[str, int]) -> Path:
    """Copy (gunzip) the files into torchvision's layout under the cache; reuse a fresh copy."""
    # One cache folder per source folder, so two different copies never mix.
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    root = cache_dir() / "datasets" / f"{kind.name}-{key}"
    raw = root / kind.layout / "raw"
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create {raw} to unpack {kind.name} into: {exc.strerror or exc}; "
            "set ZOO_CACHE_DIR to a writable folder"
        ) from exc
    for name, source in found.items():
        target = raw / name
        if not _fresh(target, source, lengths[name]):
            _copy_atomic(source, target)
        if target.stat().st_size != lengths[name]:
            target.unlink()
            raise DataError(f"{source} unpacks to fewer bytes than its header says; fetch it again")
    return root


def _fresh(target: Path, source: Path, length: int) -> bool:
    try:
        made = target.stat()
    except OSError:
        return False
    return made.st_size == length and made.st_mtime >= source.stat().st_mtime


def _copy_atomic(source: Path, target: Path) -> None:
    """Unpack `source` into `target` atomically (zoo.files): a reader never sees half a file."""

    def write(temp: str) -> None:
        with (
            open(temp, "wb") as out,
            gzip.open(source, "rb") if source.suffix == ".gz" else open(source, "rb") as stream,
        ):
            shutil.copyfileobj(stream, out, 1 << 20)

    try:
        atomic_write(target, write, error=DataError)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{source} is damaged ({exc}); fetch the file again") from exc
    except DataError as exc:
        raise DataError(f"{exc}; set ZOO_CACHE_DIR to a writable folder") from exc


def _read(
    kind: _Kind, root: Path, split: str, origins: dict[str, Path], fetch: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 N×H×W images, int64 labels) of one split, read by torchvision's IDX reader."""
    from torchvision import datasets

    # torchvision reads an old `processed/*.pt` in preference to the raw files, with
    # torch.load; zoo reads only the IDX files it has checked, so that path is off.
    reader = type(kind.layout, (getattr(datasets, kind.layout),), {"_check_legacy_exist": _never})
    try:
        dataset = reader(str(root), train=split == "train", download=fetch)
    except (RuntimeError, OSError, ValueError, AssertionError, EOFError) as exc:
        raw = root / kind.layout / "raw"
        # torchvision's download errors run over several lines, one per mirror tried.
        reason = " ".join(str(exc).split())
        if fetch:
            raise DataError(
                f"{kind.name}: could not download the IDX files into {raw} ({reason}); "
                f"without a network, copy them there or pass --set root=DIR"
            ) from exc
        raise DataError(
            f"{kind.name}: torchvision could not read the IDX files in {raw}: {reason}"
        ) from exc
    if fetch:
        _check_files({name: root / kind.layout / "raw" / name for name in IDX_FILES})
    images, labels = dataset.data, dataset.targets.to(torch.int64)
    if len(labels) and int(labels.max()) >= len(kind.label_names):
        raise DataError(
            f"{origins[SPLIT_FILES[split][1]]} has label {int(labels.max())}; {kind.name} has "
            f"{len(kind.label_names)} classes (0-{len(kind.label_names) - 1})"
        )
    return images, labels


def _never(self: object) -> bool:
    return False
