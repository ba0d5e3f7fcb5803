"""Checkpoints: round trips, strictness, and every malformed or hostile file."""

from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import zoo
from zoo.checkpoint import inspect_checkpoint
from zoo.errors import CheckpointError


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = zoo.create_model("dense-ae", hidden=3)
    return zoo.save(model, tmp_path / "ae.safetensors", metrics={"val_loss": 0.5})


def header_of(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def write_raw(path: Path, header: dict, data: bytes, *, length: int | None = None) -> Path:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


def with_metadata(saved: Path, target: Path, **changes: str) -> Path:
    header, data = header_of(saved)
    header["__metadata__"].update(changes)
    return write_raw(target, header, data)


# -- round trip -----------------------------------------------------------------
def test_round_trip_rebuilds_the_model_from_the_file_alone(saved):
    original_state = zoo.create_model("dense-ae", hidden=3).state_dict()  # other weights
    loaded = zoo.load(saved)
    torch.manual_seed(0)
    expected = zoo.create_model("dense-ae", hidden=3).state_dict()
    for key, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, expected[key])
    assert not all(torch.equal(original_state[k], expected[k]) for k in expected)
    spec = loaded.zoo_spec
    assert (spec.name, spec.distribution, spec.config["hidden"]) == ("dense-ae", "zoo", 3)
    assert spec.metrics == {"val_loss": 0.5}
    assert spec.task == "reconstruction" and spec.init == "default"
    assert not loaded.training


def test_metadata_records_what_the_format_promises(saved):
    metadata = inspect_checkpoint(saved)["metadata"]
    assert metadata["format"] == "zoo" and metadata["format_version"] == "1"
    assert metadata["model"] == "dense-ae" and metadata["config"]["hidden"] == 3
    assert metadata["distribution"] == "zoo" and metadata["distribution_version"] == zoo.__version__
    assert metadata["zoo_version"] == zoo.__version__
    assert metadata["task"] == "reconstruction" and metadata["init"] == "default"
    assert metadata["metrics"] == {"val_loss": 0.5}


def test_load_leaves_the_global_rng_alone(saved):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    zoo.load(saved)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("change", ["truncate", "overwrite", "delete"])
def test_loaded_model_owns_its_memory(saved, change):
    model = zoo.load(saved)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    if change == "truncate":
        os.truncate(saved, 10)
    elif change == "overwrite":
        saved.write_bytes(b"\0" * saved.stat().st_size)
    else:
        saved.unlink()
    model(torch.zeros(2, 3))
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[key])


@pytest.mark.parametrize("change", ["truncate", "overwrite", "replace"])
def test_a_file_changed_while_loading_is_an_error_or_the_validated_file(
    saved, tmp_path, change, monkeypatch
):
    """Between the checks and the read of the data (during the real build), the file changes."""
    from zoo import checkpoint

    torch.manual_seed(0)
    expected = zoo.create_model("dense-ae", hidden=3).state_dict()
    build = checkpoint._build

    def build_then_change(*args):
        model = build(*args)
        if change == "truncate":
            os.truncate(saved, saved.stat().st_size - 4)
        elif change == "overwrite":
            with open(saved, "r+b") as file:  # in place, same size: other weights
                file.seek(-12, os.SEEK_END)
                file.write(struct.pack("<3f", 1.0, 2.0, 3.0))
        else:  # a new file renamed over it: the open handle still reads the checked one
            other = zoo.save(zoo.create_model("dense-ae", hidden=3), tmp_path / "o.safetensors")
            other.replace(saved)
        return model

    monkeypatch.setattr(checkpoint, "_build", build_then_change)
    if change == "truncate":
        with pytest.raises(CheckpointError, match="file ended early") as caught:
            zoo.load(saved)
        assert str(saved) in str(caught.value)
        return
    loaded = zoo.load(saved).state_dict()
    last = sorted(expected)[-1]  # zoo writes tensors sorted by name: the last ends the file
    for key, tensor in loaded.items():
        if change == "overwrite" and key == last:
            assert tensor.reshape(-1)[-3:].tolist() == [1.0, 2.0, 3.0]
        else:
            assert torch.equal(tensor, expected[key]), key


