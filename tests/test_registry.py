"""The registry: discovery through entry points, lookup, clashes and broken plugins."""

from __future__ import annotations

import pytest

import zoo
from zoo.errors import AmbiguousNameError, UnknownNameError, ZooPluginWarning

TINY_MODEL = """
import zoo

@zoo.hookimpl
def register_models(register):
    register("{name}", "torch.nn:Identity", task="reconstruction", dataset="blobs",
             summary="An identity.")
"""


def test_first_party_plugins_register_through_entry_points():
    registry = zoo.get_registry()
    by_plugin = {p.name: p for p in registry.plugins}
    assert {"autoencoders", "datasets", "inits", "tasks", "core"} <= set(by_plugin)
    assert all(p.error is None for p in registry.plugins)
    entry = zoo.get_entry("model", "dense-ae")
    assert (entry.distribution, entry.plugin) == ("zoo", "autoencoders")
    assert entry.version == zoo.__version__
    assert entry.defaults["hidden"] == 2
    assert entry.task == "reconstruction" and entry.dataset == "blobs"


def test_every_kind_has_its_builtins():
    assert "dense-ae" in zoo.list_models()
    assert {"default", "xavier-uniform", "kaiming-normal", "normal"} <= {
        e.name for e in zoo.list_entries("init")
    }
    assert {"mse", "l1", "bce", "bce-with-logits", "cross-entropy"} <= {
        e.name for e in zoo.list_entries("loss")
    }
    assert {"blobs", "digits", "mnist", "fashion-mnist", "image-folder"} <= {
        e.name for e in zoo.list_entries("dataset")
    }
    assert {"reconstruction", "denoising"} <= {e.name for e in zoo.list_entries("task")}


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownNameError, match=r"did you mean dense-ae\?"):
        zoo.get_entry("model", "dense-aa")
    with pytest.raises(UnknownNameError, match="unknown kind 'modle'"):
        zoo.get_entry("modle", "dense-ae")
    with pytest.raises(UnknownNameError, match="'blobs' is a dataset, not a model"):
        zoo.get_entry("model", "blobs")
    with pytest.raises(UnknownNameError, match="'mse' is a loss, not an init"):
        zoo.get_entry("init", "mse")


def test_qualified_names_resolve():
    assert zoo.get_entry("model", "zoo:dense-ae").name == "dense-ae"
    with pytest.raises(UnknownNameError, match="no model 'other:dense-ae'"):
        zoo.get_entry("model", "other:dense-ae")


def test_glob_and_tag_filters():
    assert zoo.list_models("dense*") == ["dense-ae"]
    assert zoo.list_models("dcgan-*") == ["dcgan-discriminator", "dcgan-generator"]
    assert zoo.list_models("nothing*") == []
    assert zoo.list_models(tags=["autoencoder"]) == ["conv-denoiser", "dense-ae"]
    assert zoo.list_models(tags=["autoencoder", "tabular"]) == ["dense-ae"]
    assert zoo.list_models(tags=["autoencoder", "missing-tag"]) == []


def test_listing_does_not_import_lazy_factories():
    registry = zoo.get_registry()
    entry = registry.get("model", "dense-ae")
    assert isinstance(entry.factory, str)
    assert entry._resolved == []


def test_third_party_model_is_listed_with_its_distribution(make_plugin):
    make_plugin("zoo-plugin-tiny", "zoo_tiny_one", TINY_MODEL.format(name="tiny"), version="2.5")
    entry = zoo.get_entry("model", "tiny")
    assert (entry.distribution, entry.version, entry.plugin) == (
        "zoo-plugin-tiny",
        "2.5",
        "zoo_tiny_one",
    )


def test_name_clash_names_both_distributions_and_qualified_names_resolve(make_plugin):
    make_plugin("zoo-plugin-a", "zoo_clash_a", TINY_MODEL.format(name="twin"))
    make_plugin("zoo-plugin-b", "zoo_clash_b", TINY_MODEL.format(name="twin"))
    with pytest.warns(ZooPluginWarning, match="zoo-plugin-a 1.0 and zoo-plugin-b 1.0"):
        registry = zoo.get_registry()
    with pytest.raises(AmbiguousNameError, match=r"zoo-plugin-a 1\.0 and zoo-plugin-b 1\.0"):
        registry.get("model", "twin")
    assert registry.get("model", "zoo-plugin-a:twin").distribution == "zoo-plugin-a"
    assert registry.get("model", "zoo_plugin_b:twin").distribution == "zoo-plugin-b"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("raise ImportError('needs a missing library')", "failed to import: ImportError"),
        ("import sys\nsys.exit(3)", "failed to import: SystemExit"),
        (
            "import zoo\n@zoo.hookimpl\ndef register_models(register):\n"
            "    raise RuntimeError('boom')",
            "raised while registering: RuntimeError: boom",
        ),
        (
            "import zoo\n@zoo.hookimpl\ndef register_model(register):\n    pass",
            "'register_model' is not a zoo hook (did you mean register_models",
        ),
        (
            "import zoo\n@zoo.hookimpl\ndef register_models(reg):\n    pass",
            "raised while registering: PluginValidationError",
        ),
        (
            "import zoo\n@zoo.hookimpl\ndef register_models(register):\n"
            "    register('bad:name', 'torch.nn:Identity')",
            "is not valid",
        ),
        (
            "import zoo\n@zoo.hookimpl\ndef register_models(register):\n"
            "    register('x', 'torch.nn:Identity', defaults={'f': object()})",
            "JSON-serialisable",
        ),
    ],
)
def test_broken_plugin_is_reported_once_and_others_survive(make_plugin, source, reason):
    make_plugin("zoo-plugin-broken", "zoo_broken_mod", source)
    with pytest.warns(ZooPluginWarning, match="zoo-plugin-broken") as caught:
        registry = zoo.get_registry()
    assert len([w for w in caught if issubclass(w.category, ZooPluginWarning)]) == 1
    broken = next(p for p in registry.plugins if p.distribution == "zoo-plugin-broken")
    assert reason in broken.error
    assert "ZOO_DISABLE_PLUGINS=zoo_broken_mod" in str(caught[0].message)
    assert registry.get("model", "dense-ae").name == "dense-ae"


