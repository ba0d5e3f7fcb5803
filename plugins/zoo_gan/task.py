"""The adversarial recipe: a discriminator and a generator trained against each other."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import ClassVar

import torch
from torch import nn

import zoo
from zoo.files import atomic_write
from zoo.images import frame_due, from_pil, to_pil, write_gif
from zoo_gan.latent import grid, halves, latent_size_of, latents, to_unit

# The fixed noise behind samples.png and progress.gif, the same in every run.
FIXED_NOISE_SEED = 1234
# The held-out figures score fakes from this seed, so epochs compare.
HELD_OUT_NOISE_SEED = 4321
# progress.gif keeps at most this many frames.
MAX_FRAMES = 60
MAX_SAMPLES = 256
# Widest picture the task draws: large images are shrunk to fit (see `grid`).
MAX_SIDE = 1024


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """Real images from [0, 1] (every zoo image dataset) to the generator's [-1, 1]."""
    return images * 2 - 1


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """No weight gradients for `module` inside (the generator's step need not compute them)."""
    parameters = [p for p in module.parameters() if p.requires_grad]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)


class GAN(zoo.Task):
    """Train a generator and a discriminator against each other (the chapter's DCGAN recipe).

    The model is a pair with `.generator` (latent vectors to images in
    [-1, 1], declaring `latent_size`) and `.discriminator` (images to one
    logit each), such as `dcgan`. Each step, as in the chapter:

    1. the discriminator learns to score real images (scaled from [0, 1] to
       [-1, 1]) as real and the generator's images (detached) as fake;
    2. the generator learns to make the updated discriminator score its
       images as real.

    Each half has its own Adam optimizer with betas (beta1, beta2):
    `generator_lr` and `discriminator_lr` (0 means the run's --lr). The loss
    scores logits (bce-with-logits by default: the chapter's Sigmoid + BCELoss
    in one numerically stable step; mse gives a least-squares GAN).

    Metrics per step, averaged per epoch: `loss_d` (the discriminator's loss
    on real plus fake), `loss_g`, `d_real` (its mean probability that a real
    image is real, D(x)) and `d_fake` (the same for the generated images,
    D(G(z)), before its update). With held-out images (--val-fraction), the
    same four on those and on fakes from fixed noise.

    Pictures: `samples.png` (images from the same fixed noise, rewritten
    after every epoch), `progress.gif` (that grid before training and after
    each epoch, or every `frame_every` steps) and loss.png with both losses
    and D(x), D(G(z)).
    """

    default_loss = "bce-with-logits"
    # Each logit scored against its 0/1 label: bce, which needs probabilities, cannot.
    loss_tags = ("unbounded",)
    plotted: ClassVar[dict[str, tuple[str, ...]]] = {
        "loss": ("loss_d", "loss_g"),
        "discriminator output": ("d_real", "d_fake"),
    }

    def __init__(
        self,
        generator_lr: float = 0.0,
        discriminator_lr: float = 0.0,
        beta1: float = 0.5,
        beta2: float = 0.999,
        samples: int = 64,
        frame_every: int = 0,
    ) -> None:
        for key, value in (("generator_lr", generator_lr), ("discriminator_lr", discriminator_lr)):
            if value < 0:
                raise ValueError(f"{key} must be >= 0 (0: the run's --lr), got {value}")
        for key, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= value < 1:
                raise ValueError(f"{key} must be in [0, 1), got {value}")
        if not 1 <= samples <= MAX_SAMPLES:
            raise ValueError(f"samples must be between 1 and {MAX_SAMPLES}, got {samples}")
        if frame_every < 0:
            raise ValueError(f"frame_every must be >= 0 (0: once per epoch), got {frame_every}")
        super().__init__(
            generator_lr=generator_lr,
            discriminator_lr=discriminator_lr,
            beta1=beta1,
            beta2=beta2,
            samples=samples,
            frame_every=frame_every,
        )
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.betas = (beta1, beta2)
        self.samples = samples
        self.frame_every = frame_every
        self._frames: list = []
        self._held_out: torch.Generator | None = None

    def setup(self, model, data, loss):
        shape = data.sample_shapes.get("x")
        if shape is None or len(shape) != 3:
            got = "no 'x'" if shape is None else f"x of shape {shape}"
            raise zoo.ConfigError(
                f"task 'gan' needs images: x shaped C x H x W with values in [0, 1]; the data "
                f"give {got}; use an image dataset such as digits or image-folder"
            )
        halves(model)
        super().setup(model, data, loss)

    def check_fit(self, model, example):
        generator, discriminator, latent_size = halves(model)
        real = to_signed(example["x"])
        fake = generator(latents(len(real), latent_size, 0, real.device))
        if tuple(fake.shape[1:]) != tuple(real.shape[1:]):
            raise ValueError(
                f"the generator makes images of {list(fake.shape[1:])}, the data are "
                f"{list(real.shape[1:])}"
            )
        for images in (real, fake):
            logits = discriminator(images)
            if tuple(logits.shape) != (len(images),):
                raise ValueError(
                    "the discriminator must give one logit per image (shape [N]), "
                    f"got {list(logits.shape)}"
                )

    def forward(self, model, batch):
        """What the model computes on a batch: for a pair, (generated images, logits of the real).

        A generator alone gives images, a discriminator alone the real images' logits.
        """
        count = len(batch["x"])
        latent_size = latent_size_of(model)
        discriminator = getattr(model, "discriminator", None)
        if latent_size is None:  # a discriminator alone
            return model(to_signed(batch["x"]))
        noise = latents(count, latent_size, 0, batch["x"].device)
        if discriminator is None:  # a generator alone
            return model(noise)
        return model.generator(noise), discriminator(to_signed(batch["x"]))

    def configure_optimizers(self, model, lr):
        generator, discriminator, _ = halves(model)
        return {
            "discriminator": zoo.make_optimizer(
                torch.optim.Adam,
                discriminator.parameters(),
                lr=self.discriminator_lr or lr,
                betas=self.betas,
            ),
            "generator": zoo.make_optimizer(
                torch.optim.Adam,
                generator.parameters(),
                lr=self.generator_lr or lr,
                betas=self.betas,
            ),
        }

    def _scores(self, discriminator, real, fake):
        """Logits on real and fake images, their labels, and the discriminator's loss."""
        logits_real = discriminator(real)
        logits_fake = discriminator(fake)
        ones = torch.ones_like(logits_real)
        zeros = torch.zeros_like(logits_fake)
        loss = self.loss(logits_real, ones) + self.loss(logits_fake, zeros)
        return logits_real, logits_fake, ones, loss

    def training_step(self, model, batch, step):
        generator, discriminator, latent_size = halves(model)
        real = to_signed(batch["x"])
        noise = torch.randn(len(real), latent_size, device=real.device)
        fake = generator(noise)
        # 1. The discriminator: real as real, the generator's images (detached) as fake.
        logits_real, logits_fake, ones, loss_d = self._scores(discriminator, real, fake.detach())
        step.optimize(loss_d, "discriminator")
        # 2. The generator: make the updated discriminator call its images real.
        with _frozen(discriminator):
            loss_g = self.loss(discriminator(fake), ones)
            step.optimize(loss_g, "generator")
        self._steps = step.index + 1
        if self.frame_every and self._steps % self.frame_every == 0:
            self._step_frame(generator, self._steps)
        return {
            "loss_d": loss_d,
            "loss_g": loss_g,
            "d_real": torch.sigmoid(logits_real.detach()).mean(),
            "d_fake": torch.sigmoid(logits_fake.detach()).mean(),
        }

    def evaluate(self, model, batches):
        self._held_out = None  # the same held-out noise every epoch
        return super().evaluate(model, batches)

    def eval_step(self, model, batch):
        generator, discriminator, latent_size = halves(model)
        real = to_signed(batch["x"])
        if self._held_out is None:
            self._held_out = torch.Generator().manual_seed(HELD_OUT_NOISE_SEED)
        noise = torch.randn(len(real), latent_size, generator=self._held_out).to(real.device)
        logits_real, logits_fake, ones, loss_d = self._scores(discriminator, real, generator(noise))
        return {
            "loss_d": loss_d,
            "loss_g": self.loss(logits_fake, ones),
            "d_real": torch.sigmoid(logits_real).mean(),
            "d_fake": torch.sigmoid(logits_fake).mean(),
        }

    # -- pictures -------------------------------------------------------------
    def start(self, model, run):
        generator, _, latent_size = halves(model)
        self._run = run
        self._noise = latents(self.samples, latent_size, FIXED_NOISE_SEED, run.device)
        self._frames = []
        self._last_frame = None
        self._steps = 0
        steps_per_epoch = -(-len(run.train) // run.batch_size)
        self._total_frames = (steps_per_epoch * run.epochs) // max(1, self.frame_every)
        self._add_frame(generator, "before training")

    def state_dict(self):
        return {
            "frames": [from_pil(frame) for frame in self._frames],
            "last_frame": self._last_frame,
            "steps": self._steps,
        }

    def load_state_dict(self, state):
        if "frames" in state:  # progress.gif goes on with the frames drawn before the stop
            self._frames = [to_pil(frame) for frame in state["frames"]]
            self._last_frame = state["last_frame"]
            self._steps = state["steps"]

    def _grid(self, generator, title: str):
        images = to_unit(generator(self._noise))
        return grid(images, title=title, max_side=MAX_SIDE)

    def _add_frame(self, generator, label: str) -> None:
        self._frames.append(self._grid(generator, label))
        self._last_frame = label

    def _step_frame(self, generator, index: int) -> None:
        if not frame_due(index // self.frame_every, self._total_frames, MAX_FRAMES):
            return
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                self._add_frame(generator, f"step {index}, epoch {self._run.epoch}")
        finally:
            generator.train(was_training)

    def _write_samples(self, generator, run, label: str) -> None:
        picture = self._grid(generator, f"{self.samples} samples from fixed noise, {label}")
        atomic_write(run.path("samples.png"), lambda temp: picture.save(temp, format="PNG"))

    def epoch_end(self, model, run):
        generator = halves(model)[0]
        label = f"epoch {run.epoch}/{run.epochs}"
        if not self.frame_every and frame_due(run.epoch, run.epochs, MAX_FRAMES):
            self._add_frame(generator, label)
        self._write_samples(generator, run, label)

    def finish(self, model, run):
        generator = halves(model)[0]
        if run.interrupted:  # the weights saved are from the middle of this epoch
            label = f"step {self._steps}, interrupted in epoch {run.epoch}/{run.epochs}"
            self._write_samples(generator, run, label)
        elif self.frame_every:
            label = f"step {self._steps}, epoch {run.epoch}"
        else:
            label = f"epoch {run.epoch}/{run.epochs}"
        if self._last_frame != label:
            self._add_frame(generator, label)
        write_gif(self._frames, run.path("progress.gif"))
        return {}
