"""Resumable runs: a killed, interrupted or failed run goes on exactly where it stopped."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import zoo
from tests.cli_helpers import assert_one_line_error, invoke
from zoo import resume
from zoo.errors import CheckpointError, ConfigError, TrainingError

# A task that draws from every generator a run has (torch's, NumPy's, Python's), so
# that a resumed run matches an uninterrupted one only if all of them come back; it
# can kill its own process (SIGKILL, no clean-up) or press Ctrl-C (SIGINT) at a step.
NOISY_TASKS = """
import os
import random
import signal

import numpy
import torch
import zoo


class Noisy(zoo.Task):
    '''Reconstruct inputs with noise from torch, NumPy and Python; stop itself on demand.'''

    default_loss = "mse"

    def __init__(self, stop_at=0, how="kill", marker=""):
        super().__init__(stop_at=stop_at, how=how, marker=marker)
        self.stop_at, self.how, self.marker = stop_at, how, marker

    def training_step(self, model, batch, step):
        x = batch["x"]
        scale = 0.1 + 0.01 * random.random() + 0.01 * float(numpy.random.rand())
        loss = self.loss(model(x + scale * torch.randn_like(x)), x)
        step.optimize(loss)
        if step.index + 1 == self.stop_at and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            chosen = {"kill": signal.SIGKILL, "term": signal.SIGTERM}.get(self.how, signal.SIGINT)
            os.kill(os.getpid(), chosen)
        return {"loss": loss}

    def eval_step(self, model, batch):
        return {"loss": self.loss(model(batch["x"]), batch["x"])}


@zoo.hookimpl
def register_tasks(register):
    register(
        "noisy", Noisy, defaults={"stop_at": 0, "how": "kill", "marker": ""}, summary="Noisy."
    )