def test_plugin_warning_points_at_the_callers_line(make_plugin):
    make_plugin("zoo-plugin-broken", "zoo_broken_where", "raise ImportError('x')")
    with pytest.warns(ZooPluginWarning) as caught:
        zoo.list_models()
    assert caught[0].filename == __file__


def test_failed_plugin_contributes_nothing(make_plugin):
    make_plugin(
        "zoo-plugin-half",
        "zoo_half_mod",
        """
        import zoo

        @zoo.hookimpl
        def register_models(register):
            register("half-model", "torch.nn:Identity", summary="first")

        @zoo.hookimpl
        def register_datasets(register):
            raise ValueError("second hook fails")
        """,
    )
    with pytest.warns(ZooPluginWarning):
        registry = zoo.get_registry()
    with pytest.raises(UnknownNameError):
        registry.get("model", "half-model")


def test_disable_env_skips_a_broken_plugin(make_plugin, monkeypatch):
    make_plugin("zoo-plugin-broken", "zoo_broken_two", "raise ImportError('nope')")
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "zoo_broken_two, something-else")
    registry = zoo.get_registry()  # no warning: pytest turns ZooPluginWarning into an error
    plugin = next(p for p in registry.plugins if p.name == "zoo_broken_two")
    assert plugin.disabled and plugin.error is None
    assert "zoo_broken_two" not in __import__("sys").modules


def test_disable_by_distribution_name(make_plugin, monkeypatch):
    make_plugin("zoo-plugin-tiny", "zoo_tiny_two", TINY_MODEL.format(name="tiny2"))
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "zoo_plugin_tiny")
    with pytest.raises(UnknownNameError):
        zoo.get_entry("model", "tiny2")


def test_lazy_factory_that_cannot_import_names_the_plugin(make_plugin):
    make_plugin(
        "zoo-plugin-lazy",
        "zoo_lazy_mod",
        """
        import zoo

        @zoo.hookimpl
        def register_models(register):
            register("ghost", "no_such_module.deep:Thing", summary="never builds")
        """,
    )
    with pytest.raises(zoo.PluginError, match=r"ghost.*zoo-plugin-lazy 1.0.*no_such_module"):
        zoo.create_model("ghost")


def test_entries_describe_themselves_as_json():
    row = zoo.get_entry("model", "dense-ae").as_dict()
    assert set(row) >= {
        "kind",
        "name",
        "qualified_name",
        "summary",
        "defaults",
        "tags",
        "plugin",
        "distribution",
        "version",
        "task",
        "dataset",
        "init",
    }
    assert row["qualified_name"] == "zoo:dense-ae"


PLUGIN_COMMAND = """
import click
import zoo

@click.command()
@click.argument("who")
def hello(who):
    '''Say hello to WHO.'''
    click.echo(f"hello {who}")

@zoo.hookimpl
def register_commands(register):
    register("hello", hello, summary="Say hello.")
    register("not-a-command", "os:getcwd", summary="Not a click command.")
    register("ghost", "zoo_no_such_module:command", summary="Its module is missing.")
    register("list", hello, summary="Tries to take over a built-in name.")
"""


def test_plugins_add_commands_and_builtins_keep_their_names(make_plugin):
    from click.testing import CliRunner

    from zoo.cli import cli

    make_plugin("zoo-plugin-hello", "zoo_hello_cmd", PLUGIN_COMMAND)
    runner = CliRunner()
    helped = runner.invoke(cli, ["--help"])  # lists broken commands too, without importing them
    assert helped.exit_code == 0 and "Say hello." in helped.output
    assert "Its module is missing." in helped.output
    assert runner.invoke(cli, ["hello", "you"]).output == "hello you\n"
    assert "NAME" in runner.invoke(cli, ["list"]).output  # still the built-in list
    broken = runner.invoke(cli, ["not-a-command"])
    assert broken.exit_code == 2 and "not a click command" in broken.stderr
    ghost = runner.invoke(cli, ["ghost"])
    assert ghost.exit_code == 2 and "cannot import 'zoo_no_such_module:command'" in ghost.stderr
    assert len(ghost.stderr.strip().splitlines()) == 1
    assert "Say hello to WHO." in runner.invoke(cli, ["info", "hello"]).output
