"""Classification: simple-cnn, the classification task, confusion.png and `zoo robustness`."""

from __future__ import annotations

import json

import pytest
import torch
from torch.nn import functional as F

import zoo
from tests.cli_helpers import assert_one_line_error, invoke
from zoo.errors import CheckpointError, ConfigError, DataError
from zoo_tasks.classification import class_accuracies, confusion_matrix, metric_label
from zoo_tasks.robustness import _input_gradient, robustness

# Tiny runs: the 8×8 originals of scikit-learn's digits, a narrow network.
TINY = {"size": 8, "conv_channels": [4, 8]}


def train_tiny(tmp_path, name="run", **options):
    options.setdefault("epochs", 2)
    options.setdefault("batch_size", 64)
    settings = {**TINY, **options.pop("settings", {})}
    return zoo.train("simple-cnn", out=tmp_path / name, settings=settings, verbose=False, **options)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One simple-cnn trained for a few epochs on 8×8 digits (well above chance)."""
    return train_tiny(tmp_path_factory.mktemp("cnn"), epochs=4, lr=5e-3)


# -- the model -----------------------------------------------------------------


@pytest.mark.parametrize(("size", "channels"), [(8, 1), (28, 1), (33, 3), (64, 3)])
def test_simple_cnn_gives_one_row_of_scores_per_image(size, channels):
    model = zoo.create_model("simple-cnn", image_size=size, in_channels=channels, num_classes=7)
    assert model(torch.rand(2, channels, size, size)).shape == (2, 7)


def test_simple_cnn_follows_the_cheat_sheet():
    model = zoo.create_model("simple-cnn")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert {m.kernel_size for m in convs} == {(3, 3)}
    assert {m.stride for m in convs} == {(1, 1), (2, 2)}
    assert [m.out_channels for m in convs[::2]] == [8, 16, 24]
    assert model.classifier[-1].in_features == 24 * 4 * 4  # 28 → 14 → 7 → 4


def test_simple_cnn_options_are_checked():
    with pytest.raises(ConfigError, match=r"first of conv_channels \(1\) should exceed"):
        zoo.create_model("simple-cnn", conv_channels=[1, 8])
    with pytest.raises(ConfigError, match="dropout must be in"):
        zoo.create_model("simple-cnn", dropout=1.0)


# -- the task ------------------------------------------------------------------


def test_confusion_matrix_and_class_accuracies_match_scikit_learn():
    from sklearn.metrics import confusion_matrix as sk_confusion

    gen = torch.Generator().manual_seed(0)
    true = torch.randint(0, 4, (200,), generator=gen)
    predicted = torch.where(torch.rand(200, generator=gen) < 0.7, true, 3)
    matrix = confusion_matrix(predicted, true, 5)
    assert matrix[:4, :4].tolist() == sk_confusion(true, predicted, labels=range(4)).tolist()
    assert matrix[4].sum() == 0 and matrix[:, 4].sum() == 0
    accuracies = class_accuracies(matrix)
    assert set(accuracies) == {0, 1, 2, 3}  # class 4 has no samples: no accuracy
    for label, value in accuracies.items():
        assert value == pytest.approx(float((predicted[true == label] == label).double().mean()))
    assert (
        metric_label("T-shirt/top") == "t-shirt-top" and metric_label("Ankle boot") == "ankle-boot"
    )


def test_training_reports_accuracy_per_class_and_draws_the_confusion(trained):
    metrics = trained.metrics
    assert 0.5 < metrics["val_accuracy"] <= 1.0  # ten classes: chance is 0.1
    per_class = {k: v for k, v in metrics.items() if k.startswith("val_accuracy_")}
    assert sorted(per_class) == [f"val_accuracy_{d}" for d in range(10)]
    assert all(0.0 <= v <= 1.0 for v in per_class.values())
    assert (trained.run_dir / "confusion.png").stat().st_size > 10_000
    assert (trained.run_dir / "loss.png").exists()


def test_the_held_out_accuracy_is_what_the_model_scores_on_the_recorded_split(trained):
    model = zoo.load(trained.checkpoint)
    spec = model.zoo_spec
    assert spec.split == {"seed": 0, "val_fraction": 0.2}
    data = zoo.create_dataset(spec.dataset, **spec.dataset_options)
    _, held_out = data.split(spec.split["val_fraction"], spec.split["seed"])
    with torch.no_grad():
        predicted = model(held_out.tensors["x"]).argmax(dim=1)
    accuracy = float((predicted == held_out.tensors["y"]).double().mean())
    assert accuracy == pytest.approx(trained.metrics["val_accuracy"])


def test_classification_refuses_unfit_data_losses_and_models(tmp_path):
    with pytest.raises(ConfigError, match=r"'mse' does not suit task 'classification'.*cross"):
        train_tiny(tmp_path, loss="mse")
    with pytest.raises(
        ConfigError, match=r"num_classes=3 does not fit the data.*implies num_classes=10"
    ):
        train_tiny(tmp_path, settings={"num_classes": 3})
    with pytest.raises(DataError, match="needs images 'x' and integer labels 'y'"):
        zoo.train(
            "simple-cnn",
            dataset="houses",
            dataset_options={"n_samples": 20, "size": 8},
            out=tmp_path / "h",
            epochs=1,
            verbose=False,
        )
    with pytest.raises(ConfigError, match="does not fit dataset 'blobs'"):
        zoo.train("simple-cnn", dataset="blobs", out=tmp_path / "b", epochs=1, verbose=False)


def test_a_subset_of_classes_trains_and_scores_only_those(tmp_path):
    run = train_tiny(tmp_path, epochs=1, settings={"classes": [3, 8]})
    per_class = sorted(k for k in run.metrics if k.startswith("val_accuracy_"))
    assert per_class == ["val_accuracy_3", "val_accuracy_8"]


def test_a_checkpoint_with_a_bad_split_is_refused(trained, tmp_path):
    from safetensors.torch import load_file

    from zoo.checkpoint import _write_safetensors, read_header

    metadata = dict(read_header(trained.checkpoint).metadata)
    tensors = load_file(str(trained.checkpoint))
    for bad in ({"seed": 0, "val_fraction": 1.5}, {"seed": "0", "val_fraction": 0.2}, [1]):
        metadata["split"] = json.dumps(bad)
        path = tmp_path / "bad.safetensors"
        _write_safetensors(str(path), tensors, metadata)
        with pytest.raises(CheckpointError, match="metadata 'split' must be"):
            zoo.load(path)


# -- robustness ----------------------------------------------------------------


def test_robustness_measures_the_held_out_split(trained, tmp_path):
    result = robustness(
        trained.checkpoint, noise=(0.1, 0.5), eps=(0.05, 0.2), out=tmp_path / "r.png"
    )
    assert result.samples == 359 and result.which == "held-out samples of digits"
    assert result.accuracy("clean") == pytest.approx(trained.metrics["val_accuracy"])
    assert [row[:2] for row in result.rows] == [
        ("clean", 0.0),
        ("noise", 0.1),
        ("noise", 0.5),
        ("fgsm", 0.05),
        ("fgsm", 0.2),
    ]
    # FGSM steps up the loss's gradient: a larger step hurts more, and more than noise.
    assert result.accuracy("fgsm", 0.2) < result.accuracy("fgsm", 0.05) < result.accuracy("clean")
    assert result.accuracy("fgsm", 0.2) < result.accuracy("noise", 0.1)
    assert (tmp_path / "r.png").stat().st_size > 5_000
    again = robustness(trained.checkpoint, noise=(0.1, 0.5), eps=(0.05, 0.2))
    assert again.rows == result.rows  # seeded noise: the same table twice


def test_fgsm_raises_the_loss_of_every_batch(trained):
    model = zoo.load(trained.checkpoint)
    data = zoo.create_dataset("digits", size=8)
    x, y = data.tensors["x"][:100], data.tensors["y"][:100]
    attacked = (x + 0.05 * _input_gradient(model, x, y).sign()).clamp(0, 1)
    with torch.no_grad():
        assert F.cross_entropy(model(attacked), y) > F.cross_entropy(model(x), y)


def test_robustness_cli(trained):
    result = invoke(
        "robustness", str(trained.checkpoint), "--noise", "0.2", "--eps", "", "--samples", "50"
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "accuracy on 50 held-out samples of digits"
    assert lines[2].split()[0] == "clean" and lines[3].split()[:3] == ["noise", "σ", "0.2"]
    assert len(lines) == 5 and lines[4].startswith("picture: ")
    assert (trained.run_dir / "robustness.png").exists()
    assert_one_line_error(
        invoke("robustness", str(trained.checkpoint), "--eps", "2"), "eps levels must be in (0, 1]"
    )
    assert_one_line_error(
        invoke("robustness", str(trained.checkpoint), "--noise", "a,b"), "comma-separated"
    )
    assert_one_line_error(
        invoke("robustness", str(trained.checkpoint), "--set", "size=8"), "--set needs --dataset"
    )


def test_robustness_refuses_a_model_that_is_not_a_classifier(tmp_path):
    run = zoo.train(
        "dense-ae", out=tmp_path / "ae", epochs=1, settings={"n_samples": 60}, verbose=False
    )
    assert_one_line_error(
        invoke("robustness", str(run.checkpoint)),
        "robustness measures classifiers",
        "this model's task is reconstruction",
    )


def test_one_class_is_not_a_classification(tmp_path):
    for classes in ([3], [3, 3]):
        with pytest.raises(DataError, match=r"at least two classes.*hold only 3"):
            train_tiny(tmp_path, settings={"classes": classes})


def test_robustness_on_a_named_dataset_keeps_the_recorded_options(trained, tmp_path):
    # The model saw 8×8 digits: --dataset digits measures 8×8 digits, all 1797 of them.
    same = robustness(trained.checkpoint, noise=(), eps=(), dataset="digits", dataset_options={})
    assert same.samples == 1797 and same.which == "samples of digits" and same.note == ""
    with pytest.raises(ConfigError, match=r"cannot take the samples of dataset 'blobs'.*size=8"):
        robustness(trained.checkpoint, noise=(), eps=(), dataset="blobs")
    other = robustness(
        trained.checkpoint,
        noise=(),
        eps=(),
        dataset="image-folder",
        dataset_options={"root": str(_digit_folder(tmp_path)), "size": 8, "channels": 1},
    )
    assert other.note.startswith("note: 'simple-cnn' was trained on digits; its class numbers")


def _digit_folder(tmp_path):
    from zoo.images import write_image

    data = zoo.create_dataset("digits", size=8, classes=[0, 1])
    for index in range(6):
        label = int(data.tensors["y"][index])
        write_image(data.tensors["x"][index], tmp_path / "folder" / str(label) / f"{index}.png")
    return tmp_path / "folder"


def test_robustness_cli_checks_out_before_measuring(trained):
    checkpoint = str(trained.checkpoint)
    assert_one_line_error(invoke("robustness", checkpoint, "--out", "x.txt"), "not a .png file")
    assert_one_line_error(
        invoke("robustness", checkpoint, "--out", "nowhere/x.png"), "folder nowhere does not exist"
    )
    assert_one_line_error(invoke("robustness", checkpoint, "--noise", "0.1,,0.2"), "'--noise'")
