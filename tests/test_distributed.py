"""Multi-process training: torchrun processes over gloo on loopback, as on a CPU cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import zoo
from tests.test_resume import NOISY_TASKS, _metrics, _same_weights
from zoo import resume
from zoo.distributed import shard_order, split_batch
from zoo.errors import ConfigError

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="this torch has no torch.distributed"
)


def _zoo(*args: str, cwd: Path, site: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m zoo ARGS` in a fresh process (torchrun needs a real command line)."""
    paths = ([str(site)] if site else []) + sys.path
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    environment.pop("OMP_NUM_THREADS", None)
    return subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("count, world", [(10, 2), (11, 2), (7, 3), (12, 4)])
def test_shards_together_make_the_one_process_batches(count, world):
    order = torch.randperm(count, generator=torch.Generator().manual_seed(count))
    shards = [shard_order(count, order, (rank, world)) for rank in range(world)]
    assert len({len(shard) for shard in shards}) == 1  # the same number of steps everywhere
    local = 2
    for start in range(0, len(shards[0]), local):
        together = sorted(i for shard in shards for i in shard[start : start + local].tolist())
        single = order.tolist() + order[: len(shards[0]) * world - count].tolist()
        assert together == sorted(single[start * world : (start + local) * world])


def _shard_batches(data: zoo.Data, world: int) -> list[list[int]]:
    """The global batches of a `world`-process run: each step, the union of the processes'."""
    per_process = []
    for rank in range(world):
        generator = torch.Generator().manual_seed(3)
        batches = data.batches(4 // world, shuffle=True, generator=generator, shard=(rank, world))
        per_process.append([sorted(b["i"].tolist()) for b in batches])
    return [sorted(i for part in step for i in part) for step in zip(*per_process, strict=True)]


class _Items(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 12

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"i": torch.tensor(index)}


@pytest.mark.parametrize("in_memory", [True, False])
def test_processes_see_the_one_process_global_batches_in_memory_or_from_a_dataset(in_memory):
    data = zoo.Data({"i": torch.arange(12)}) if in_memory else zoo.Data(dataset=_Items())
    one = [
        sorted(b["i"].tolist())
        for b in data.batches(4, shuffle=True, generator=torch.Generator().manual_seed(3))
    ]
    assert _shard_batches(data, 2) == one
    assert _shard_batches(data, 4) == one


def test_the_global_batch_must_split_evenly():
    assert split_batch(64, 4) == 16
    with pytest.raises(ConfigError, match="batch_size 63 does not split over 2 processes"):
        split_batch(63, 2)


def test_two_processes_train_the_weights_of_one_with_the_same_global_batch(tmp_path, capsys):
    options = ["--epochs", "3", "--batch-size", "32", "--seed", "5", "--set", "n_samples=640"]
    options += ["--log-every", "7"]
    two = _zoo("train", "dense-ae", *options, "--nproc", "2", "--out", "two", cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    one = zoo.train(
        "dense-ae",
        epochs=3,
        batch_size=32,
        seed=5,
        log_every=7,
        settings={"n_samples": 640},
        out=tmp_path / "one",
    )

    # The step lines show the step's loss over the global batch, as in one process.
    def steps(text):
        return [line for line in text.splitlines() if " step " in line]

    assert steps(two.stderr) == steps(capsys.readouterr().err) != []
    # Rank 0 alone wrote: one run folder, the files of a one-process run, each line once.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        p.name for p in one.run_dir.iterdir()
    )
    assert two.stderr.count("epoch 3/3  loss") == 1 and two.stdout.count("run folder:") == 1
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["processes"] == 2 and config["batch_size"] == 32

    # The same 48 steps: each process's half-batch gradients, averaged, are the
    # one-process gradient up to float32 rounding (summing halves rounds differently).
    first, second = load_file(one.checkpoint), load_file(tmp_path / "two" / "model.safetensors")
    largest = max(float((first[k] - second[k]).abs().max()) for k in first)
    assert largest < 1e-5
    for a, b in zip(_metrics(one.run_dir), _metrics(tmp_path / "two"), strict=True):
        assert a.keys() == b.keys()
        assert all(abs(a[k] - b[k]) < 1e-5 for k in a if k != "epoch")


def test_a_killed_two_process_run_resumes_to_bitwise_identical_weights(tmp_path, make_plugin):
    site = make_plugin("zoo-test-noisy", "zoo_noisy_tasks", NOISY_TASKS)
    common = ["train", "dense-ae", "--task", "noisy", "--epochs", "2", "--batch-size", "16"]
    common += ["--seed", "7", "--set", "n_samples=400", "--nproc", "2"]
    reference = _zoo(*common, "--out", "reference", "-q", cwd=tmp_path, site=site)
    assert reference.returncode == 0, reference.stderr

    # A process kills itself (SIGKILL) after step 27; torchrun then stops the other one.
    killed_at = 27
    stop = ["--set", f"stop_at={killed_at}", "--set", f"marker={tmp_path / 'killed'}"]
    killed = _zoo(
        *common, *stop, "--checkpoint-every", "5", "--out", "run", "-q", cwd=tmp_path, site=site
    )
    assert killed.returncode != 0 and (tmp_path / "killed").exists()
    state, _ = resume.latest_state(tmp_path / "run")
    assert (state.epoch, state.steps_in_epoch, state.step_index) == (2, 5, 25)
    assert len(state.info["rng"]["processes"]) == 1  # rank 1's own generators

    resumed = _zoo("train", "--resume", "run", "--nproc", "2", cwd=tmp_path, site=site)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming dense-ae from epoch 2, step 5 of it (step 25)" in resumed.stderr
    assert _same_weights(tmp_path / "reference", tmp_path / "run")
    assert _metrics(tmp_path / "reference") == _metrics(tmp_path / "run")


def test_a_gan_trains_in_two_processes(tmp_path):
    args = ["train", "dcgan", "--epochs", "1", "--batch-size", "32", "--nproc", "2"]
    args += ["--set", "image_size=32", "--set", "base_width=8", "--set", "samples=16"]
    done = _zoo(*args, "--out", "gan", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "gan"
    assert {"progress.gif", "samples.png", "model.safetensors"} <= {
        p.name for p in run_dir.iterdir()
    }
    record = _metrics(run_dir)[0]
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= record.keys()


def test_a_batch_that_does_not_split_is_one_line_from_one_process(tmp_path):
    failed = _zoo("train", "dense-ae", "--batch-size", "63", "--nproc", "2", cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [
        "zoo: error: batch_size 63 does not split over 2 processes: the batch size is the "
        "global batch, shared evenly; use a multiple of 2 (e.g. 62 or 64)"
    ]
    assert not (tmp_path / "runs").exists()


SCRIPT = """
import json, os, sys
import zoo

run = zoo.train("dense-ae", epochs=2, batch_size=32, out="run", verbose=False,
                settings={"n_samples": 200})
with open(f"rank{os.environ['RANK']}.json", "w") as out:
    json.dump({"history": run.history, "metrics": run.metrics,
               "pictures": [str(p) for p in run.pictures]}, out)
"""


def test_every_process_returns_the_same_run_from_python(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", str(tmp_path / "train.py")]
    done = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    first = json.loads((tmp_path / "rank0.json").read_text())
    second = json.loads((tmp_path / "rank1.json").read_text())
    assert first == second and "val_loss" in first["metrics"] and first["pictures"]


@pytest.mark.parametrize("chosen", [signal.SIGINT, signal.SIGKILL])
def test_ctrl_c_or_a_kill_of_the_launcher_stops_every_process_with_a_state(tmp_path, chosen):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "zoo", "train", "dense-ae", "--epochs", "500"]
    command += ["--set", "n_samples=2000", "--nproc", "2", "--out", "run"]
    # In a session of its own, like a shell's foreground job: the signal goes to zoo
    # alone (torchrun starts each training process in a session of its own too).
    launcher = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        metrics = tmp_path / "run" / "metrics.jsonl"
        deadline = time.monotonic() + 120
        while not (metrics.exists() and metrics.read_text().count("\n") >= 2):
            assert launcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        # Ctrl-C: torchrun passes it on. kill -9: nothing can pass it on, but each
        # process gets a SIGTERM as its parent dies (and the stderr pipe closes only
        # once they have all ended).
        launcher.send_signal(chosen)
        _, stderr = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == (130 if chosen == signal.SIGINT else -9), stderr
    assert f"continue with zoo train --resume {Path('run')} --nproc 2" in stderr.replace(
        str(tmp_path / "run"), "run"
    )
    assert stderr.count("zoo: interrupted") == 1
    state, _ = resume.latest_state(tmp_path / "run")
    assert state is not None and state.epoch < 500
