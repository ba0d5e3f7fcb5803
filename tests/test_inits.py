"""Init schemes: what each does to conv and linear layers, options, and records."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

import zoo
from tests.cli_helpers import assert_one_line_error, invoke
from zoo.errors import ConfigError


def layers() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.Flatten(), nn.Linear(256, 512))


def test_default_leaves_the_model_as_built():
    model = layers()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    zoo.apply_init(model, "default")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_xavier_uniform_bounds_and_zero_biases():
    model = layers()
    zoo.apply_init(model, "xavier-uniform")
    linear = model[3]
    bound = math.sqrt(6 / (256 + 512))
    assert linear.weight.abs().max() <= bound and linear.weight.abs().max() > 0.9 * bound
    assert torch.count_nonzero(linear.bias) == 0 and torch.count_nonzero(model[0].bias) == 0
    assert torch.equal(model[1].weight, torch.ones(64))  # batch norm untouched


def test_kaiming_normal_std_matches_fan_in():
    model = layers()
    zoo.apply_init(model, "kaiming-normal")
    assert model[3].weight.std().item() == pytest.approx(math.sqrt(2 / 256), rel=0.05)


def test_normal_uses_its_std_option():
    model = layers()
    zoo.apply_init(model, "normal", std=0.1)
    assert model[3].weight.std().item() == pytest.approx(0.1, rel=0.05)
    assert torch.count_nonzero(model[3].bias) == 0


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("normal", {"std": -1.0}, "std must be a finite number > 0"),
        ("normal", {"std": "wide"}, "expected a number"),
        ("normal", {"sd": 0.1}, "did you mean std"),
        ("kaiming-normal", {"mode": "fan_middle"}, "one of fan_in, fan_out"),
        ("xavier-uniform", {"gain": 0.0}, "gain must be a finite number > 0"),
        ("xavier-normal", {"gain": -1.0}, "gain must be a finite number > 0"),
        ("orthogonal", {"gain": 0}, r"gain must be a finite number > 0 \(default 1.0\), got 0.0"),
        ("normal", {"mean": float("nan")}, "mean must be a finite number"),
        ("normal", {"std": float("inf")}, "std must be a finite number > 0"),
        ("dcgan-normal", {"std": 0.0}, "std must be a finite number > 0"),
        ("kaiming-uniform", {"mode": "fan_middle"}, "mode must be one of fan_in, fan_out"),
        ("kaiming-uniform", {"nonlinearity": "gelu"}, "one of relu, leaky_relu"),
        ("kaiming-uniform", {"a": 0.2}, "only applies with nonlinearity=leaky_relu"),
        ("kaiming-normal", {"a": "steep"}, "expected a number"),
    ],
)
def test_bad_options_are_config_errors(name, options, message):
    with pytest.raises(ConfigError, match=message):
        zoo.apply_init(layers(), name, **options)


def test_apply_init_after_building_is_what_save_records(tmp_path):
    model = zoo.create_model("dense-ae")
    zoo.apply_init(model, "xavier-uniform", gain=2.0)
    loaded = zoo.load(zoo.save(model, tmp_path / "m.safetensors"))
    assert loaded.zoo_spec.init == "xavier-uniform" and loaded.zoo_spec.init_options == {
        "gain": 2.0
    }


def test_create_model_records_the_init_and_its_options(tmp_path):
    model = zoo.create_model("dense-ae", init="normal", init_options={"std": 0.5})
    assert model.zoo_spec.init == "normal" and model.zoo_spec.init_options == {
        "mean": 0.0,
        "std": 0.5,
    }
    loaded = zoo.load(zoo.save(model, tmp_path / "m.safetensors"))
    assert loaded.zoo_spec.init == "normal" and loaded.zoo_spec.init_options["std"] == 0.5


WEIGHT_SCHEMES = (
    "xavier-uniform",
    "xavier-normal",
    "kaiming-uniform",
    "kaiming-normal",
    "orthogonal",
    "normal",
)
ALL_SCHEMES = ("default", *WEIGHT_SCHEMES, "dcgan-normal")
SENTINEL = 0.5


def mixed() -> nn.Sequential:
    """Every layer type the schemes tell apart; the others hold a sentinel value."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.BatchNorm2d(16),
        nn.ConvTranspose2d(16, 8, 3),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 32),
        nn.LayerNorm(32),
        nn.Embedding(10, 32),
    )
    with torch.no_grad():
        for layer in (model[1], model[5], model[6]):
            for parameter in layer.parameters():
                parameter.fill_(SENTINEL)
    return model


def untouched(layer: nn.Module) -> bool:
    return all(bool((p == SENTINEL).all()) for p in layer.parameters())


