"""The conv denoiser, the denoising task, its pictures, and `zoo denoise`."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import zoo
from tests.cli_helpers import assert_one_line_error, invoke
from zoo.errors import ConfigError
from zoo_tasks.denoising import add_noise, denoise, denoise_files, psnr


# -- the model ------------------------------------------------------------------
def test_default_conv_denoiser_is_the_chapters_network():
    model = zoo.create_model("conv-denoiser")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 32), (32, 16), (16, 8), (32, 1)]
    ups = [m for m in model.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(u.in_channels, u.out_channels, u.kernel_size[0]) for u in ups] == [
        (8, 8, 3),
        (8, 16, 2),
        (16, 32, 2),
    ]
    out = model(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 1, 28, 28) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    ("config", "shape"),
    [
        ({"image_size": 32}, (2, 1, 32, 32)),
        ({"in_channels": 3, "image_size": 64, "widths": [16, 8, 8, 4]}, (2, 3, 64, 64)),
        ({}, (1, 1, 50, 37)),  # any size: padded inside, cropped back
        ({}, (2, 1, 3, 5)),  # even smaller than the three halvings
        ({"image_size": 5}, (1, 1, 5, 5)),
        ({"widths": "12,6"}, (1, 1, 28, 28)),
    ],
)
def test_conv_denoiser_keeps_the_input_shape(config, shape):
    model = zoo.create_model("conv-denoiser", **config)
    assert model(torch.rand(shape)).shape == shape


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"in_channels": 0}, "in_channels must be >= 1"),
        ({"widths": []}, "widths must be"),
        ({"image_size": 0}, "image_size must be >= 1"),
        ({"widths": "a,b"}, "expected a list"),
    ],
)
def test_conv_denoiser_rejects_bad_config(config, fragment):
    with pytest.raises(ConfigError, match=fragment):
        zoo.create_model("conv-denoiser", **config)


# -- the task -------------------------------------------------------------------
def test_noise_is_clipped_and_psnr_is_in_decibels():
    clean = torch.full((2, 1, 8, 8), 0.5)
    noisy = add_noise(clean, 0.5, torch.Generator().manual_seed(0))
    assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.equal(noisy, clean)
    assert torch.equal(add_noise(clean, 0.0), clean)
    # MSE 0.01 is 20 dB
    assert psnr(clean + 0.1, clean).tolist() == pytest.approx([20.0, 20.0])


def test_denoising_run_reports_metrics_and_draws_pictures(tmp_path):
    run = zoo.train(
        "conv-denoiser",
        epochs=2,
        settings={"classes": "8", "size": 12},
        out=tmp_path / "run",
        verbose=False,
    )
    row = run.history[-1]
    for key in ("loss", "val_loss", "val_denoised_mse", "val_noisy_mse"):
        assert 0 < row[key] < 1
    assert row["val_noisy_psnr"] == pytest.approx(run.history[0]["val_noisy_psnr"])
    assert run.config["config"]["image_size"] == 12  # implied by the dataset
    names = sorted(p.name for p in run.run_dir.iterdir())
    assert {"samples.png", "progress.gif", "loss.png", "model.safetensors"} <= set(names)
    with Image.open(run.run_dir / "progress.gif") as gif:
        assert gif.n_frames == 3  # untrained + one per epoch
    with Image.open(run.run_dir / "samples.png") as picture:
        assert picture.size[1] > picture.size[0]  # one row per held-out image
    lines = (run.run_dir / "metrics.jsonl").read_text().splitlines()
    assert "val_denoised_psnr" in json.loads(lines[-1])


def test_denoising_learns_on_digits(tmp_path):
    run = zoo.train(
        "conv-denoiser",
        epochs=3,
        batch_size=32,
        settings={"size": 12},
        out=tmp_path / "run",
        verbose=False,
    )
    final = run.history[-1]
    assert final["val_denoised_mse"] < final["val_noisy_mse"]
    assert final["val_denoised_psnr"] > final["val_noisy_psnr"]


def test_sigma_is_a_task_option():
    with pytest.raises(ConfigError, match="sigma"):
        zoo.create_task("denoising", sigma=-1.0)
    with pytest.raises(ConfigError, match="samples must be between 1 and 64"):
        zoo.create_task("denoising", samples=1000)
    assert zoo.create_task("denoising", sigma="0.25").sigma == 0.25


# -- using a trained model --------------------------------------------------------
@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = zoo.create_model("conv-denoiser")
    return zoo.save(model, tmp_path / "den.safetensors")


def _image(path, size, mode="L"):
    Image.new(mode, size, "white" if mode == "L" else (200, 10, 10)).save(path)
    return path


def test_denoise_keeps_names_and_sizes(tmp_path, checkpoint):
    a = _image(tmp_path / "a.png", (40, 30))
    b = _image(tmp_path / "b.jpg", (17, 23), "RGB")
    result = invoke("denoise", checkpoint, a, b, "--out", tmp_path / "clean")
    assert result.exit_code == 0, result.output
    assert result.output.split() == [
        str(tmp_path / "clean" / "a.png"),
        str(tmp_path / "clean" / "b.jpg"),
    ]
    with (
        Image.open(tmp_path / "clean" / "a.png") as out_a,
        Image.open(tmp_path / "clean" / "b.jpg") as out_b,
    ):
        assert out_a.size == (40, 30) and out_a.mode == "L"
        assert out_b.size == (17, 23) and out_b.format == "JPEG"


def test_denoise_from_python(tmp_path, checkpoint):
    model = zoo.load(checkpoint)
    assert denoise(model, torch.rand(1, 9, 11)).shape == (1, 9, 11)
    written = denoise_files(checkpoint, [_image(tmp_path / "x.png", (8, 8))], tmp_path / "o")
    assert [p.name for p in written] == ["x.png"]


def test_denoise_errors_name_the_file_and_write_nothing(tmp_path, checkpoint):
    good = _image(tmp_path / "good.png", (10, 10))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    out = tmp_path / "clean"
    assert_one_line_error(invoke("denoise", checkpoint, good, bad, "--out", out), "bad.png")
    assert not (out / "good.png").exists()
    assert_one_line_error(
        invoke("denoise", checkpoint, tmp_path / "missing.png", "--out", out),
        "missing.png",
        "does not exist",
    )
    assert invoke("denoise", checkpoint, good, "--out", out).exit_code == 0
    assert_one_line_error(invoke("denoise", checkpoint, good, "--out", out), "--overwrite")
    assert invoke("denoise", checkpoint, good, "--out", out, "--overwrite").exit_code == 0
    assert_one_line_error(
        invoke("denoise", checkpoint, good, "--out", tmp_path, "--overwrite"), "its own input"
    )
    (tmp_path / "sub").mkdir()
    twin = _image(tmp_path / "sub" / "good.png", (5, 5))
    assert_one_line_error(
        invoke("denoise", checkpoint, good, twin, "--out", tmp_path / "o2"), "both"
    )
    assert_one_line_error(
        invoke("denoise", checkpoint, good, good, "--out", tmp_path / "o3"), "listed twice"
    )


def test_denoise_needs_an_image_model(tmp_path):
    dense = zoo.save(zoo.create_model("dense-ae"), tmp_path / "dense.safetensors")
    image = _image(tmp_path / "a.png", (8, 8))
    assert_one_line_error(invoke("denoise", dense, image, "--out", tmp_path / "o"), "in_channels")
    assert_one_line_error(
        invoke("denoise", tmp_path / "nothing.safetensors", image, "--out", tmp_path / "o"),
        "nothing.safetensors",
    )


def test_denoise_is_listed_as_a_plugin_command():
    assert "denoise" in invoke("--help").output
    listed = json.loads(invoke("list", "commands", "--json").output)
    assert ("denoise", "tasks") in [(row["name"], row["plugin"]) for row in listed]
    assert "CHECKPOINT" in invoke("info", "denoise").output


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"dataset": "blobs"}, "task 'denoising' needs images"),
        ({"task": "denoising", "name": "dense-ae"}, "task 'denoising' needs images"),
        ({"dataset": "digits", "name": "dense-ae"}, "does not fit dataset 'digits'"),
    ],
)
def test_a_model_data_or_task_mismatch_fails_before_a_folder_exists(tmp_path, options, fragment):
    name = options.pop("name", "conv-denoiser")
    with pytest.raises(ConfigError, match=fragment) as caught:
        zoo.train(name, epochs=1, out=tmp_path / "run", verbose=False, **options)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_denoise_reads_every_input_before_writing_any(tmp_path, checkpoint):
    good = _image(tmp_path / "good.png", (10, 10))
    truncated = tmp_path / "cut.png"
    Image.effect_noise((64, 64), 50).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])  # a valid header, then nothing
    out = tmp_path / "clean"
    assert_one_line_error(invoke("denoise", checkpoint, good, truncated, "--out", out), "cut.png")
    assert not out.exists() or not any(out.iterdir())
    tiny = _image(tmp_path / "tiny.png", (5, 3))  # smaller than the encoder's three halvings
    assert invoke("denoise", checkpoint, tiny, "--out", out).exit_code == 0
    with Image.open(out / "tiny.png") as image:
        assert image.size == (5, 3)


def test_denoise_from_python_checks_its_input(tmp_path, checkpoint):
    model = zoo.load(checkpoint)
    one = _image(tmp_path / "one.png", (6, 6))
    assert [p.name for p in denoise_files(checkpoint, str(one), tmp_path / "o")] == ["one.png"]
    assert denoise(checkpoint, torch.rand(1, 9, 9)).shape == (1, 9, 9)  # a path works too
    for images, fragment in (
        (torch.rand(9, 9), "C x H x W or N x C x H x W"),
        (torch.zeros(1, 9, 9, dtype=torch.uint8), "floats in"),
        (torch.rand(3, 9, 9), "takes 1-channel images, got 3"),
        (torch.rand(1, 9, 9) * 255, "values in"),
    ):
        with pytest.raises(ConfigError, match=fragment):
            denoise(model, images)
