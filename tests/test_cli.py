"""The `zoo` command through click's CliRunner: output, JSON, and one-line errors."""

from __future__ import annotations

import json

import pytest

import zoo
from tests.cli_helpers import assert_one_line_error, invoke


def test_version_and_help():
    assert invoke("--version").output.strip() == f"zoo, version {zoo.__version__}"
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("list", "info", "plugins", "train", "inspect"):
        assert command in result.output


def test_bare_zoo_prints_help_and_succeeds():
    result = invoke()
    assert result.exit_code == 0 and "Commands:" in result.output


def test_long_docstrings_are_shortened_in_text_but_whole_in_json():
    text = invoke("info", "huber").output
    assert "more lines: zoo info --json" in text
    assert len(json.loads(invoke("info", "huber", "--json").output)["doc"].splitlines()) > 24


def test_json_output_is_strict_even_with_nan_metrics(tmp_path):
    path = zoo.save(
        zoo.create_model("dense-ae"), tmp_path / "m.safetensors", metrics={"x": float("nan")}
    )
    out = invoke("inspect", str(path), "--json").output
    assert "NaN" not in out and json.loads(out)["metadata"]["metrics"] == {"x": None}


def test_shuffle_and_workers_flags_reach_the_run(tmp_path):
    out = tmp_path / "run"
    args = ["train", "dense-ae", "-q", "--epochs", "1", "--no-shuffle", "--workers", "0"]
    assert invoke(*args, "--set", "n_samples=60", "--out", str(out)).exit_code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["shuffle"] is False and config["workers"] == 0


def test_list_shows_every_kind_with_its_plugin():
    result = invoke("list")
    assert result.exit_code == 0
    header, *rows = result.output.splitlines()
    assert header.split() == ["NAME", "KIND", "SUMMARY", "PLUGIN"]
    names = {row.split()[0]: row for row in rows}
    assert {"dense-ae", "blobs", "reconstruction", "normal", "mse"} <= set(names)
    assert names["dense-ae"].split()[1] == "model" and "zoo 0.1.0" in names["dense-ae"]


def test_list_filters_by_kind_and_pattern():
    models = [r.split()[0] for r in invoke("list", "models").output.splitlines()[1:]]
    assert [m for m in models if not m.startswith("timm/")] == [
        "conv-denoiser",
        "dcgan",
        "dcgan-discriminator",
        "dcgan-generator",
        "dense-ae",
        "fusion",
        "fusion-cnn",
        "simple-cnn",
    ]
    inits = invoke("list", "inits", "*normal").output
    assert "kaiming-normal" in inits and "xavier-uniform" not in inits
    assert "dense-ae" in invoke("list", "dense*").output
    assert invoke("list", "models", "nothing*").output.strip() == "no models match 'nothing*'"
    assert_one_line_error(invoke("list", "modelz", "x"), "unknown kind 'modelz'")


def test_list_json_has_stable_keys():
    rows = {row["name"]: row for row in json.loads(invoke("list", "models", "--json").output)}
    assert rows["dense-ae"]["distribution"] == "zoo"
    assert rows["dense-ae"]["defaults"] == {
        "in_features": 3,
        "hidden": 2,
        "output_activation": "sigmoid",
    }