@pytest.mark.parametrize("name", WEIGHT_SCHEMES)
def test_weight_schemes_set_conv_and_linear_zero_their_biases_and_leave_the_rest(name):
    model = mixed()
    before = [model[i].weight.clone() for i in (0, 2, 4)]
    zoo.apply_init(model, name)
    for index, old in zip((0, 2, 4), before, strict=True):
        assert not torch.equal(model[index].weight, old), f"layer {index} was not set"
        assert torch.count_nonzero(model[index].bias) == 0
    assert untouched(model[1]) and untouched(model[5]) and untouched(model[6])


def test_dcgan_normal_follows_the_chapter():
    model = mixed()
    linear, conv_biases = model[4].weight.clone(), [model[0].bias.clone(), model[2].bias.clone()]
    zoo.apply_init(model, "dcgan-normal", std=0.05)
    conv = model[0].weight
    assert conv.mean().abs() < 0.01 and conv.std().item() == pytest.approx(0.05, rel=0.1)
    assert model[2].weight.std().item() == pytest.approx(0.05, rel=0.1)
    batch_norm = model[1]
    assert batch_norm.weight.mean().item() == pytest.approx(1.0, abs=0.03)
    assert 0 < batch_norm.weight.std().item() < 0.1
    assert torch.count_nonzero(batch_norm.bias) == 0
    # The chapter's weights_init sets conv weights and BatchNorm only: conv biases and
    # linear layers keep PyTorch's initialisation.
    assert torch.equal(model[4].weight, linear)
    assert torch.equal(model[0].bias, conv_biases[0]) and torch.equal(model[2].bias, conv_biases[1])
    assert untouched(model[5]) and untouched(model[6])


def test_xavier_normal_std_follows_the_fans_and_gain():
    model = layers()
    zoo.apply_init(model, "xavier-normal", gain=2.0)
    linear, conv = model[3].weight, model[0].weight
    assert linear.mean().abs() < 0.005
    assert linear.std().item() == pytest.approx(2.0 * math.sqrt(2 / (256 + 512)), rel=0.02)
    conv_fans = 3 * 9 + 64 * 9  # a conv's fans count its 3×3 kernel
    assert conv.std().item() == pytest.approx(2.0 * math.sqrt(2 / conv_fans), rel=0.1)


@pytest.mark.parametrize(
    ("options", "bound"),
    [
        ({}, math.sqrt(2) * math.sqrt(3 / 256)),
        ({"mode": "fan_out"}, math.sqrt(2) * math.sqrt(3 / 512)),
        ({"nonlinearity": "leaky_relu", "a": 0.2}, math.sqrt(2 / 1.04) * math.sqrt(3 / 256)),
        ({"nonlinearity": "linear"}, math.sqrt(3 / 256)),
    ],
)
def test_kaiming_uniform_bound(options, bound):
    model = layers()
    zoo.apply_init(model, "kaiming-uniform", **options)
    largest = model[3].weight.abs().max().item()
    assert 0.99 * bound < largest <= bound


def test_kaiming_uniform_counts_a_conv_kernel_in_its_fan():
    model = layers()
    zoo.apply_init(model, "kaiming-uniform")
    bound = math.sqrt(2) * math.sqrt(3 / (3 * 3 * 3))  # fan_in = in_channels·kh·kw
    assert 0.95 * bound < model[0].weight.abs().max().item() <= bound


def test_kaiming_normal_leaky_relu_slope():
    model = layers()
    zoo.apply_init(model, "kaiming-normal", nonlinearity="leaky_relu", a=0.5)
    expected = math.sqrt(2 / (1 + 0.5**2)) / math.sqrt(256)
    assert model[3].weight.std().item() == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal_rows_of_a_square_linear_and_a_flattened_conv(gain):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.Conv2d(8, 16, 3), nn.Linear(4, 16))
    zoo.apply_init(model, "orthogonal", gain=gain)
    square = model[0].weight
    assert torch.allclose(square @ square.T, gain**2 * torch.eye(64), atol=1e-4)
    kernel = model[1].weight.reshape(16, -1)  # [16, 8·3·3]: fewer rows than columns
    assert torch.allclose(kernel @ kernel.T, gain**2 * torch.eye(16), atol=1e-4)
    tall = model[2].weight  # [16, 4]: more rows than columns, so the columns are orthonormal
    assert torch.allclose(tall.T @ tall, gain**2 * torch.eye(4), atol=1e-4)
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in model)


def test_normal_uses_its_mean_option():
    model = layers()
    zoo.apply_init(model, "normal", mean=0.3, std=0.01)
    assert model[3].weight.mean().item() == pytest.approx(0.3, abs=0.001)


def test_a_bad_option_fails_before_any_weight_changes():
    model = mixed()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ConfigError, match="std must be"):
        zoo.apply_init(model, "normal", std=-1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_lazy_layer_is_a_clear_error():
    with pytest.raises(ConfigError, match="run one forward pass before applying an init"):
        zoo.apply_init(nn.Sequential(nn.LazyLinear(3)), "orthogonal")


@pytest.mark.parametrize("name", ALL_SCHEMES)
@pytest.mark.parametrize("model_name", ["dense-ae", "conv-denoiser"])
def test_every_scheme_builds_every_chapter_model(name, model_name):
    model = zoo.create_model(model_name, init=name)
    assert model.zoo_spec.init == name
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())


