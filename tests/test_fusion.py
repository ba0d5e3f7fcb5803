"""Multi-input fusion: named inputs, standardisation, the fusion model, houses, csv-images,
the regression task and `zoo predict`."""

from __future__ import annotations

import csv
import json

import pytest
import torch

import zoo
from tests.cli_helpers import assert_one_line_error, invoke
from zoo.errors import CheckpointError, ConfigError, DataError
from zoo_datasets.csv_images import write_csv_images
from zoo_tasks.predicting import predict_csv
from zoo_tasks.regression import regression_metrics

# Tiny runs: 16×16 houses, a few dozen of them.
TINY = {"n_samples": 48, "size": 16}


def train_tiny(tmp_path, name="run", **options):
    options.setdefault("epochs", 2)
    options.setdefault("batch_size", 16)
    settings = {**TINY, **options.pop("settings", {})}
    return zoo.train("fusion", out=tmp_path / name, settings=settings, verbose=False, **options)


def houses_csv(tmp_path, name="houses", **options):
    data = zoo.create_dataset("houses", **{**TINY, **options})
    return write_csv_images(data, tmp_path / name)


# -- the model -----------------------------------------------------------------
def test_default_fusion_is_the_chapters_network():
    model = zoo.create_model("fusion")
    convs = [m for m in model.image.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (3, 16, (3, 3), (2, 2)),
        (16, 8, (5, 5), (2, 2)),
    ]
    assert model.image.project.in_features == 1800  # the chapter's hard-coded number
    linears = [m for m in model.tabular if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 50), (50, 5)]
    head = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in head] == [(10, 5), (5, 1)]


@pytest.mark.parametrize("size", [5, 8, 32, 64, 100])
def test_flatten_size_follows_the_image_size(size):
    model = zoo.create_model("fusion", image_size=size, in_features=4)
    out = model(image=torch.rand(3, 3, size, size), features=torch.rand(3, 4))
    assert out.shape == (3, 1)


def test_too_small_an_image_is_one_clear_error():
    with pytest.raises(ConfigError, match="image_size must be at least 5"):
        zoo.create_model("fusion", image_size=4)


def test_branches_switch_off_for_an_ablation():
    image_only = zoo.create_model("fusion", use_tabular=False, image_size=16)
    assert image_only.tabular is None and image_only.head[0].in_features == 5
    assert image_only(image=torch.rand(2, 3, 16, 16)).shape == (2, 1)
    table_only = zoo.create_model("fusion", use_image=False, in_features=3)
    assert table_only.image is None and table_only.head[0].in_features == 5
    assert table_only(features=torch.rand(2, 3)).shape == (2, 1)
    with pytest.raises(ConfigError, match="cannot both be false"):
        zoo.create_model("fusion", use_image=False, use_tabular=False)


def test_widths_are_configurable():
    model = zoo.create_model(
        "fusion",
        image_size=16,
        image_features=7,
        tabular_hidden=9,
        tabular_features=3,
        head_hidden=4,
        outputs=2,
        image_options={"conv_channels": [4, 2]},
    )
    assert model.head[0].in_features == 10 and model.head[2].out_features == 2
    assert model(image=torch.rand(2, 3, 16, 16), features=torch.rand(2, 10)).shape == (2, 2)


def test_any_registered_image_model_can_be_the_branch():
    # dcgan-discriminator maps an image to one logit: a one-number branch.
    model = zoo.create_model(
        "fusion",
        image_model="dcgan-discriminator",
        image_options={"base_width": 4},
        image_size=16,
    )
    assert model.head[0].in_features == 1 + 5
    assert model(image=torch.rand(2, 3, 16, 16), features=torch.rand(2, 10)).shape == (2, 1)
    with pytest.raises(ConfigError, match="image_model 'dense-ae' cannot take 3×16×16 images"):
        zoo.create_model("fusion", image_model="dense-ae", image_size=16)
    with pytest.raises(ConfigError, match=r"image_model: unknown model 'fusion-cn'.*fusion-cnn"):
        zoo.create_model("fusion", image_model="fusion-cn")
    with pytest.raises(
        ConfigError, match=r"image_model 'fusion-cnn' \(set through image_options\).*'bogus'"
    ):
        zoo.create_model("fusion", image_options={"bogus": 1})


