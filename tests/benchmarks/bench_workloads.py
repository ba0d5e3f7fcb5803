"""zoo's trainer against the chapter's plain PyTorch loops on the chapter's four workloads.

For each workload, the same model, data, batch size, optimizer, learning rate
and seed are trained twice:

- **plain**: the loop as the course chapter writes it: a shuffling DataLoader
  over a TensorDataset, then zero_grad / forward / loss / backward / step, with
  `loss.item()` every step. Timed from building the dataset to the last step.
- **zoo**: one `zoo.train(...)` call, timed end to end: the dataset, the model,
  training, a checkpoint every epoch, metrics.jsonl, config.json and the
  task's pictures.

Every run is a fresh Python process that imports the same libraries and reads
the dataset once before the clock starts (both sides alike); runs alternate
plain, zoo, plain, zoo, ... so that load on a shared machine hits both alike.
Peak memory comes from one more run of each side in a process that read
nothing first, so that the peak is that run's own.
Printed per workload: samples/s of each side (median over runs), the median
of the runs' ratios zoo/plain (>= 1.0: zoo at least as fast), the final
epoch's mean training loss of each side (the same work gives nearly the same
loss; the two shuffle differently), and the peak resident memory of each
process.

Workloads (sizes chosen to run in minutes on 2 cores; change them with flags):

- W1 dense-ae (3 -> 2 -> 3) on blobs scaled to 200,000 rows, batch 100
- W2 conv-denoiser on 28x28 images (Fashion-MNIST bags, or digits), batch 32
- W3 dcgan at 64x64 on digits, batch 64 (the two Adam of the gan task)
- W4 fusion on houses: 64x64 pictures + 10 features, batch 64

Not part of the test run. Usage:

    python tests/benchmarks/bench_workloads.py                  # all four, 3 runs each
    python tests/benchmarks/bench_workloads.py --only W1 --repeats 5
    python tests/benchmarks/bench_workloads.py --only W1 W2 --compile   # adds zoo --compile
    python tests/benchmarks/bench_workloads.py --plain-fused          # adds plain + fused Adam

zoo's Adam is PyTorch's fused kernel (`zoo.make_optimizer`): the same algorithm
as the chapter's `torch.optim.Adam`, one vectorised update instead of a dozen
small operations per tensor. With --plain-fused another side, the plain loop
with `torch.optim.Adam(..., fused=True)`, shows how much of zoo's lead comes
from that kernel and how much from its batching.

With --compile another side, zoo with `compile=True`, is timed the same way:
its time includes compiling (torch.compile's inductor, paid once per process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()

# name: (model, dataset, dataset options, epochs, batch size, lr, extra zoo options)
WORKLOADS = {
    "W1": ("dense-ae", "blobs", {"n_samples": 200_000}, 2, 100, 1e-3, {}),
    "W2": ("conv-denoiser", None, {}, 2, 32, 1e-3, {}),
    "W3": ("dcgan", "digits", {"size": 64}, 1, 64, 8e-4, {}),
    "W4": ("fusion", "houses", {}, 3, 64, 2e-3, {}),
}
SIGMA = 0.5  # the denoising task's noise
BETAS = (0.5, 0.999)  # the gan task's Adam
# The plain loops' Adam options: PyTorch's default implementation, or with
# --plain-fused a third side that uses the fused kernel zoo uses.
ADAM: dict = {}


def _denoiser_data() -> tuple[str, dict]:
    """Fashion-MNIST's bags when Debian's files are there (looked up without reading them)."""
    import zoo

    try:
        zoo.create_dataset("fashion-mnist", classes=["bag"], split="test")
        return "fashion-mnist", {"classes": ["bag"]}
    except zoo.ZooError:
        return "digits", {}


# -- the plain loops, as the chapter writes them --------------------------------------


def fit(model, tensors, epochs, batch_size, lr, loss_of):
    """The chapter's loop: a shuffling DataLoader over a TensorDataset, then zero_grad /
    forward / loss / backward / step and `loss.item()` every step.

    `loss_of(model, *batch)` is the workload's loss. Returns the samples trained
    on and the last epoch's mean loss.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, **ADAM)
    model.train()
    for _ in range(epochs):
        losses = []
        for batch in loader:
            optimizer.zero_grad()
            loss = loss_of(model, *batch)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return len(tensors[0]) * epochs, sum(losses) / len(losses)


def plain_dense_ae(data, epochs, batch_size, lr):
    import torch

    import zoo

    x = data.tensors["x"]
    model = zoo.create_model("dense-ae", in_features=x.shape[1])
    mse = torch.nn.MSELoss()
    return fit(model, [x], epochs, batch_size, lr, lambda m, batch: mse(m(batch), batch))