def test_zoo_list_inits_shows_the_eight_with_their_descriptions():
    table = invoke("list", "inits")
    assert table.exit_code == 0, table.output
    rows = {line.split()[0]: line for line in table.output.splitlines()[1:] if line.strip()}
    assert set(rows) == set(ALL_SCHEMES)
    for entry in zoo.list_entries("init"):
        assert entry.summary and "\n" not in entry.summary
        assert entry.summary in rows[entry.name], rows[entry.name]


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (("--init", "normal", "--set", "init.std=-1"), ("std must be a finite number > 0", "-1.0")),
        (("--init", "normal", "--set", "init.std=abc"), ("std='abc'", "expected a number")),
        (("--init", "normal", "--set", "init.bogus=1"), ("no option 'bogus'", "valid: mean, std")),
        (("--init", "orthogonal", "--set", "init.gain=0"), ("gain must be a finite number > 0",)),
        (
            ("--init", "kaiming-uniform", "--set", "init.mode=fan_middle"),
            ("mode must be one of fan_in, fan_out", "'fan_middle'"),
        ),
        (
            ("--init", "kaiming-normal", "--set", "init.a=0.1"),
            ("only applies with nonlinearity=leaky_relu",),
        ),
        (("--set", "init.std=0.1"), ("init 'default' has no option 'std'",)),
        (("--init", "xavier"), ("did you mean xavier-normal, xavier-uniform?",)),
    ],
)
def test_bad_init_options_on_the_command_line(tmp_path, arguments, fragments):
    run_dir = tmp_path / "run"
    result = invoke("train", "dense-ae", *arguments, "--epochs", 1, "-q", "--out", run_dir)
    assert_one_line_error(result, *fragments)
    assert not run_dir.exists()  # refused before a run folder (or any training) was made


def test_the_run_records_the_init_in_config_checkpoint_and_inspect(tmp_path):
    run_dir = tmp_path / "run"
    result = invoke(
        "train", "dense-ae", "--init", "orthogonal", "--set", "init.gain=2", "--epochs", 1,
        "-q", "--out", run_dir,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((run_dir / "config.json").read_text())
    assert config["init"] == {"name": "orthogonal", "options": {"gain": 2.0}}
    spec = zoo.load(run_dir / "model.safetensors").zoo_spec
    assert spec.init == "orthogonal" and spec.init_options == {"gain": 2.0}
    shown = invoke("inspect", run_dir / "model.safetensors").output
    assert "init: orthogonal" in shown and 'init_options: {"gain": 2.0}' in shown


CHAPTER_INIT = '''
"""docs/inits.md's example plugin: the chapter's mixed weights_init."""

from torch import nn

import zoo


def conv_normal_linear_xavier(module, std=0.1):
    """The chapter's weights_init: conv N(0, std), linear xavier-uniform, zero biases."""
    if not std > 0:
        raise ValueError(f"std must be a number > 0, got {std}")
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, mean=0.0, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


@zoo.hookimpl
def register_inits(register):
    register(
        "chapter-mixed",
        conv_normal_linear_xavier,
        defaults={"std": 0.1},
        summary="Conv weights N(0, std), linear weights xavier-uniform, zero biases.",
    )
'''


def test_a_third_party_init_plugin_lists_applies_and_is_validated(make_plugin, tmp_path):
    make_plugin("zoo-plugin-chapter-init", "zoo_chapter_init", CHAPTER_INIT)
    assert "Conv weights N(0, std), linear weights xavier-uniform" in invoke("list", "inits").output
    model = layers()
    zoo.apply_init(model, "chapter-mixed", std=0.3)
    assert model[0].weight.std().item() == pytest.approx(0.3, rel=0.1)
    assert model[3].weight.abs().max().item() <= math.sqrt(6 / (256 + 512))
    run_dir = tmp_path / "run"
    result = invoke(
        "train", "dense-ae", "--init", "chapter-mixed", "--set", "init.std=0", "--out", run_dir
    )
    assert_one_line_error(result, "init 'chapter-mixed' from", "std must be a number > 0")
    assert not run_dir.exists()


def test_bad_init_values_are_refused_while_the_run_is_planned():
    from zoo.trainer import plan_run

    # plan_run reads no data: a bad value must not wait for the dataset.
    with pytest.raises(ConfigError, match="std must be a finite number > 0"):
        plan_run("dense-ae", init="normal", init_options={"std": -1.0})
    with pytest.raises(ConfigError, match="mode must be one of fan_in, fan_out"):
        plan_run("conv-denoiser", init="kaiming-uniform", settings={"init.mode": "fan_middle"})
    assert plan_run("dense-ae", init="orthogonal")["init"]["options"] == {"gain": 1.0}
