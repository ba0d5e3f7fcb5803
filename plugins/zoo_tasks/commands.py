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


@click.command("predict")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Rows to predict: a CSV laid out like the model's training data (an image-path "
    "column relative to the CSV, the feature columns; the target column is optional).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write the CSV again with a predicted_<target> column (default: print a summary only).",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def predict_command(
    checkpoint: Path,
    csv_path: Path,
    out: Path | None,
    overwrite: bool,
    batch_size: int,
    device: str,
    quiet: bool,
) -> None:
    """Predict the target of every row of --csv with the regression model in CHECKPOINT.

    Features are standardised with the statistics stored in the checkpoint and
    predictions come out in the target's own units. When the CSV also holds
    the target column, MAE, RMSE and R² against it are printed.

    \b
    Example:
      zoo train fusion --out runs/fusion
      zoo predict runs/fusion/model.safetensors --csv new-houses/data.csv --out predictions.csv
    """
    from zoo_tasks.predicting import predict_csv

    result = predict_csv(
        checkpoint, csv_path, out=out, overwrite=overwrite, device=device, batch_size=batch_size
    )
    if quiet:
        return
    where = f" to {result.out}" if result.out is not None else ""
    click.echo(f"predicted {result.target} for {len(result.values)} rows{where}")
    if result.out is None:
        shown = result.values.reshape(len(result.values), -1)[:, 0]
        click.echo("first predictions: " + ", ".join(f"{v:.4g}" for v in shown[:5].tolist()))
    if result.metrics is not None:
        m = result.metrics
        click.echo(
            f"against the CSV's {result.target}: MAE {m['mae']:.4g}  RMSE {m['rmse']:.4g}  "
            f"R² {m['r2']:.4f}"
        )


def _levels(ctx: click.Context, param: click.Parameter, text: str) -> tuple[float, ...]:
    """'0.05,0.1' → (0.05, 0.1); an empty string → no levels."""
    if not text.strip():
        return ()
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a comma-separated list of numbers (e.g. 0.05,0.1)"
        ) from None


@click.command("robustness")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option(
    "--noise",
    callback=_levels,
    default="0.05,0.1,0.2,0.3",
    show_default=True,
    help="Standard deviations of the Gaussian noise added to the pixels (comma-separated; "
    "'' for none).",
)
@click.option(
    "--eps",
    callback=_levels,
    default="0.01,0.02,0.05,0.1",
    show_default=True,
    help="FGSM step sizes ε (comma-separated; '' for none).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Picture of one sample per level (default: robustness.png beside the checkpoint).",
)
@click.option(
    "--dataset",
    help="Measure on every sample of this dataset instead of the checkpoint's held-out split "
    "(the options recorded for the model's own dataset apply unless --set changes them).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of --dataset (repeatable), e.g. --set split=test.",
)
@click.option("--samples", type=click.IntRange(1), help="Measure on the first N samples only.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
def robustness_command(
    checkpoint: Path,
    noise: tuple[float, ...],
    eps: tuple[float, ...],
    out: Path | None,
    dataset: str | None,
    settings: tuple[str, ...],
    samples: int | None,
    batch_size: int,
    seed: int,
    device: str,
) -> None:
    """Accuracy of the classifier in CHECKPOINT on clean, noisy and FGSM-attacked images.

    Measured on the held-out samples of the run that trained it (the split is
    recorded in the checkpoint). Prints a table and draws one sample per
    level with the model's prediction.

    \b
    Example:
      zoo train simple-cnn --out runs/cnn
      zoo robustness runs/cnn/model.safetensors
      zoo robustness runs/cnn/model.safetensors --noise 0.1,0.5 --eps 0.03
    """
    from zoo.config import parse_settings
    from zoo_tasks.robustness import robustness

    if settings and dataset is None:
        raise click.UsageError("--set needs --dataset (the dataset whose option it sets)")
    options = parse_settings(settings) if dataset is not None else None
    picture = out if out is not None else checkpoint.parent / "robustness.png"
    if picture.suffix.lower() != ".png":
        raise click.BadParameter(f"{picture} is not a .png file name", param_hint="'--out'")
    if out is not None and not out.parent.is_dir():
        raise click.BadParameter(
            f"folder {out.parent} does not exist; create it or choose another",
            param_hint="'--out'",
        )
    result = robustness(
        checkpoint,
        noise=noise,
        eps=eps,
        dataset=dataset,
        dataset_options=options,
        samples=samples,
        batch_size=batch_size,
        seed=seed,
        device=device,
        out=picture,
    )
    if result.note:
        click.echo(result.note)
    click.echo(f"accuracy on {result.samples} {result.which}")
    click.echo(result.table())
    click.echo(f"picture: {result.out}")
