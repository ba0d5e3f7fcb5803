"""A real third-party plugin distribution, installed with pip, used like any other."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import zoo
import zoo.testing
from zoo.cli import cli

from .conftest import FIXTURES


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-install tests/fixtures/zoo-plugin-example into a private folder (offline)."""
    work = tmp_path_factory.mktemp("example-plugin")
    source = work / "source"
    shutil.copytree(FIXTURES / "zoo-plugin-example", source)  # keep build files out of the checkout
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    assert list(target.glob("zoo_plugin_example-0.3.0.dist-info"))
    return target


@pytest.fixture
def on_path(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(installed))
    zoo.reset_registry()
    yield installed
    for name in [m for m in sys.modules if m.startswith("zoo_plugin_example")]:
        del sys.modules[name]


def test_the_installed_plugin_is_listed_with_its_distribution(on_path):
    result = CliRunner().invoke(cli, ["list", "--json"])
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["linear-ae"]["distribution"] == "zoo-plugin-example"
    assert rows["linear-ae"]["version"] == "0.3.0"
    assert rows["small-uniform"]["kind"] == "init"
    table = CliRunner().invoke(cli, ["list", "models"]).output
    assert "linear-ae" in table and "zoo-plugin-example 0.3.0" in table


def test_the_plugin_trains_with_zoo_train_and_reloads(on_path, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "linear-ae",
            "--init",
            "small-uniform",
            "--set",
            "bound=0.1",
            "--set",
            "n_samples=80",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    model = zoo.load(out / "model.safetensors")
    assert type(model).__module__ == "zoo_plugin_example.models"
    assert model.zoo_spec.distribution == "zoo-plugin-example"
    assert model.zoo_spec.init == "small-uniform" and model.zoo_spec.init_options == {"bound": 0.1}
    assert model.zoo_spec.metrics["epoch"] == 3  # the plugin's own recipe


def test_plugin_authors_conformance_check_passes(on_path):
    assert zoo.testing.check_distribution("zoo-plugin-example") == 2


def test_the_console_path_sees_it_too_without_importing_torch(installed):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    code = (
        "import sys; from zoo.cli import main\n"
        "try:\n    main(['list', 'models', '--json'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'listing imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "linear-ae" in [row["name"] for row in json.loads(done.stdout)]
