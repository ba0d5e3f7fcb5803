"""How much the timm plugin adds to `zoo list`, against asking timm itself.

Times, each as a fresh `zoo list` subprocess (so start-up counts):
  - with the timm plugin and a warm architecture cache,
  - without it (ZOO_DISABLE_PLUGINS=timm),
  - with the plugin and a cold cache (the file removed first: timm is imported once),
  - `python -c "import timm; timm.list_models()"`, for comparison.
The first two alternate (with, without, with, …) so that load on a shared machine
hits both alike; their medians are reported. The cache lives in a temporary
ZOO_CACHE_DIR, so the user's cache is not touched.

Not part of the test run. Usage (about half a minute on 2 cores):

    python tests/benchmarks/bench_timm_list.py
    python tests/benchmarks/bench_timm_list.py --repeats 11
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _compare import timed

# The installed `zoo` script beside this interpreter, as a user runs it; else `python -m zoo`.
_SCRIPT = Path(sys.executable).with_name("zoo")
LIST = [str(_SCRIPT), "list"] if _SCRIPT.exists() else [sys.executable, "-m", "zoo", "list"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of each (at least 7)")
    repeats = max(7, parser.parse_args().repeats)

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "ZOO_CACHE_DIR": folder}
        env.pop("ZOO_DISABLE_PLUGINS", None)
        without = {**env, "ZOO_DISABLE_PLUGINS": "timm"}
        cache = Path(folder) / "timm"

        cold, _ = timed(LIST, env)  # builds the cache
        shutil.rmtree(cache)
        cold, _ = timed(LIST, env)  # again, now that the interpreter's files are warm
        _, listing = timed([*LIST, "models", "--json"], env)
        count = sum(row["name"].startswith("timm/") for row in json.loads(listing))

        warm_times, plain_times = [], []
        for _ in range(repeats):
            warm_times.append(timed(LIST, env)[0])
            plain_times.append(timed(LIST, without)[0])
        timm_times = [
            timed([sys.executable, "-c", "import timm; timm.list_models()"], env)[0]
            for _ in range(3)
        ]

    warm, plain = statistics.median(warm_times), statistics.median(plain_times)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {repeats} runs each")
    print(f"registered timm models:                 {count}")
    print(f"zoo list, timm plugin, warm cache:      {warm:.3f} s (median)")
    print(f"zoo list, without timm plugin:          {plain:.3f} s (median)")
    print(f"  plugin cost with a warm cache:        {warm - plain:+.3f} s")
    print(f"zoo list, timm plugin, cold cache:      {cold:.3f} s (once)")
    timm_alone = statistics.median(timm_times)
    print(f"import timm; timm.list_models():        {timm_alone:.3f} s (median of 3)")


if __name__ == "__main__":
    main()
