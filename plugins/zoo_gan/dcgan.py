"""The chapter's DCGAN: a generator, a discriminator, and the pair that trains together.

The chapter's generator ends with a fifth ConvTranspose2d block that keeps
BatchNorm and ReLU before the Tanh, so every pixel it can draw is tanh of a
non-negative number: the images can never be darker than the middle grey of
the [-1, 1] range. Here the last transposed convolution goes straight into
Tanh, as in the DCGAN paper, and the `gan` task feeds the discriminator real
images scaled from [0, 1] to [-1, 1] so that real and generated pixels share
one range.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

# Image sizes the architecture builds: a 4x4 start doubled at least once.
SMALLEST, LARGEST = 8, 1024


def _check(image_size: int, channels: int, base_width: int, latent_size: int = 1) -> int:
    """Validate the shared options; return how many stride-2 layers the size needs."""
    if latent_size < 1:
        raise ValueError(f"latent_size must be >= 1, got {latent_size}")
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    if base_width < 1:
        raise ValueError(f"base_width must be >= 1, got {base_width}")
    doublings = math.log2(image_size) if image_size > 0 else -1
    if not (doublings.is_integer() and SMALLEST <= image_size <= LARGEST):
        raise ValueError(
            f"image_size must be a power of two from {SMALLEST} to {LARGEST} (e.g. 32 or 64), "
            f"got {image_size}"
        )
    return int(doublings) - 2  # 4x4 -> image_size


def _widths(base_width: int, doublings: int) -> list[int]:
    """Channels at 4x4, 8x8, …: base_width * 2**k down to base_width (512…64 for 64x64)."""
    return [base_width * 2 ** (doublings - 1 - k) for k in range(doublings)]


class DCGANGenerator(nn.Module):
    """Latent vectors to images in [-1, 1]: transposed convolutions with BatchNorm and ReLU.

    A latent vector (N x latent_size, or N x latent_size x 1 x 1 as in the
    chapter) becomes a 4x4 map of `base_width * image_size / 8` channels; each
    following ConvTranspose2d (kernel 4, stride 2) doubles the size and halves
    the channels, and the last one goes straight into Tanh. With the defaults
    (64x64, base width 64): 100 -> 512 -> 256 -> 128 -> 64 -> channels.

    Example:
        >>> import torch, zoo
        >>> generator = zoo.create_model("dcgan-generator", image_size=32, channels=1)
        >>> generator(torch.randn(2, 100)).shape
        torch.Size([2, 1, 32, 32])
    """

    def __init__(
        self, latent_size: int = 100, image_size: int = 64, channels: int = 3, base_width: int = 64
    ) -> None:
        super().__init__()
        doublings = _check(image_size, channels, base_width, latent_size)
        widths = _widths(base_width, doublings)
        self.latent_size = latent_size
        self.image_size = image_size
        self.channels = channels
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_size, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for wide, narrow in pairwise(widths):
            layers += [
                nn.ConvTranspose2d(wide, narrow, 4, 2, 1, bias=False),
                nn.BatchNorm2d(narrow),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 2:
            z = z[:, :, None, None]
        if z.ndim != 4 or z.shape[1] != self.latent_size or z.shape[2:] != (1, 1):
            raise ValueError(
                f"the generator takes latent vectors shaped N x {self.latent_size} "
                f"(or N x {self.latent_size} x 1 x 1), got {tuple(z.shape)}"
            )
        return self.main(z)


class DCGANDiscriminator(nn.Module):
    """Images in [-1, 1] to one logit each: strided convolutions with BatchNorm and LeakyReLU.

    Each Conv2d (kernel 4, stride 2) halves the size and doubles the channels,
    from `base_width` (no BatchNorm on the first, as in the DCGAN paper) to a
    4x4 map, then a 4x4 convolution gives one logit per image (no sigmoid: the
    `gan` task scores logits with binary cross-entropy with logits). With the
    defaults: channels -> 64 -> 128 -> 256 -> 512 -> 1.

    Example:
        >>> import torch, zoo
        >>> discriminator = zoo.create_model("dcgan-discriminator", image_size=32, channels=1)
        >>> discriminator(torch.zeros(2, 1, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(self, image_size: int = 64, channels: int = 3, base_width: int = 64) -> None:
        super().__init__()
        doublings = _check(image_size, channels, base_width)
        widths = _widths(base_width, doublings)[::-1]
        self.image_size = image_size
        self.channels = channels
        layers: list[nn.Module] = [
            nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for narrow, wide in pairwise(widths):
            layers += [
                nn.Conv2d(narrow, wide, 4, 2, 1, bias=False),
                nn.BatchNorm2d(wide),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        expected = (self.channels, self.image_size, self.image_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"the discriminator takes images shaped N x {' x '.join(map(str, expected))}, "
                f"got {tuple(images.shape)}"
            )
        return self.main(images).reshape(-1)


class DCGAN(nn.Module):
    """A DCGAN generator and discriminator kept, saved and loaded together.

    `model(z)` generates images; `model.generator` and `model.discriminator`
    are the two halves, which the `gan` task trains against each other. Both
    share `latent_size`, `image_size`, `channels` and `base_width`.

    Example:
        >>> import torch, zoo
        >>> pair = zoo.create_model("dcgan", image_size=32, channels=1, base_width=8)
        >>> pair.discriminator(pair(torch.randn(3, 100))).shape
        torch.Size([3])
    """

    def __init__(
        self, latent_size: int = 100, image_size: int = 64, channels: int = 3, base_width: int = 64
    ) -> None:
        super().__init__()
        options = {"image_size": image_size, "channels": channels, "base_width": base_width}
        self.generator = DCGANGenerator(latent_size=latent_size, **options)
        self.discriminator = DCGANDiscriminator(**options)
        self.latent_size = latent_size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)
