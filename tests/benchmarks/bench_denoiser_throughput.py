"""Throughput of zoo's trainer against a plain PyTorch loop on the same work.

Both train the conv-denoiser on the same images for the same number of
epochs with the same batch size, noise, Adam and MSE. The plain loop is
written as in the course chapter: a DataLoader with shuffling, then
zero_grad / forward / backward / step and `loss.item()` every step. It gets
its images as one ready-made tensor (TensorDataset), the fastest way a plain
loop can be fed (the chapter's own loop decodes every image through
torchvision's ToTensor, which is slower), and is timed from building the model
to the last step. zoo
is timed over the whole `zoo.train` call: building the dataset and the model,
training, a checkpoint every epoch, metrics, loss.png, samples.png and
progress.gif. Runs alternate (plain, zoo, plain, zoo, ...) so that load on a
shared machine hits both alike; the medians are compared.

Not part of the test run. Usage (a few minutes on 2 cores):

    python tests/benchmarks/bench_denoiser_throughput.py   # fashion-mnist bags, else digits
    python tests/benchmarks/bench_denoiser_throughput.py --dataset digits --epochs 5 --repeats 5

Prints one line per run and a summary; ratio = plain seconds / zoo seconds,
so a ratio >= 1.0 means zoo is at least as fast. zoo lays out conv models
channels-last by default (--memory-format auto); `--memory-format contiguous`
gives it the plain loop's layout, which shows what zoo's loop costs by itself.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

import zoo

sys.path.insert(0, str(Path(__file__).parent))
from _compare import arguments, compare, print_setup, timed_train

SIGMA = 0.5  # the chapter's noise, also the denoising task's default


def plain_loop(images: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    """The chapter's training loop; returns seconds from model build to the last step."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    model = zoo.create_model(
        "conv-denoiser", in_channels=images.shape[1], image_size=images.shape[-1]
    )
    loader = DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=True)
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        losses = 0.0
        for (batch,) in loader:
            noisy = torch.clip(batch + SIGMA * torch.randn(*batch.shape), 0.0, 1.0)
            optimizer.zero_grad()
            loss = criterion(model(noisy), batch)
            loss.backward()
            optimizer.step()
            losses += loss.item()
    return time.perf_counter() - started


def zoo_run(
    dataset: str, options: dict, epochs: int, batch_size: int, seed: int, memory_format: str
) -> float:
    """The same work through `zoo.train` (everything it does, timed end to end)."""
    return timed_train(
        "conv-denoiser",
        dataset=dataset,
        dataset_options=options,
        epochs=epochs,
        batch_size=batch_size,
        lr=1e-3,
        val_fraction=0.0,
        seed=seed,
        memory_format=memory_format,
    )


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], epochs=3, batch_size=32, repeats=3)
    parser.add_argument("--dataset", help="default: fashion-mnist (bags) if found, else digits")
    args = parser.parse_args()

    dataset, options = args.dataset, {}
    if dataset is None:
        try:
            zoo.create_dataset("fashion-mnist", classes=["bag"])
            dataset, options = "fashion-mnist", {"classes": ["bag"]}
        except zoo.ZooError:
            dataset = "digits"
    images = zoo.create_dataset(dataset, **options).tensors["x"]
    work = f"{len(images)} images {tuple(images.shape[1:])} x {args.epochs} epochs"
    print_setup(
        f"conv-denoiser on {dataset} {options or ''}: {work}, batch {args.batch_size}",
        args.memory_format,
    )

    # one untimed round each: imports, allocator and caches warm up for both
    plain_loop(images[: args.batch_size * 4], 1, args.batch_size, 0)
    zoo_run(dataset, options, 1, args.batch_size, 0, args.memory_format)

    compare(
        lambda seed: plain_loop(images, args.epochs, args.batch_size, seed),
        lambda seed: zoo_run(
            dataset, options, args.epochs, args.batch_size, seed, args.memory_format
        ),
        repeats=args.repeats,
        items=len(images) * args.epochs,
    )


if __name__ == "__main__":
    main()