HOOKED_MODEL = """
import torch
import zoo


class Hooked(torch.nn.Linear):
    \"\"\"A Linear whose state_dict() holds copies, with a hook on loading.\"\"\"

    def __init__(self):
        super().__init__(3, 2)
        self.loads = 0
        self.register_state_dict_post_hook(self.copies)
        self.register_load_state_dict_pre_hook(self.count)

    @staticmethod
    def copies(module, state, prefix, local_metadata):
        for key in list(state):
            state[key] = state[key].clone()

    @staticmethod
    def count(module, state, prefix, *rest):
        module.loads += 1


@zoo.hookimpl
def register_models(register):
    register("hooked", "zoo_hooked_model:Hooked", task="reconstruction", dataset="blobs")
"""


def test_loading_still_goes_through_load_state_dict(make_plugin, tmp_path):
    """A model whose state_dict() is not its own memory, with a load hook, loads right."""
    make_plugin("zoo-plugin-hooked", "zoo_hooked_model", HOOKED_MODEL)
    model = zoo.create_model("hooked")
    path = zoo.save(model, tmp_path / "hooked.safetensors")
    loaded = zoo.load(path)
    assert loaded.loads == 1
    assert torch.equal(loaded.weight, model.weight) and torch.equal(loaded.bias, model.bias)


def test_files_are_standard_safetensors_and_deterministic(saved, tmp_path):
    from safetensors.torch import load_file

    tensors = load_file(saved)
    assert set(tensors) == set(zoo.load(saved).state_dict())
    again = zoo.save(zoo.load(saved), tmp_path / "again.safetensors", metrics={"val_loss": 0.5})
    assert again.read_bytes() == saved.read_bytes()


def test_every_dtype_round_trips(tmp_path):
    model = zoo.create_model("dense-ae")
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        path = zoo.save(model.to(dtype), tmp_path / f"{dtype}.safetensors")
        loaded = zoo.load(path)
        assert torch.equal(loaded.encoder[0].weight.to(dtype), model.encoder[0].weight)


def test_save_is_atomic_and_leaves_no_temp_files(saved, tmp_path):
    zoo.save(zoo.load(saved), saved)
    assert [p.name for p in tmp_path.iterdir()] == ["ae.safetensors"]


def test_saved_files_get_normal_permissions(saved):
    umask = os.umask(0)
    os.umask(umask)
    assert saved.stat().st_mode & 0o777 == 0o666 & ~umask
    saved.chmod(0o640)
    zoo.save(zoo.load(saved), saved)
    assert saved.stat().st_mode & 0o777 == 0o640


def test_failed_save_keeps_the_previous_file(saved, monkeypatch):
    before = saved.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("zoo.checkpoint._write_safetensors", disk_full)
    with pytest.raises(
        CheckpointError, match=r"No space left on device; any previous ae\.safetensors is intact"
    ):
        zoo.save(zoo.load(saved), saved)
    assert saved.read_bytes() == before
    assert len(list(saved.parent.iterdir())) == 1


def test_tied_weights_are_saved_and_reloaded(tmp_path):
    model = zoo.create_model("dense-ae", in_features=4, hidden=4)
    model.decoder[0].weight = model.encoder[0].weight  # share one tensor
    path = zoo.save(model, tmp_path / "tied.safetensors")
    assert torch.equal(zoo.load(path).decoder[0].weight, model.encoder[0].weight)


def test_a_module_not_built_by_zoo_cannot_be_saved(tmp_path):
    with pytest.raises(CheckpointError, match=r"not built by zoo\.create_model"):
        zoo.save(torch.nn.Linear(2, 2), tmp_path / "x.safetensors")


def test_load_to_a_missing_device_is_a_clear_error(saved):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(zoo.DeviceError, match="CUDA is not available"):
        zoo.load(saved, device="cuda")


