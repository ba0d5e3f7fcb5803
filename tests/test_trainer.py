"""The generic trainer: run folders, recipes, determinism, and stopping without losing work."""

from __future__ import annotations

import json
import math

import pytest
import torch

import zoo
import zoo.trainer
from zoo.errors import ConfigError, TrainingError

TINY = {"n_samples": 60}


def tiny_run(out, **options):
    options.setdefault("epochs", 2)
    options.setdefault("settings", TINY)
    return zoo.train("dense-ae", out=out, verbose=False, **options)


def test_run_folder_holds_weights_config_metrics_and_pictures(tmp_path):
    run = tiny_run(tmp_path / "run")
    names = {p.name for p in run.run_dir.iterdir()}
    assert names == {
        "model.safetensors",
        "config.json",
        "metrics.jsonl",
        "loss.png",
        "codes.png",
        "resume",
    }
    lines = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2]
    assert {"loss", "val_loss", "seconds"} <= set(lines[0])
    assert {"code_linear_accuracy", "code_linear_accuracy_untrained"} <= set(lines[-1])
    assert run.history == lines
    config = json.loads((run.run_dir / "config.json").read_text())
    assert config["model"] == "dense-ae" and config["dataset"]["options"]["n_samples"] == 60
    assert config["epochs"] == 2 and config["batch_size"] == 100  # the model's recipe
    assert config["samples"] == {"train": 48, "held_out": 12}
    assert run.metrics["val_loss"] == lines[-1]["val_loss"]
    assert {p.name for p in run.pictures} == {"loss.png", "codes.png"}
    loaded = zoo.load(run.checkpoint)
    assert loaded.zoo_spec.metrics["epoch"] == 2
    assert loaded.zoo_spec.dataset == "blobs" and loaded.zoo_spec.task == "reconstruction"


def test_default_run_folder_is_under_runs(in_tmp):
    run = zoo.train("dense-ae", epochs=1, settings=TINY, verbose=False)
    assert run.run_dir.parent.resolve() == (in_tmp / "runs" / "dense-ae").resolve()
    second = zoo.train("dense-ae", epochs=1, settings=TINY, verbose=False)
    assert second.run_dir != run.run_dir


def test_chapter_recipe_is_the_default():
    from zoo.trainer import plan_run

    plan = plan_run("dense-ae")
    assert (plan["epochs"], plan["batch_size"], plan["lr"]) == (5, 100, 1e-3)
    assert plan["loss"]["name"] == "mse" and plan["task"]["name"] == "reconstruction"
    assert plan["dataset"]["options"]["n_samples"] == 500
    assert plan["dataset"]["options"]["random_state"] == 123


def test_same_seed_gives_bitwise_identical_weights(tmp_path):
    first = tiny_run(tmp_path / "a", seed=3).model.state_dict()
    second = tiny_run(tmp_path / "b", seed=3).model.state_dict()
    other = tiny_run(tmp_path / "c", seed=4).model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
    a = (tmp_path / "a" / "model.safetensors").read_bytes()
    b = (tmp_path / "b" / "model.safetensors").read_bytes()
    assert a == b


def test_dataset_implies_model_config_unless_set(tmp_path):
    run = tiny_run(tmp_path / "r", settings={**TINY, "noise_features": 3})
    assert run.model.zoo_spec.config["in_features"] == 5
    implied = r"in_features=4 .* dataset 'blobs' implies in_features=3"
    with pytest.raises(ConfigError, match=implied):
        tiny_run(tmp_path / "s", settings={**TINY, "in_features": 4})


def test_settings_reach_model_dataset_init_and_loss(tmp_path):
    run = tiny_run(
        tmp_path / "r",
        init="normal",
        loss="huber",
        settings={**TINY, "hidden": 3, "init.std": 0.5, "delta": 0.25},
    )
    config = run.config
    assert run.model.zoo_spec.config["hidden"] == 3
    assert config["init"] == {"name": "normal", "options": {"mean": 0.0, "std": 0.5}}
    assert config["loss"] == {"name": "huber", "options": {"delta": 0.25}}
    assert zoo.load(run.checkpoint).zoo_spec.init == "normal"


