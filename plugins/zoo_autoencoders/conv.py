"""The chapter's convolutional denoising autoencoder."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional


def _down(in_channels: int, out_channels: int) -> nn.Sequential:
    """Conv 3x3 (same size), ReLU, then halve the height and width."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
    )


def _up(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """Transposed conv with stride 2 (about doubles the height and width), ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=2), nn.ReLU()
    )


class ConvDenoiser(nn.Module):
    """Convolutional autoencoder that maps noisy images to clean ones, pixels in [0, 1].

    With the defaults it is the chapter's network for 28x28 grayscale images:
    an encoder of three [Conv2d 3x3, ReLU, MaxPool 2] blocks with 32, 16 and 8
    channels (28 -> 14 -> 7 -> 3), a decoder of transposed convolutions
    8->8 (kernel 3), 8->16 and 16->32 (kernel 2), all stride 2 with ReLU
    (3 -> 7 -> 14 -> 28), a last Conv2d 3x3 back to `in_channels`, and a sigmoid.

    `widths` lists the encoder's channels (the decoder mirrors them); each
    width adds one halving and one doubling. The first transposed convolution
    has kernel 3 or 2, whichever makes the output exactly `image_size` (kernel 3
    for 28 as in the chapter, kernel 2 for 32 or 64). The network is fully
    convolutional: an image of another size is padded at its bottom and right
    edges up to the next size the decoder reproduces exactly, and the output is
    cropped back, so any height and width go in (even a few pixels) and the
    same size comes out.

    Example:
        >>> import torch, zoo
        >>> model = zoo.create_model("conv-denoiser")
        >>> model(torch.rand(2, 1, 28, 28)).shape
        torch.Size([2, 1, 28, 28])
        >>> model(torch.rand(1, 1, 50, 37)).shape
        torch.Size([1, 1, 50, 37])
        >>> model(torch.rand(1, 1, 3, 5)).shape
        torch.Size([1, 1, 3, 5])
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        widths: list[int] | tuple[int, ...] = (32, 16, 8),
    ) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be one or more channel counts >= 1, got {widths}")
        if image_size < 1:
            raise ValueError(f"image_size must be >= 1, got {image_size}")
        halvings = len(widths)
        self.in_channels = in_channels
        self.image_size = image_size
        # Sizes the decoder reproduces exactly are multiples of `half`; among
        # them, odd multiples need the kernel-3 start and even ones kernel 2.
        self._half = 2 ** (halvings - 1)
        # Below 2**halvings pixels the encoder would pool a side down to nothing.
        self._smallest = 2**halvings
        padded = -(-max(image_size, self._smallest) // self._half) * self._half
        first_kernel = 3 if (padded // self._half) % 2 else 2
        self._remainder = self._half if first_kernel == 3 else 0

        channels = [in_channels, *widths]
        self.encoder = nn.Sequential(*(_down(a, b) for a, b in pairwise(channels)))
        ups = [_up(widths[-1], widths[-1], first_kernel)]
        ups += [_up(a, b, 2) for a, b in pairwise(widths[::-1])]
        self.decoder = nn.Sequential(*ups, nn.Conv2d(widths[0], in_channels, 3, padding=1))

    def _fitting(self, size: int) -> int:
        """The smallest size >= `size` (and big enough to encode) that the decoder reproduces."""
        size = max(size, self._smallest)
        step = 2 * self._half
        return size + (self._remainder - size) % step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"conv-denoiser takes images shaped N x {self.in_channels} x H x W, "
                f"got {tuple(x.shape)}"
            )
        height, width = x.shape[-2:]
        fit_height, fit_width = self._fitting(height), self._fitting(width)
        padded = fit_height != height or fit_width != width
        if padded:
            x = functional.pad(x, (0, fit_width - width, 0, fit_height - height), mode="replicate")
        y = torch.sigmoid(self.decoder(self.encoder(x)))
        return y[..., :height, :width] if padded else y
