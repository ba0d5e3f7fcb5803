"""Use a trained generator: a grid of samples, or a GIF that walks between latent points.

`model` is a GAN pair (such as dcgan), a generator (such as dcgan-generator),
or a checkpoint path holding either. Latents come from `seed`, so the same
seed gives the same images.

Example:
    >>> import zoo
    >>> from zoo_gan.sampling import sample
    >>> pair = zoo.create_model("dcgan", image_size=32, channels=1, base_width=8)
    >>> sample(pair, 4, seed=0).shape
    torch.Size([4, 1, 32, 32])
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

import zoo
from zoo.files import atomic_write
from zoo.images import write_gif
from zoo_gan.latent import (
    MAX_ANIMATION_PIXELS,
    MAX_GRID,
    MAX_PICTURE_PIXELS,
    generator_of,
    grid,
    grid_shape,
    latent_size_of,
    latents,
    to_unit,
)

# Latents go through the generator this many at a time, to bound memory.
CHUNK = 256
GRID_SUFFIXES = (".png", ".jpg", ".jpeg")
# Widest frame of an interpolation GIF: larger grids are shrunk to fit.
MAX_GIF_SIDE = 2048


def _generator(model: nn.Module | str | os.PathLike[str], device: str) -> nn.Module:
    """The generator of a model or of the checkpoint at a path, in eval mode."""
    if isinstance(model, (str, os.PathLike)):
        model = zoo.load(model, device=str(zoo.resolve_device(device)))
    elif not isinstance(model, nn.Module):
        raise zoo.ConfigError(
            f"model must be a torch module or a checkpoint path, not {type(model).__name__}"
        )
    return generator_of(model)


def _check_count(count: int, what: str = "count") -> None:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_GRID:
        raise zoo.ConfigError(f"{what} must be a whole number from 1 to {MAX_GRID}, got {count!r}")


@torch.no_grad()
def _generate(generator: nn.Module, noise: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] on the CPU for latent vectors (eval mode: BatchNorm's running stats)."""
    parameter = next(generator.parameters(), None)
    on = parameter.device if parameter is not None else torch.device("cpu")
    was_training = generator.training
    generator.eval()
    try:
        parts = [generator(noise[i : i + CHUNK].to(on)) for i in range(0, len(noise), CHUNK)]
    finally:
        generator.train(was_training)
    images = torch.cat(parts)
    if not bool(torch.isfinite(images).all()):
        raise zoo.ConfigError(
            "the generator gave non-finite values (NaN or infinity): its weights are "
            "damaged; use another checkpoint (a run keeps its last good one)"
        )
    return to_unit(images)


def _image_side(generator: nn.Module) -> int:
    """The side of the generator's images, from its `image_size` or from one sample."""
    side = getattr(generator, "image_size", None)
    if isinstance(side, int) and side > 0:
        return side
    return max(_generate(generator, latents(1, latent_size_of(generator), 0)).shape[-2:])


def _check_picture(count: int, side: int, frames: int = 1, max_side: int | None = None) -> None:
    """Refuse, before any work, a grid (or animation) too large to write or to hold in memory."""
    width = grid_shape(count, side)[1]
    if max_side is not None:
        width = min(width, max_side)
    pixels = width * width
    limit = MAX_PICTURE_PIXELS if frames == 1 else MAX_ANIMATION_PIXELS
    if pixels * frames <= limit:
        return
    what = f"{count} images of {side}x{side} pixels make a grid about {width}x{width}"
    if frames == 1:
        raise zoo.ConfigError(
            f"{what}, larger than zoo writes ({math.isqrt(limit)}x{math.isqrt(limit)}); "
            "ask for fewer images (-n)"
        )
    raise zoo.ConfigError(
        f"{what}, and {frames} frames of it would hold {pixels * frames / 1e6:,.0f} million "
        f"pixels in memory (at most {limit / 1e6:,.0f} million); ask for fewer images (-n), "
        "--points or --steps"
    )


def sample(
    model: nn.Module | str | os.PathLike[str],
    count: int = 64,
    *,
    seed: int = 0,
    device: str = "auto",
) -> torch.Tensor:
    """`count` generated images, N x C x H x W with values in [0, 1], on the CPU."""
    _check_count(count)
    generator = _generator(model, device)
    return _generate(generator, latents(count, latent_size_of(generator), seed))