def plain_denoiser(data, epochs, batch_size, lr):
    import torch

    import zoo

    x = data.tensors["x"]
    model = zoo.create_model("conv-denoiser", in_channels=x.shape[1], image_size=x.shape[-1])
    mse = torch.nn.MSELoss()

    def loss_of(m, batch):
        noisy = torch.clip(batch + SIGMA * torch.randn(*batch.shape), 0.0, 1.0)
        return mse(m(noisy), batch)

    return fit(model, [x], epochs, batch_size, lr, loss_of)


def plain_dcgan(data, epochs, batch_size, lr):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    import zoo

    x = data.tensors["x"]
    pair = zoo.create_model("dcgan", image_size=x.shape[-1], channels=x.shape[1])
    generator, discriminator = pair.generator, pair.discriminator
    loader = DataLoader(TensorDataset(x * 2 - 1), batch_size=batch_size, shuffle=True)
    criterion = torch.nn.BCEWithLogitsLoss()
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=BETAS, **ADAM)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=BETAS, **ADAM)
    for _ in range(epochs):
        losses = []
        for (real,) in loader:
            ones, zeros = torch.ones(len(real)), torch.zeros(len(real))
            optimizer_d.zero_grad()
            fake = generator(torch.randn(len(real), pair.latent_size, 1, 1))
            loss_d = criterion(discriminator(real).view(-1), ones) + criterion(
                discriminator(fake.detach()).view(-1), zeros
            )
            loss_d.backward()
            optimizer_d.step()
            optimizer_g.zero_grad()
            loss_g = criterion(discriminator(fake).view(-1), ones)
            loss_g.backward()
            optimizer_g.step()
            losses.append(loss_d.item())
    return len(x) * epochs, sum(losses) / len(losses)


def plain_fusion(data, epochs, batch_size, lr):
    import torch

    import zoo

    tensors = data.tensors
    features, y = tensors["features"], tensors["y"]
    # zoo standardises the features and the price with the training data's statistics:
    # the plain loop does the same work.
    features = (features - features.mean(0)) / features.std(0).clamp_min(1e-12)
    y = (y - y.mean()) / y.std()
    model = zoo.create_model("fusion", image_size=tensors["image"].shape[-1])
    mse = torch.nn.MSELoss()

    def loss_of(m, image, row, target):
        return mse(m(image=image, features=row).view(-1), target)

    return fit(model, [tensors["image"], features, y], epochs, batch_size, lr, loss_of)


PLAIN = {"W1": plain_dense_ae, "W2": plain_denoiser, "W3": plain_dcgan, "W4": plain_fusion}


# -- one run, in its own process ---------------------------------------------------------


def worker(
    workload: str,
    side: str,
    seed: int,
    epochs: int | None,
    memory_format: str,
    data: str,
    warm: bool,
) -> dict:
    import torch

    import zoo

    model, dataset, options, default_epochs, batch_size, lr, extra = WORKLOADS[workload]
    if dataset is None:
        dataset, options = json.loads(data)
    epochs = epochs or default_epochs
    _warm_imports()
    if warm:
        # Timed runs read the dataset once first, untimed: the files are then in the
        # page cache and the heap has grown, for both sides alike. (A cold process's
        # first allocations fault pages in, which hits the two sides unevenly.) Runs
        # that measure peak memory skip this, so that the peak is the run's own.
        zoo.create_dataset(dataset, **options)
    torch.manual_seed(seed)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if side in ("plain", "plain-fused"):
        ADAM["fused"] = side == "plain-fused" or None
        data = zoo.create_dataset(dataset, **options)
        samples, loss = PLAIN[workload](data, epochs, batch_size, lr)
    else:
        extra = {**extra, "compile": side == "zoo-compiled"}
        with tempfile.TemporaryDirectory() as folder:
            run = zoo.train(
                model,
                dataset=dataset,
                dataset_options=options,
                epochs=epochs,
                batch_size=batch_size,
                lr=lr,
                val_fraction=0.0,
                seed=seed,
                device="cpu",
                memory_format=memory_format,
                out=Path(folder) / "run",
                verbose=False,
                **extra,
            )
            last = run.history[-1]
            loss = last.get("loss", last.get("loss_d"))
            samples = run.config["samples"]["train"] * epochs
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "samples": samples,
        "loss": loss,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_imports_mib": rss_before / 1024,
        "dataset": dataset,
    }