def test_a_missing_input_is_named():
    model = zoo.create_model("fusion", image_size=16)
    with pytest.raises(ValueError, match="needs a 'features' input"):
        model(image=torch.rand(1, 3, 16, 16))


def test_fusion_round_trips_with_another_branch(tmp_path):
    model = zoo.create_model(
        "fusion", image_model="dcgan-discriminator", image_options={"base_width": 4}, image_size=16
    )
    zoo.save(model, tmp_path / "m.safetensors")
    again = zoo.load(tmp_path / "m.safetensors")
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])


# -- named inputs and standardisation in the core ------------------------------
def test_a_task_with_no_fixed_inputs_feeds_every_tensor_but_the_targets_by_name():
    class Named(zoo.Task):
        inputs = None
        targets = ("y",)

    seen = {}

    class Model(torch.nn.Module):
        def forward(self, a, b):
            seen.update(a=a, b=b)
            return a + b

    batch = {"a": torch.ones(2), "b": torch.ones(2), "y": torch.zeros(2)}
    assert torch.equal(Named().forward(Model(), batch), torch.full((2,), 2.0))
    assert set(seen) == {"a", "b"}
    assert set(zoo.model_inputs(batch, ("y",))) == {"a", "b"}


def test_standardisation_uses_the_training_split_only():
    x = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    data = zoo.Data({"x": x, "y": torch.arange(10.0)}, standardise=("x", "y"))
    train, held_out = data.split(0.3, seed=1)
    scale = train.fit_standardisation()
    rescaled = train.standardised(scale)
    assert torch.allclose(rescaled.tensors["x"].mean(0), torch.zeros(2), atol=1e-6)
    assert torch.allclose(rescaled.tensors["x"].std(0, correction=0), torch.ones(2), atol=1e-6)
    held = held_out.standardised(scale)
    mean, std = scale.stats["y"]
    assert torch.allclose(held.tensors["y"], (held_out.tensors["y"] - mean) / std)
    assert torch.allclose(scale.restore("y", held.tensors["y"]), held_out.tensors["y"])
    assert held.scale is scale and held.standardise == ("x", "y")


def test_a_constant_column_keeps_finite_values():
    data = zoo.Data({"x": torch.ones(5, 2)}, standardise=("x",))
    scale = data.fit_standardisation()
    assert torch.equal(data.standardised(scale).tensors["x"], torch.zeros(5, 2))


def test_standardisation_of_data_read_from_a_dataset():
    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return {"x": torch.tensor([float(index)]), "y": torch.tensor(1.0)}

    data = zoo.Data(dataset=Items(), standardise=("x",))
    scale = data.fit_standardisation()
    rescaled = data.standardised(scale)
    values = torch.cat([b["x"] for b in rescaled.batches(2)])
    assert torch.allclose(values.mean(), torch.tensor(0.0)) and not rescaled.in_memory


def test_standardisation_json_round_trip_and_hostile_values():
    scale = zoo.Standardisation.fit(
        {"f": torch.tensor([[1.0, 2.0], [3.0, 6.0]]), "y": torch.tensor([1.0, 3.0])},
        {"f": ["a", "b"], "y": ["price"]},
    )
    again = zoo.Standardisation.from_json(json.loads(json.dumps(scale.to_json())))
    assert again.columns == {"f": ["a", "b"], "y": ["price"]}
    assert torch.allclose(again.stats["f"][1], torch.tensor([1.0, 2.0]))
    for bad in (
        [],
        {"y": 3},
        {"y": {"mean": "a", "std": 1}},
        {"y": {"mean": [1, 2], "std": [1]}},
        {"y": {"mean": 1, "std": 0}},
        {"y": {"mean": 1, "std": -1}},
        {"y": {"mean": [[1]], "std": [[1]]}},
        {"y": {"mean": 1, "std": 1, "columns": [3]}},
    ):
        with pytest.raises(DataError):
            zoo.Standardisation.from_json(bad)


def test_standardising_an_unknown_tensor_is_an_error():
    data = zoo.Data({"x": torch.ones(3, 1)}, standardise=("features",))
    with pytest.raises(DataError, match="standardise names features"):
        data.fit_standardisation()