def _target(path: str | os.PathLike[str], suffixes: tuple[str, ...], overwrite: bool) -> Path:
    target = Path(path)
    if target.is_dir():
        raise zoo.ConfigError(
            f"{target} is a folder; give a file name such as {target / ('x' + suffixes[0])}"
        )
    if target.suffix.lower() not in suffixes:
        raise zoo.ConfigError(
            f"{target}: the output must end in {' or '.join(suffixes)}, not "
            f"'{target.suffix or '(no suffix)'}'"
        )
    if target.exists() and not overwrite:
        raise zoo.ConfigError(
            f"{target} exists; overwrite it (--overwrite, overwrite=True) or choose another name"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise zoo.ConfigError(
            f"cannot create the folder {target.parent} for {target.name}: "
            f"{exc.strerror or exc}; choose another output path"
        ) from None
    return target


def sample_grid(
    model: nn.Module | str | os.PathLike[str],
    path: str | os.PathLike[str],
    count: int = 64,
    *,
    seed: int = 0,
    overwrite: bool = False,
    device: str = "auto",
) -> Path:
    """Write `count` generated images as one grid picture (PNG or JPEG); return its path.

    Example:
        >>> sample_grid("runs/dcgan/model.safetensors", "grid.png", 64, seed=3)  # doctest: +SKIP
        PosixPath('grid.png')
    """
    _check_count(count)
    generator = _generator(model, device)  # a bad checkpoint fails before any file is touched
    _check_picture(count, _image_side(generator))
    target = _target(path, GRID_SUFFIXES, overwrite)
    images = _generate(generator, latents(count, latent_size_of(generator), seed))
    picture = grid(images)
    if target.suffix.lower() == ".png":
        return atomic_write(target, lambda temp: picture.save(temp, format="PNG"))
    return atomic_write(target, lambda temp: picture.save(temp, format="JPEG", quality=95))


def slerp(start: torch.Tensor, end: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between rows of latents: keeps a Gaussian latent's typical length.

    (Straight lines between two Gaussian points pass close to the origin,
    where a generator has rarely been; great circles do not.)
    """
    a = start / start.norm(dim=1, keepdim=True).clamp_min(1e-12)
    b = end / end.norm(dim=1, keepdim=True).clamp_min(1e-12)
    omega = torch.acos((a * b).sum(dim=1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    sine = torch.sin(omega)
    return (torch.sin((1 - t) * omega) * start + torch.sin(t * omega) * end) / sine


def interpolate(
    model: nn.Module | str | os.PathLike[str],
    path: str | os.PathLike[str],
    count: int = 16,
    *,
    points: int = 4,
    steps: int = 12,
    seed: int = 0,
    overwrite: bool = False,
    device: str = "auto",
) -> Path:
    """Write a looping GIF: `count` images, each walking through `points` random latents.

    Each image moves from one latent point to the next in `steps` frames
    (spherical interpolation) and back to its first, so the GIF loops
    smoothly; the frames are a grid like `sample_grid`.
    """
    _check_count(count)
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= 64:
        raise zoo.ConfigError(f"points must be a whole number from 2 to 64, got {points!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 120:
        raise zoo.ConfigError(f"steps must be a whole number from 1 to 120, got {steps!r}")
    generator = _generator(model, device)
    _check_picture(count, _image_side(generator), points * steps, MAX_GIF_SIDE)
    target = _target(path, (".gif",), overwrite)
    size = latent_size_of(generator)
    anchors = latents(count * points, size, seed).reshape(points, count, size)
    # One frame at a time: only the (possibly shrunk) pictures stay in memory.
    frames = [
        grid(
            _generate(generator, slerp(anchors[i], anchors[(i + 1) % points], k / steps)),
            max_side=MAX_GIF_SIDE,
        )
        for i in range(points)
        for k in range(steps)
    ]
    seconds = max(0.04, round(2.0 / steps, 2))  # about two seconds from one point to the next
    return write_gif(frames, target, seconds_per_frame=seconds, hold_last=seconds)
