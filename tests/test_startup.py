"""Commands that only list or describe files never import torch (start-up stays fast)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import zoo


def run_without_torch(args: list[str]) -> subprocess.CompletedProcess:
    code = (
        "import sys; from zoo.cli import main\n"
        f"try:\n    main({args!r})\n"
        "except SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
        "heavy = [m for m in ('torch', 'numpy', 'matplotlib', 'sklearn', 'timm')"
        " if m in sys.modules]\n"
        "assert not heavy, f'imported {heavy}'\n"
        "sys.exit(code)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.fixture(autouse=True)
def timm_list_cached() -> None:
    """The timm plugin reads timm's architectures from a cache; the first build imports timm."""
    from zoo_timm.catalog import architectures

    architectures()


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["list"],
        ["list", "models", "--json"],
        ["plugins"],
        ["train", "--help"],
    ],
)
def test_listing_and_help_do_not_import_torch(args):
    done = run_without_torch(args)
    assert done.returncode == 0, done.stderr


def test_listing_timm_models_does_not_import_timm():
    done = run_without_torch(["list", "models", "timm/resnet1*"])
    assert done.returncode == 0, done.stderr
    names = [row.split()[0] for row in done.stdout.splitlines()[1:]]
    assert "timm/resnet10t" in names and "timm/resnet18" in names


def test_inspect_does_not_import_torch_or_the_plugin(tmp_path):
    path = zoo.save(zoo.create_model("dense-ae"), tmp_path / "m.safetensors")
    done = run_without_torch(["inspect", str(path)])
    assert done.returncode == 0, done.stderr
    assert "dense-ae" in done.stdout


def test_import_zoo_is_light():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, zoo; assert 'torch' not in sys.modules"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
