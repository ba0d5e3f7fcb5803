"""DCGAN 64x64 training on a CUDA GPU: eager fp32 against bf16 + channels-last (+ compile).

Each configuration trains the same `dcgan` (digits at 64x64, batch 128, the gan
task's two Adam) through `zoo.train` on the GPU for a few epochs. The first
epoch warms up (cuDNN autotuning, and compiling with --compile); the images/s
reported are those of the later epochs, from the epoch times zoo records in
metrics.jsonl, so compile time is reported separately. Configurations alternate
over --repeats rounds; medians are compared with eager fp32.

Needs a CUDA device; on a machine without one it says so and exits. Usage:

    python tests/benchmarks/bench_gpu_dcgan.py        # eager fp32, bf16 + channels-last, + compile
    python tests/benchmarks/bench_gpu_dcgan.py --epochs 4 --repeats 3 --no-compile
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = {
    "eager fp32": {"precision": "fp32", "memory_format": "contiguous", "compile": False},
    "bf16 + channels-last": {"precision": "bf16", "memory_format": "channels-last"},
    "bf16 + channels-last + compile": {
        "precision": "bf16",
        "memory_format": "channels-last",
        "compile": True,
    },
}


def one_run(options: dict, epochs: int, batch_size: int, seed: int) -> dict:
    import zoo

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run = zoo.train(
            "dcgan",
            device="cuda",
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            out=Path(folder) / "run",
            verbose=False,
            **options,
        )
        total = time.perf_counter() - started
    images = run.config["samples"]["train"]
    later = [row["seconds"] for row in run.history[1:]]
    return {
        "images_per_s": images * len(later) / sum(later),
        "first_epoch_s": run.history[0]["seconds"],
        "total_s": total,
        "loss_d": run.history[-1]["loss_d"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="at least 2 (the first warms up)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="leave out the compiled run")
    args = parser.parse_args()
    if args.epochs < 2:
        raise SystemExit("--epochs must be at least 2: the first epoch warms up")

    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark needs a GPU (see docs/benchmarks.md)")
    name = torch.cuda.get_device_name()
    print(f"{name}, torch {torch.__version__}, bf16 supported: {torch.cuda.is_bf16_supported()}")
    configs = {k: v for k, v in CONFIGS.items() if not (args.no_compile and v.get("compile"))}
    results: dict[str, list[dict]] = {label: [] for label in configs}
    one_run(CONFIGS["eager fp32"], 2, args.batch_size, 0)  # CUDA context, cuDNN, imports
    for repeat in range(args.repeats):
        for label, options in configs.items():
            result = one_run(options, args.epochs, args.batch_size, repeat)
            results[label].append(result)
            print(
                f"run {repeat + 1} {label}: {result['images_per_s']:,.0f} images/s after the "
                f"first epoch ({result['first_epoch_s']:.1f} s), loss_d {result['loss_d']:.3f}",
                flush=True,
            )
    base = statistics.median(r["images_per_s"] for r in results["eager fp32"])
    print("\nmedians (images/s after the first epoch; ratio against eager fp32)")
    for label, runs in results.items():
        rate = statistics.median(r["images_per_s"] for r in runs)
        first = statistics.median(r["first_epoch_s"] for r in runs)
        print(
            f"{label:<32} {rate:>10,.0f} images/s  ratio {rate / base:.2f}  "
            f"first epoch {first:.1f} s"
        )


if __name__ == "__main__":
    sys.exit(main())
