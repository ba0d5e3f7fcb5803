"""The image datasets: digits, mnist, fashion-mnist (from synthetic IDX files) and image-folder."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset

import zoo
from zoo.errors import ConfigError, DataError

DEBIAN_TRAIN_IMAGES = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


# ---------------------------------------------------------------- digits


def test_digits_are_1797_images_in_0_1_with_labels_and_names():
    data = zoo.create_dataset("digits")
    x, y = data.tensors["x"], data.tensors["y"]
    assert len(data) == 1797
    assert x.shape == (1797, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and sorted(y.unique().tolist()) == list(range(10))
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9
    assert data.implies == {
        "in_channels": 1,
        "channels": 1,
        "image_size": 28,
        "num_classes": 10,
    }
    assert data.info["label_names"] == [str(d) for d in range(10)]


def test_digits_classes_filter_takes_digit_strings_and_ints():
    eights = zoo.create_dataset("digits", classes="8")  # what --set classes=8 gives
    assert 170 < len(eights) < 190 and set(eights.tensors["y"].tolist()) == {8}
    some = zoo.create_dataset("digits", classes=[3, "8"])
    assert set(some.tensors["y"].tolist()) == {3, 8}
    assert len(some) == len(eights) + (zoo.create_dataset("digits").tensors["y"] == 3).sum()


def test_digits_size_option():
    native = zoo.create_dataset("digits", size=8)
    assert native.tensors["x"].shape[1:] == (1, 8, 8)
    assert native.implies["image_size"] == 8
    assert torch.all(native.tensors["x"] * 16 == (native.tensors["x"] * 16).round())  # v/16
    assert zoo.create_dataset("digits", size=64).tensors["x"].shape[1:] == (1, 64, 64)


@pytest.mark.parametrize("classes", [["x"], ["10"], [11], ["8.5"]])
def test_digits_bad_class_is_a_config_error_naming_valid_ones(classes):
    with pytest.raises(ConfigError, match=r"digits.*valid: 0-9"):
        zoo.create_dataset("digits", classes=classes)


def test_bad_size_is_a_config_error():
    with pytest.raises(ConfigError, match="size must be at least 1"):
        zoo.create_dataset("digits", size=0)


def test_a_size_that_cannot_fit_in_memory_is_refused_before_allocating():
    with pytest.raises(DataError, match=r"digits: 1797 images of 1×100000×100000 need .* GiB"):
        zoo.create_dataset("digits", size=100_000)


# ---------------------------------------------------------------- mnist / fashion-mnist

TRAIN_LABELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 9]
TEST_LABELS = [8, 3, 9, 0, 8]
IDX_NAMES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def images_for(labels: list[int]) -> np.ndarray:
    """28×28 images whose pixels all equal 20 × label, so a sample shows its label."""
    return np.stack([np.full((28, 28), 20 * label) for label in labels])


def write_idx(folder: Path, *, packed: bool) -> Path:
    """The four IDX files of a tiny MNIST-like set in `folder`, gzipped or not."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        "train-images-idx3-ubyte": idx(images_for(TRAIN_LABELS)),
        "train-labels-idx1-ubyte": idx(np.array(TRAIN_LABELS)),
        "t10k-images-idx3-ubyte": idx(images_for(TEST_LABELS)),
        "t10k-labels-idx1-ubyte": idx(np.array(TEST_LABELS)),
    }
    for name, content in contents.items():
        if packed:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / name).write_bytes(content)
    return folder


