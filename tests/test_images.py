"""zoo.images: reading and writing image files, grids with captions, animations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.errors import DataError
from zoo.images import check_image, open_image, read_image, tile, write_gif, write_image


def test_write_then_read_keeps_pixels_and_size(tmp_path):
    image = torch.linspace(0, 1, 3 * 5 * 7).reshape(3, 5, 7)
    path = write_image(image, tmp_path / "a.png")
    assert check_image(path) == (7, 5)
    back = read_image(path)
    assert back.shape == (3, 5, 7)
    assert (back - image).abs().max() <= 0.5 / 255 + 1e-6  # 8-bit rounding only
    gray = read_image(path, channels=1)
    assert gray.shape == (1, 5, 7) and gray.min() >= 0 and gray.max() <= 1


def test_bad_image_files_name_the_file(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    for path, fragment in (
        (text, "not an image zoo can read"),
        (tmp_path / "missing.png", "does not exist"),
        (tmp_path, "is a folder"),
    ):
        with pytest.raises(DataError, match=fragment) as caught:
            read_image(path)
        assert str(path) in str(caught.value)
    with pytest.raises(DataError, match=r"cannot write '\.txt' images"):
        write_image(torch.zeros(1, 2, 2), tmp_path / "a.txt")


def test_tile_lays_out_rows_with_labels_and_a_title():
    rows = [torch.zeros(3, 1, 4, 4), torch.ones(3, 1, 4, 4)]
    plain = tile(rows, scale=2, padding=1)
    assert plain.mode == "L" and plain.size == (3 * 8 + 4, 2 * 8 + 3)
    assert plain.getpixel((1, 1)) == 0 and plain.getpixel((1, 1 + 8 + 1)) == 255
    labelled = tile(rows, scale=2, labels=[["a", "b", "c"], ["d", "e", "long label"]], title="t")
    assert labelled.width > plain.width and labelled.height > plain.height
    assert tile([torch.zeros(1, 3, 4, 4), torch.zeros(1, 1, 4, 4)]).mode == "RGB"
    with pytest.raises(DataError, match="one string per image"):
        tile(rows, labels=[["a"]])
    with pytest.raises(DataError, match="nothing to tile"):
        tile([])


def test_write_gif_loops_and_holds_the_last_frame(tmp_path):
    frames = [tile(torch.full((2, 1, 4, 4), v)) for v in (0.0, 0.5, 1.0)]
    path = write_gif(frames, tmp_path / "p.gif", seconds_per_frame=0.2, hold_last=1.0)
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.info["loop"] == 0
        gif.seek(2)
        assert gif.info["duration"] == 1000
    with pytest.raises(DataError, match="no frames"):
        write_gif([], tmp_path / "empty.gif")


def test_open_image_turns_photos_upright_and_scales_16_bit(tmp_path):
    wide = Image.new("RGB", (6, 2), (255, 0, 0))
    exif = wide.getexif()
    exif[0x0112] = 6  # EXIF orientation: the camera was turned; show it rotated 90°
    wide.save(tmp_path / "turned.jpg", exif=exif)
    assert read_image(tmp_path / "turned.jpg").shape == (3, 6, 2)  # upright: 2 wide, 6 high
    deep = Image.fromarray(np.full((3, 4), 65535, dtype=np.uint16))
    deep.save(tmp_path / "deep.png")
    assert open_image(tmp_path / "deep.png", "L").getpixel((0, 0)) == 255  # not clipped junk
    assert read_image(tmp_path / "deep.png", channels=1).min() == 1.0
    with pytest.raises(DataError, match="'L' \\(grayscale\\) or 'RGB'"):
        open_image(tmp_path / "deep.png", "CMYK")


def test_gif_frames_of_different_sizes_are_padded_not_overlaid(tmp_path):
    from PIL import Image, ImageSequence

    wide = Image.new("L", (40, 10), 0)  # black, wider than the next frame
    narrow = Image.new("L", (20, 10), 128)
    path = write_gif([wide, narrow], tmp_path / "mixed.gif")
    with Image.open(path) as gif:
        frames = [frame.convert("L") for frame in ImageSequence.Iterator(gif)]
    assert frames[1].size == (40, 10)
    assert frames[1].getpixel((30, 5)) == 255  # white padding, not the first frame's black
    assert frames[1].getpixel((5, 5)) == 128
