"""Images as tensors and back: read and write files, tile grids, animate frames.

Tensors here are float images with values in [0, 1], shaped C x H x W (one
image) or N x C x H x W (a batch), C being 1 (grayscale) or 3 (RGB). Every
file is written atomically. Errors about a file name the file.

Example:
    >>> import torch
    >>> from zoo.images import tile, write_image
    >>> rows = [torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)]
    >>> grid = tile(rows, scale=2)          # a PIL image: 2 rows of 3 images
    >>> grid.size
    (176, 118)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import DataError
from zoo.files import atomic_write

if TYPE_CHECKING:
    import torch
    from PIL import Image as PILImage

__all__ = [
    "IMAGE_SUFFIXES",
    "check_image",
    "frame_due",
    "from_pil",
    "open_image",
    "read_image",
    "tile",
    "to_pil",
    "write_gif",
    "write_image",
]

#: File name endings read as images (compared in lower case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}


def _missing(path: Path) -> DataError | None:
    if path.is_file():
        return None
    what = "is a folder" if path.is_dir() else "does not exist"
    return DataError(f"{path}: {what}; give an image file (PNG or JPEG)")


def _decode_errors() -> tuple[type[BaseException], ...]:
    """What PIL raises for a file it cannot decode (UnidentifiedImageError is an OSError)."""
    from PIL import Image

    return (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def _unreadable(path: Path, exc: BaseException) -> DataError:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, (UnidentifiedImageError, Image.DecompressionBombError)):
        return DataError(f"{path}: not an image zoo can read ({exc})")
    return DataError(f"{path}: cannot read the image: {exc}")


def check_image(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Check that a file is an image PIL can open, from its header; return (width, height)."""
    from PIL import Image

    path = Path(path)
    missing = _missing(path)
    if missing is not None:
        raise missing
    try:
        with Image.open(path) as image:
            return image.size
    except _decode_errors() as exc:
        raise _unreadable(path, exc) from exc


def open_image(path: str | os.PathLike[str], mode: str = "RGB") -> PILImage.Image:
    """Decode an image file into a PIL image in `mode` ("L" or "RGB"), turned upright.

    EXIF orientation is applied, transparency dropped, and 16-bit grayscale
    scaled (not clipped) to 8 bits. Any unreadable file raises `DataError`
    naming it.
    """
    import numpy
    from PIL import Image, ImageOps

    if mode not in ("L", "RGB"):
        raise DataError(f"images are read as 'L' (grayscale) or 'RGB', not {mode!r}")
    path = Path(path)
    missing = _missing(path)
    if missing is not None:
        raise missing
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grayscale
                wide = numpy.asarray(image, dtype=numpy.float64)
                scale = 65535.0 if wide.max(initial=0) > 255 else 255.0
                image = Image.fromarray((wide / scale * 255).round().clip(0, 255).astype("uint8"))
            return image.convert(mode)
    except _decode_errors() as exc:
        raise _unreadable(path, exc) from exc


def from_pil(image: PILImage.Image) -> torch.Tensor:
    """An 8-bit PIL image (L or RGB) as a float tensor C x H x W in [0, 1]."""
    import numpy
    import torch

    pixels = torch.from_numpy(numpy.array(image, dtype=numpy.uint8, copy=True))
    if pixels.ndim == 2:
        pixels = pixels.unsqueeze(-1)
    return pixels.permute(2, 0, 1).to(torch.float32).div_(255.0).contiguous()


def read_image(path: str | os.PathLike[str], channels: int = 3) -> torch.Tensor:
    """Read an image file as a float tensor C x H x W in [0, 1] (C = 1 or 3).

    The file is decoded by `open_image` (upright, colours converted to the
    channels asked for). Any unreadable file raises `DataError` naming it.
    """
    if channels not in (1, 3):
        raise DataError(f"images have 1 or 3 channels, not {channels}")
    return from_pil(open_image(path, "L" if channels == 1 else "RGB"))


