"""How digit-like a trained generator's images are, measured offline with a digits classifier.

A small CNN is trained on 80 % of the real digits (at the generator's image
size) and checked on the other 20 %. It then classifies 1,000 generated
images. Reported:

- mean top-class confidence (the classifier's highest softmax probability,
  averaged): near the held-out real digits' figure means images the
  classifier reads as clear digits;
- classes seen: how many of the 10 digits are the top class of at least one
  image, and the share of each (mode collapse shows as few classes, or one
  class taking most images);
- the same figures for an untrained generator of the same shape, as a floor.

No network is needed. Not part of the test run. Usage:

    zoo train dcgan --out runs/dcgan                       # or any dcgan run on digits
    python tests/benchmarks/bench_gan_quality.py runs/dcgan/model.safetensors
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.nn import functional

import zoo
from zoo_gan.sampling import sample


def classifier(channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(64 * 16, 10),
    )


def train_classifier(size: int, seed: int, epochs: int) -> tuple[nn.Module, float, float]:
    """A digits classifier at `size` pixels; returns it, its held-out accuracy and confidence."""
    data = zoo.create_dataset("digits", size=size)
    x, y = data.tensors["x"], data.tensors["y"]
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    torch.manual_seed(seed)
    model = classifier(x.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        model.train()
        for batch in train[torch.randperm(len(train))].split(64):
            # small shifts, so that a slightly off-centre digit is still read as one
            shift = tuple(torch.randint(-2, 3, (2,)).tolist())
            images = torch.roll(x[batch], shifts=shift, dims=(2, 3))
            loss = functional.cross_entropy(model(images), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        probabilities = model(x[test]).softmax(dim=1)
    accuracy = (probabilities.argmax(dim=1) == y[test]).float().mean().item()
    return model, accuracy, probabilities.max(dim=1).values.mean().item()


def describe(model: nn.Module, images: torch.Tensor) -> tuple[float, list[float]]:
    """Mean top-class confidence and the share of images given to each digit."""
    with torch.no_grad():
        probabilities = model(images).softmax(dim=1)
    shares = torch.bincount(probabilities.argmax(dim=1), minlength=10).float() / len(images)
    return probabilities.max(dim=1).values.mean().item(), shares.tolist()


def report(label: str, confidence: float, shares: list[float]) -> None:
    seen = sum(share > 0 for share in shares)
    spread = " ".join(f"{digit}:{share:.0%}" for digit, share in enumerate(shares))
    print(f"{label}: mean top-class confidence {confidence:.3f}, classes seen {seen}/10")
    print(f"  share per digit: {spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a dcgan (or generator-only) model.safetensors")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classifier-epochs", type=int, default=30)
    args = parser.parse_args()

    model = zoo.load(args.checkpoint)
    config = model.zoo_spec.config
    size, channels = config["image_size"], config["channels"]
    if channels != 1:
        raise SystemExit(f"{args.checkpoint}: {channels}-channel images; digits are grayscale")
    judge, accuracy, real_confidence = train_classifier(size, args.seed, args.classifier_epochs)
    print(f"digits classifier at {size}x{size}: held-out accuracy {accuracy:.3f}")
    print(f"real held-out digits: mean top-class confidence {real_confidence:.3f}")

    images = sample(model, args.samples, seed=args.seed, device="cpu")
    report(f"{args.samples} generated images", *describe(judge, images))
    untrained = zoo.create_model(model.zoo_spec.name, **config)
    floor = sample(untrained, args.samples, seed=args.seed, device="cpu")
    report("untrained generator (floor)", *describe(judge, floor))


if __name__ == "__main__":
    main()
