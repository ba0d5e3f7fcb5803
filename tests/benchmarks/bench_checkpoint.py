"""Saving and loading a ~100 MB model with zoo against torch.save/torch.load and safetensors.

The model is `dense-ae` scaled up (in_features 5000, hidden 2500: two Linear
layers, 25 M float32 parameters, 100 MB). Each round times, one after the
other, on files in the same temporary folder (so in the page cache alike):

  save  zoo      `zoo.save(model, path)`: header, tensors, fsync, rename
        torch    `torch.save(model.state_dict(), path)` (no fsync)
  load  zoo      `zoo.load(path)`: validate the header, build the model on the
                 meta device and compare tables, build it for real, copy the
                 file's tensors into it
        torch    `torch.load(path, weights_only=True)`: the state dict alone
        torch+   the same, then `zoo.create_model(...)` and `load_state_dict`:
                 what it takes to get a model out of a torch file
        floor    `safetensors.torch.load_file(path)` on zoo's file: the
                 memory-mapped state dict, no model, no checks (lazy: pages
                 are read when first touched)
        floor+   the same, then `zoo.create_model(...)` and
                 `load_state_dict`, which touches every page: the least a
                 load into a model can cost

Rounds alternate the sides (zoo, torch, zoo, torch, ...) so that load on a
shared machine hits them alike; medians are reported, with ratios
torch seconds / zoo seconds (>= 1.0: zoo at least as fast). At the end each
load runs once more in a fresh subprocess to report how much its peak memory
(max RSS) grew.

Not part of the test run. Usage (about a minute on 2 cores):

    python tests/benchmarks/bench_checkpoint.py
    python tests/benchmarks/bench_checkpoint.py --repeats 9 --in-features 2000 --hidden 1000
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import safetensors.torch
import torch

import zoo

MODEL = "dense-ae"


def seconds(work: Callable[[], object]) -> float:
    """Wall seconds of one call; what it returns is dropped before the next call."""
    gc.collect()
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    del result
    return elapsed


# Peak RSS of this process in kB. Linux's VmHWM starts afresh with the new
# interpreter; ru_maxrss would start from the forking parent's (this benchmark's).
_PEAK_KB = (
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
)


def peak_growth_mb(code: str) -> float:
    """Peak RSS growth (MB) of `code` run in a fresh interpreter after its imports (Linux)."""
    script = (
        "import safetensors.torch, torch, zoo\n"
        "zoo.create_model('dense-ae')\n"  # registry, plugin and model code loaded
        f"{_PEAK_KB}"
        "before = peak()\n"
        f"result = {code}\n"
        "print((peak() - before) / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{code} failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="rounds (at least 5)")
    parser.add_argument("--in-features", type=int, default=5000)
    parser.add_argument("--hidden", type=int, default=2500)
    args = parser.parse_args()
    repeats = max(5, args.repeats)
    config = {"in_features": args.in_features, "hidden": args.hidden}

    torch.manual_seed(0)
    model = zoo.create_model(MODEL, **config)
    state = model.state_dict()
    parameters = sum(t.numel() for t in state.values())
    print(
        f"{MODEL} {config}: {len(state)} tensors, {parameters:,} parameters, "
        f"{sum(t.numel() * t.element_size() for t in state.values()) / 1e6:.1f} MB"
    )
    python = sys.version.split()[0]
    print(
        f"torch {torch.__version__}, safetensors {safetensors.__version__}, "
        f"{torch.get_num_threads()} threads, python {python}, {repeats} rounds"
    )

    def torch_model(path: Path) -> torch.nn.Module:
        loaded = zoo.create_model(MODEL, **config)
        loaded.load_state_dict(torch.load(path, weights_only=True))
        return loaded

    def floor_model(path: Path) -> torch.nn.Module:
        loaded = zoo.create_model(MODEL, **config)
        loaded.load_state_dict(safetensors.torch.load_file(path))
        return loaded

    with tempfile.TemporaryDirectory() as folder:
        zoo_file, torch_file = Path(folder) / "model.safetensors", Path(folder) / "model.pt"
        sides: dict[str, Callable[[], object]] = {
            "save zoo": lambda: zoo.save(model, zoo_file),
            "save torch": lambda: torch.save(state, torch_file),
            "load zoo": lambda: zoo.load(zoo_file),
            "load torch": lambda: torch.load(torch_file, weights_only=True),
            "load torch+model": lambda: torch_model(torch_file),
            "load floor": lambda: safetensors.torch.load_file(zoo_file),
            "load floor+model": lambda: floor_model(zoo_file),
        }
        for work in sides.values():  # one untimed round: imports, allocator, page cache
            seconds(work)
        loaded = zoo.load(zoo_file)
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())
        del loaded

        times: dict[str, list[float]] = {name: [] for name in sides}
        for repeat in range(repeats):
            for name, work in sides.items():
                times[name].append(seconds(work))
            print(
                f"round {repeat + 1}: "
                + "   ".join(f"{name} {times[name][-1]:.3f} s" for name in sides),
                flush=True,
            )
        sizes = {"zoo": zoo_file.stat().st_size, "torch": torch_file.stat().st_size}

        memory = {
            "load zoo": peak_growth_mb(f"zoo.load({str(zoo_file)!r})"),
            "load torch": peak_growth_mb(f"torch.load({str(torch_file)!r}, weights_only=True)"),
            "load torch+model": peak_growth_mb(
                f"zoo.create_model('dense-ae', **{config!r}).load_state_dict("
                f"torch.load({str(torch_file)!r}, weights_only=True))"
            ),
            "load floor+model": peak_growth_mb(
                f"zoo.create_model('dense-ae', **{config!r}).load_state_dict("
                f"safetensors.torch.load_file({str(zoo_file)!r}))"
            ),
        }

    print(f"file sizes: zoo {sizes['zoo']:,} bytes, torch {sizes['torch']:,} bytes")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        extra = f"   peak RSS +{memory[name]:.0f} MB" if name in memory else ""
        print(f"median {name:<17} {median:.3f} s{extra}")

    def ratio(reference: str, ours: str) -> str:
        runs = [r / o for r, o in zip(times[reference], times[ours], strict=True)]
        return (
            f"{reference} / {ours}: median of the rounds' ratios {statistics.median(runs):.3f}, "
            f"ratio of the medians {medians[reference] / medians[ours]:.3f}"
        )

    print(ratio("save torch", "save zoo"))
    print(ratio("load torch", "load zoo"))
    print(ratio("load torch+model", "load zoo"))
    print(ratio("load floor+model", "load zoo"))
    print(f"(>= 1.0: zoo at least as fast; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
