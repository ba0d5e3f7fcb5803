"""Start-up time of the `zoo` command and of `import zoo`, against `import torch`.

Times, each as a fresh subprocess (interpreter start-up included), as a user
runs them:
  - `zoo --help`,
  - `zoo list` (every installed plugin, timm's included, with a warm cache of
    timm's architectures: one untimed run fills it first),
  - `zoo list models --json`: every model, each of timm's architectures on a
    row of its own,
  - `python -c "import zoo"`,
  - `python -c "import torch"`, for comparison,
  - `python -c "pass"`: the interpreter alone, the floor under all of them.
Each round runs all of them in turn, so that load on a shared machine hits
them alike; medians (and the fastest run) are reported, with the issue's
targets: `zoo --help` <= 0.3 s, `zoo list` <= 0.5 s.

Then it checks that `zoo --help` and `zoo list` import neither torch nor timm
(nor numpy, matplotlib, scikit-learn), and lists the slowest imports of
`zoo list` from `python -X importtime` (each with what it imports). timm's
cache lives in a temporary ZOO_CACHE_DIR, so the user's cache is not touched.

Not part of the test run. Usage (about half a minute on 2 cores):

    python tests/benchmarks/bench_startup.py
    python tests/benchmarks/bench_startup.py --repeats 11
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _compare import timed

# The installed `zoo` script beside this interpreter, as a user runs it; else `python -m zoo`.
_SCRIPT = Path(sys.executable).with_name("zoo")
ZOO = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "zoo"]
PYTHON = [sys.executable, "-c"]

COMMANDS = {
    "zoo --help": [*ZOO, "--help"],
    "zoo list": [*ZOO, "list"],
    "zoo list --json": [*ZOO, "list", "models", "--json"],
    "import zoo": [*PYTHON, "import zoo"],
    "import torch": [*PYTHON, "import torch"],
    "python (nothing)": [*PYTHON, "pass"],
}
TARGETS = {"zoo --help": 0.3, "zoo list": 0.5}
HEAVY = ("torch", "timm", "numpy", "matplotlib", "sklearn")


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """The heavy libraries that `zoo <args>` imports (run through zoo.cli.main)."""
    code = (
        "import sys\nfrom zoo.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print(*[m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    return timed([*PYTHON, code], env)[1].split("\n")[-2].split()


def slowest_imports(command: list[str], env: dict[str, str], count: int) -> list[str]:
    """The imports of `command` that took longest (cumulative: with what they import)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command], env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[1]), parts[2].strip()))
    return [f"{name} {micros / 1000:.0f} ms" for micros, name in sorted(rows, reverse=True)[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="rounds (at least 7)")
    repeats = max(7, parser.parse_args().repeats)

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "ZOO_CACHE_DIR": folder}
        env.pop("ZOO_DISABLE_PLUGINS", None)
        timed(COMMANDS["zoo list"], env)  # fills timm's cache
        rows = json.loads(timed(COMMANDS["zoo list --json"], env)[1])
        timm_models = sum(row["name"].startswith("timm/") for row in rows)
        for command in COMMANDS.values():  # one untimed round: the files are in the page cache
            timed(command, env)

        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(repeats):
            for name, command in COMMANDS.items():
                times[name].append(timed(command, env)[0])
        heavy = {name: heavy_imports(COMMANDS[name][len(ZOO) :], env) for name in TARGETS}
        zoo_list = ["-m", "zoo", "list"]
        slowest = slowest_imports(zoo_list, env, 6)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {repeats} rounds")
    print(f"models: {len(rows)}, of which timm's: {timm_models} (warm cache)")
    for name, values in times.items():
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            met = statistics.median(values) <= target
            verdict = f"   target <= {target} s: {'met' if met else 'MISSED'}"
        print(
            f"{name:<17} median {statistics.median(values):.3f} s   "
            f"fastest {min(values):.3f} s{verdict}"
        )
    for name, modules in heavy.items():
        print(f"{name} imports: {', '.join(modules) if modules else f'none of {HEAVY}'}")
    print("slowest imports of `python -m zoo list` (cumulative): " + "; ".join(slowest))


if __name__ == "__main__":
    main()
