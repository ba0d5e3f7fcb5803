"""Typed configuration from defaults, and --set routing across scopes."""

from __future__ import annotations

import pytest

from zoo.config import coerce, parse_settings, resolve_config, route_settings
from zoo.errors import ConfigError

W = "model 'x'"


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("3", 2, 3),
        ("1_000", 2, 1000),
        ("0.5", 1.0, 0.5),
        ("2", 1.0, 2.0),
        ("true", False, True),
        ("No", True, False),
        ("relu", "sigmoid", "relu"),
        ("1,2,3", [1], [1, 2, 3]),
        ("[4, 5]", [1], [4, 5]),
        ('{"a": 1}', {}, {"a": 1}),
        ("null", None, None),
        ("plain", None, "plain"),
    ],
)
def test_strings_are_typed_from_the_default(text, default, expected):
    assert coerce(text, default, key="k", where=W) == expected


@pytest.mark.parametrize(
    ("value", "default", "expected_type"),
    [
        ("1.5", 2, "an integer"),
        ("many", 1.0, "a number"),
        ("inf", 1.0, "a number"),
        ("maybe", True, "a boolean"),
        (True, 3, "an integer"),
        (2.5, 3, "an integer"),
        ("x", [1], r"a list \(each item an integer\)"),
        ("[1", [1], "a list"),
        (3, "s", "a string"),
        ('"a"', {}, "a JSON object"),
    ],
)
def test_bad_values_name_the_expected_type(value, default, expected_type):
    with pytest.raises(ConfigError, match=f"model 'x': k=.* expected {expected_type}"):
        coerce(value, default, key="k", where=W)


def test_python_values_keep_their_exact_types():
    assert coerce(3, 1.0, key="k", where=W) == 3.0
    assert isinstance(coerce(3, 1.0, key="k", where=W), float)
    assert coerce(4.0, 1, key="k", where=W) == 4


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(
        ConfigError, match=r"no option 'hiden' \(did you mean hidden\?\); valid: hidden, width"
    ):
        resolve_config({"hidden": 2, "width": 8}, {"hiden": 3}, where=W)


def test_parse_settings():
    assert parse_settings([" b = x=y"]) == {"b": " x=y"}
    assert parse_settings(["a=1", "a=2"]) == {"a": "2"}
    assert parse_settings(["k=a=b"]) == {"k": "a=b"}
    with pytest.raises(ConfigError, match="--set expects key=value"):
        parse_settings(["hidden"])
    with pytest.raises(ConfigError, match="--set expects key=value"):
        parse_settings(["=3"])


SCOPES = {
    "model": ("model 'm'", {"image_size": 64, "hidden": 2}),
    "dataset": ("dataset 'd'", {"image_size": 28, "n_samples": 500}),
    "init": ("init 'normal'", {"std": 0.02}),
}


def test_plain_keys_go_to_every_scope_that_declares_them():
    routed = route_settings({"image_size": "32", "n_samples": "10", "std": "0.1"}, SCOPES)
    assert routed == {
        "model": {"image_size": 32},
        "dataset": {"image_size": 32, "n_samples": 10},
        "init": {"std": 0.1},
    }


def test_prefixed_keys_go_to_one_scope():
    routed = route_settings({"dataset.image_size": "16"}, SCOPES)
    assert routed["dataset"] == {"image_size": 16} and routed["model"] == {}
    with pytest.raises(ConfigError, match="dataset 'd' has no option 'hidden'"):
        route_settings({"dataset.hidden": "3"}, SCOPES)
    with pytest.raises(ConfigError, match="this run has no task"):
        route_settings({"task.noise": "3"}, SCOPES)


def test_unknown_setting_lists_every_scope():
    with pytest.raises(ConfigError) as caught:
        route_settings({"n_sample": "3"}, SCOPES)
    message = str(caught.value)
    assert "did you mean n_samples?" in message
    assert "model 'm': hidden, image_size" in message and "init 'normal': std" in message


def test_a_dotted_key_with_an_unknown_scope_names_the_scopes():
    with pytest.raises(ConfigError, match=r"'foo' is not a scope.*one of model, dataset, init"):
        route_settings({"foo.bar": "1"}, SCOPES)
