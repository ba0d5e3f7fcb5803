"""`zoo` subcommands that use trained models; click only at import, torch on use."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("denoise")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the denoised images (same file names; formats other than PNG and "
    "JPEG come out as .png).",
)
@click.option("--overwrite", is_flag=True, help="Replace files that already exist in --out.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def denoise_command(
    checkpoint: Path,
    images: tuple[Path, ...],
    out_dir: Path,
    overwrite: bool,
    device: str,
    quiet: bool,
) -> None:
    """Denoise IMAGES (PNG or JPEG) with the model in CHECKPOINT; write them to --out.

    Each image comes out at its own size, in the model's colours (grayscale
    for a model trained on grayscale images), under its own file name; BMP,
    WebP, TIFF and GIF inputs come out as PNG. Every input is read before
    anything is written.

    \b
    Example:
      zoo train conv-denoiser --out runs/den
      zoo denoise runs/den/model.safetensors noisy1.png noisy2.jpg --out clean/
    """
    from zoo_tasks.denoising import denoise_files

    written = denoise_files(checkpoint, images, out_dir, overwrite=overwrite, device=device)
    if not quiet:
        for path in written:
            click.echo(str(path))
