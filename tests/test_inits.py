"""Init schemes: what each does to conv and linear layers, options, and records."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import zoo
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
        ("normal", {"std": -1.0}, "std must be > 0"),
        ("normal", {"std": "wide"}, "expected a number"),
        ("normal", {"sd": 0.1}, "did you mean std"),
        ("kaiming-normal", {"mode": "fan_middle"}, "fan_in or fan_out"),
        ("xavier-uniform", {"gain": 0.0}, "gain must be > 0"),
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
