"""Does fusing the picture and the listing beat either alone? And does the CSV path hold up?

Part 1, the ablation: `fusion` on `houses` three times per seed with the same
budget (epochs, batch size, learning rate, seed, held-out split): both
branches, the image branch alone (`use_tabular=false`) and the tabular branch
alone (`use_image=false`). Prints each run's held-out R², MAE and RMSE, and the
medians over seeds.

Part 2, the round trip a user with real files makes: `houses` written as PNG
files + a CSV (`write_csv_images`), `fusion` trained on it through
`csv-images`, then `predict_csv` on fresh houses (another seed) written the
same way, scored against their true prices.

    python tests/benchmarks/bench_fusion_quality.py            # seeds 0 1 2
    python tests/benchmarks/bench_fusion_quality.py --seeds 0 --skip-csv
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import zoo
from zoo_datasets.csv_images import write_csv_images
from zoo_tasks.predicting import predict_csv

VARIANTS = {
    "fusion (image + listing)": {},
    "image only": {"use_tabular": False},
    "listing only": {"use_image": False},
}


def train(folder: Path, seed: int, **options) -> dict[str, float]:
    run = zoo.train("fusion", seed=seed, out=folder, device="cpu", verbose=False, **options)
    return run.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: fusion's recipe (30)")
    parser.add_argument("--skip-csv", action="store_true", help="run the ablation only")
    args = parser.parse_args()
    budget = {} if args.epochs is None else {"epochs": args.epochs}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("held-out R² / MAE / RMSE (price in thousands) on houses, 800 of 4000 held out")
    scores: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for seed in args.seeds:
            for name, settings in VARIANTS.items():
                started = time.perf_counter()
                folder = root / f"{seed}-{len(scores[name])}-{name.split()[0]}"
                metrics = train(folder, seed, settings=settings, **budget)
                scores[name].append(metrics["val_r2"])
                print(
                    f"seed {seed}  {name:<26} R² {metrics['val_r2']:.4f}  "
                    f"MAE {metrics['val_mae']:6.2f}  RMSE {metrics['val_rmse']:6.2f}  "
                    f"({time.perf_counter() - started:.1f} s)"
                )
        print("median held-out R² over seeds " + " ".join(map(str, args.seeds)) + ":")
        for name, values in scores.items():
            print(f"  {name:<26} {statistics.median(values):.4f}")
        if args.skip_csv:
            return

        started = time.perf_counter()
        train_csv = write_csv_images(zoo.create_dataset("houses"), root / "houses")
        new_csv = write_csv_images(
            zoo.create_dataset("houses", n_samples=1000, random_state=1), root / "new-houses"
        )
        print(f"wrote 4000 + 1000 houses as PNG + CSV in {time.perf_counter() - started:.1f} s")
        metrics = train(
            root / "csv-run",
            args.seeds[0],
            dataset="csv-images",
            settings={"csv": str(train_csv), "target_column": "price"},
            **budget,
        )
        print(
            f"csv-images training: held-out R² {metrics['val_r2']:.4f}  "
            f"MAE {metrics['val_mae']:.2f}  RMSE {metrics['val_rmse']:.2f}"
        )
        result = predict_csv(root / "csv-run" / "model.safetensors", new_csv, device="cpu")
        m = result.metrics
        print(
            f"predict on 1000 new houses (random_state 1): R² {m['r2']:.4f}  "
            f"MAE {m['mae']:.2f}  RMSE {m['rmse']:.2f}"
        )


if __name__ == "__main__":
    main()
