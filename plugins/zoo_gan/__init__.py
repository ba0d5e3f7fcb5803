"""First-party plugin: the chapter's DCGAN, the adversarial `gan` task and `zoo sample`.

Kept cheap to import: factories are "module:attr" strings loaded on use.
"""

from __future__ import annotations

from collections.abc import Callable

import zoo

_IMAGE = {"image_size": 64, "channels": 3, "base_width": 64}
# The chapter's recipe: batch 64, Adam at lr 0.0008, on 64x64 images (digits
# here, resized); every image trains, since a GAN has no held-out target.
_RECIPE = {
    "epochs": 25,
    "batch_size": 64,
    "lr": 8e-4,
    "val_fraction": 0.0,
    "dataset_options": {"size": 64},
}


@zoo.hookimpl
def register_models(register: Callable[..., None]) -> None:
    """Register dcgan (the pair), dcgan-generator and dcgan-discriminator."""
    common = {"task": "gan", "dataset": "digits", "init": "dcgan-normal", "training": _RECIPE}
    register(
        "dcgan",
        "zoo_gan.dcgan:DCGAN",
        defaults={"latent_size": 100, **_IMAGE},
        summary="DCGAN generator and discriminator, trained and saved together (the chapter's "
        "GAN).",
        tags=("gan", "image", "generative", "chapter"),
        **common,
    )
    register(
        "dcgan-generator",
        "zoo_gan.dcgan:DCGANGenerator",
        defaults={"latent_size": 100, **_IMAGE},
        summary="DCGAN generator alone: latent vector to image in [-1, 1] (train it as dcgan).",
        tags=("gan", "image", "generative"),
        **common,
    )
    register(
        "dcgan-discriminator",
        "zoo_gan.dcgan:DCGANDiscriminator",
        defaults=dict(_IMAGE),
        summary="DCGAN discriminator alone: image in [-1, 1] to one logit (train it as dcgan).",
        tags=("gan", "image"),
        **common,
    )


@zoo.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    """Register gan."""
    register(
        "gan",
        "zoo_gan.task:GAN",
        defaults={
            "generator_lr": 0.0,
            "discriminator_lr": 0.0,
            "beta1": 0.5,
            "beta2": 0.999,
            "samples": 64,
            "frame_every": 0,
        },
        summary="Adversarial training of a generator/discriminator pair; samples.png, "
        "progress.gif.",
        tags=("image", "generative"),
    )


@zoo.hookimpl
def register_commands(register: Callable[..., None]) -> None:
    """Register `zoo sample`."""
    register(
        "sample",
        "zoo_gan.commands:sample_command",
        summary="Draw images from a trained generator (a grid, or a latent walk as a GIF).",
        tags=("image", "generative"),
    )