# -- houses ------------------------------------------------------------------------
def test_houses_is_deterministic_and_shaped():
    first = zoo.create_dataset("houses", n_samples=20, size=32, random_state=3)
    second = zoo.create_dataset("houses", n_samples=20, size=32, random_state=3)
    other = zoo.create_dataset("houses", n_samples=20, size=32, random_state=4)
    assert first.sample_shapes == {"image": (3, 32, 32), "features": (10,), "y": ()}
    for key in first.tensors:
        assert torch.equal(first.tensors[key], second.tensors[key])
    assert not torch.equal(first.tensors["y"], other.tensors["y"])
    image = first.tensors["image"]
    assert image.min() >= 0 and image.max() <= 1
    assert first.implies == {"channels": 3, "in_channels": 3, "image_size": 32, "in_features": 10}
    assert first.info["columns"]["features"][0] == "area_m2"


def test_houses_price_needs_both_inputs():
    """Neither the listing (linear fit) nor the picture alone explains most of the price."""
    from sklearn.linear_model import LinearRegression

    data = zoo.create_dataset("houses", n_samples=2000)
    x, y = data.tensors["features"].numpy(), data.tensors["y"].numpy()
    r2 = LinearRegression().fit(x[:1500], y[:1500]).score(x[1500:], y[1500:])
    assert 0.3 < r2 < 0.7


# -- training ------------------------------------------------------------------------
def test_training_records_standardisation_and_regression_metrics(tmp_path):
    run = train_tiny(tmp_path)
    assert {"val_loss", "val_mae", "val_rmse", "val_r2"} <= set(run.metrics)
    config = json.loads((run.run_dir / "config.json").read_text())
    stats = config["standardisation"]
    assert stats["y"]["columns"] == ["price"] and len(stats["features"]["mean"]) == 10
    # The statistics are the training split's, not the whole dataset's.
    data = zoo.create_dataset("houses", **TINY)
    train, _ = data.split(0.2, seed=0)
    assert stats["y"]["mean"] == pytest.approx(float(train.tensors["y"].double().mean()), 1e-5)
    loaded = zoo.load(run.checkpoint)
    assert loaded.zoo_spec.standardisation == stats
    assert loaded.zoo_spec.dataset_options == {**TINY, "random_state": 0}
    assert (run.run_dir / "predictions.png").stat().st_size > 1000


def test_held_out_metrics_are_in_the_targets_units(tmp_path):
    run = train_tiny(tmp_path, epochs=1)
    model = zoo.load(run.checkpoint)
    data = zoo.create_dataset("houses", **TINY)
    _, held = data.split(0.2, seed=0)
    scale = zoo.Standardisation.from_json(model.zoo_spec.standardisation)
    inputs = scale.apply(held.tensors, ["features"])
    with torch.no_grad():
        predicted = scale.restore("y", model(image=inputs["image"], features=inputs["features"]))
    expected = regression_metrics(predicted[:, 0], held.tensors["y"])
    assert run.metrics["val_mae"] == pytest.approx(expected["mae"], rel=1e-4)
    assert run.metrics["val_r2"] == pytest.approx(expected["r2"], rel=1e-4, abs=1e-5)


def test_regression_metrics_match_scikit_learn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    gen = torch.Generator().manual_seed(0)
    true, predicted = torch.randn(50, 2, generator=gen), torch.randn(50, 2, generator=gen)
    metrics = regression_metrics(predicted, true)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(true, predicted))
    assert metrics["rmse"] ** 2 == pytest.approx(mean_squared_error(true, predicted))
    assert metrics["r2"] == pytest.approx(r2_score(true, predicted))


def test_regression_refuses_a_classification_loss_and_a_wrong_output_width(tmp_path):
    for loss in ("cross-entropy", "bce", "bce-with-logits"):
        with pytest.raises(ConfigError, match=f"'{loss}' does not suit task 'regression'"):
            train_tiny(tmp_path, loss=loss)
    with pytest.raises(ConfigError, match="set the model's outputs to match"):
        train_tiny(tmp_path, settings={"outputs": 2})