def test_no_held_out_split(tmp_path):
    run = tiny_run(tmp_path / "r", val_fraction=0.0)
    assert "val_loss" not in run.metrics and "code_linear_accuracy" not in run.metrics
    assert run.config["samples"] == {"train": 60, "held_out": 0}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size=2.5 is not valid: expected an integer"),
        ({"lr": -1.0}, "lr must be a number > 0, got -1.0"),
        ({"lr": "fast"}, "lr='fast' is not valid: expected a number"),
        ({"lr": float("nan")}, "lr must be a number > 0, got nan"),
        ({"val_fraction": float("nan")}, "val_fraction must be a number >= 0 and < 1, got nan"),
        (
            {"loss": "cross-entropy"},
            "loss 'cross-entropy' does not suit task 'reconstruction'.*mse",
        ),
        (
            {"loss": "bce"},
            "loss 'bce' cannot score model 'dense-ae'.*between 0 and 1.*another --loss",
        ),
        ({"val_fraction": 1.0}, "val_fraction must be a number >= 0 and < 1, got 1.0"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"dataset": "blob"}, "did you mean blobs"),
        ({"task": "reconstruct"}, "did you mean reconstruction"),
        ({"init": "xavier"}, "unknown init 'xavier'"),
        ({"loss": "mae"}, "unknown loss 'mae'"),
        ({"settings": {"hiden": 3}}, "unknown setting 'hiden'"),
        ({"settings": {"hidden": "two"}}, "expected an integer"),
        ({"settings": {"hidden": 0}}, "rejected its options"),
        ({"config": {"hidden": 2, "width": 3}}, "no option 'width'"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_user_mistakes_are_zoo_errors(tmp_path, options, message):
    with pytest.raises(zoo.ZooError, match=message):
        tiny_run(tmp_path / "r", **options)


def test_a_run_that_fails_to_start_leaves_no_folder(in_tmp, tmp_path):
    with pytest.raises(ConfigError):
        tiny_run(tmp_path / "never", settings={**TINY, "in_features": 4})
    assert not (tmp_path / "never").exists()
    with pytest.raises(ConfigError):
        zoo.train("dense-ae", settings={**TINY, "in_features": 4}, verbose=False)
    assert not (in_tmp / "runs").exists()


def test_the_core_trains_with_every_first_party_init_plugin_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "inits")
    zoo.reset_registry()
    run = tiny_run(tmp_path / "r")
    assert run.model.zoo_spec.init == "default"
    assert [e.name for e in zoo.list_entries("init")] == ["default"]


def test_out_folder_holding_a_run_is_not_overwritten(tmp_path):
    run = tiny_run(tmp_path / "r")
    before = run.checkpoint.read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        tiny_run(tmp_path / "r")
    assert run.checkpoint.read_bytes() == before


FAULTY_TASKS = """
import math
import torch
import zoo


class Faulty(zoo.Task):
    '''Reconstruction that goes wrong at a chosen step.'''

    def __init__(self, fail_at=3, how="nan"):
        super().__init__()
        self.fail_at, self.how = fail_at, how

    def training_step(self, model, batch, step):
        x = batch["x"]
        loss = self.loss(model(x), x)
        step.optimize(loss)
        if step.index + 1 >= self.fail_at:
            if self.how == "interrupt":
                raise KeyboardInterrupt
            if self.how == "vector":
                return {"loss": (model(x) - x).pow(2).mean(dim=1)}
            if self.how == "sometimes":
                return {"loss": loss, "even": float(step.index % 2 == 0) + step.index}
            return {"loss": loss * float("nan")}
        return {"loss": loss}


@zoo.hookimpl
def register_tasks(register):
    register("faulty", Faulty, defaults={"fail_at": 3, "how": "nan"}, summary="Fails on purpose.")
"""


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, make_plugin):
    make_plugin("zoo-test-faulty", "zoo_faulty_tasks", FAULTY_TASKS)
    out = tmp_path / "r"
    # 48 training samples, batch 16: 3 steps per epoch; step 5 is in epoch 2.
    with pytest.raises(
        TrainingError, match=r"non-finite \(nan\) at step 5 \(epoch 2\).*epoch 1\) is kept"
    ):
        tiny_run(out, task="faulty", batch_size=16, epochs=3, settings={**TINY, "fail_at": 5})
    kept = zoo.load(out / "model.safetensors")
    assert kept.zoo_spec.metrics["epoch"] == 1
    assert all(torch.isfinite(p).all() for p in kept.parameters())
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    assert (out / "loss.png").exists()


