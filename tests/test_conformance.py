"""zoo.testing's conformance checks over every registered entry, and that they can fail."""

from __future__ import annotations

import pytest

import zoo
import zoo.testing
from zoo.registry import KINDS


def every(kind: str) -> list[str]:
    zoo.reset_registry()
    return [entry.qualified_name for entry in zoo.list_entries(kind)]


# The timm plugin registers every timm architecture (~1400, many of them hundreds of
# megabytes): building each would take hours. A few small ones stand for the rest, which
# share one factory and one set of defaults; tests/test_timm.py checks they all register.
TIMM_SAMPLE = ("timm/resnet10t", "timm/mobilenetv3_small_050")


def sampled(names: list[str]) -> list[str]:
    return [
        n for n in names if not n.partition(":")[2].startswith("timm/") or n.endswith(TIMM_SAMPLE)
    ]


@pytest.mark.parametrize("name", sampled(every("model")))
def test_every_model_conforms(name):
    zoo.testing.check_model(name)


@pytest.mark.parametrize(("kind", "name"), [(k, n) for k in KINDS for n in sampled(every(k))])
def test_every_entry_has_valid_metadata(kind, name):
    zoo.testing.check_entry(zoo.get_entry(kind, name))


def test_first_party_distribution_conforms(monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "timm")  # sampled above, for the same reason
    zoo.reset_registry()
    assert zoo.testing.check_distribution("zoo") >= 14


BROKEN_MODELS = """
import torch
import zoo


class WrongInput(torch.nn.Module):
    '''Expects 5 features although its dataset has 3.'''

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(5, 5)

    def forward(self, x):
        return self.layer(x)


@zoo.hookimpl
def register_models(register):
    register("wrong-input", WrongInput, task="reconstruction", dataset="blobs")
    register("no-summary", "torch.nn:Identity", summary="", task="reconstruction", dataset="blobs")
    register("bad-task", "torch.nn:Identity", summary="x", task="no-such-task", dataset="blobs")
    register("bad-recipe", "torch.nn:Identity", summary="x", task="reconstruction",
             dataset="blobs", training={"dataset_options": {"n_sample": 50}})
"""


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("wrong-input", "forward failed on 2 sample"),
        ("no-summary", "has no summary"),
        ("bad-task", "refers to task 'no-such-task'"),
        ("bad-recipe", "training dataset_options names n_sample, which dataset 'blobs'"),
    ],
)
def test_conformance_checks_catch_broken_models(make_plugin, name, message):
    make_plugin("zoo-plugin-broken-models", "zoo_broken_models", BROKEN_MODELS)
    with pytest.raises(AssertionError, match=message):
        zoo.testing.check_model(name)
    with pytest.raises(AssertionError):
        zoo.testing.check_distribution("zoo-plugin-broken-models")