"""
# 400 blobs, a fifth held out, batches of 16: 20 steps an epoch.
DATA = {"n_samples": 400}
STEPS_PER_EPOCH = 20


def _options(**settings):
    return {
        "task": "noisy",
        "epochs": 3,
        "batch_size": 16,
        "seed": 7,
        "settings": {**DATA, **settings},
        "verbose": False,
    }


def _same_weights(first: Path, second: Path) -> bool:
    a, b = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _metrics(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_a_run_killed_mid_epoch_resumes_to_bitwise_identical_weights(tmp_path, make_plugin):
    site = make_plugin("zoo-test-noisy", "zoo_noisy_tasks", NOISY_TASKS)
    reference = zoo.train("dense-ae", out=tmp_path / "reference", **_options())
    killed_at = 27  # epoch 2, its 7th step; states are committed every 5 steps
    command = [sys.executable, "-m", "zoo", "train", "dense-ae", "--task", "noisy"]
    command += ["--epochs", "3", "--batch-size", "16", "--seed", "7", "--checkpoint-every", "5"]
    command += ["--set", "n_samples=400", "--set", f"stop_at={killed_at}"]
    command += ["--set", f"marker={tmp_path / 'killed'}", "--out", str(tmp_path / "run"), "-q"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    killed = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr  # SIGKILL: nothing could clean up
    assert (tmp_path / "killed").exists()
    state, skipped = resume.latest_state(tmp_path / "run")
    assert (state.epoch, state.steps_in_epoch, state.step_index) == (2, 5, 25) and not skipped

    resumed = subprocess.run(
        [sys.executable, "-m", "zoo", "train", "--resume", str(tmp_path / "run")],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming dense-ae from epoch 2, step 5 of it (step 25)" in resumed.stderr
    assert _same_weights(reference.run_dir, tmp_path / "run")
    assert _metrics(reference.run_dir) == _metrics(tmp_path / "run")


@pytest.mark.parametrize("how", ["interrupt", "term"], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_at_the_end_of_a_step_with_a_resumable_state(
    tmp_path, make_plugin, how
):
    make_plugin("zoo-test-noisy", f"zoo_noisy_tasks2_{how}", NOISY_TASKS)
    reference = zoo.train("dense-ae", out=tmp_path / "reference", **_options())
    options = _options(stop_at=33, how=how, marker=str(tmp_path / "pressed"))
    with pytest.raises(KeyboardInterrupt):
        zoo.train("dense-ae", out=tmp_path / "run", **options)
    state, _ = resume.latest_state(tmp_path / "run")
    assert (state.epoch, state.steps_in_epoch, state.step_index) == (2, 13, 33)
    weights = zoo.load(tmp_path / "run" / "model.safetensors")
    assert weights.zoo_spec.metrics["interrupted_in_epoch"] == 2
    zoo.train(resume=tmp_path / "run", verbose=False)
    assert _same_weights(reference.run_dir, tmp_path / "run")
    assert _metrics(reference.run_dir) == _metrics(tmp_path / "run")


def test_a_finished_run_trains_on_for_more_epochs_as_if_planned_so(tmp_path, make_plugin):
    make_plugin("zoo-test-noisy", "zoo_noisy_tasks3", NOISY_TASKS)
    reference = zoo.train("dense-ae", out=tmp_path / "reference", **_options())
    zoo.train("dense-ae", out=tmp_path / "run", **{**_options(), "epochs": 2})
    with pytest.raises(ConfigError, match="finished its 2 epochs; pass epochs"):
        zoo.train(resume=tmp_path / "run", verbose=False)
    with pytest.raises(ConfigError, match="trained 2 epochs already; epochs 2 leaves nothing"):
        zoo.train(resume=tmp_path / "run", epochs=2, verbose=False)
    run = zoo.train(resume=tmp_path / "run", epochs=3, verbose=False)
    assert [row["epoch"] for row in run.history] == [1, 2, 3]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 3
    assert _same_weights(reference.run_dir, tmp_path / "run")


def test_only_the_two_newest_states_are_kept_and_no_temp_file(tmp_path):
    zoo.train(
        "dense-ae", out=tmp_path / "run", epochs=3, batch_size=16, settings=DATA, verbose=False
    )
    names = sorted(p.name for p in (tmp_path / "run" / "resume").iterdir())
    assert names == ["state-e000003-s000000040.safetensors", "state-e000004-s000000060.safetensors"]


def test_a_corrupt_newest_state_is_skipped_and_reported(tmp_path, capsys):
    zoo.train(
        "dense-ae", out=tmp_path / "run", epochs=2, batch_size=16, settings=DATA, verbose=False
    )
    newest = tmp_path / "run" / "resume" / "state-e000003-s000000040.safetensors"
    newest.write_bytes(newest.read_bytes()[:-100])  # a torn write, say
    state, skipped = resume.latest_state(tmp_path / "run")
    assert state.epoch == 2 and len(skipped) == 1 and "truncated" in skipped[0]
    zoo.train(resume=tmp_path / "run", epochs=3)
    err = capsys.readouterr().err
    assert "note: skipped a newer state that does not read back" in err
    assert "resuming dense-ae from the start of epoch 2" in err


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.unlink(), "no such state file"),
        (lambda p: p.write_bytes(b"\x00" * 64), "not a safetensors file"),
        (lambda p: p.write_bytes(p.read_bytes()[:-1]), "truncated"),
    ],
)
def test_an_explicit_state_file_that_is_missing_or_corrupt_is_an_error(tmp_path, damage, message):
    zoo.train(
        "dense-ae", out=tmp_path / "run", epochs=2, batch_size=16, settings=DATA, verbose=False
    )
    chosen = tmp_path / "run" / "resume" / "state-e000002-s000000020.safetensors"
    damage(chosen)
    with pytest.raises(CheckpointError, match=message):
        zoo.train(resume=chosen, epochs=3, verbose=False)


def test_zoo_load_names_a_state_file_for_what_it_is(tmp_path):
    zoo.train(
        "dense-ae", out=tmp_path / "run", epochs=1, batch_size=16, settings=DATA, verbose=False
    )
    state = next((tmp_path / "run" / "resume").iterdir())
    with pytest.raises(CheckpointError, match="a resumable training state, not a model checkpoint"):
        zoo.load(state)


def test_resume_refuses_what_it_cannot_continue(tmp_path):
    with pytest.raises(ConfigError, match="no such folder"):
        zoo.train(resume=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a run folder"):
        zoo.train(resume=tmp_path / "empty")
    run_dir = tmp_path / "run"
    zoo.train("dense-ae", out=run_dir, epochs=1, batch_size=16, settings=DATA, verbose=False)
    with pytest.raises(ConfigError, match="only epochs may change, not lr"):
        zoo.train(resume=run_dir, lr=0.5)
    with pytest.raises(ConfigError, match="trains model 'dense-ae', not 'conv-denoiser'"):
        zoo.train("conv-denoiser", resume=run_dir, epochs=2)
    for state in (run_dir / "resume").iterdir():
        state.unlink()
    with pytest.raises(CheckpointError, match="holds no resumable state"):
        zoo.train(resume=run_dir, epochs=2)
    (run_dir / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read as JSON"):
        zoo.train(resume=run_dir, epochs=2)


def test_the_cli_resumes_and_refuses_other_options_in_one_line(tmp_path):
    run_dir = tmp_path / "run"
    assert (
        invoke(
            "train", "dense-ae", "--epochs", "1", "--set", "n_samples=200", "--out", run_dir, "-q"
        ).exit_code
        == 0
    )
    result = invoke("train", "--resume", run_dir, "--lr", "0.5")
    assert_one_line_error(result, "only --epochs may change, not --lr")
    assert_one_line_error(invoke("train", "--resume", run_dir), "finished its 1 epoch;")
    assert_one_line_error(invoke("train"), "give the NAME of a model")
    result = invoke("train", "--resume", run_dir, "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "resuming dense-ae from the start of epoch 2" in result.stderr


def test_a_failed_state_write_stops_the_run_and_keeps_the_last_committed_state(
    tmp_path, monkeypatch
):
    real = resume._write_safetensors
    calls = []

    def disk_full_on_the_third(path, tensors, metadata):
        calls.append(path)
        if len(calls) == 3:
            with open(path, "wb") as out:
                out.write(b"\x00" * 10)  # half written, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, tensors, metadata)

    monkeypatch.setattr(resume, "_write_safetensors", disk_full_on_the_third)
    with pytest.raises(TrainingError) as caught:
        zoo.train(
            "dense-ae",
            out=tmp_path / "run",
            epochs=3,
            batch_size=16,
            settings=DATA,
            checkpoint_every=7,
            verbose=False,
        )
    message = str(caught.value)
    assert "No space left on device" in message
    assert "the last committed state (epoch 1, step 14 of it (step 14)) is intact" in message
    assert "zoo train --resume" in message
    monkeypatch.setattr(resume, "_write_safetensors", real)
    names = sorted(p.name for p in (tmp_path / "run" / "resume").iterdir())
    assert names == ["state-e000001-s000000007.safetensors", "state-e000001-s000000014.safetensors"]
    run = zoo.train(resume=tmp_path / "run", verbose=False)  # and it goes on from there
    assert [row["epoch"] for row in run.history] == [1, 2, 3]


def test_no_state_is_committed_past_a_non_finite_loss(tmp_path, make_plugin):
    from tests.test_trainer import FAULTY_TASKS

    make_plugin("zoo-test-faulty", "zoo_faulty_resume", FAULTY_TASKS)
    # 16 training samples a step, 3 steps an epoch; NaN from step 5 on.
    with pytest.raises(TrainingError, match=r"non-finite \(nan\) at step 5"):
        zoo.train(
            "dense-ae",
            task="faulty",
            out=tmp_path / "run",
            epochs=3,
            batch_size=16,
            checkpoint_every=1,
            settings={"n_samples": 60, "fail_at": 5},
            verbose=False,
        )
    state, _ = resume.latest_state(tmp_path / "run")
    assert state.step_index == 4
    assert all(torch.isfinite(t).all() for k, t in state.tensors.items() if k.startswith("model/"))


def test_a_channels_last_conv_model_resumes_mid_epoch_to_identical_weights(tmp_path, make_plugin):
    # conv weights are channels-last on a CPU: the optimizer's moments must come back in
    # their parameter's layout, or the fused Adam kernel rounds differently and drifts.
    make_plugin("zoo-test-noisy", "zoo_noisy_tasks_conv", NOISY_TASKS)
    options = {
        "task": "noisy",
        "epochs": 2,
        "batch_size": 16,
        "settings": {"classes": [3, 8], "size": 16},
        "verbose": False,
    }
    reference = zoo.train("conv-denoiser", out=tmp_path / "reference", **options)
    assert reference.config["memory_format"] == "channels-last"
    stopped = {"stop_at": 20, "how": "interrupt", "marker": str(tmp_path / "pressed")}
    with pytest.raises(KeyboardInterrupt):
        zoo.train(
            "conv-denoiser",
            out=tmp_path / "run",
            **{**options, "settings": {**options["settings"], **stopped}},
        )
    zoo.train(resume=tmp_path / "run", verbose=False)
    assert _same_weights(reference.run_dir, tmp_path / "run")


def test_a_gan_resumes_mid_epoch_with_both_optimizers_and_its_frames(tmp_path, monkeypatch):
    import signal

    options = {
        "epochs": 2,
        "batch_size": 16,
        "settings": {"image_size": 16, "base_width": 4, "classes": [0]},
        "verbose": False,
    }
    reference = zoo.train("dcgan", out=tmp_path / "reference", **options)
    optimize = zoo.Step.optimize
    pressed = []

    def press_ctrl_c_at_step_17(self, loss, *args, **kwargs):
        optimize(self, loss, *args, **kwargs)
        if self.index == 16 and not pressed:  # during the 17th step
            pressed.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(zoo.Step, "optimize", press_ctrl_c_at_step_17)
    with pytest.raises(KeyboardInterrupt):
        zoo.train("dcgan", out=tmp_path / "run", **options)
    monkeypatch.setattr(zoo.Step, "optimize", optimize)
    state, _ = resume.latest_state(tmp_path / "run")
    assert state.step_index == 17 and state.steps_in_epoch > 0
    assert {k.split("/")[1] for k in state.tensors if k.startswith("optimizer/")} == {
        "discriminator",
        "generator",
    }
    zoo.train(resume=tmp_path / "run", verbose=False)
    assert _same_weights(reference.run_dir, tmp_path / "run")
    assert _metrics(reference.run_dir) == _metrics(tmp_path / "run")
    from PIL import Image

    frames = [
        Image.open(p / "progress.gif").n_frames for p in (reference.run_dir, tmp_path / "run")
    ]
    assert frames[0] == frames[1]


# A dataset read item by item (so through a DataLoader with worker processes) whose
# items carry noise drawn in the worker: the same run repeats only if the workers'
# generators are seeded from the trainer's.
JITTERED_DATASETS = """
import torch
import zoo