# -- strictness ----------------------------------------------------------------
def test_strict_load_rejects_extra_missing_and_misshaped_tensors(saved, tmp_path):
    state = zoo.load(saved).state_dict()
    metadata = json.loads(json.dumps(header_of(saved)[0]["__metadata__"]))
    extra = {**state, "surprise": torch.zeros(2)}
    missing = {k: v for k, v in state.items() if k != "decoder.0.bias"}
    misshaped = {**state, "decoder.0.bias": torch.zeros(5)}
    for name, tensors, what in (
        ("extra", extra, "unexpected: surprise"),
        ("missing", missing, "missing: decoder.0.bias"),
        ("shape", misshaped, r"wrong shape: decoder.0.bias \(file \[5\], model \[3\]\)"),
    ):
        path = tmp_path / f"{name}.safetensors"
        save_file(tensors, path, metadata=metadata)
        with pytest.raises(CheckpointError, match=what):
            zoo.load(path)
        with pytest.warns(UserWarning, match="relaxed load skipped"):
            relaxed = zoo.load(path, strict=False)
        assert relaxed.zoo_spec.skipped[
            {"extra": "unexpected", "missing": "missing", "shape": "wrong_shape"}[name]
        ]
        assert torch.equal(relaxed.encoder[0].weight, state["encoder.0.weight"])


