"""`zoo sample`: images from a trained generator; click at import, torch on use."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sample")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option(
    "-n",
    "--count",
    type=click.IntRange(1, 1024),
    help="Images in the grid (default 64), or walks in the GIF with --interpolate (default 16).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Latent noise seed.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    help="Output file: .png or .jpg for a grid (default samples.png), .gif with "
    "--interpolate (default interpolation.gif).",
)
@click.option(
    "--interpolate",
    is_flag=True,
    help="Write a looping GIF in which each image walks between random latent points.",
)
@click.option(
    "--points",
    type=click.IntRange(2, 64),
    help="Latent points each walk visits (with --interpolate; default 4).",
)
@click.option(
    "--steps",
    type=click.IntRange(1, 120),
    help="Frames from one point to the next (with --interpolate; default 12).",
)
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def sample_command(
    checkpoint: Path,
    count: int | None,
    seed: int,
    out: Path | None,
    interpolate: bool,
    points: int | None,
    steps: int | None,
    overwrite: bool,
    device: str,
    quiet: bool,
) -> None:
    """Draw images from the generator in CHECKPOINT (a dcgan run's model.safetensors,
    or a generator-only checkpoint).

    \b
    Examples:
      zoo train dcgan --out runs/gan
      zoo sample runs/gan/model.safetensors -n 64 --seed 1 -o grid.png
      zoo sample runs/gan/model.safetensors --interpolate -o walk.gif
    """
    from zoo_gan import sampling

    if not interpolate and (points is not None or steps is not None):
        raise click.UsageError("--points and --steps shape the walk of --interpolate; add it")
    if interpolate:
        written = sampling.interpolate(
            checkpoint,
            out or Path("interpolation.gif"),
            count or 16,
            points=points or 4,
            steps=steps or 12,
            seed=seed,
            overwrite=overwrite,
            device=device,
        )
    else:
        written = sampling.sample_grid(
            checkpoint,
            out or Path("samples.png"),
            count or 64,
            seed=seed,
            overwrite=overwrite,
            device=device,
        )
    if not quiet:
        click.echo(str(written))