def to_pil(image: torch.Tensor) -> PILImage.Image:
    """One image tensor C x H x W in [0, 1] as an 8-bit PIL image (L or RGB)."""
    import torch
    from PIL import Image

    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise DataError(f"expected an image tensor C x H x W, C 1 or 3; got {tuple(image.shape)}")
    pixels = (image.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    if pixels.shape[0] == 1:
        return Image.fromarray(pixels[0].numpy(), mode="L")
    return Image.fromarray(pixels.permute(1, 2, 0).numpy(), mode="RGB")


def write_image(image: torch.Tensor, path: str | os.PathLike[str], *, quality: int = 95) -> Path:
    """Write one image tensor C x H x W in [0, 1]; the format follows the file's ending."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: cannot write '{path.suffix}' images; use .png or .jpg")
    picture = to_pil(image)
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    return atomic_write(path, lambda temp: picture.save(temp, format=fmt, **options))


def tile(
    rows: Sequence[torch.Tensor] | torch.Tensor,
    *,
    scale: int = 1,
    padding: int = 2,
    background: int = 255,
    labels: Sequence[Sequence[str]] | None = None,
    title: str | None = None,
) -> PILImage.Image:
    """Tile images into one PIL image: one row per batch in `rows` (N x C x H x W each).

    A single batch tensor gives one row. Images are enlarged `scale` times
    with nearest-neighbour (crisp pixels), separated by `padding` pixels of
    `background` (0 black .. 255 white). Grayscale and RGB may be mixed (the
    result is RGB if any image is). `labels`, one string per image in the
    same rows, are written above each image; `title` above the whole grid.

    Example:
        >>> pair = torch.rand(2, 1, 8, 8)
        >>> tile([pair], scale=4, labels=[["noisy", "clean"]], title="epoch 1").mode
        'L'
    """
    from PIL import Image, ImageDraw

    if not isinstance(rows, Sequence):
        rows = [rows]
    pictures = [[to_pil(image) for image in row] for row in rows]
    if not pictures or not any(pictures):
        raise DataError("nothing to tile: no images given")
    if labels is not None and [len(row) for row in labels] != [len(row) for row in pictures]:
        raise DataError("tile: labels must give one string per image, row by row")
    mode = "RGB" if any(p.mode == "RGB" for row in pictures for p in row) else "L"
    font = _font()
    ink = 0 if background > 127 else 255
    line = _text_size(font, "Ag")[1] + 3  # the height of one line of text, with a gap
    label_height = line if labels is not None else 0
    cell_w = max(p.width for row in pictures for p in row) * scale
    if labels is not None:
        widest = max(_text_size(font, text)[0] for row in labels for text in row)
        cell_w = max(cell_w, widest + 4)  # a little air between neighbouring labels
    cell_h = max(p.height for row in pictures for p in row) * scale + label_height
    columns = max(len(row) for row in pictures)
    top = line + padding if title else 0
    width = columns * cell_w + (columns + 1) * padding
    if title:
        width = max(width, _text_size(font, title)[0] + 2 * padding)
    height = top + len(pictures) * cell_h + (len(pictures) + 1) * padding
    fill = background if mode == "L" else (background,) * 3
    canvas = Image.new(mode, (width, height), fill)
    draw = ImageDraw.Draw(canvas)
    text_fill = ink if mode == "L" else (ink,) * 3
    if title:
        draw.text((padding, padding), title, fill=text_fill, font=font)
    for r, row in enumerate(pictures):
        for c, picture in enumerate(row):
            if scale != 1:
                picture = picture.resize(
                    (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
                )
            x = padding + c * (cell_w + padding)
            y = top + padding + r * (cell_h + padding)
            if labels is not None:
                draw.text((x, y), labels[r][c], fill=text_fill, font=font)
            canvas.paste(picture.convert(mode), (x, y + label_height))
    return canvas


def _font() -> Any:
    """A small sans-serif font: Pillow's scalable default, or its fixed bitmap font."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=12)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1, or no FreeType
        return ImageFont.load_default()


def _text_size(font: Any, text: str) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return right - left, bottom - top


def frame_due(index: int, total: int, most: int = 60) -> bool:
    """Whether point `index` of `total` (epochs, steps…) gets a frame in an animation.

    Every point does when there are at most `most`; otherwise every k-th, so
    that about `most` frames remain, and always the last one.

    Example:
        >>> [i for i in range(1, 201) if frame_due(i, 200, most=50)][:3]
        [4, 8, 12]
    """
    every = max(1, -(-total // max(1, most)))
    return index % every == 0 or index == total


def write_gif(
    frames: Sequence[PILImage.Image],
    path: str | os.PathLike[str],
    *,
    seconds_per_frame: float = 0.5,
    hold_last: float = 2.0,
) -> Path:
    """An animated GIF of `frames` that loops; the last frame stays `hold_last` seconds."""
    if not frames:
        raise DataError(f"{path}: no frames to animate")
    durations = [round(seconds_per_frame * 1000)] * len(frames)
    durations[-1] = round(max(hold_last, seconds_per_frame) * 1000)
    # Grayscale frames stay grayscale: a third of the bytes, and no palette dithering.
    mode = "L" if all(frame.mode == "L" for frame in frames) else "RGB"
    frames = [frame.convert(mode) for frame in frames]
    # Frames of different sizes (a longer caption, say) are padded with white to the
    # largest, so that no part of a bigger frame shows through a smaller one.
    width, height = max(f.width for f in frames), max(f.height for f in frames)
    if any(f.size != (width, height) for f in frames):
        from PIL import Image

        white = 255 if mode == "L" else (255, 255, 255)
        padded = []
        for frame in frames:
            canvas = Image.new(mode, (width, height), white)
            canvas.paste(frame, (0, 0))
            padded.append(canvas)
        frames = padded
    first, *rest = frames

    def save(temp: Path) -> None:
        first.save(
            temp,
            format="GIF",
            save_all=True,
            append_images=rest,
            duration=durations,
            loop=0,
            optimize=False,
        )

    return atomic_write(Path(path), save)
