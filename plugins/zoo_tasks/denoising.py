"""Denoising: learn to turn images with Gaussian noise back into the clean images.

Also the Python side of `zoo denoise`: `denoise` runs a trained model on image
tensors, `denoise_files` on image files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import nn

import zoo
from zoo.files import atomic_write
from zoo.images import (
    check_image,
    frame_due,
    from_pil,
    read_image,
    tile,
    to_pil,
    write_gif,
    write_image,
)

# The held-out images get the same noise every epoch, so the figures compare.
HELD_OUT_NOISE_SEED = 1234
# progress.gif keeps at most this many frames (every k-th epoch beyond that).
MAX_FRAMES = 60
# Rows in samples.png and progress.gif: more would make pictures nobody can read.
MAX_SAMPLES = 64


def add_noise(
    images: torch.Tensor, sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """clip(images + sigma * N(0, 1), 0, 1): the chapter's noise."""
    noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
    return (images + sigma * noise).clamp_(0.0, 1.0)


def psnr(estimate: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of each image (pixels in [0, 1]); higher is better."""
    mse = (estimate - clean).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


class Denoising(zoo.Task):
    """Denoise images: the model sees clip(x + sigma * N(0, 1), 0, 1) and must return x.

    Options: `sigma` (the noise's standard deviation, 0.5 as in the chapter)
    and `samples` (how many held-out images the pictures show). The loss
    compares the model's output with the clean image (MSE unless --loss says
    otherwise). Each epoch reports the training loss and, on the held-out
    images (with the same noise every epoch), `denoised_mse` and
    `denoised_psnr` (the model's output against the clean image) next to
    `noisy_mse` and `noisy_psnr` (the noisy input against the clean image:
    what the model has to beat). PSNR is averaged per image, in dB; an image
    identical to the clean one (sigma 0) counts as 100 dB.

    Pictures: `samples.png` (a row per held-out image: noisy | denoised |
    clean) and `progress.gif` (those images through the model before training
    and after each epoch).
    """

    default_loss = "mse"
    loss_tags = ("elementwise",)  # output and target compared pixel by pixel

    def __init__(self, sigma: float = 0.5, samples: int = 8) -> None:
        if sigma < 0.0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        if not 1 <= samples <= MAX_SAMPLES:
            raise ValueError(f"samples must be between 1 and {MAX_SAMPLES}, got {samples}")
        super().__init__(sigma=sigma, samples=samples)
        self.sigma = sigma
        self.samples = samples
        self._generator: torch.Generator | None = None
        self._frames: list = []

    def setup(self, model, data, loss):
        shape = data.sample_shapes.get("x")
        if shape is None or len(shape) != 3 or shape[0] not in (1, 3):
            got = "no 'x'" if shape is None else f"x of shape {shape}"
            raise zoo.ConfigError(
                f"task 'denoising' needs images: x shaped C x H x W with 1 or 3 channels; "
                f"the data give {got}; use an image dataset such as digits, fashion-mnist "
                "or image-folder"
            )
        super().setup(model, data, loss)

    def training_step(self, model, batch, step):
        clean = batch["x"]
        loss = self.loss(model(add_noise(clean, self.sigma)), clean)
        step.optimize(loss)
        return {"loss": loss}

    def evaluate(self, model, batches):
        self._generator = None  # the same held-out noise every time
        return super().evaluate(model, batches)

    def _held_out_noise(self, clean: torch.Tensor) -> torch.Tensor:
        if self._generator is None:
            self._generator = torch.Generator(clean.device).manual_seed(HELD_OUT_NOISE_SEED)
        return add_noise(clean, self.sigma, self._generator)

    def eval_step(self, model, batch):
        clean = batch["x"]
        noisy = self._held_out_noise(clean)
        denoised = model(noisy)
        return {
            "loss": self.loss(denoised, clean),
            "denoised_mse": (denoised - clean).pow(2).mean(),
            "noisy_mse": (noisy - clean).pow(2).mean(),
            "denoised_psnr": psnr(denoised, clean).mean(),
            "noisy_psnr": psnr(noisy, clean).mean(),
        }

    # -- pictures -------------------------------------------------------------
    def start(self, model, run):
        source = run.held_out if run.held_out is not None else run.train
        self._shown = "held-out" if run.held_out is not None else "training"
        clean = source.example(self.samples)["x"].to(run.device)
        generator = torch.Generator(clean.device).manual_seed(HELD_OUT_NOISE_SEED + 1)
        self._clean = clean
        self._noisy = add_noise(clean, self.sigma, generator)
        self._frames = []
        self._frame_epochs: list[int] = []
        self._add_frame(model, 0, run.epochs)

    def state_dict(self):
        return {
            "frames": [from_pil(frame) for frame in self._frames],
            "frame_epochs": list(self._frame_epochs),
        }

    def load_state_dict(self, state):
        if "frames" in state:  # progress.gif goes on with the frames drawn before the stop
            self._frames = [to_pil(frame) for frame in state["frames"]]
            self._frame_epochs = list(state["frame_epochs"])

    def _add_frame(self, model, epoch: int, epochs: int) -> None:
        denoised = model(self._noisy)
        self._frames.append(
            tile(
                _columns(self._noisy, denoised, self._clean),
                scale=_scale(self._clean),
                title=f"epoch {epoch}/{epochs}: noisy | denoised | clean",
            )
        )
        self._frame_epochs.append(epoch)
        self._last_denoised = denoised

    def epoch_end(self, model, run):
        if frame_due(run.epoch, run.epochs, MAX_FRAMES):
            self._add_frame(model, run.epoch, run.epochs)

    def finish(self, model, run):
        if self._frame_epochs[-1] != run.epoch:
            self._add_frame(model, run.epoch, run.epochs)
        write_gif(self._frames, run.path("progress.gif"))
        draw_samples(
            run.path("samples.png"),
            self._noisy,
            self._last_denoised,
            self._clean,
            title=f"{self._shown} images, noise sigma {self.sigma:g}, "
            + (
                f"interrupted in epoch {run.epoch}"
                if run.interrupted
                else f"after {run.epoch} epoch{'' if run.epoch == 1 else 's'}"
            ),
        )
        return {}


def _columns(noisy, denoised, clean) -> list[torch.Tensor]:
    """One row per image: noisy, denoised, clean."""
    return [torch.stack(row) for row in zip(noisy, denoised, clean, strict=True)]


def _scale(images: torch.Tensor) -> int:
    """Enlarge small images to about 84 pixels a side, so that pixels stay visible."""
    return max(1, 84 // max(images.shape[-2:]))


def draw_samples(path, noisy, denoised, clean, *, title: str) -> Path:
    """samples.png: one row per image, columns noisy | denoised | clean, each with its PSNR."""
    noisy_db, denoised_db = psnr(noisy, clean).tolist(), psnr(denoised, clean).tolist()
    labels = [
        [f"noisy {n:.1f} dB", f"denoised {d:.1f} dB", "clean"]
        for n, d in zip(noisy_db, denoised_db, strict=True)
    ]
    grid = tile(
        _columns(noisy, denoised, clean),
        scale=_scale(clean),
        padding=6,
        labels=labels,
        title=title,
    )
    return atomic_write(Path(path), lambda temp: grid.save(temp, format="PNG"))


# -- using a trained model ------------------------------------------------------
def _channels(model: nn.Module) -> int:
    spec = getattr(model, "zoo_spec", None)
    channels = (spec.config.get("in_channels") if spec is not None else None) or getattr(
        model, "in_channels", None
    )
    if channels not in (1, 3):
        name = spec.name if spec is not None else type(model).__name__
        raise zoo.ConfigError(
            f"model '{name}' does not say it takes 1- or 3-channel images "
            "(no in_channels in its config); zoo denoise needs an image-to-image model"
        )
    return int(channels)


def _model(model: nn.Module | str | os.PathLike[str], device: str) -> nn.Module:
    """A model as given, or loaded from a checkpoint path onto `device`."""
    if isinstance(model, nn.Module):
        return model
    if isinstance(model, (str, os.PathLike)):
        return zoo.load(model, device=str(zoo.resolve_device(device)))
    raise zoo.ConfigError(
        f"model must be a torch module or a checkpoint path, not {type(model).__name__}"
    )


@torch.no_grad()
def denoise(
    model: nn.Module | str | os.PathLike[str], images: torch.Tensor, *, device: str = "auto"
) -> torch.Tensor:
    """Run a denoising model on images in [0, 1] (C x H x W or N x C x H x W); same shape out.

    `model` is a model or a checkpoint path (loaded onto `device`). The
    result is clipped to [0, 1] and on the CPU.

    Example:
        >>> model = zoo.create_model("conv-denoiser")  # or "…/model.safetensors"
        >>> denoise(model, torch.rand(1, 28, 28)).shape
        torch.Size([1, 28, 28])
    """
    model = _model(model, device)
    channels = _channels(model)
    if not isinstance(images, torch.Tensor) or images.ndim not in (3, 4):
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise zoo.ConfigError(f"images must be a tensor C x H x W or N x C x H x W, got {got}")
    if not images.is_floating_point():
        raise zoo.ConfigError(
            f"images must be floats in [0, 1], got {images.dtype}; "
            "convert 8-bit pixels with images.float() / 255"
        )
    single = images.ndim == 3
    batch = images[None] if single else images
    if batch.shape[1] != channels:
        raise zoo.ConfigError(
            f"the model takes {channels}-channel images, got {batch.shape[1]} channels"
        )
    if batch.numel() and (batch.min() < 0 or batch.max() > 1):
        raise zoo.ConfigError(
            f"images must have values in [0, 1], got {batch.min().item():g}.."
            f"{batch.max().item():g}; divide 8-bit pixels by 255"
        )
    parameter = next(model.parameters(), None)
    on = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        out = model(batch.to(device=on, dtype=torch.float32))
    except (RuntimeError, ValueError) as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise zoo.ConfigError(
            f"the model cannot take images of shape {tuple(batch.shape)}: {first_line}"
        ) from exc
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.shape != batch.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise zoo.ConfigError(
            f"the model turned images of shape {tuple(batch.shape)} into {got}; "
            "denoising needs a model whose output has its input's shape"
        )
    out = out.clamp(0, 1).cpu()
    return out[0] if single else out


def denoise_files(
    model: nn.Module | str | os.PathLike[str],
    images: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    device: str = "auto",
) -> list[Path]:
    """Denoise image files into `out_dir`: same names, same sizes; returns the files written.

    `model` is a loaded model or a checkpoint path; `images` one path or
    several. Every input is read before anything is written: an unreadable
    image, two inputs with the same file name, or an output that exists
    (unless `overwrite`) or would replace its own input raise a `zoo` error
    naming the file, and nothing is written.
    """
    model = _model(model, device)
    channels = _channels(model)
    paths = [Path(images)] if isinstance(images, (str, os.PathLike)) else [Path(p) for p in images]
    if not paths:
        raise zoo.ConfigError("no images given")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise zoo.ConfigError(f"{out} exists and is not a folder; choose another output folder")
    targets = _targets(paths, out, overwrite)
    for path in paths:  # headers first: a wrong file fails fast, before any decoding
        check_image(path)
    pictures = [read_image(path, channels) for path in paths]
    cleaned = [denoise(model, picture) for picture in pictures]
    return [write_image(image, target) for image, target in zip(cleaned, targets, strict=True)]


def _targets(paths: Sequence[Path], out: Path, overwrite: bool) -> list[Path]:
    targets, seen = [], {}
    for path in paths:
        suffix = path.suffix.lower()
        name = path.name if suffix in (".png", ".jpg", ".jpeg") else f"{path.stem}.png"
        target = out / name
        if name in seen and seen[name].resolve() == path.resolve():
            raise zoo.ConfigError(f"{path} is listed twice; give each image once")
        if name in seen:
            raise zoo.ConfigError(
                f"{path} and {seen[name]} would both be written to {target}; "
                "denoise them into different output folders"
            )
        seen[name] = path
        if path.exists() and target.exists() and target.resolve() == path.resolve():
            raise zoo.ConfigError(
                f"{target} would overwrite its own input; choose another output folder"
            )
        if target.exists() and not overwrite:
            raise zoo.ConfigError(
                f"{target} exists; overwrite it (--overwrite, overwrite=True) "
                "or choose another output folder"
            )
        targets.append(target)
    return targets
