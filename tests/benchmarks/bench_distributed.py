"""One process against several: `zoo train` with and without `--nproc N`, side by side.

For each workload it runs the same `zoo train` command (same model, data,
global batch, seed) in one process and in N processes (torchrun, gloo on
loopback on a CPU), interleaved, and reports:
  - wall time of the whole command (process start-up and torchrun included),
  - training time: the sum of the epochs' `seconds` in metrics.jsonl,
  - the largest difference between the two runs' final weights, and the
    largest weight, so the difference can be read as relative rounding.
    (The dense autoencoder's task draws no random numbers: its N-process
    weights are the one-process weights up to rounding. The denoising task
    adds random noise, which each process draws for itself: its N-process
    run is another, equally valid run, and its weights differ.)
Medians over the repeats; the ratio is one process / N processes (above 1:
N processes are faster).

A note on a 2-core machine: one process already uses both cores for its
matrix products, so N processes share the same two cores; what the numbers
show here is the cost of the gradient all-reduce, not a speed-up. On a
machine with a core (or a GPU) per process the training time divides.

Not part of the test run. Usage (about 3 minutes on 2 cores):

    python tests/benchmarks/bench_distributed.py
    python tests/benchmarks/bench_distributed.py --nproc 2 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.torch import load_file

WORKLOADS = {
    # The dense autoencoder on 20,000 blobs: small steps, the all-reduce dominates.
    "dense-ae": ["dense-ae", "--epochs", "3", "--batch-size", "256", "--set", "n_samples=20000"],
    # The conv denoiser on the digits: convolutions dominate.
    "conv-denoiser": ["conv-denoiser", "--epochs", "3", "--batch-size", "64"],
}


def run(args: list[str], out: Path, nproc: int) -> dict[str, float]:
    command = [sys.executable, "-m", "zoo", "train", *args, "--out", str(out), "-q"]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {"wall": wall, "train": sum(row["seconds"] for row in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    print(f"{os.cpu_count()} cores; torch threads per process: 1 process all, N processes share")
    header = f"{'workload':14} {'wall 1':>8} {'wall N':>8} {'train 1':>8} {'train N':>8}"
    print(header + f" {'ratio':>6} {'max |dw|':>10} {'max |w|':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name, args in WORKLOADS.items():
            times: dict[int, list[dict[str, float]]] = {1: [], options.nproc: []}
            for repeat in range(options.repeats):
                for nproc in times:  # interleaved: load on the machine hits both alike
                    out = Path(folder) / f"{name}-{nproc}-{repeat}"
                    times[nproc].append(run(args, out, nproc))
            one = load_file(Path(folder) / f"{name}-1-0" / "model.safetensors")
            many = load_file(Path(folder) / f"{name}-{options.nproc}-0" / "model.safetensors")
            diff = max(float((one[k] - many[k]).abs().max()) for k in one)
            largest = max(float(one[k].abs().max()) for k in one)

            def median(nproc: int, key: str, times=times) -> float:
                return statistics.median(t[key] for t in times[nproc])

            print(
                f"{name:14} {median(1, 'wall'):8.2f} {median(options.nproc, 'wall'):8.2f} "
                f"{median(1, 'train'):8.2f} {median(options.nproc, 'train'):8.2f} "
                f"{median(1, 'train') / median(options.nproc, 'train'):6.2f} "
                f"{diff:10.2e} {largest:8.3f}"
            )
    print("times in seconds (medians); ratio = train 1 / train N")


if __name__ == "__main__":
    main()
