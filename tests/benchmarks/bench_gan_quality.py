"""How digit-like a trained generator's images are, measured offline with a digits classifier.

A small CNN is trained on 80 % of the real digits (at the generator's image
size) and checked on the other 20 %. It then looks at 1,000 generated
images. Reported for them, for the held-out real digits (the target) and for
an untrained generator of the same shape (the floor):

- mean top-class confidence (the classifier's highest softmax probability,
  averaged). On its own this can mislead: a classifier may be sure of
  something that is no digit at all;
- classes seen: how many of the 10 digits are the top class of at least one
  image, and the share of each (mode collapse shows as few classes, or one
  class taking most images);
- digit score: exp(mean KL(p(y|x) || p(y))), the Inception Score computed
  with this classifier: 10 for confident images spread evenly over the ten
  digits, 1 for images that all look alike;
- Fréchet distance between the classifier's 64 hidden features of the images
  and of the held-out real digits (as FID does with Inception features):
  0 for the same distribution, lower is better. The training digits against
  the held-out ones give the figure that sampling noise alone produces.

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
        nn.Linear(64 * 16, 64),
        nn.ReLU(),  # these 64 values are the features of the Fréchet distance
        nn.Linear(64, 10),
    )


def train_classifier(size: int, seed: int, epochs: int):
    """A digits classifier at `size` pixels; returns it, its held-out accuracy, train and test."""
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
        predicted = model(x[test]).argmax(dim=1)
    accuracy = (predicted == y[test]).float().mean().item()
    return model, accuracy, x[train], x[test]


def features(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The 64 hidden features and the class probabilities of each image."""
    with torch.no_grad():
        hidden = model[:-1](images)
        return hidden.double(), model[-1](hidden).softmax(dim=1).double()


def frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature rows."""
    from scipy import linalg

    mean_a, mean_b = a.mean(0).numpy(), b.mean(0).numpy()
    # A little on the diagonal: ReLU features that are zero everywhere make a covariance singular.
    eye = torch.eye(a.shape[1], dtype=a.dtype) * 1e-6
    cov_a, cov_b = (torch.cov(a.T) + eye).numpy(), (torch.cov(b.T) + eye).numpy()
    root = linalg.sqrtm(cov_a @ cov_b).real
    distance = float(((mean_a - mean_b) ** 2).sum() + (cov_a + cov_b - 2 * root).trace())
    return max(0.0, distance)  # rounding can leave a tiny negative for equal sets


def report(label: str, model: nn.Module, images: torch.Tensor, reference: torch.Tensor) -> None:
    hidden, probabilities = features(model, images)
    shares = torch.bincount(probabilities.argmax(dim=1), minlength=10).double() / len(images)
    marginal = probabilities.mean(0, keepdim=True)
    kl = (probabilities * (probabilities.clamp_min(1e-12) / marginal).log()).sum(1)
    seen = int((shares > 0).sum())
    print(
        f"{label}: mean top-class confidence {probabilities.max(1).values.mean():.3f}, "
        f"classes seen {seen}/10, digit score {kl.mean().exp():.2f}, "
        f"Fréchet distance {frechet(hidden, reference):.2f}"
    )
    spread = " ".join(f"{digit}:{share:.0%}" for digit, share in enumerate(shares.tolist()))
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
    judge, accuracy, train, test = train_classifier(size, args.seed, args.classifier_epochs)
    print(f"digits classifier at {size}x{size}: held-out accuracy {accuracy:.3f}")
    reference = features(judge, test)[0]
    report(f"{len(test)} held-out real digits", judge, test, reference)
    report(f"{len(train)} training digits", judge, train, reference)
    images = sample(model, args.samples, seed=args.seed, device="cpu")
    report(f"{args.samples} generated images", judge, images, reference)
    untrained = zoo.create_model(model.zoo_spec.name, **config)
    floor = sample(untrained, args.samples, seed=args.seed, device="cpu")
    report("untrained generator (floor)", judge, floor, reference)


if __name__ == "__main__":
    main()
