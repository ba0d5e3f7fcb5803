"""The timm plugin: every timm architecture as `timm/<name>`, its cache, local weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

import zoo
import zoo.testing
from tests.cli_helpers import assert_one_line_error, invoke
from zoo_timm import catalog

SMALL = "timm/resnet10t"  # ~5M parameters, builds in a fraction of a second


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own, so the user's cache is never touched."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("ZOO_CACHE_DIR", str(folder))
    zoo.reset_registry()
    return folder


def weights_file(path: Path, architecture: str = "resnet10t", **options) -> dict:
    """Save a fresh timm model's state dict as plain safetensors (as timm's hub files are)."""
    torch.manual_seed(1)
    state = timm.create_model(architecture, **options).state_dict()
    save_file(state, str(path))
    return state


# -- registration and the cache -------------------------------------------------------
def test_every_timm_architecture_is_registered():
    names = zoo.list_models("timm/*")
    assert len(names) == len(timm.list_models())
    assert names == sorted(f"timm/{name}" for name in timm.list_models())


def test_every_timm_entry_has_valid_metadata():
    # One loop instead of ~1400 parametrized cases: check_entry is cheap, discovery is not.
    entries = zoo.list_entries("model", "timm/*")
    for entry in entries:
        zoo.testing.check_entry(entry)
    entry = zoo.get_entry("model", "timm/resnet18")
    assert entry.summary == "timm resnet18 (module resnet)"
    assert entry.task == "classification" and entry.dataset == "digits"
    assert set(entry.tags) == {"timm", "image", "classification", "resnet"}
    assert dict(entry.defaults) == {
        "in_channels": 3,
        "num_classes": 1000,
        "pretrained": "",
        "timm_options": {},
    }


def test_names_filters_and_close_matches():
    assert {"timm/resnet10t", "timm/resnet18"} <= set(zoo.list_models("timm/resnet1*"))
    assert set(zoo.list_models(tags=["timm", "efficientnet"])) >= {"timm/efficientnet_b0"}
    assert zoo.get_entry("model", "zoo:timm/resnet18").name == "timm/resnet18"
    with pytest.raises(zoo.UnknownNameError, match="did you mean timm/resnet18"):
        zoo.get_entry("model", "timm/resnet181")


def test_zoo_list_folds_the_timm_namespace_into_one_row():
    rows = invoke("list", "models").output.splitlines()[1:]
    folded = [row for row in rows if row.startswith("timm/")]
    count = len(timm.list_models())
    assert len(folded) == 1
    assert folded[0].split()[:3] == ["timm/*", "model", str(count)]
    assert "zoo list models 'timm/*'" in folded[0]
    assert "simple-cnn" in "\n".join(rows)
    everything = invoke("list", "models", "--all").output.splitlines()[1:]
    assert sum(row.startswith("timm/") for row in everything) == count
    # A pattern or a tag asks for the entries themselves.
    assert len(invoke("list", "models", "timm/*").output.splitlines()) == count + 1
    tagged = invoke("list", "models", "--tag", "resnet").output.splitlines()[1:]
    assert "timm/resnet18" in [row.split()[0] for row in tagged]


def test_cache_is_built_then_reused(cache_dir, monkeypatch):
    first = catalog.architectures()
    document = json.loads(catalog.cache_path().read_text())
    assert catalog.cache_path().parent == cache_dir / "timm"
    assert document["format"] == catalog.FORMAT
    assert document["timm_version"] == timm.__version__
    assert len(document["architectures"]) == len(timm.list_models())

    def no_timm():
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(catalog, "_from_timm", no_timm)
    assert catalog.architectures() == first


def test_cache_is_rebuilt_when_timm_changes_version(cache_dir, monkeypatch):
    catalog.architectures()
    monkeypatch.setattr(catalog, "timm_version", lambda: "99.0")
    again = catalog.architectures()
    assert len(again) == len(timm.list_models())
    assert json.loads(catalog.cache_path().read_text())["timm_version"] == "99.0"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[]",
        b'{"format": 1, "timm_version": "VERSION", "architectures": []}',
        b'{"format": 1, "timm_version": "VERSION", "architectures": [["resnet18"]]}',
        b'{"format": 1, "timm_version": "VERSION", "architectures": [["../x", "resnet"]]}',
        b'{"format": 1, "timm_version": "VERSION", "architectures": [["b", "m"], ["a", "m"]]}',
        b'{"format": 0, "timm_version": "VERSION", "architectures": [["resnet18", "resnet"]]}',
    ],
)
def test_a_bad_cache_file_is_ignored_and_rebuilt(cache_dir, content):
    path = catalog.cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(content.replace(b"VERSION", timm.__version__.encode()))
    assert len(zoo.list_models("timm/*")) == len(timm.list_models())
    assert catalog._read(path, timm.__version__) is not None  # rewritten whole


def test_an_unwritable_cache_still_registers(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(blocker / "cache"))
    zoo.reset_registry()
    assert len(zoo.list_models("timm/*")) == len(timm.list_models())
    assert not (blocker / "cache").exists()


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("ZOO_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert zoo.cache_dir() == tmp_path / "xdg" / "zoo"
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "mine"))
    assert zoo.cache_dir() == tmp_path / "mine"


# -- building --------------------------------------------------------------------------
def test_build_with_channels_classes_and_timm_options():
    model = zoo.create_model(SMALL, in_channels=1, num_classes=7, timm_options={"drop_rate": 0.25})
    assert model.zoo_spec.config["in_channels"] == 1 and model.drop_rate == 0.25
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 7)


@pytest.mark.parametrize(
    ("timm_options", "message"),
    [
        ({"bogus": 1}, "timm.create_model rejected the options (timm_options given: bogus)"),
        ({"checkpoint_path": "w.pth"}, "may not set 'checkpoint_path': zoo never unpickles"),
        ({"in_chans": 1}, "may not set 'in_chans': set in_channels instead"),
        ({"pretrained_cfg_overlay": {}}, "zoo never downloads weights"),
    ],
)
def test_bad_timm_options_are_one_clear_error(timm_options, message):
    with pytest.raises(zoo.ConfigError, match="timm/resnet10t") as caught:
        zoo.create_model(SMALL, timm_options=timm_options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_cli_info_and_bad_options():
    out = invoke("info", SMALL)
    assert out.exit_code == 0, out.output
    assert "Layers for 1 sample(s) of digits" in out.output and "conv1.0" in out.output
    # A transformer built for 224×224 cannot take a 28×28 digit: info says so, no traceback.
    vit = invoke("info", "timm/vit_tiny_patch16_224")
    assert vit.exit_code == 0, vit.output
    assert "did not go through the model: AssertionError" in vit.output
    bad = invoke("info", "timm/resnet10tt")
    assert_one_line_error(bad, "did you mean timm/resnet10t")


# -- pretrained weights from a local file ----------------------------------------------
def test_pretrained_file_with_other_head_and_channels(tmp_path):
    source = weights_file(tmp_path / "w.safetensors", num_classes=5, in_chans=3)
    model = zoo.create_model(
        SMALL, pretrained=str(tmp_path / "w.safetensors"), num_classes=10, in_channels=1
    )
    state = model.state_dict()
    for key in ("layer1.0.conv1.weight", "layer4.0.conv2.weight", "conv1.3.weight"):
        assert torch.equal(state[key], source[key]), key
    assert state["fc.weight"].shape == (10, 512)  # a new head, freshly initialised
    first = source["conv1.0.weight"].sum(dim=1, keepdim=True)  # 3 channels summed into 1
    assert torch.allclose(state["conv1.0.weight"], first)
    with torch.no_grad():
        assert model.eval()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_pretrained_file_for_one_channel_into_three(tmp_path):
    source = weights_file(tmp_path / "gray.safetensors", num_classes=10, in_chans=1)
    model = zoo.create_model(SMALL, pretrained=str(tmp_path / "gray.safetensors"), num_classes=10)
    repeated = source["conv1.0.weight"].repeat(1, 3, 1, 1) / 3  # timm's adapt_input_conv
    assert torch.allclose(model.state_dict()["conv1.0.weight"], repeated)
    assert torch.equal(model.state_dict()["fc.weight"], source["fc.weight"])  # same head kept


def test_pretrained_file_of_the_same_shape_loads_everything(tmp_path):
    source = weights_file(tmp_path / "w.safetensors", num_classes=4, in_chans=1)
    model = zoo.create_model(
        SMALL, pretrained=str(tmp_path / "w.safetensors"), num_classes=4, in_channels=1
    )
    assert all(torch.equal(t, source[k]) for k, t in model.state_dict().items())


def test_a_trained_checkpoint_reloads_without_its_pretrained_file(tmp_path):
    weights_file(tmp_path / "w.safetensors", num_classes=5)
    model = zoo.create_model(
        SMALL, pretrained=str(tmp_path / "w.safetensors"), num_classes=3, in_channels=1
    )
    path = zoo.save(model, tmp_path / "model.safetensors")
    (tmp_path / "w.safetensors").unlink()  # the file it started from is gone
    assert not zoo.restoring_weights()
    loaded = zoo.load(path)
    assert loaded.zoo_spec.config["pretrained"] == str(tmp_path / "w.safetensors")  # provenance
    assert all(torch.equal(t, loaded.state_dict()[k]) for k, t in model.state_dict().items())
    # A zoo checkpoint (plain state-dict names) is itself a valid pretrained file.
    again = zoo.create_model(SMALL, pretrained=str(path), num_classes=3, in_channels=3)
    assert torch.equal(again.state_dict()["layer1.0.conv1.weight"], model.layer1[0].conv1.weight)


def test_a_file_of_another_architecture_is_refused(tmp_path):
    weights_file(tmp_path / "other.safetensors", "resnet18")
    with pytest.raises(zoo.ConfigError) as caught:
        zoo.create_model(SMALL, pretrained=str(tmp_path / "other.safetensors"))
    message = str(caught.value)
    assert "other.safetensors do not fit" in message and "\n" not in message
    assert "missing (" in message and "unexpected (" in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"PK\x03\x04" + bytes(60), "never unpickles"),
        (b"\x80\x04" + bytes(60), "pickle, which zoo never loads"),
        (b"just some text, not weights", "not a safetensors file"),
    ],
)
def test_a_missing_or_foreign_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "weights.bin"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(zoo.ConfigError, match=r"pretrained weights .*weights\.bin") as caught:
        zoo.create_model(SMALL, pretrained=str(path))
    assert message in str(caught.value)


def test_cli_reports_a_bad_pretrained_file_in_one_line(tmp_path):
    (tmp_path / "w.pth").write_bytes(b"PK\x03\x04" + bytes(60))
    result = invoke(
        "train", SMALL, "--epochs", "1", "-q", "--set", f"pretrained={tmp_path / 'w.pth'}"
    )
    assert_one_line_error(result, "w.pth", "never unpickles")


# -- as the image branch of fusion ----------------------------------------------------
def test_a_timm_model_as_the_fusion_image_branch(tmp_path):
    torch.manual_seed(0)
    model = zoo.create_model("fusion", image_model=SMALL, image_size=32).eval()
    image, features = torch.rand(2, 3, 32, 32), torch.rand(2, 10)
    with torch.no_grad():
        out = model(image=image, features=features)
    assert out.shape == (2, 1)
    assert model.image.num_classes == 5  # image_features reached timm's num_classes
    loaded = zoo.load(zoo.save(model, tmp_path / "fusion.safetensors"))
    assert loaded.zoo_spec.config["image_model"] == SMALL
    with torch.no_grad():
        assert torch.equal(loaded(image=image, features=features), out)