def test_a_metric_must_be_one_number_per_step(tmp_path, make_plugin):
    make_plugin("zoo-test-faulty", "zoo_faulty_tasks3", FAULTY_TASKS)
    with pytest.raises(TrainingError, match=r"metric 'loss' with 16 values .*return its mean"):
        tiny_run(tmp_path / "r", task="faulty", batch_size=16, settings={**TINY, "how": "vector"})


def test_metrics_are_averaged_over_the_steps_that_report_them(tmp_path, make_plugin):
    make_plugin("zoo-test-faulty", "zoo_faulty_tasks4", FAULTY_TASKS)
    # 3 steps per epoch; from step index 1 on, "even" is also reported (and 1 on even indices).
    run = tiny_run(
        tmp_path / "r",
        task="faulty",
        batch_size=16,
        epochs=2,
        settings={**TINY, "how": "sometimes", "fail_at": 2},
    )
    assert run.history[0]["even"] == pytest.approx(((1 + 0) + (2 + 1)) / 2)
    assert run.history[1]["even"] == pytest.approx(((3 + 0) + (4 + 1) + (5 + 0)) / 3)


def test_interrupt_saves_the_weights_so_far(tmp_path, make_plugin):
    make_plugin("zoo-test-faulty", "zoo_faulty_tasks2", FAULTY_TASKS)
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        tiny_run(
            out,
            task="faulty",
            batch_size=16,
            epochs=3,
            settings={**TINY, "fail_at": 5, "how": "interrupt"},
        )
    kept = zoo.load(out / "model.safetensors")
    assert kept.zoo_spec.metrics["interrupted_in_epoch"] == 2


def test_one_blob_gets_no_linear_probe(tmp_path):
    run = tiny_run(tmp_path / "r", settings={**TINY, "centers": 1})
    assert "code_linear_accuracy" not in run.metrics
    assert (tmp_path / "r" / "codes.png").exists()