def test_info_shows_options_docs_layers_and_parameters():
    result = invoke("info", "dense-ae")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Options (defaults" in out and "output_activation" in out
    assert "Layers for 1 sample(s) of blobs" in out
    assert "encoder.0  Linear   [1, 2]  8" in out
    assert "Parameters: 17 (17 trainable)" in out
    described = json.loads(invoke("info", "dense-ae", "--json").output)
    assert described["parameters"] == 17 and len(described["layers"]) == 4


def test_info_on_other_kinds_and_unknown_names():
    assert "std" in invoke("info", "normal").output
    assert "Mean squared error" in invoke("info", "mse").output
    assert_one_line_error(invoke("info", "dense-aa"), "did you mean dense-ae?")


def test_plugins_lists_each_distribution():
    out = invoke("plugins").output
    assert "autoencoders" in out and "2 models" in out and "ok" in out
    rows = json.loads(invoke("plugins", "--json").output)
    assert {row["name"] for row in rows} >= {"core", "autoencoders", "datasets", "inits", "tasks"}


def test_train_writes_a_run_folder(tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "train", "dense-ae", "--epochs", "2", "--set", "n_samples=60", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "epoch 2/2" in result.stderr and f"run folder: {out}" in result.stdout
    assert (out / "model.safetensors").exists() and (out / "codes.png").exists()
    quiet = invoke(
        "train",
        "dense-ae",
        "-q",
        "--epochs",
        "1",
        "--set",
        "n_samples=60",
        "--out",
        str(tmp_path / "q"),
    )
    assert quiet.exit_code == 0 and quiet.output == ""


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "dense-aa"], ["unknown model 'dense-aa'", "did you mean dense-ae?"]),
        (["train", "dense-ae", "--set", "hiden=3"], ["unknown setting 'hiden'", "valid keys"]),
        (["train", "dense-ae", "--set", "hidden=two"], ["hidden='two'", "expected an integer"]),
        (["train", "dense-ae", "--set", "hidden"], ["--set expects key=value"]),
        (["train", "dense-ae", "--set", "lr=0.1"], ["'lr' is a training option", "--lr 0.1"]),
        (["train", "dense-ae", "--set", "hidden=-1"], ["hidden must be >= 1, got 3 and -1"]),
        (
            ["train", "simple-cnn", "--set", "loss.label_smoothing=2", "--set", "size=8"],
            ["refused its options (label_smoothing=2.0)", "change --set loss.label_smoothing"],
        ),
        (["train", "dense-ae", "--nproc", "0"], ["--nproc", "x>=1"]),
        (["train", "dense-ae", "--epochs", "0"], ["--epochs", "see 'zoo train --help'"]),
        (["train", "dense-ae", "--lr", "abc"], ["--lr"]),
        (["train", "dense-ae", "--device", "cuda:7"], ["cuda:7"]),
        (["train", "dense-ae", "--dataset", "mnistt"], ["unknown dataset 'mnistt'"]),
        (["train", "dense-ae", "--bogus"], ["No such option '--bogus'"]),
        (["trian"], ["No such command 'trian'"]),
        (["inspect", "missing.safetensors"], ["missing.safetensors: no such file"]),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(args, fragments):
    assert_one_line_error(invoke(*args), *fragments)


def test_out_folder_with_a_run_is_refused(tmp_path):
    out = tmp_path / "run"
    assert (
        invoke(
            "train", "dense-ae", "-q", "--epochs", "1", "--set", "n_samples=60", "--out", str(out)
        ).exit_code
        == 0
    )
    assert_one_line_error(
        invoke("train", "dense-ae", "--epochs", "1", "--out", str(out)), "already holds a run"
    )


def test_inspect_shows_metadata_and_tensors(tmp_path):
    path = zoo.save(zoo.create_model("dense-ae"), tmp_path / "m.safetensors")
    result = invoke("inspect", str(path))
    assert result.exit_code == 0
    assert "model: dense-ae" in result.output and "encoder.0.weight" in result.output
    described = json.loads(invoke("inspect", str(path), "--json").output)
    assert described["metadata"]["config"]["hidden"] == 2 and described["parameters"] == 17
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 100)
    assert_one_line_error(invoke("inspect", str(garbage)), "not a safetensors file")


@pytest.mark.filterwarnings("default::zoo.errors.ZooPluginWarning")
def test_a_broken_plugin_gives_one_warning_and_commands_still_work(make_plugin):
    make_plugin(
        "zoo-plugin-broken", "zoo_cli_broken", "raise ImportError('missing dependency xyz')"
    )
    result = invoke("list", "models")
    assert result.exit_code == 0
    assert "dense-ae" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("zoo: warning:")]
    assert len(warnings) == 1
    assert "zoo_cli_broken" in warnings[0] and "missing dependency xyz" in warnings[0]
    assert "error: failed to import" in invoke("plugins").output
    rows = {row["name"]: row for row in json.loads(invoke("plugins", "--json").stdout)}
    assert (
        rows["zoo_cli_broken"]["error"] == "failed to import: ImportError: missing dependency xyz"
    )