def listing(folder: Path) -> dict[str, tuple[int, float]]:
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime)
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache under tmp_path, no ZOO_DATA_DIR, and no Debian folder: nothing outside tmp_path."""
    import zoo_datasets.mnist

    cache = tmp_path / "cache"
    monkeypatch.setenv("ZOO_CACHE_DIR", str(cache))
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.setattr(zoo_datasets.mnist, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    return cache


@pytest.mark.parametrize("packed", [True, False])
def test_flat_idx_files_are_unpacked_into_the_cache_never_into_the_source(
    tmp_path, isolated, packed
):
    source = write_idx(tmp_path / "data", packed=packed)
    before = listing(source)
    data = zoo.create_dataset("fashion-mnist", root=str(source))
    x, y = data.tensors["x"], data.tensors["y"]
    assert x.shape == (len(TRAIN_LABELS), 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and y.tolist() == TRAIN_LABELS
    assert torch.allclose(x[:, 0, 0, 0], torch.tensor(TRAIN_LABELS) * 20 / 255)
    assert data.implies == {
        "in_channels": 1,
        "channels": 1,
        "image_size": 28,
        "num_classes": 10,
    }
    assert data.info["label_names"][8] == "Bag" and len(data.info["label_names"]) == 10
    assert listing(source) == before
    unpacked = sorted(p.name for p in isolated.rglob("FashionMNIST/raw/*"))
    assert unpacked == sorted(IDX_NAMES)
    assert not [p for p in isolated.rglob("*.tmp")]


def test_the_cache_is_reused_when_sizes_match(tmp_path, isolated):
    source = write_idx(tmp_path / "data", packed=True)
    zoo.create_dataset("mnist", root=str(source))
    first = listing(isolated)
    zoo.create_dataset("mnist", root=str(source), split="test")
    assert listing(isolated) == first


def test_torchvision_layout_is_read_in_place(tmp_path, isolated):
    source = tmp_path / "data"
    write_idx(source / "MNIST" / "raw", packed=False)
    before = listing(source)
    data = zoo.create_dataset("mnist", root=str(source), split="test")
    assert data.tensors["y"].tolist() == TEST_LABELS
    assert listing(source) == before
    # Nothing unpacked; the cache may hold other plugins' files (timm's architecture list).
    assert not (isolated / "datasets").exists()


def test_gzipped_torchvision_layout_and_zoo_data_dir(tmp_path, isolated, monkeypatch):
    source = tmp_path / "data"
    write_idx(source / "MNIST" / "raw", packed=True)
    monkeypatch.setenv("ZOO_DATA_DIR", str(source))
    data = zoo.create_dataset("mnist")
    assert data.tensors["y"].tolist() == TRAIN_LABELS
    assert data.info["label_names"] == [str(d) for d in range(10)]


def test_splits_size_and_classes_by_name(tmp_path, isolated):
    root = str(write_idx(tmp_path / "data", packed=True))
    assert len(zoo.create_dataset("fashion-mnist", root=root, split="test")) == len(TEST_LABELS)
    both = zoo.create_dataset("fashion-mnist", root=root, split="all")
    assert both.tensors["y"].tolist() == TRAIN_LABELS + TEST_LABELS
    bags = zoo.create_dataset("fashion-mnist", root=root, split="all", classes="bag,Ankle Boot")
    assert bags.tensors["y"].tolist() == [8, 9, 8, 9, 8, 9, 8]
    assert zoo.create_dataset("fashion-mnist", root=root, classes=["ankle_boot", 0]).tensors[
        "y"
    ].tolist() == [0, 9, 9]
    for spelling in ("Ankle-Boot", "ANKLE_BOOT"):  # case, - and _ do not matter
        assert set(
            zoo.create_dataset("fashion-mnist", root=root, classes=spelling).tensors["y"].tolist()
        ) == {9}
    t_shirts = zoo.create_dataset("fashion-mnist", root=root, classes="t-shirt")
    assert set(t_shirts.tensors["y"].tolist()) == {0}  # one part of "T-shirt/top" is enough
    small = zoo.create_dataset("fashion-mnist", root=root, size=14)
    assert small.tensors["x"].shape[1:] == (1, 14, 14) and small.implies["image_size"] == 14
    assert small.tensors["x"].min() >= 0.0 and small.tensors["x"].max() <= 1.0


def test_bad_options_are_config_errors(tmp_path, isolated):
    root = str(write_idx(tmp_path / "data", packed=True))
    with pytest.raises(ConfigError, match=r"did you mean bag\?.*Ankle boot"):
        zoo.create_dataset("fashion-mnist", root=root, classes=["bagg"])
    with pytest.raises(ConfigError, match=r"did you mean ankle_boot\?"):  # typed unquoted
        zoo.create_dataset("fashion-mnist", root=root, classes=["ankle_bot"])
    with pytest.raises(ConfigError, match="'bag' is not a class of mnist"):
        zoo.create_dataset("mnist", root=root, classes=["bag"])
    with pytest.raises(ConfigError, match="split must be one of train, test, all"):
        zoo.create_dataset("mnist", root=root, split="validation")


def test_missing_files_say_where_zoo_looked_and_how_to_get_them(tmp_path, isolated, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "mine"))
    with pytest.raises(DataError) as caught:
        zoo.create_dataset("fashion-mnist")
    message = str(caught.value)
    assert "\n" not in message
    for expected in (
        str(tmp_path / "mine"),
        str(tmp_path / "no-debian"),
        str(isolated / "datasets"),
        "FashionMNIST/raw",
        "train-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "--set root=DIR",
        "ZOO_DATA_DIR",
        "apt-get install dataset-fashion-mnist",
        "--set download=true",
    ):
        assert expected in message
    source = write_idx(tmp_path / "half", packed=True)
    (source / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="lacks t10k-images-idx3-ubyte") as caught:
        zoo.create_dataset("mnist", root=str(source))
    assert "apt-get" not in str(caught.value)


@pytest.mark.parametrize("packed", [True, False])
def test_a_truncated_idx_file_is_a_data_error_naming_it(tmp_path, isolated, packed):
    source = write_idx(tmp_path / "data", packed=packed)
    damaged = source / ("train-images-idx3-ubyte" + (".gz" if packed else ""))
    content = damaged.read_bytes()
    damaged.write_bytes(content[: len(content) // 2])
    with pytest.raises(DataError, match="truncated or damaged") as caught:
        zoo.create_dataset("mnist", root=str(source))
    assert str(damaged) in str(caught.value)


def test_a_garbage_idx_header_is_a_data_error_naming_it(tmp_path, isolated):
    source = write_idx(tmp_path / "data", packed=False)
    garbage = source / "t10k-labels-idx1-ubyte"
    garbage.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="is not an IDX labels file") as caught:
        zoo.create_dataset("mnist", root=str(source))
    assert str(garbage) in str(caught.value)


def test_download_fetches_into_the_cache_only_when_asked(tmp_path, isolated, monkeypatch):
    import torchvision.datasets

    fetched = []

    def fake_download(self):
        fetched.append(self.raw_folder)
        write_idx(Path(self.raw_folder), packed=False)

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", fake_download)
    with pytest.raises(DataError, match="not found"):
        zoo.create_dataset("fashion-mnist")
    assert not fetched
    data = zoo.create_dataset("fashion-mnist", download="true")  # as --set gives it
    assert fetched == [str(isolated / "datasets" / "FashionMNIST" / "raw")]
    assert data.tensors["y"].tolist() == TRAIN_LABELS
    again = zoo.create_dataset("fashion-mnist")  # found where the download put it
    assert again.tensors["y"].tolist() == TRAIN_LABELS and len(fetched) == 1


@pytest.mark.skipif(not DEBIAN_TRAIN_IMAGES.exists(), reason="needs dataset-fashion-mnist")
def test_debian_fashion_mnist_bags(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    data = zoo.create_dataset("fashion-mnist", classes=["bag"])
    x = data.tensors["x"]
    assert len(data) == 6000 and x.shape == (6000, 1, 28, 28)
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert set(data.tensors["y"].tolist()) == {8}


@pytest.mark.skipif(not DEBIAN_TRAIN_IMAGES.exists(), reason="needs dataset-fashion-mnist")
def test_conv_denoiser_trains_on_debian_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    run = zoo.train(
        "conv-denoiser",
        dataset="fashion-mnist",
        settings={"split": "test", "classes": "bag"},  # 1000 real bags: 150 small steps
        epochs=3,
        batch_size=16,
        out=tmp_path / "run",
        verbose=False,
    )
    assert run.config["samples"] == {"train": 800, "held_out": 200}
    final = run.history[-1]
    assert 0 < final["val_denoised_mse"] < final["val_noisy_mse"]
    assert zoo.load(run.checkpoint).zoo_spec.dataset == "fashion-mnist"


# ---------------------------------------------------------------- image-folder


def save_image(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (20, 12)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    save_image(root / "dog" / "b.png", (0, 0, 255))
    save_image(root / "cat" / "a.jpg", (255, 0, 0), (9, 30))
    save_image(root / "cat" / "deep" / "c.PNG", (255, 0, 0))
    (root / "cat" / "notes.txt").write_text("not an image, not listed")
    return root


def test_class_subfolders_give_labels_sorted_by_folder_name(pets):
    data = zoo.create_dataset("image-folder", root=str(pets), size=8)
    assert not data.in_memory and len(data) == 3
    assert data.info["label_names"] == ["cat", "dog"]
    assert data.implies == {"in_channels": 3, "channels": 3, "image_size": 8, "num_classes": 2}
    assert data.sample_shapes == {"x": (3, 8, 8), "y": ()}
    batches = list(data.batches(2, workers=0))
    assert [b["x"].shape[0] for b in batches] == [2, 1]
    x = torch.cat([b["x"] for b in batches])
    y = torch.cat([b["y"] for b in batches])
    assert y.tolist() == [0, 0, 1] and y.dtype == torch.int64
    assert x.dtype == torch.float32 and x.min() >= 0.0 and x.max() <= 1.0
    assert torch.allclose(x[0, :, 4, 4], torch.tensor([1.0, 0.0, 0.0]), atol=0.05)  # red cat
    assert torch.allclose(x[2, :, 4, 4], torch.tensor([0.0, 0.0, 1.0]), atol=0.05)  # blue dog


def test_grayscale_channels_and_a_flat_folder_without_labels(tmp_path):
    root = tmp_path / "flat"
    save_image(root / "one.png", (255, 255, 255))
    save_image(root / "two.bmp", (0, 0, 0), (40, 40))
    data = zoo.create_dataset("image-folder", root=str(root), channels=1, size=5)
    assert data.sample_shapes == {"x": (1, 5, 5)}
    assert data.implies == {"in_channels": 1, "channels": 1, "image_size": 5}
    assert "label_names" not in data.info
    batch = next(iter(data.batches(2)))
    assert set(batch) == {"x"}
    assert batch["x"][0].min() == 1.0 and batch["x"][1].max() == 0.0


def test_the_centre_is_kept_after_resizing_the_shorter_side(tmp_path):
    image = Image.new("L", (30, 10), 0)
    image.paste(255, (10, 0, 20, 10))  # white middle third
    image.save(tmp_path / "wide.png")
    data = zoo.create_dataset("image-folder", root=str(tmp_path), channels=1, size=10)
    x = data.example(1)["x"][0, 0]
    assert x.shape == (10, 10) and x.min() > 0.99


def test_a_corrupt_image_fails_at_build_naming_the_file(pets):
    (pets / "dog" / "broken.png").write_bytes(b"\x89PNG garbage, not a picture")
    with pytest.raises(DataError, match=r"not an image zoo can read.*move it out") as caught:
        zoo.create_dataset("image-folder", root=str(pets))
    assert str(pets / "dog" / "broken.png") in str(caught.value)


def test_an_empty_class_folder_is_an_error_not_a_label_shift(pets):
    (pets / "empty").mkdir()
    with pytest.raises(DataError, match=r"class folder .*empty has no images"):
        zoo.create_dataset("image-folder", root=str(pets))


def test_folders_without_images_or_root_are_errors(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DataError, match=f"image folder {tmp_path / 'empty'} has no images"):
        zoo.create_dataset("image-folder", root=str(tmp_path / "empty"))
    with pytest.raises(DataError, match="does not exist"):
        zoo.create_dataset("image-folder", root=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="--set root=DIR"):
        zoo.create_dataset("image-folder")
    with pytest.raises(ConfigError, match="channels must be 1"):
        zoo.create_dataset("image-folder", root=str(tmp_path), channels=2)


def test_images_both_at_the_top_and_in_class_folders_are_an_error(pets):
    save_image(pets / "stray.png", (0, 0, 0))
    with pytest.raises(DataError, match="both at its top"):
        zoo.create_dataset("image-folder", root=str(pets))


# ---------------------------------------------------------------- errors from workers


class Failing(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index == 3:
            raise DataError("sample 3 is unreadable: /data/three.png")
        return torch.zeros(2)


def test_a_worker_error_keeps_only_its_own_message():
    batches = zoo.Data(dataset=Failing()).batches(4, workers=1)
    for _ in range(2):  # a second pass starts fresh workers and fails the same way
        with pytest.raises(DataError) as caught:
            list(batches)
        assert str(caught.value) == "sample 3 is unreadable: /data/three.png"
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_image_truncated_after_build_fails_in_the_worker_with_one_line(tmp_path):
    path = save_image(tmp_path / "photos" / "a.png", (9, 9, 9), (64, 64))
    Image.effect_noise((64, 64), 50).convert("RGB").save(path)  # noise: a long pixel stream
    data = zoo.create_dataset("image-folder", root=str(tmp_path / "photos"))
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    assert os.path.getsize(path) < len(content)
    with pytest.raises(DataError) as caught:
        list(data.batches(1, workers=1))
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot read the image")
    # Through the trainer: the same line, and no half run folder left to block a rerun.
    with pytest.raises(DataError, match="cannot read the image"):
        zoo.train(
            "conv-denoiser",
            dataset="image-folder",
            settings={"root": str(tmp_path / "photos"), "size": 16},
            val_fraction=0,
            epochs=1,
            out=tmp_path / "run",
            verbose=False,
        )
    assert not (tmp_path / "run").exists()
