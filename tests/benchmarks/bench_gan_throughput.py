"""Throughput of zoo's gan task against the chapter's hand-written DCGAN loop, same work.

Both train the same model (zoo's dcgan, dcgan-normal init) on the same digits
images for the same epochs, batch size and Adam settings (lr 0.0008, betas
(0.5, 0.999)). The plain loop is the chapter's: a DataLoader with shuffling;
the discriminator's loss on a real batch and on a detached fake batch, each
with its own backward, through a Sigmoid and BCELoss; then the generator's
loss through the updated discriminator; `.item()` for D(x) and D(G(z)) every
step and a printout every 50 steps. It gets its images as one ready-made
tensor (TensorDataset) scaled to [-1, 1], and is timed from building the
model to the last step. zoo is timed over the whole `zoo.train` call:
building the dataset and the model, training, a checkpoint every epoch,
metrics.jsonl, loss.png, samples.png and progress.gif. Runs alternate (plain,
zoo, plain, zoo, ...); the medians are compared.

Not part of the test run. Usage (about five minutes on 2 cores):

    python tests/benchmarks/bench_gan_throughput.py                # 32x32, 2 epochs, 5 repeats
    python tests/benchmarks/bench_gan_throughput.py --image-size 64 --repeats 3

Prints one line per run and a summary; ratio = plain seconds / zoo seconds,
so a ratio >= 1.0 means zoo is at least as fast.
"""

from __future__ import annotations

import io
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

import zoo

sys.path.insert(0, str(Path(__file__).parent))
from _compare import arguments, compare, print_setup, timed_train

LR, BETAS = 8e-4, (0.5, 0.999)


def plain_loop(images: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    """The chapter's training loop; returns seconds from model build to the last step."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    size, channels = images.shape[-1], images.shape[1]
    pair = zoo.create_model("dcgan", image_size=size, channels=channels)
    generator, discriminator = pair.generator, pair.discriminator
    latent_size = pair.latent_size
    loader = DataLoader(TensorDataset(images * 2 - 1), batch_size=batch_size, shuffle=True)
    criterion = torch.nn.BCELoss()
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=LR, betas=BETAS)
    iterations = 0
    for epoch in range(epochs):
        for (real_batch,) in loader:
            # 1. the discriminator, on real then on fake images
            discriminator.zero_grad()
            real_labels = torch.ones((real_batch.shape[0],), dtype=torch.float)
            output = torch.sigmoid(discriminator(real_batch)).view(-1)
            loss_real = criterion(output, real_labels)
            loss_real.backward()
            d_real = output.mean().item()
            noise = torch.randn(real_batch.shape[0], latent_size, 1, 1)
            fake_batch = generator(noise)
            fake_labels = torch.zeros_like(real_labels)
            output = torch.sigmoid(discriminator(fake_batch.detach())).view(-1)
            loss_fake = criterion(output, fake_labels)
            loss_fake.backward()
            d_fake = output.mean().item()
            optimizer_d.step()
            loss_dis = loss_real + loss_fake
            # 2. the generator, through the updated discriminator
            generator.zero_grad()
            output = torch.sigmoid(discriminator(fake_batch)).view(-1)
            loss_gen = criterion(output, real_labels)
            loss_gen.backward()
            optimizer_g.step()
            if iterations % 50 == 0:
                print(
                    f"Epoch ({epoch + 1}/{epochs}) Iteration ({iterations + 1}) "
                    f"Loss_G: {loss_gen.item():.4f} Loss_D: {loss_dis.item():.4f} "
                    f"D_real: {d_real:.4f} D_fake: {d_fake:.4f}"
                )
            iterations += 1
    return time.perf_counter() - started


def zoo_run(size: int, epochs: int, batch_size: int, seed: int, memory_format: str) -> float:
    """The same work through `zoo.train` (everything it does, timed end to end)."""
    return timed_train(
        "dcgan",
        settings={"image_size": size},
        epochs=epochs,
        batch_size=batch_size,
        lr=LR,
        seed=seed,
        memory_format=memory_format,
    )


def quiet(function, *args):
    """Run `function` with its printout swallowed (the plain loop prints like the chapter's)."""
    with redirect_stdout(io.StringIO()):
        return function(*args)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], epochs=2, batch_size=64, repeats=5)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()

    images = zoo.create_dataset("digits", size=args.image_size).tensors["x"]
    work = f"{len(images)} images {tuple(images.shape[1:])} x {args.epochs} epochs"
    print_setup(f"dcgan on digits: {work}, batch {args.batch_size}", args.memory_format)

    # one untimed round each: imports, allocator and caches warm up for both
    quiet(plain_loop, images[: args.batch_size * 2], 1, args.batch_size, 0)
    zoo_run(args.image_size, 1, args.batch_size, 0, args.memory_format)
    compare(
        lambda seed: quiet(plain_loop, images, args.epochs, args.batch_size, seed),
        lambda seed: zoo_run(
            args.image_size, args.epochs, args.batch_size, seed, args.memory_format
        ),
        repeats=args.repeats,
        items=len(images) * args.epochs,
    )


if __name__ == "__main__":
    main()