def test_regression_needs_a_target():
    data = zoo.Data({"image": torch.rand(4, 3, 8, 8)})
    task = zoo.create_task("regression")
    with pytest.raises(DataError, match="needs a target tensor 'y'; the data have image"):
        task.setup(zoo.create_model("fusion", image_size=8, use_tabular=False), data, None)


# -- csv-images ----------------------------------------------------------------------
def write_rows(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_images_reads_what_houses_wrote(tmp_path):
    path = houses_csv(tmp_path)
    data = zoo.create_dataset("csv-images", csv=str(path), target_column="price", size=16)
    original = zoo.create_dataset("houses", **TINY)
    assert data.sample_shapes == {"image": (3, 16, 16), "features": (10,), "y": ()}
    # Numbers are written as the shortest text of their float32 value: exact round trip.
    assert torch.equal(data.tensors["y"], original.tensors["y"])
    assert torch.equal(data.tensors["features"], original.tensors["features"])
    # PNG stores 8 bits per channel.
    assert (data.tensors["image"] - original.tensors["image"]).abs().max() <= 0.5 / 255 + 1e-6
    assert data.info["columns"]["features"][0] == "area_m2"
    chosen = zoo.create_dataset(
        "csv-images",
        csv=str(path),
        feature_columns=["rooms", "age_years"],
        target_column="",
        size=16,
    )
    assert chosen.sample_shapes == {"image": (3, 16, 16), "features": (2,)}
    assert chosen.implies["in_features"] == 2 and chosen.standardise == ("features",)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["images/00000.png", "1", "abc"]], "line 2, column 'b': 'abc' is not a number"),
        ([["images/00000.png", "", "1"]], "line 2, column 'a': empty"),
        ([["images/00000.png", "nan", "1"]], "line 2, column 'a': 'nan' is not a finite number"),
        ([["images/00000.png", "1", "2"], ["nowhere.png", "1", "2"]], "line 3, column 'image'"),
        ([["images/00000.png", "1"]], "line 2: 2 values for 3 columns"),
        ([], "no data rows"),
    ],
)
def test_csv_images_names_the_bad_row_and_column(tmp_path, rows, message):
    houses_csv(tmp_path, name="d")
    path = write_rows(tmp_path / "d" / "bad.csv", ["image", "a", "b"], rows)
    with pytest.raises(DataError, match=r"bad\.csv") as caught:
        zoo.create_dataset("csv-images", csv=str(path), target_column="b")
    assert message in str(caught.value)


def test_csv_images_file_errors(tmp_path):
    path = houses_csv(tmp_path)
    with pytest.raises(DataError, match="no column 'target'; its columns are 'image', 'area_m2'"):
        zoo.create_dataset("csv-images", csv=str(path))
    with pytest.raises(DataError, match="does not exist"):
        zoo.create_dataset("csv-images", csv=str(tmp_path / "none.csv"))
    with pytest.raises(ConfigError, match="csv is required"):
        zoo.create_dataset("csv-images")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty file"):
        zoo.create_dataset("csv-images", csv=str(tmp_path / "empty.csv"))
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError):
        zoo.create_dataset("csv-images", csv=str(tmp_path / "binary.csv"))
    broken = tmp_path / "houses" / "broken.csv"
    broken.write_text("image,a,t\nbroken.png,1,2\n")
    (tmp_path / "houses" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="line 2, column 'image'"):
        zoo.create_dataset("csv-images", csv=str(broken), target_column="t")