def test_an_interrupt_between_epochs_names_the_epoch_that_never_ran(tmp_path, monkeypatch):
    save = zoo.trainer._Loop._save

    def save_then_interrupt(loop, record):
        save(loop, record)
        raise KeyboardInterrupt  # as if Ctrl-C came right after epoch 1 was saved

    monkeypatch.setattr(zoo.trainer._Loop, "_save", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        tiny_run(tmp_path / "r", epochs=3)
    kept = zoo.load(tmp_path / "r" / "model.safetensors")
    assert kept.zoo_spec.metrics["epoch"] == 1
    assert kept.zoo_spec.metrics["interrupted_in_epoch"] == 2


def test_a_task_refuses_losses_without_its_tag_and_accepts_those_with_it(tmp_path):
    elementwise = {e.name for e in zoo.list_entries("loss", tags=["elementwise"])}
    assert {"mse", "l1", "huber", "smooth-l1", "bce", "bce-with-logits"} <= elementwise
    assert "cross-entropy" not in elementwise
    run = tiny_run(tmp_path / "r", loss="l1", epochs=1)
    assert run.config["loss"]["name"] == "l1"


def test_conv_models_train_channels_last_on_cpu_unless_told_otherwise(tmp_path):
    options = {"epochs": 1, "settings": {"classes": "8", "size": 8}, "verbose": False}
    auto = zoo.train("conv-denoiser", out=tmp_path / "auto", **options)
    assert auto.config["memory_format"] == "channels-last"
    assert next(auto.model.parameters()).is_contiguous(memory_format=torch.channels_last)
    again = zoo.train("conv-denoiser", out=tmp_path / "again", **options)
    plain = zoo.train(
        "conv-denoiser", out=tmp_path / "plain", memory_format="contiguous", **options
    )
    assert plain.config["memory_format"] == "contiguous"
    # Seeded runs repeat exactly in either layout, and the checkpoint loads the same weights.
    for name, tensor in auto.model.state_dict().items():
        assert torch.equal(tensor, again.model.state_dict()[name])
        torch.testing.assert_close(tensor, plain.model.state_dict()[name], rtol=1e-3, atol=1e-4)
    loaded = zoo.load(auto.checkpoint).state_dict()
    assert all(torch.equal(t, loaded[n]) for n, t in auto.model.state_dict().items())
    dense = tiny_run(tmp_path / "dense", epochs=1)
    assert dense.config["memory_format"] == "contiguous"  # no convolutions: nothing to gain


def test_memory_format_is_checked_before_any_work(in_tmp):
    with pytest.raises(ConfigError, match="memory_format must be one of auto, channels-last"):
        zoo.train("dense-ae", memory_format="nhwc", verbose=False)
    assert not (in_tmp / "runs").exists()


def test_precision_bf16_autocasts_forward_passes_and_keeps_fp32_weights(tmp_path, monkeypatch):
    seen = []
    original = torch.nn.Linear.forward

    def spy(self, x):
        out = original(self, x)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    run = zoo.train(
        "dense-ae",
        epochs=1,
        precision="bf16",
        out=tmp_path / "bf16",
        verbose=False,
        settings={"n_samples": 60},
    )
    assert run.config["precision"] == "bf16" and torch.bfloat16 in seen
    assert math.isfinite(run.metrics["loss"])
    assert {t.dtype for t in zoo.load(run.checkpoint).state_dict().values()} == {torch.float32}
    # auto is fp32 on a CPU: nothing GPU-specific on the CPU path.
    seen.clear()
    auto = zoo.train("dense-ae", epochs=1, out=tmp_path / "auto", verbose=False)
    assert auto.config["precision"] == "fp32" and set(seen) == {torch.float32}
    with pytest.raises(ConfigError, match="precision must be one of auto, fp32, bf16"):
        zoo.train("dense-ae", precision="fp8", out=tmp_path / "bad", verbose=False)


def test_compile_compiles_the_forward_in_place_and_saves_plain_names(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: compiled.append(self))
    run = zoo.train("dense-ae", epochs=1, compile=True, out=tmp_path / "c", verbose=False)
    assert len(compiled) == 1 and run.config["compile"] is True
    assert not any("_orig_mod" in key for key in zoo.load(run.checkpoint).state_dict())


def test_deterministic_algorithms_while_training_and_what_a_run_depends_on_recorded(
    tmp_path, monkeypatch
):
    seen = []
    optimize = zoo.Step.optimize

    def watched(self, loss, *args, **kwargs):
        seen.append(torch.are_deterministic_algorithms_enabled())
        return optimize(self, loss, *args, **kwargs)

    monkeypatch.setattr(zoo.Step, "optimize", watched)
    before = torch.are_deterministic_algorithms_enabled()
    run = tiny_run(tmp_path / "r", deterministic=True, seed=3)
    assert seen and all(seen)
    assert torch.are_deterministic_algorithms_enabled() == before  # restored
    recorded = zoo.inspect_checkpoint(run.checkpoint)["metadata"]["reproducibility"]
    threads = torch.get_num_threads()
    assert recorded == {"seed": 3, "threads": threads, "deterministic": True, "processes": 1}
    assert run.config["deterministic"] is True
    assert run.config["threads"] == torch.get_num_threads()