class Jittered(torch.utils.data.Dataset):
    def __init__(self, count):
        self.x = torch.linspace(-1, 1, count * 3).reshape(count, 3)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return {"x": self.x[index] + 0.1 * torch.randn(3)}


def jittered(count=96):
    return zoo.Data(dataset=Jittered(count), implies={"in_features": 3})


@zoo.hookimpl
def register_datasets(register):
    register("jittered", jittered, defaults={"count": 96}, summary="Jittered points.")
"""


def test_runs_with_data_loader_workers_repeat_and_resume_exactly(tmp_path, make_plugin):
    make_plugin("zoo-test-jittered", "zoo_jittered_datasets", JITTERED_DATASETS)
    make_plugin("zoo-test-noisy", "zoo_noisy_tasks_workers", NOISY_TASKS)
    options = {**_options(), "dataset": "jittered", "workers": 2, "settings": {}}
    first = zoo.train("dense-ae", out=tmp_path / "first", **options)
    second = zoo.train("dense-ae", out=tmp_path / "second", **options)
    assert _same_weights(first.run_dir, second.run_dir)
    other = zoo.train("dense-ae", out=tmp_path / "other", **{**options, "seed": 8})
    assert not _same_weights(first.run_dir, other.run_dir)

    # 77 samples of 96 train, batches of 16: 5 steps an epoch; stop in epoch 2.
    stop = {"stop_at": 7, "how": "int", "marker": str(tmp_path / "pressed")}
    with pytest.raises(KeyboardInterrupt):
        zoo.train("dense-ae", out=tmp_path / "run", **{**options, "settings": stop})
    zoo.train(resume=tmp_path / "run", verbose=False)
    assert _same_weights(first.run_dir, tmp_path / "run")