# -- prediction ------------------------------------------------------------------------
def test_csv_round_trip_train_then_predict(tmp_path):
    path = houses_csv(tmp_path)
    run = zoo.train(
        "fusion",
        dataset="csv-images",
        out=tmp_path / "run",
        settings={"csv": str(path), "target_column": "price", "size": 16},
        epochs=2,
        batch_size=16,
        verbose=False,
    )
    new = houses_csv(tmp_path, name="new", n_samples=10, random_state=5)
    result = predict_csv(run.checkpoint, new, out=tmp_path / "pred.csv")
    assert result.values.shape == (10,) and result.target == "price"
    assert set(result.metrics) == {"mae", "rmse", "r2"}
    with open(tmp_path / "pred.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and "predicted_price" in rows[0]
    assert float(rows[0]["predicted_price"]) == pytest.approx(float(result.values[0]), rel=1e-5)
    # The same rows without the answer: predictions only, and the same ones.
    no_target = tmp_path / "new" / "no-price.csv"
    with open(new, newline="") as handle:
        table = list(csv.reader(handle))
    write_rows(no_target, table[0][:-1], [row[:-1] for row in table[1:]])
    again = predict_csv(run.checkpoint, no_target)
    assert again.metrics is None and torch.allclose(again.values, result.values)


def test_a_model_trained_on_houses_predicts_from_its_csv_export(tmp_path):
    run = train_tiny(tmp_path, epochs=1)
    new = houses_csv(tmp_path, name="new", n_samples=6, random_state=9)
    model = zoo.load(run.checkpoint)
    data = zoo.create_dataset("houses", **{**TINY, "n_samples": 6, "random_state": 9})
    scale = zoo.Standardisation.from_json(model.zoo_spec.standardisation)
    inputs = scale.apply(data.tensors, ["features"])
    with torch.no_grad():
        direct = scale.restore("y", model(image=inputs["image"], features=inputs["features"]))
    result = predict_csv(run.checkpoint, new)
    # Only the PNG's 8-bit rounding separates the two.
    assert torch.allclose(result.values, direct[:, 0], atol=0.5)


def test_zoo_predict_cli(tmp_path):
    run = train_tiny(tmp_path, epochs=1)
    new = houses_csv(tmp_path, name="new", n_samples=5, random_state=2)
    result = invoke("predict", run.checkpoint, "--csv", new, "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    assert "predicted price for 5 rows to" in result.output and "R²" in result.output
    assert_one_line_error(
        invoke("predict", run.checkpoint, "--csv", new, "--out", tmp_path / "p.csv"),
        "exists; overwrite it",
    )
    assert (
        invoke(
            "predict", run.checkpoint, "--csv", new, "--out", tmp_path / "p.csv", "--overwrite"
        ).exit_code
        == 0
    )
    assert_one_line_error(
        invoke("predict", run.checkpoint, "--csv", new, "--out", new), "is the input CSV"
    )
    assert_one_line_error(
        invoke("predict", run.checkpoint, "--csv", tmp_path / "none.csv"), "does not exist"
    )
    write_rows(
        tmp_path / "new" / "few.csv",
        ["image", "area_m2", "price"],
        [["images/00000.png", "1", "2"]],
    )
    assert_one_line_error(
        invoke("predict", run.checkpoint, "--csv", tmp_path / "new" / "few.csv"),
        "lacks column 'rooms'",
    )
    ae = zoo.save(zoo.create_model("dense-ae"), tmp_path / "ae.safetensors")
    assert_one_line_error(invoke("predict", ae, "--csv", new), "does not predict numbers")


def test_a_checkpoint_with_bad_standardisation_is_refused(tmp_path):
    run = train_tiny(tmp_path, epochs=1)
    from safetensors.torch import load_file

    from zoo.checkpoint import _write_safetensors, read_header

    header = read_header(run.checkpoint)
    metadata = dict(header.metadata)
    metadata["standardisation"] = json.dumps({"y": {"mean": 0, "std": 0}})
    tensors = load_file(str(run.checkpoint))
    bad = tmp_path / "bad.safetensors"
    _write_safetensors(str(bad), tensors, metadata)
    with pytest.raises(CheckpointError, match="metadata 'standardisation' is invalid"):
        zoo.load(bad)


def test_without_a_held_out_split_the_training_fit_is_reported(tmp_path):
    run = train_tiny(tmp_path, val_fraction=0.0, epochs=1)
    assert {"train_mae", "train_rmse", "train_r2"} <= set(run.metrics)
    assert not any(key.startswith("val_") for key in run.metrics)
    assert (run.run_dir / "loss.png").exists() and (run.run_dir / "predictions.png").exists()


def test_predict_takes_features_by_name_and_ignores_other_columns(tmp_path):
    path = houses_csv(tmp_path)
    run = zoo.train(
        "fusion",
        dataset="csv-images",
        out=tmp_path / "run",
        settings={"csv": str(path), "target_column": "price", "size": 16},
        epochs=1,
        verbose=False,
    )
    with open(path, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    # Columns in another order, plus a text column the model never used.
    order = [header.index(name) for name in reversed(header)]
    shuffled = write_rows(
        tmp_path / "houses" / "shuffled.csv",
        [header[i] for i in order] + ["note"],
        [[row[i] for i in order] + ["hi"] for row in rows],
    )
    assert torch.allclose(
        predict_csv(run.checkpoint, shuffled).values, predict_csv(run.checkpoint, path).values
    )
    # An empty target column means new rows: predict only.
    blank = write_rows(tmp_path / "houses" / "blank.csv", header, [[*row[:-1], ""] for row in rows])
    assert predict_csv(run.checkpoint, blank).metrics is None


def test_predict_output_reads_back_from_another_folder(tmp_path):
    run = train_tiny(tmp_path, epochs=1)
    new = houses_csv(tmp_path, name="new", n_samples=4, random_state=2)
    out = tmp_path / "elsewhere" / "p.csv"
    first = predict_csv(run.checkpoint, new, out=out)
    # The written CSV is itself a valid input (image paths rewritten, no duplicate column).
    again = predict_csv(run.checkpoint, out, out=tmp_path / "elsewhere" / "q.csv")
    assert torch.allclose(first.values, again.values)
    with open(tmp_path / "elsewhere" / "q.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header.count("predicted_price") == 1


def test_predict_refuses_non_finite_predictions(tmp_path):
    run = train_tiny(tmp_path, epochs=1)
    model = zoo.load(run.checkpoint)
    with torch.no_grad():
        model.head[2].bias.fill_(float("nan"))
    new = houses_csv(tmp_path, name="new", n_samples=3)
    with pytest.raises(ConfigError, match="non-finite predictions"):
        predict_csv(model, new)


def test_a_table_only_model_predicts_without_images(tmp_path):
    run = train_tiny(tmp_path, epochs=1, settings={"use_image": False})
    new = houses_csv(tmp_path, name="new", n_samples=3)
    with open(new, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    table = write_rows(tmp_path / "table.csv", header[1:], [row[1:] for row in rows])
    assert predict_csv(run.checkpoint, table).values.shape == (3,)


def test_csv_images_refuses_unnamed_and_oversized_columns(tmp_path):
    houses_csv(tmp_path, name="d")
    unnamed = write_rows(
        tmp_path / "d" / "unnamed.csv",
        ["", "image", "a", "t"],
        [["0", "images/00000.png", "1", "2"]],
    )
    with pytest.raises(DataError, match="column 1 has no name in the header"):
        zoo.create_dataset("csv-images", csv=str(unnamed), target_column="t")
    huge = write_rows(
        tmp_path / "d" / "huge.csv", ["image", "a", "t"], [["images/00000.png", "1e39", "2"]]
    )
    with pytest.raises(DataError, match="too large for 32-bit floats"):
        zoo.create_dataset("csv-images", csv=str(huge), target_column="t")
    note = write_rows(
        tmp_path / "d" / "note.csv",
        ["image", "a", "note", "t"],
        [["images/00000.png", "1", "hi", "2"]],
    )
    with pytest.raises(DataError, match="list the features with feature_columns"):
        zoo.create_dataset("csv-images", csv=str(note), target_column="t")
    (tmp_path / "d" / "semi.csv").write_text("image;a;t\nimages/00000.png;1;2\n")
    with pytest.raises(DataError, match="separated by ';'"):
        zoo.create_dataset("csv-images", csv=str(tmp_path / "d" / "semi.csv"), target_column="t")
    with pytest.raises(ConfigError, match="size must be at most 1024"):
        zoo.create_dataset("csv-images", csv=str(note), size=5000)


def test_a_constant_target_scores_like_scikit_learn():
    assert regression_metrics(torch.ones(3), torch.ones(3))["r2"] == 1.0
    assert regression_metrics(torch.zeros(3), torch.ones(3))["r2"] == 0.0


def test_train_refuses_a_data_object_for_a_dataset_name(tmp_path):
    data = zoo.create_dataset("houses", **TINY)
    with pytest.raises(ConfigError, match="dataset must be a registered dataset's name"):
        zoo.train("fusion", dataset=data, out=tmp_path / "r", verbose=False)