def _warm_imports() -> None:
    """Import, untimed and alike for both sides, what either may load on first use.

    A fresh process pays for these once (torch's optimizer machinery alone takes a
    second); they are start-up, not training.
    """
    import matplotlib.pyplot  # noqa: F401  (zoo's pictures)
    import sklearn.linear_model  # noqa: F401  (the reconstruction task's probe)
    import torch

    import zoo.trainer  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def run_worker(workload: str, side: str, seed: int, args, warm: bool = True) -> dict:
    command = [sys.executable, str(HERE), "--worker", workload, side, str(seed)]
    command += ["--memory-format", args.memory_format, "--data", args.data]
    if warm:
        command.append("--warm")
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{workload} {side} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), default=sorted(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="override every workload's epochs")
    parser.add_argument(
        "--memory-format", default="auto", choices=["auto", "channels-last", "contiguous"]
    )
    parser.add_argument(
        "--compile", action="store_true", help="also time zoo with compile=True (torch.compile)"
    )
    parser.add_argument(
        "--plain-fused",
        action="store_true",
        help="also time the plain loop with fused Adam (the optimizer kernel zoo uses)",
    )
    parser.add_argument(
        "--memory-runs", type=int, default=2, help="cold runs per side for peak memory (the max)"
    )
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=3, metavar=("W", "SIDE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        workload, side, seed = args.worker
        print(
            json.dumps(
                worker(
                    workload,
                    side,
                    int(seed),
                    args.epochs,
                    args.memory_format,
                    args.data,
                    args.warm,
                )
            )
        )
        return
    args.data = json.dumps(_denoiser_data())

    import torch

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"python {sys.version.split()[0]}; {args.repeats} interleaved runs per side, each in "
        f"a fresh process; zoo memory format {args.memory_format}"
    )
    summary = []
    for workload in args.only:
        model, batch_size = WORKLOADS[workload][0], WORKLOADS[workload][4]
        sides = ("plain", "zoo")
        sides += ("plain-fused",) if args.plain_fused else ()
        sides += ("zoo-compiled",) if args.compile else ()
        results: dict[str, list[dict]] = {side: [] for side in sides}
        for repeat in range(args.repeats):
            for side in sides:
                results[side].append(run_worker(workload, side, repeat, args))
            print(
                f"{workload} run {repeat + 1}: "
                + "  ".join(
                    f"{side} {results[side][-1]['seconds']:.2f} s "
                    f"(loss {results[side][-1]['loss']:.4f})"
                    for side in sides
                ),
                flush=True,
            )
        rate = {
            side: statistics.median(r["samples"] / r["seconds"] for r in runs)
            for side, runs in results.items()
        }
        ratio = statistics.median(
            p["seconds"] / z["seconds"]
            for p, z in zip(results["plain"], results["zoo"], strict=True)
        )
        loss = {s: statistics.median(r["loss"] for r in runs) for s, runs in results.items()}
        # Peak memory: the highest of a few more runs per side, each in a process that
        # read nothing first (the peak varies from run to run with the heap's layout).
        rss = {
            side: max(
                run_worker(workload, side, seed, args, warm=False)["rss_mib"]
                for seed in range(args.memory_runs)
            )
            for side in sides
        }
        data = results["zoo"][0]["dataset"]
        line = (
            f"{workload} {model} on {data}, batch {batch_size}: plain {rate['plain']:,.0f} "
            f"samples/s, zoo {rate['zoo']:,.0f} samples/s, ratio zoo/plain {ratio:.3f}; "
            f"final loss plain {loss['plain']:.4f} zoo {loss['zoo']:.4f}; peak RSS plain "
            f"{rss['plain']:.0f} MiB zoo {rss['zoo']:.0f} MiB ({rss['zoo'] / rss['plain']:.2f}x)"
        )
        if args.plain_fused:
            fused = results["plain-fused"]
            ratio_f = statistics.median(
                f["seconds"] / z["seconds"] for f, z in zip(fused, results["zoo"], strict=True)
            )
            rate_f = statistics.median(r["samples"] / r["seconds"] for r in fused)
            line += (
                f"; plain with fused Adam {rate_f:,.0f} samples/s, ratio zoo/plain-fused "
                f"{ratio_f:.3f}, peak RSS {rss['plain-fused']:.0f} MiB"
            )
        if args.compile:
            compiled = results["zoo-compiled"]
            ratio_c = statistics.median(
                p["seconds"] / c["seconds"] for p, c in zip(results["plain"], compiled, strict=True)
            )
            rate_c = statistics.median(r["samples"] / r["seconds"] for r in compiled)
            line += (
                f"; zoo --compile {rate_c:,.0f} samples/s (compile time included), ratio "
                f"{ratio_c:.3f}, final loss "
                f"{statistics.median(r['loss'] for r in compiled):.4f}"
            )
        print(line, flush=True)
        summary.append(line)
    print("\nsummary")
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()
