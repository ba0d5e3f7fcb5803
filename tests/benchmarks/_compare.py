"""Side-by-side timing shared by the benchmarks: alternate runs, report medians and ratios.

Importing it does not import torch (the start-up benchmarks time fresh processes).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def arguments(description: str, *, epochs: int, batch_size: int, repeats: int):
    """A parser with the options every comparison has; add your own, then parse."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument(
        "--memory-format",
        default="auto",
        choices=["auto", "channels-last", "contiguous"],
        help="zoo's --memory-format (contiguous: the plain loop's layout, to see the loop alone)",
    )
    return parser


def print_setup(work: str, memory_format: str) -> None:
    """What is compared, and on what: the first lines of every benchmark's output."""
    import torch

    print(work)
    print(f"zoo memory format: {memory_format}; the plain loop: torch's default layout")
    python = sys.version.split()[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, python {python}")


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds of one subprocess run, and its stdout; a failure stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds, done.stdout


def timed_train(name: str, **options: Any) -> float:
    """Seconds of one whole `zoo.train` call on the CPU, into a throwaway run folder."""
    import zoo

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        zoo.train(name, device="cpu", out=Path(folder) / "run", verbose=False, **options)
        return time.perf_counter() - started


def compare(
    plain: Callable[[int], float], ours: Callable[[int], float], *, repeats: int, items: int
) -> float:
    """Time `plain(seed)` and `ours(seed)` alternately `repeats` times; print and return the ratio.

    Each callable does the same work and returns its own seconds. Alternating
    (plain, zoo, plain, zoo, ...) lets load on a shared machine hit both
    alike. `items` (images × epochs, say) turns seconds into a rate. Returns
    the median of the runs' ratios plain / zoo (>= 1.0: zoo at least as fast).
    """
    plain_times, zoo_times = [], []
    for repeat in range(repeats):
        plain_times.append(plain(repeat))
        zoo_times.append(ours(repeat))
        print(
            f"run {repeat + 1}: plain {plain_times[-1]:.2f} s   zoo {zoo_times[-1]:.2f} s   "
            f"ratio {plain_times[-1] / zoo_times[-1]:.3f}",
            flush=True,
        )
    plain_median, zoo_median = statistics.median(plain_times), statistics.median(zoo_times)
    print(
        f"median: plain {plain_median:.2f} s ({items / plain_median:,.0f} images/s), "
        f"zoo {zoo_median:.2f} s ({items / zoo_median:,.0f} images/s)"
    )
    ratios = [p / z for p, z in zip(plain_times, zoo_times, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"ratio plain/zoo (>= 1.0: zoo at least as fast): median of the runs' ratios "
        f"{ratio:.3f}, ratio of the medians {plain_median / zoo_median:.3f}"
    )
    return ratio
