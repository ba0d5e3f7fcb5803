"""Batching: index slicing for tensors in memory, a DataLoader for a Dataset."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset

import zoo
from zoo.errors import DataError


def numbered(count: int = 10) -> zoo.Data:
    return zoo.Data({"x": torch.arange(count).float().unsqueeze(1), "y": torch.arange(count)})


def test_unshuffled_batches_are_slices_in_order():
    data = numbered()
    batches = list(data.batches(4))
    assert [b["y"].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    # views of the data, not copies
    storage = data.tensors["x"].untyped_storage().data_ptr()
    assert all(b["x"].untyped_storage().data_ptr() == storage for b in batches)


def test_shuffled_batches_cover_every_sample_once_and_repeat_with_the_seed():
    data = numbered(23)
    batches = list(data.batches(5, shuffle=True, generator=torch.Generator().manual_seed(1)))
    first = torch.cat([b["y"] for b in batches])
    again = torch.cat(
        [b["y"] for b in data.batches(5, shuffle=True, generator=torch.Generator().manual_seed(1))]
    )
    assert sorted(first.tolist()) == list(range(23))
    assert torch.equal(first, again)
    assert first.tolist() != list(range(23))
    assert all(torch.equal(b["x"].squeeze(1).long(), b["y"]) for b in batches)  # rows stay together


def test_large_data_are_gathered_batch_by_batch_in_the_same_order(monkeypatch):
    data = numbered(23)

    def order(copy_limit):
        monkeypatch.setattr(zoo.data, "SHUFFLED_COPY_BYTES", copy_limit)
        generator = torch.Generator().manual_seed(3)
        return [b["y"].tolist() for b in data.batches(5, shuffle=True, generator=generator)]

    copied, gathered = order(2**30), order(0)
    assert copied == gathered
    assert [len(b) for b in copied] == [5, 5, 5, 5, 3]


def test_split_is_seeded_and_disjoint():
    train, held_out = numbered(20).split(0.25, seed=0)
    assert len(train) == 15 and len(held_out) == 5
    assert not set(train.tensors["y"].tolist()) & set(held_out.tensors["y"].tolist())
    again, _ = numbered(20).split(0.25, seed=0)
    assert torch.equal(train.tensors["y"], again.tensors["y"])
    whole, none = numbered(20).split(0.0)
    assert none is None and len(whole) == 20


def test_sample_shapes_and_example():
    data = numbered()
    assert data.sample_shapes == {"x": (1,), "y": ()}
    assert data.example(3)["y"].tolist() == [0, 1, 2]


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, index):
        return torch.tensor([float(index)]), index * index


def test_a_torch_dataset_goes_through_a_dataloader_with_named_parts():
    data = zoo.Data(dataset=Squares(), names=("x", "y"), implies={"in_features": 1})
    assert not data.in_memory and len(data) == 7
    assert data.sample_shapes == {"x": (1,), "y": ()}
    batches = list(data.batches(3))
    assert [b["y"].tolist() for b in batches] == [[0, 1, 4], [9, 16, 25], [36]]
    train, held_out = data.split(0.3, seed=0)
    assert len(train) + len(held_out) == 7
    assert sorted(torch.cat([b["y"] for b in held_out.batches(10)]).tolist()) == sorted(
        i * i for i in held_out.dataset.indices
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "either tensors or a dataset"),
        ({"tensors": {}}, "at least one named tensor"),
        ({"tensors": {"x": torch.zeros(3), "y": torch.zeros(4)}}, "differ in length"),
    ],
)
def test_bad_data_is_a_data_error(kwargs, message):
    with pytest.raises(DataError, match=message):
        zoo.Data(**kwargs)


def test_bad_batch_size_and_fraction():
    with pytest.raises(DataError, match="batch size must be at least 1"):
        numbered().batches(0)
    with pytest.raises(DataError, match="held-out fraction"):
        numbered().split(1.5)


@pytest.mark.parametrize("copy_limit", [2**30, 0], ids=["copied", "gathered"])
def test_channels_last_images_stay_channels_last_through_shuffled_slicing(monkeypatch, copy_limit):
    monkeypatch.setattr(zoo.data, "SHUFFLED_COPY_BYTES", copy_limit)
    images = torch.rand(10, 3, 4, 4)
    data = zoo.Data({"x": images, "y": torch.arange(10)}).to("cpu", channels_last=True)
    assert data.tensors["x"].is_contiguous(memory_format=torch.channels_last)
    assert data.tensors["y"].dtype == torch.int64  # labels are left alone
    generator = torch.Generator().manual_seed(0)
    batches = list(data.batches(4, shuffle=True, generator=generator, channels_last=True))
    for batch in batches:
        assert batch["x"].is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(batch["x"], images[batch["y"]])  # same pixels, other layout


def test_channels_last_batches_from_a_dataloader():
    dataset = torch.utils.data.TensorDataset(torch.rand(6, 3, 4, 4))
    data = zoo.Data(dataset=dataset, names=("x",))
    batch = next(iter(data.batches(6, channels_last=True)))
    assert batch["x"].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batch["x"], dataset.tensors[0])
