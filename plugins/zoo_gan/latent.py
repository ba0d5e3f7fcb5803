"""What the gan task and the sampling commands share: the model's two roles, latents, grids.

A model the `gan` task trains is a pair: a module with a `generator`
(latent vectors N x latent_size to images in [-1, 1], with a `latent_size`
attribute) and a `discriminator` (images to one logit each). `dcgan` is one;
a plugin's own pair works the same way.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

import zoo

# Most images one grid shows: beyond that nobody can see them.
MAX_GRID = 1024
# Largest picture `zoo sample` writes, and the most pixels an animation holds in
# memory (frames x pixels of one frame).
MAX_PICTURE_PIXELS = 8192 * 8192
MAX_ANIMATION_PIXELS = 256 * 1024 * 1024
# Seeds torch's generators take.
SEED_LIMIT = 2**63


def model_name(model: nn.Module) -> str:
    spec = getattr(model, "zoo_spec", None)
    return spec.name if spec is not None else type(model).__name__


def latent_size_of(module: nn.Module) -> int | None:
    """The latent size a generator (or a pair, through its generator) declares, if any."""
    for candidate in (module, getattr(module, "generator", None)):
        size = getattr(candidate, "latent_size", None)
        if isinstance(size, int) and not isinstance(size, bool) and size > 0:
            return size
    return None


def generator_of(model: nn.Module) -> nn.Module:
    """The generator in a GAN pair, or the model itself if it is a generator."""
    generator = getattr(model, "generator", None)
    if isinstance(generator, nn.Module) and latent_size_of(generator):
        return generator
    if latent_size_of(model) and not isinstance(getattr(model, "discriminator", None), nn.Module):
        return model
    raise zoo.ConfigError(
        f"model '{model_name(model)}' is not a generator: sampling needs a GAN pair such as "
        "dcgan, or a generator such as dcgan-generator (a module with a latent_size)"
    )


def halves(model: nn.Module) -> tuple[nn.Module, nn.Module, int]:
    """(generator, discriminator, latent size) of a GAN pair, or a one-line error saying why not."""
    generator = getattr(model, "generator", None)
    discriminator = getattr(model, "discriminator", None)
    latent_size = latent_size_of(model)
    if not isinstance(generator, nn.Module) or not isinstance(discriminator, nn.Module):
        name = model_name(model)
        role = "a generator alone" if latent_size else "not a GAN pair"
        raise zoo.ConfigError(
            f"task 'gan' trains a generator and a discriminator together, and model '{name}' "
            f"is {role}; train a pair such as dcgan (a module with .generator and "
            ".discriminator)"
        )
    if latent_size is None:
        raise zoo.ConfigError(
            f"the generator of model '{model_name(model)}' declares no latent_size; "
            "give it a latent_size attribute (the length of its input vectors)"
        )
    return generator, discriminator, latent_size


def latents(count: int, latent_size: int, seed: int, device: Any = "cpu") -> torch.Tensor:
    """`count` standard-normal latent vectors from `seed`: the same on every device."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise zoo.ConfigError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, latent_size, generator=generator).to(device)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Generated images from [-1, 1] to [0, 1], on the CPU."""
    return images.detach().float().add(1).div(2).clamp(0, 1).cpu()


def grid_shape(count: int, image_size: int) -> tuple[int, int]:
    """(columns, width in pixels) of the about square grid `grid` draws for `count` images."""
    columns = math.ceil(math.sqrt(count))
    scale = max(1, 64 // image_size)
    return columns, columns * (image_size * scale + 2) + 2


def grid(images: torch.Tensor, *, title: str | None = None, max_side: int | None = None) -> Any:
    """Images in [0, 1] tiled in an about square grid, as a PIL image.

    Small images are enlarged to about 64 pixels; with `max_side`, large ones
    are shrunk (by averaging) so that the grid is at most that wide.
    """
    from torch.nn import functional

    from zoo.images import tile

    columns, width = grid_shape(len(images), max(images.shape[-2:]))
    if max_side is not None and width > max_side:
        shrink = math.ceil(width / max_side)
        height, side = images.shape[-2:]
        images = functional.interpolate(
            images, size=(max(1, height // shrink), max(1, side // shrink)), mode="area"
        )
    rows = [images[start : start + columns] for start in range(0, len(images), columns)]
    scale = max(1, 64 // max(images.shape[-2:]))
    return tile(rows, scale=scale, title=title)
