"""DCGAN: the two halves and the pair, the dcgan-normal init, the gan task, and `zoo sample`."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image

import zoo
from tests.cli_helpers import assert_one_line_error, invoke
from zoo.errors import ConfigError, TrainingError
from zoo.trainer import plan_run
from zoo_gan.sampling import interpolate, sample, sample_grid, slerp

# Tiny runs: 32x32 digits, narrow layers, the 178 zeros, a few steps an epoch.
TINY = {"image_size": 32, "base_width": 4, "latent_size": 8, "classes": [0]}


def train_tiny(tmp_path, name="run", **options):
    options.setdefault("epochs", 2)
    options.setdefault("batch_size", 32)
    settings = {**TINY, **options.pop("settings", {})}
    return zoo.train("dcgan", out=tmp_path / name, settings=settings, verbose=False, **options)


# -- the models ----------------------------------------------------------------
def test_default_generator_is_the_chapters_with_the_standard_ending():
    generator = zoo.create_model("dcgan-generator")
    ups = [m for m in generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(u.in_channels, u.out_channels) for u in ups] == [
        (100, 512),
        (512, 256),
        (256, 128),
        (128, 64),
        (64, 3),
    ]
    # The last transposed convolution goes straight into Tanh (no BatchNorm, no ReLU).
    assert isinstance(generator.main[-2], torch.nn.ConvTranspose2d)
    assert isinstance(generator.main[-1], torch.nn.Tanh)
    images = generator(torch.randn(2, 100, 1, 1))
    assert images.shape == (2, 3, 64, 64)
    assert images.min() < -0.01  # the chapter's ending could not go below zero


def test_default_discriminator_is_the_chapters_without_the_sigmoid():
    discriminator = zoo.create_model("dcgan-discriminator")
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (3, 64, 2),
        (64, 128, 2),
        (128, 256, 2),
        (256, 512, 2),
        (512, 1, 1),
    ]
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in discriminator.modules())
    assert discriminator(torch.zeros(5, 3, 64, 64)).shape == (5,)


@pytest.mark.parametrize("image_size", [8, 32, 64])
def test_pair_shapes_follow_the_options(image_size):
    pair = zoo.create_model(
        "dcgan", image_size=image_size, channels=1, base_width=4, latent_size=16
    )
    images = pair(torch.randn(3, 16))
    assert images.shape == (3, 1, image_size, image_size)
    assert pair.discriminator(images).shape == (3,)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"image_size": 48}, "power of two"),
        ({"image_size": 4}, "power of two"),
        ({"channels": 0}, "channels must be >= 1"),
        ({"latent_size": 0}, "latent_size must be >= 1"),
    ],
)
def test_bad_model_options_are_config_errors(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        zoo.create_model("dcgan", **options)


def test_generator_and_discriminator_refuse_wrong_shapes():
    pair = zoo.create_model("dcgan", image_size=32, channels=1, base_width=4, latent_size=8)
    with pytest.raises(ValueError, match="latent vectors shaped N x 8"):
        pair.generator(torch.randn(2, 9))
    with pytest.raises(ValueError, match="N x 1 x 32 x 32"):
        pair.discriminator(torch.zeros(2, 1, 64, 64))


def test_dcgan_normal_init_sets_convs_and_batchnorm():
    torch.manual_seed(0)
    pair = zoo.create_model("dcgan")
    assert pair.zoo_spec.init == "dcgan-normal"
    convs = [
        m for m in pair.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ]
    weights = torch.cat([c.weight.flatten() for c in convs])
    assert abs(weights.mean().item()) < 1e-3 and abs(weights.std().item() - 0.02) < 1e-3
    norms = [m for m in pair.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    scales = torch.cat([n.weight for n in norms])
    assert abs(scales.mean().item() - 1) < 0.01 and abs(scales.std().item() - 0.02) < 0.005
    assert all(n.bias.abs().max() == 0 for n in norms)


# -- the gan task ---------------------------------------------------------------
def test_gan_run_trains_both_halves_and_writes_its_pictures(tmp_path):
    torch.manual_seed(0)
    initial = zoo.create_model("dcgan", image_size=32, channels=1, base_width=4, latent_size=8)
    run = train_tiny(tmp_path)
    assert set(run.metrics) >= {"loss_d", "loss_g", "d_real", "d_fake"}
    assert all(math.isfinite(run.metrics[k]) for k in ("loss_d", "loss_g"))
    assert 0 < run.metrics["d_real"] < 1 and 0 < run.metrics["d_fake"] < 1
    # Both optimizers stepped: every layer of both halves moved from the same init.
    before, after = initial.state_dict(), run.model.state_dict()
    for half in ("generator", "discriminator"):
        weights = [k for k in after if k.startswith(half) and k.endswith("weight")]
        assert weights and all(not torch.equal(before[k], after[k]) for k in weights)
    names = {p.name for p in run.run_dir.iterdir()}
    assert {"model.safetensors", "samples.png", "progress.gif", "loss.png"} <= names
    with Image.open(run.run_dir / "progress.gif") as gif:
        assert gif.n_frames == 3  # before training and after each of 2 epochs
    plan = json.loads((run.run_dir / "config.json").read_text())
    assert plan["dataset"]["options"]["size"] == 32 and plan["val_fraction"] == 0.0
    assert plan["loss"]["name"] == "bce-with-logits" and plan["lr"] == 8e-4


def test_optimizers_take_the_chapters_betas_and_per_half_rates():
    pair = zoo.create_model("dcgan", image_size=32, channels=1, base_width=4, latent_size=8)
    task = zoo.create_task("gan", generator_lr=0.0002)
    optimizers = task.configure_optimizers(pair, 0.0008)
    assert optimizers["generator"].param_groups[0]["lr"] == 0.0002
    assert optimizers["discriminator"].param_groups[0]["lr"] == 0.0008
    assert optimizers["generator"].param_groups[0]["betas"] == (0.5, 0.999)
    generator_ids = {id(p) for p in pair.generator.parameters()}
    assert {id(p) for p in optimizers["generator"].param_groups[0]["params"]} == generator_ids


def test_pair_checkpoint_rebuilds_both_halves(tmp_path):
    run = train_tiny(tmp_path, epochs=1)
    loaded = zoo.load(run.checkpoint)
    assert loaded.zoo_spec.name == "dcgan" and loaded.zoo_spec.task == "gan"
    for half in ("generator", "discriminator"):
        mine, theirs = getattr(run.model, half).state_dict(), getattr(loaded, half).state_dict()
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k].cpu(), theirs[k]) for k in mine)


def test_held_out_images_give_held_out_figures(tmp_path):
    run = train_tiny(tmp_path, epochs=1, val_fraction=0.25)
    assert {"val_loss_d", "val_loss_g", "val_d_real", "val_d_fake"} <= set(run.metrics)


def test_frames_every_n_steps(tmp_path):
    # 178 zeros in batches of 32: 6 steps an epoch, 12 in all; a frame every 4 steps.
    run = train_tiny(tmp_path, settings={"frame_every": 4})
    with Image.open(run.run_dir / "progress.gif") as gif:
        assert gif.n_frames == 1 + 3  # before training, then steps 4, 8 and 12


def test_training_a_half_alone_says_to_train_the_pair():
    result = invoke("train", "dcgan-generator", "--epochs", "1")
    assert_one_line_error(result, "dcgan-generator", "a generator alone", "dcgan")


def test_gan_on_tabular_data_is_one_line():
    result = invoke("train", "dcgan", "--dataset", "blobs")
    assert_one_line_error(result, "task 'gan' needs images")


def test_non_finite_gan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from zoo_gan.task import GAN

    original = GAN.training_step

    def breaks_in_epoch_two(self, model, batch, step):
        metrics = original(self, model, batch, step)
        if step.epoch == 2:
            metrics["loss_g"] = torch.tensor(float("nan"))
        return metrics

    monkeypatch.setattr(GAN, "training_step", breaks_in_epoch_two)
    with pytest.raises(TrainingError, match=r"loss_g became non-finite .* \(epoch 2\).*epoch 1"):
        train_tiny(tmp_path, epochs=3)
    kept = zoo.inspect_checkpoint(tmp_path / "run" / "model.safetensors")
    assert kept["metadata"]["metrics"]["epoch"] == 1


def test_model_image_size_sets_the_image_datasets_size():
    assert plan_run("dcgan", settings={"image_size": 32})["dataset"]["options"]["size"] == 32
    assert plan_run("dcgan")["dataset"]["options"]["size"] == 64
    assert plan_run("conv-denoiser", config={"image_size": 16})["dataset"]["options"]["size"] == 16
    # The dataset's own size wins, and then a different image_size is refused at prepare.
    plan = plan_run("dcgan", settings={"image_size": 32, "dataset.size": 16})
    assert plan["dataset"]["options"]["size"] == 16


def test_log_every_prints_the_step_metrics(tmp_path, capsys):
    train_tiny(tmp_path, epochs=1, log_every=2, settings={})
    assert capsys.readouterr().err == ""  # verbose=False prints nothing
    zoo.train(
        "dcgan",
        out=tmp_path / "loud",
        epochs=1,
        batch_size=32,
        log_every=2,
        settings=TINY,
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if "step " in line]
    assert len(lines) == 3 and lines[0].startswith("epoch 1/1  step 2  loss_d ")
    assert "d_fake" in lines[0]


def test_info_shows_the_layers_of_both_halves():
    result = invoke("info", "dcgan", "--json")
    assert result.exit_code == 0, result.output
    layers = [row["layer"] for row in json.loads(result.output)["layers"]]
    assert layers[0].startswith("generator.") and layers[-1].startswith("discriminator.")


# -- sampling -------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gan")
    return train_tiny(folder, epochs=1).checkpoint


def test_sampling_is_deterministic_for_a_seed(trained):
    first, again = sample(trained, 6, seed=3), sample(trained, 6, seed=3)
    assert first.shape == (6, 1, 32, 32) and torch.equal(first, again)
    assert first.min() >= 0 and first.max() <= 1
    assert not torch.equal(first, sample(trained, 6, seed=4))


def test_a_generator_only_checkpoint_samples_the_same_images(trained, tmp_path):
    pair = zoo.load(trained)
    generator = zoo.create_model("dcgan-generator", **pair.zoo_spec.config)
    generator.load_state_dict(pair.generator.state_dict())
    path = zoo.save(generator, tmp_path / "generator.safetensors")
    assert torch.equal(sample(path, 5, seed=1), sample(trained, 5, seed=1))


def test_zoo_sample_writes_a_grid_and_refuses_to_overwrite(trained, tmp_path):
    out = tmp_path / "grid.png"
    result = invoke("sample", trained, "-n", "9", "--seed", "2", "-o", out)
    assert result.exit_code == 0, result.output
    with Image.open(out) as picture:
        first = picture.tobytes()
        assert picture.width > 3 * 32 and picture.height > 3 * 32
    assert_one_line_error(invoke("sample", trained, "-n", "9", "-o", out), "exists", "--overwrite")
    again = invoke("sample", trained, "-n", "9", "--seed", "2", "-o", out, "--overwrite")
    assert again.exit_code == 0, again.output
    with Image.open(out) as picture:
        assert picture.tobytes() == first


def test_zoo_sample_interpolate_writes_a_looping_gif(trained, tmp_path):
    out = tmp_path / "walk.gif"
    result = invoke(
        "sample", trained, "--interpolate", "-n", "4", "--points", "3", "--steps", "5", "-o", out
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.info.get("loop") == 0
        durations = []
        for index in range(gif.n_frames):  # (identical neighbours are merged into one frame)
            gif.seek(index)
            durations.append(gif.info["duration"])
    assert sum(durations) == 3 * 5 * 400  # 3 points, 5 frames between each, 0.4 s a frame


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-o", "grid.gif"], "must end in .png or .jpg or .jpeg"),
        (["--interpolate", "-o", "walk.png"], "must end in .gif"),
    ],
)
def test_zoo_sample_output_names_are_checked(trained, in_tmp, args, fragment):
    assert_one_line_error(invoke("sample", trained, *args), fragment)


def test_zoo_sample_checks_the_checkpoint_before_the_output(in_tmp):
    (in_tmp / "samples.png").write_bytes(b"mine")
    assert_one_line_error(invoke("sample", "nothere.safetensors"), "no such file")
    assert_one_line_error(
        invoke("sample", "nothere.safetensors", "-o", "new/x.png"), "no such file"
    )
    assert not (in_tmp / "new").exists()
    assert (in_tmp / "samples.png").read_bytes() == b"mine"


def test_walk_options_need_interpolate(trained):
    assert_one_line_error(invoke("sample", trained, "--steps", "3"), "--interpolate")


def test_gan_refuses_a_loss_that_needs_probabilities():
    result = invoke("train", "dcgan", "--loss", "bce")
    assert_one_line_error(result, "loss 'bce' does not suit task 'gan'", "bce-with-logits")


def test_a_dataset_size_the_model_cannot_take_names_the_dataset():
    result = invoke("train", "dcgan", "--set", "size=28")
    assert_one_line_error(result, "power of two", "image_size=28 comes from dataset 'digits'")


def test_zoo_sample_refuses_a_model_that_is_not_a_generator(tmp_path):
    path = zoo.save(zoo.create_model("conv-denoiser"), tmp_path / "denoiser.safetensors")
    assert_one_line_error(invoke("sample", path), "conv-denoiser", "is not a generator")


def test_python_grid_and_interpolation(trained, tmp_path):
    assert sample_grid(trained, tmp_path / "g.jpg", 4, seed=1).exists()
    gif = interpolate(trained, tmp_path / "w.gif", 2, points=2, steps=2)
    with Image.open(gif) as animation:
        assert animation.info.get("loop") == 0


def test_slerp_ends_at_its_endpoints_and_keeps_the_length():
    start, end = torch.randn(3, 50), torch.randn(3, 50)
    assert torch.allclose(slerp(start, end, 0.0), start, atol=1e-5)
    assert torch.allclose(slerp(start, end, 1.0), end, atol=1e-5)
    middle = slerp(start, end, 0.5).norm(dim=1)
    straight = ((start + end) / 2).norm(dim=1)
    assert (middle > straight).all()


def test_loss_png_with_panels_and_with_nothing_to_draw(tmp_path):
    from zoo.plots import plot_history

    history = [
        {"epoch": 1, "loss_d": 1.0, "d_real": 0.6},
        {"epoch": 2, "loss_d": 0.9, "d_real": 0.7},
    ]
    panels = {"loss": ("loss_d",), "D(x)": ("d_real",)}
    with Image.open(plot_history(history, tmp_path / "two.png", panels=panels)) as two:
        wide = two.width
    # A task whose metrics have no "loss" in their names still gets a (blank) chart.
    errors = [{"epoch": 1, "error": 0.5}]
    with Image.open(plot_history(errors, tmp_path / "blank.png")) as blank:
        assert wide > 1.5 * blank.width


# -- nothing trained is lost; mistakes are one line -------------------------------
def test_a_picture_that_cannot_be_written_is_a_warning_not_a_lost_run(
    tmp_path, monkeypatch, capsys
):
    from zoo_gan.task import GAN

    def disk_full(self, model, run):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(GAN, "finish", disk_full)
    run = train_tiny(tmp_path, epochs=1)
    assert "could not draw its pictures at the end" in capsys.readouterr().err
    saved = zoo.inspect_checkpoint(run.checkpoint)["metadata"]["metrics"]
    assert saved["epoch"] == 1 and "loss_g" in saved


def test_ctrl_c_keeps_the_pictures_drawn_so_far(tmp_path, monkeypatch):
    from zoo_gan.task import GAN

    original = GAN.training_step

    def interrupted_in_epoch_three(self, model, batch, step):
        if step.epoch == 3:
            raise KeyboardInterrupt
        return original(self, model, batch, step)

    monkeypatch.setattr(GAN, "training_step", interrupted_in_epoch_three)
    with pytest.raises(KeyboardInterrupt):
        train_tiny(tmp_path, epochs=5)
    folder = tmp_path / "run"
    with Image.open(folder / "progress.gif") as gif:
        assert gif.n_frames == 4  # before training, epochs 1 and 2, and the interrupt
    metadata = zoo.inspect_checkpoint(folder / "model.safetensors")["metadata"]
    assert metadata["metrics"]["interrupted_in_epoch"] == 3
    assert (folder / "samples.png").exists()


def test_seeds_beyond_what_torch_takes_are_one_line(trained):
    too_big = str(2**64)
    assert_one_line_error(invoke("sample", trained, "--seed", too_big), "--seed")
    assert_one_line_error(invoke("train", "dcgan", "--seed", too_big), "--seed")
    with pytest.raises(ConfigError, match="seed must be a whole number"):
        sample(trained, 2, seed=2**63)


def test_a_generator_with_nan_weights_is_refused(trained, tmp_path):
    pair = zoo.load(trained)
    with torch.no_grad():
        next(pair.generator.parameters()).fill_(float("nan"))
    path = zoo.save(pair, tmp_path / "nan.safetensors")
    result = invoke("sample", path, "-o", tmp_path / "nan.png")
    assert_one_line_error(result, "non-finite values")
    assert not (tmp_path / "nan.png").exists()


def test_an_output_under_a_file_is_one_line(trained, tmp_path):
    (tmp_path / "one.png").write_bytes(b"x")
    result = invoke("sample", trained, "-o", tmp_path / "one.png" / "x.png")
    assert_one_line_error(result, "cannot create the folder")


def test_pictures_too_large_are_refused_before_any_work(trained, tmp_path):
    big = zoo.create_model("dcgan-generator", image_size=1024, base_width=1, latent_size=2)
    path = zoo.save(big, tmp_path / "big.safetensors")
    assert_one_line_error(invoke("sample", path, "-n", "1024"), "larger than zoo writes")
    walk = invoke(
        "sample", trained, "--interpolate", "-n", "1024", "--points", "64", "--steps", "120"
    )
    assert_one_line_error(walk, "million pixels in memory", "--points")
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.gif"))


def test_large_training_pictures_are_shrunk_to_fit():
    from zoo_gan.latent import grid

    picture = grid(torch.rand(16, 1, 512, 512), max_side=1024)
    assert picture.width <= 1024 and picture.height <= 1024
