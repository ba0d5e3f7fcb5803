"""Shared fixtures: a clean registry per test, fake plugin distributions, a scratch folder."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import zoo

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """zoo's cache (timm's architecture list, unpacked datasets) in a folder of the run's
    own, never the user's ~/.cache/zoo; subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("zoo-cache")
    previous = os.environ.get("ZOO_CACHE_DIR")
    os.environ["ZOO_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("ZOO_CACHE_DIR", None)
    else:
        os.environ["ZOO_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """Every test discovers plugins anew, and leaves no registry behind."""
    zoo.reset_registry()
    yield
    zoo.reset_registry()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in its own folder, so `runs/` never lands in the checkout."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """Make a fake distribution: a module plus a `*.dist-info` with a `zoo` entry point.

    No install: the folder goes on sys.path, where importlib.metadata finds it.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    made: list[str] = []

    def make(
        distribution: str,
        module: str,
        source: str,
        *,
        entry_point: str | None = None,
        version: str = "1.0",
    ) -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        )
        (info / "entry_points.txt").write_text(f"[zoo]\n{entry_point or module} = {module}\n")
        made.append(module)
        zoo.reset_registry()
        return site

    yield make
    for module in made:
        sys.modules.pop(module, None)