# -- malformed and hostile files --------------------------------------------------
def bad_files(saved: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    """Every kind of bad file, with the message each must produce."""
    raw = saved.read_bytes()
    header, data = header_of(saved)
    cases: dict[str, tuple[Path, str]] = {}

    def add(name: str, content: bytes, message: str) -> None:
        path = folder / f"{name}.safetensors"
        path.write_bytes(content)
        cases[name] = (path, message)

    add("empty", b"", "not a safetensors file")
    add("tiny", b"\x01\x02", "not a safetensors file")
    add("random", os.urandom(4096), "not a safetensors file")
    add("text", b"hello, I am not weights\n" * 10, "not a safetensors file")
    for cut in (4, 8, 20, len(raw) - 1):
        add(f"truncated-{cut}", raw[:cut], "not a safetensors file|truncated")
    add("trailing", raw + b"extra", "unexpected trailing bytes")
    add("huge-length", struct.pack("<Q", 2**62) + raw[8:], "header length.*written by zoo")
    add("not-json", struct.pack("<Q", 10) + b"{not json}", "not valid JSON")
    add("not-utf8", struct.pack("<Q", 4) + b"{\xff\xfe}", "not UTF-8")
    add("json-list", struct.pack("<Q", 2) + b"[]", "not a JSON object")
    deep = b"{" + b'"a":[' * 50000 + b"]" * 50000 + b"}"
    add("deep-json", struct.pack("<Q", len(deep)) + deep, "not valid JSON|malformed")
    empty = b'{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'
    dup = b'{"a":' + empty + b',"a":' + empty + b"}"
    add("duplicate-key", struct.pack("<Q", len(dup)) + dup, "repeats a key")

    def variant(name: str, mutate, message: str) -> None:
        changed = json.loads(json.dumps(header))
        mutate(changed)
        path = write_raw(folder / f"{name}.safetensors", changed, data)
        cases[name] = (path, message)

    first = sorted(k for k in header if k != "__metadata__")[0]
    variant("bad-dtype", lambda h: h[first].update(dtype="Q7"), "unsupported dtype")
    variant("negative-shape", lambda h: h[first].update(shape=[-1]), "invalid shape")
    variant(
        "shape-mismatch-bytes", lambda h: h[first].update(shape=[1000, 1000]), "needs 4000000 bytes"
    )

    def overlap(h: dict) -> None:
        # Move the second tensor (in data order) onto the first one's bytes.
        second = sorted((v["data_offsets"][0], k) for k, v in h.items() if k != "__metadata__")[1][
            1
        ]
        begin, end = h[second]["data_offsets"]
        h[second]["data_offsets"] = [0, end - begin]

    def past_end(h: dict) -> None:
        begin, end = h[first]["data_offsets"]
        h[first]["data_offsets"] = [10**12, 10**12 + end - begin]

    variant("offsets-overlap", overlap, "overlaps another tensor")
    variant("offsets-past-end", past_end, "leaves a gap|truncated")
    variant("extra-field", lambda h: h[first].update(pickle="yes"), "malformed entry")
    variant(
        "metadata-not-strings",
        lambda h: h["__metadata__"].update(config={"hidden": 3}),
        "map strings to strings",
    )
    variant("no-metadata", lambda h: h.pop("__metadata__"), "without zoo metadata")
    variant("wrong-format", lambda h: h["__metadata__"].update(format="other"), "unknown format")
    variant(
        "format-not-number",
        lambda h: h["__metadata__"].update(format_version="x"),
        "is not a whole number",
    )
    variant(
        "future-format",
        lambda h: h["__metadata__"].update(format_version="99"),
        "newer than this zoo reads",
    )
    variant(
        "unknown-model",
        lambda h: h["__metadata__"].update(model="nope-net", distribution="zoo-plugin-nope"),
        "needs model 'nope-net' from zoo-plugin-nope",
    )
    variant(
        "model-is-a-path",
        lambda h: h["__metadata__"].update(model="os:system", distribution=""),
        "needs model 'os:system'",
    )
    variant(
        "config-not-json",
        lambda h: h["__metadata__"].update(config="{oops"),
        "'config' is not valid JSON",
    )
    variant(
        "config-not-object",
        lambda h: h["__metadata__"].update(config="[1, 2]"),
        "'config' must be a JSON object",
    )
    variant(
        "config-unknown-key",
        lambda h: h["__metadata__"].update(config='{"hiden": 3}'),
        "bad config.*no option 'hiden'",
    )
    variant(
        "config-wrong-type",
        lambda h: h["__metadata__"].update(config='{"hidden": "three"}'),
        "bad config.*expected an integer",
    )
    variant(
        "config-rejected",
        lambda h: h["__metadata__"].update(config='{"hidden": -4}'),
        "bad config.*rejected its options",
    )
    variant(
        "config-huge",
        lambda h: h["__metadata__"].update(config='{"hidden": 1000000000, "in_features": 1000000}'),
        "do not match the model",
    )
    variant(
        "metrics-not-json",
        lambda h: h["__metadata__"].update(metrics="{"),
        "'metrics' is not valid JSON",
    )
    return cases


def test_every_bad_file_is_a_clear_zoo_error(saved, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    cases = bad_files(saved, folder)
    assert len(cases) >= 30
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, (path, message) in cases.items():
        with pytest.raises(CheckpointError, match=message) as caught:
            zoo.load(path)
        assert str(path) in str(caught.value), name
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"loading bad files grew peak memory by {grown_mb:.0f} MB"


def test_inspect_reads_bad_headers_as_errors_too(saved, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, (path, _) in bad_files(saved, folder).items():
        try:
            described = inspect_checkpoint(path)
        except CheckpointError as exc:
            assert str(path) in str(exc), name
        else:  # header-valid files (bad metadata) are described, not loaded
            assert described["tensors"] is not None


def test_a_renamed_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    renamed = tmp_path / "model.safetensors"
    renamed.write_bytes(pickle.dumps(Exploit(), protocol=4))
    with pytest.raises(CheckpointError, match="looks like a Python pickle"):
        zoo.load(renamed)
    torch_file = tmp_path / "torch.safetensors"
    torch.save({"w": torch.zeros(2)}, torch_file)
    with pytest.raises(CheckpointError, match=r"torch\.save"):
        zoo.load(torch_file)
    assert not marker.exists()


def test_special_paths_are_refused_without_hanging(tmp_path):
    signal.alarm(20)  # a FIFO opened for reading would block forever without O_NONBLOCK
    try:
        fifo = tmp_path / "fifo.safetensors"
        os.mkfifo(fifo)
        with pytest.raises(CheckpointError, match="not a regular file"):
            zoo.load(fifo)
        with pytest.raises(CheckpointError, match="is a directory"):
            zoo.load(tmp_path)
        loop = tmp_path / "loop.safetensors"
        os.symlink(loop, loop)
        with pytest.raises(CheckpointError, match="cannot open"):
            zoo.load(loop)
        with pytest.raises(CheckpointError, match="no such file"):
            zoo.load(tmp_path / "missing.safetensors")
    finally:
        signal.alarm(0)


def test_hostile_config_is_rejected_before_allocation(saved, tmp_path):
    hostile = with_metadata(
        saved,
        tmp_path / "hostile.safetensors",
        config=json.dumps({"hidden": 10**10, "in_features": 10**6}),
    )
    with pytest.raises(CheckpointError, match="do not match"):
        zoo.load(hostile)
    with pytest.raises(CheckpointError, match="refusing to build it even in a relaxed load"):
        zoo.load(hostile, strict=False)


def test_truncated_header_is_called_truncated_not_a_pickle(saved, tmp_path):
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(saved.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="truncated: the header needs") as caught:
        zoo.load(cut)
    assert "pickle" not in str(caught.value)
