"""The `zoo` command: a thin layer over the Python API.

Every user mistake ends as one line, `zoo: error: …`, and exit code 2. Commands
that only list or inspect never import torch.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

import zoo
from zoo.config import json_safe
from zoo.errors import ZooError, ZooPluginWarning
from zoo.registry import KINDS, Entry, get_registry

PLURALS = {
    "models": "model",
    "datasets": "dataset",
    "tasks": "task",
    "inits": "init",
    "losses": "loss",
    "commands": "command",
}


class ZooGroup(click.Group):
    """A click group whose errors are one line on stderr and exit code 2.

    Besides its own commands it offers those that plugins register
    (`register_commands`), loaded only when one is run. A built-in command
    keeps its name if a plugin registers the same one.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        plugin_commands = get_registry().names("command")
        return sorted({*super().list_commands(ctx), *plugin_commands})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help's command list; a plugin's command shows its registered summary.

        Plugin commands are not imported for the help, so a heavy or broken one
        can neither slow `zoo --help` down nor break it.
        """
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            builtin = self.commands.get(name)
            if builtin is None:
                summary = get_registry().get("command", name).summary
                rows.append((name, _shorten(summary, limit)))
            elif not builtin.hidden:
                rows.append((name, builtin.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        registry = get_registry()
        if cmd_name not in registry.names("command"):
            return None
        entry = registry.get("command", cmd_name)
        loaded = entry.load()
        if not isinstance(loaded, click.Command):
            raise zoo.PluginError(
                f"command '{entry.name}' from {entry.origin} is a "
                f"{type(loaded).__name__}, not a click command"
            )
        return loaded

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        _route_plugin_warnings()
        self.given_args = list(args) if args is not None else sys.argv[1:]
        try:
            return super().main(args, "zoo", complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(f"{exc.format_message()}{hint}")
        except click.ClickException as exc:
            _fail(exc.format_message())
        except ZooError as exc:
            _fail(str(exc), every_process=getattr(exc, "every_process", False))
        except (KeyboardInterrupt, click.Abort, _Interrupted):
            if os.environ.get("RANK", "0") == "0":
                click.echo("zoo: interrupted", err=True)
            sys.exit(130)


class _Interrupted(Exception):
    """Ctrl-C during a command, passed by click untouched (click would print a blank line
    for a KeyboardInterrupt, in every training process of a multi-process run)."""


def _shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word and ended with '...'."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: max(limit - 3, 1)].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def _started_by_torchrun() -> bool:
    """A training process of a multi-process run (read from torchrun's environment,
    without importing torch)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def _fail(message: str, *, every_process: bool = False) -> None:
    rank = os.environ.get("RANK", "0")
    if every_process or rank == "0":
        click.echo(f"zoo: error: {message}", err=True)
    else:
        # In a multi-process run every process makes the same checks and rank 0 tells;
        # torchrun stops this process once rank 0 has ended. A problem of this process
        # alone is still told, after the pause.
        import time

        time.sleep(3)
        click.echo(f"zoo: error: (process {rank}) {message}", err=True)
    sys.exit(2)


def _route_plugin_warnings() -> None:
    """Print plugin warnings as one `zoo: warning:` line instead of Python's two-line format."""
    original = warnings.showwarning
    if getattr(original, "zoo_routed", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ZooPluginWarning):
            click.echo(f"zoo: warning: {message}", err=True)
        else:
            original(message, category, filename, lineno, file, line)

    show.zoo_routed = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def _table(rows: list[list[str]], headers: list[str], *, squeeze: int | None = None) -> str:
    """A plain aligned table; column `squeeze` is shortened to fit the terminal."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    if squeeze is not None:
        room = shutil.get_terminal_size((120, 24)).columns - sum(
            w + 2 for i, w in enumerate(widths) if i != squeeze
        )
        widths[squeeze] = max(20, min(widths[squeeze], room))
    lines = []
    for row in [headers, *rows]:
        cells = []
        for i, cell in enumerate(row):
            text = str(cell)
            if len(text) > widths[i]:
                text = text[: widths[i] - 1] + "…"
            cells.append(text.ljust(widths[i]))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _echo_json(value: Any) -> None:
    """Print strict JSON (NaN and infinities become null), the stable `--json` shape."""
    click.echo(json.dumps(json_safe(value), indent=2, allow_nan=False))


def _kind(value: str) -> str | None:
    lowered = value.lower()
    if lowered in KINDS:
        return lowered
    return PLURALS.get(lowered)


@click.group(
    cls=ZooGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(zoo.__version__, prog_name="zoo")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """zoo: list, train, save and load PyTorch models by name.

    \b
    zoo list                     what is installed
    zoo info dense-ae            options, layers and parameters of a model
    zoo train dense-ae           train on the built-in data, write a run folder
    zoo inspect FILE             what a weights file holds (header only)
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command("list")
@click.argument("kind_or_pattern", required=False, metavar="[KIND]")
@click.argument("pattern", required=False)
@click.option("--tag", "tags", multiple=True, help="Only entries with this tag (repeatable).")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Show every entry of a large namespace (such as timm/*) instead of one row for it.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (stable keys) instead of a table."
)
def list_command(
    kind_or_pattern: str | None,
    pattern: str | None,
    tags: tuple[str, ...],
    show_all: bool,
    as_json: bool,
) -> None:
    """List what the plugins registered: models, datasets, tasks, inits, losses.

    KIND is one of models, datasets, tasks, inits, losses; PATTERN is a glob
    such as 'dense*'. `zoo list 'dense*'` searches every kind. A namespace of
    more than 20 entries (`timm/...`) is one row unless a PATTERN, a --tag or
    --all asks for its entries.
    """
    kind = None
    if kind_or_pattern is not None:
        kind = _kind(kind_or_pattern)
        if kind is None:
            if pattern is not None:
                raise click.UsageError(
                    f"unknown kind '{kind_or_pattern}'; kinds are {', '.join(PLURALS)}"
                )
            pattern = kind_or_pattern
    registry = get_registry()
    entries = registry.entries(kind, pattern, tags)
    if as_json:
        _echo_json([entry.as_dict() for entry in entries])
        return
    if not entries:
        what = f"{kind}s" if kind else "entries"
        click.echo(f"no {what} match" + (f" '{pattern}'" if pattern else ""))
        return
    # One pass over every entry: asking the registry per row is quadratic (timm adds ~1400).
    counts = Counter((e.kind, e.name) for e in registry.entries(kind))
    clashes = {key for key, count in counts.items() if count > 1}
    folded = {} if show_all or pattern or tags else _large_namespaces(entries)
    rows, shown = [], set()
    for e in entries:
        space = (e.kind, e.name.partition("/")[0]) if "/" in e.name else None
        if space in folded:
            if space not in shown:
                shown.add(space)
                count, origins = folded[space]
                rows.append(
                    [
                        f"{space[1]}/*",
                        e.kind,
                        f"{count} {e.kind}s; zoo list {e.kind}s '{space[1]}/*' lists them",
                        origins,
                    ]
                )
            continue
        rows.append(
            [
                e.qualified_name if (e.kind, e.name) in clashes else e.name,
                e.kind,
                e.summary,
                f"{e.distribution} {e.version}",
            ]
        )
    click.echo(_table(rows, ["NAME", "KIND", "SUMMARY", "PLUGIN"], squeeze=2))


#: A namespace (`timm/...`) with more entries than this is one row of `zoo list`.
FOLD_ABOVE = 20


def _large_namespaces(entries: Sequence[Entry]) -> dict[tuple[str, str], tuple[int, str]]:
    """(kind, namespace) → (entry count, plugins) for namespaces above FOLD_ABOVE entries."""
    counts: Counter[tuple[str, str]] = Counter()
    origins: dict[tuple[str, str], set[str]] = {}
    for e in entries:
        if "/" in e.name:
            space = (e.kind, e.name.partition("/")[0])
            counts[space] += 1
            origins.setdefault(space, set()).add(f"{e.distribution} {e.version}")
    return {
        space: (count, ", ".join(sorted(origins[space])))
        for space, count in counts.items()
        if count > FOLD_ABOVE
    }


def _find_entry(name: str, kind: str | None) -> Entry:
    if kind is not None:
        return zoo.get_entry(kind, name)
    registry = get_registry()
    bare = name.rpartition(":")[2]
    found = [k for k in KINDS if bare in registry.names(k)]
    if len(found) > 1:
        raise zoo.ConfigError(
            f"'{name}' names a {' and a '.join(found)}; add --kind {found[0]} (or another)"
        )
    return registry.get(found[0] if found else "model", name)


@cli.command("info")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), help="Which kind NAME is, if several share it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info_command(name: str, kind: str | None, as_json: bool) -> None:
    """Describe one entry: summary, docs, options; for a model, layers and parameters."""
    entry = _find_entry(name, kind)
    described: dict[str, Any] = entry.as_dict()
    described["doc"] = entry.doc
    if entry.kind == "model":
        from zoo.summary import describe_model

        described.update(describe_model(entry))
    if as_json:
        _echo_json(described)
        return
    click.echo(_render_info(described))


DOC_LINES = 24  # `zoo info` shows this much of a docstring; --json has all of it


def _render_info(info: dict[str, Any]) -> str:
    lines = [
        f"{info['name']}  ({info['kind']} from {info['distribution']} {info['version']}, "
        f"plugin '{info['plugin']}')",
        f"  {info['summary']}",
    ]
    if info["tags"]:
        lines.append(f"  tags: {', '.join(info['tags'])}")
    if info["kind"] == "model":
        lines.append(
            f"  task: {info['task'] or '-'}   dataset: {info['dataset'] or '-'}   "
            f"init: {info['init'] or 'default'}"
        )
        if info["training"]:
            recipe = ", ".join(f"{k} {v}" for k, v in info["training"].items())
            lines.append(f"  training recipe: {recipe}")
    lines.append("")
    if info["defaults"]:
        lines.append("Options (defaults; change with --set key=value):")
        rows = [
            [key, type(value).__name__ if value is not None else "any", json.dumps(value)]
            for key, value in info["defaults"].items()
        ]
        lines.append(_indent(_table(rows, ["KEY", "TYPE", "DEFAULT"])))
    elif info["kind"] == "command":
        lines.append(f"Usage: zoo {info['name']} --help shows its arguments and options")
    else:
        lines.append("Options: none")
    if info.get("doc"):
        doc = info["doc"].splitlines()
        if len(doc) > DOC_LINES:
            doc = [*doc[:DOC_LINES], f"… ({len(doc) - DOC_LINES} more lines: zoo info --json)"]
        lines += ["", "About:", _indent("\n".join(doc))]
    if "layers" in info:
        lines.append("")
        if info["layers"]:
            lines.append(f"Layers for {info['example']}:")
            rows = [
                [r["layer"], r["type"], r["output"], f"{r['parameters']:,}"] for r in info["layers"]
            ]
            lines.append(_indent(_table(rows, ["LAYER", "TYPE", "OUTPUT", "PARAMETERS"])))
        else:
            lines.append(f"Layers: not shown ({info['example']})")
        lines.append(
            f"Parameters: {info['parameters']:,} ({info['trainable_parameters']:,} trainable)"
        )
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """Show each plugin: its distribution, version, what it registered, and any error."""
    plugins = get_registry().plugins
    if as_json:
        _echo_json([p.as_dict() for p in plugins])
        return
    rows = []
    for plugin in plugins:
        registered = ", ".join(
            f"{count} {kind if count == 1 else PLURAL_OF[kind]}"
            for kind, count in plugin.counts.items()
        )
        status = (
            "disabled" if plugin.disabled else (f"error: {plugin.error}" if plugin.error else "ok")
        )
        rows.append([plugin.name, plugin.distribution, plugin.version, registered or "-", status])
    click.echo(
        _table(rows, ["PLUGIN", "DISTRIBUTION", "VERSION", "REGISTERED", "STATUS"], squeeze=4)
    )


PLURAL_OF = {singular: plural for plural, singular in PLURALS.items()}


@cli.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def inspect_command(path: Path, as_json: bool) -> None:
    """Show a weights file's metadata and tensor table, from its header alone.

    Imports neither torch nor the plugin the file names.
    """
    from zoo.checkpoint import inspect_checkpoint

    described = inspect_checkpoint(path)
    if as_json:
        _echo_json(described)
        return
    click.echo(f"{described['path']}  ({described['file_bytes']:,} bytes)")
    if not described["is_zoo_checkpoint"]:
        click.echo("  a safetensors file without zoo metadata (not written by zoo.save)")
    for key, value in described["metadata"].items():
        shown = json.dumps(value) if isinstance(value, (dict, list)) else value
        click.echo(f"  {key}: {shown}")
    click.echo("")
    rows = [
        [t["name"], t["dtype"], str(t["shape"]), f"{t['bytes']:,}"] for t in described["tensors"]
    ]
    click.echo(_table(rows, ["TENSOR", "DTYPE", "SHAPE", "BYTES"]))
    click.echo(f"{len(rows)} tensors, {described['parameters']:,} values")


@cli.command("train")
@click.argument("name", required=False)
@click.option("--dataset", help="Dataset name (default: the model's own).")
@click.option("--task", help="Task name (default: the model's own).")
@click.option("--init", help="Init scheme name (default: the model's own).")
@click.option("--loss", help="Loss name (default: the task's own).")
@click.option("--epochs", type=click.IntRange(min=1), help="Passes over the training data.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Samples per step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate.")
@click.option(
    "--val-fraction",
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Share of the data held out for evaluation (default 0.2, or the model's "
    "recipe: 0 for dcgan; 0 for none).",
)
@click.option(
    "--shuffle/--no-shuffle",
    default=None,
    help="Reshuffle the training data every epoch (default: on).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    help="DataLoader processes for data read from disk (default: 0 in memory, else up to 4).",
)
@click.option(
    "--memory-format",
    type=click.Choice(["auto", "channels-last", "contiguous"]),
    help="Layout of image batches and conv weights (default auto: channels-last for "
    "conv models on CPU and CUDA).",
)
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16"]),
    help="Autocast dtype of forward passes (default auto: bf16 on a CUDA GPU that supports "
    "it, fp32 elsewhere).",
)
@click.option(
    "--compile",
    "compile_model",
    is_flag=True,
    default=None,
    help="Compile the model's forward with torch.compile (slower start, faster steps).",
)
@click.option(
    "--log-every",
    type=click.IntRange(min=0),
    metavar="STEPS",
    help="Also print the step's metrics every STEPS optimisation steps (default 0: once "
    "per epoch).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Random seed.",
)
@click.option(
    "--deterministic",
    is_flag=True,
    default=None,
    help="Use only deterministic torch algorithms (an operation without one is an error).",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=0),
    metavar="STEPS",
    help="Also write a resumable state every STEPS steps (default 0: after each epoch only).",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    metavar="RUN",
    help="Continue the stopped run in folder RUN from its newest resumable state "
    "(only --epochs may change).",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    metavar="N",
    help="Train in N processes on this machine, started with torchrun (one per GPU, or "
    "CPU processes); --batch-size is the global batch, shared among them.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Run folder (default: runs/NAME/TIME)."
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option of the model, dataset, task, init or loss (repeatable); "
    "'dataset.KEY=VALUE' etc. picks one.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def train_command(
    name: str | None,
    dataset: str | None,
    task: str | None,
    init: str | None,
    loss: str | None,
    epochs: int | None,
    batch_size: int | None,
    lr: float | None,
    val_fraction: float | None,
    shuffle: bool | None,
    workers: int | None,
    memory_format: str | None,
    precision: str | None,
    compile_model: bool | None,
    log_every: int | None,
    seed: int,
    deterministic: bool | None,
    checkpoint_every: int | None,
    resume: Path | None,
    device: str,
    nproc: int | None,
    out: Path | None,
    settings: tuple[str, ...],
    quiet: bool,
) -> None:
    """Train model NAME and write a run folder (weights, config, metrics, pictures).

    \b
    Examples:
      zoo train dense-ae
      zoo train dense-ae --epochs 50 --set hidden=2 --set n_samples=2000
      zoo train dense-ae --init xavier-uniform --lr 0.01 --out runs/my-ae
      zoo train dcgan --set image_size=32 --epochs 30 --log-every 50
      zoo train --resume runs/my-ae               # go on after a stop
      zoo train --resume runs/my-ae --epochs 80   # train on for longer
      zoo train conv-denoiser --nproc 2           # two processes (torchrun)
    """
    from zoo.config import parse_settings
    from zoo.trainer import train

    if nproc is not None and nproc > 1:
        if resume is None and name is not None:
            # Every mistake in the names and options, told once, before any process starts.
            from zoo.distributed import split_batch
            from zoo.trainer import plan_run

            params = click.get_current_context().params
            plan = plan_run(name, **_plan_options(params, parse_settings(settings)))
            split_batch(plan["batch_size"], nproc)
        _launch(nproc)
        return

    if resume is not None:
        context = click.get_current_context()
        given = [
            "--" + key.replace("_", "-")
            for key in context.params
            if key not in ("name", "resume", "epochs", "quiet", "nproc")
            and context.get_parameter_source(key) is click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            named = ", ".join(given).replace("--compile-model", "--compile")
            raise click.UsageError(
                "--resume continues a run as its config.json planned it; only --epochs may "
                f"change, not {named.replace('--settings', '--set')}"
            )
        try:
            run = train(name, resume=resume, epochs=epochs, verbose=not quiet)
        except KeyboardInterrupt:
            raise _Interrupted from None
    elif name is None:
        raise click.UsageError(
            "give the NAME of a model to train (zoo list models), or --resume RUN"
        )
    else:
        params = click.get_current_context().params
        try:
            run = train(
                name,
                **_plan_options(params, parse_settings(settings)),
                out=out,
                verbose=not quiet,
            )
        except KeyboardInterrupt:
            raise _Interrupted from None
    if not quiet and os.environ.get("RANK", "0") == "0":
        click.echo(f"run folder: {run.run_dir}")
        for path in sorted(run.run_dir.iterdir()):
            if not path.name.startswith("."):
                click.echo(f"  {path.name}")


def _launch(nproc: int) -> None:
    """Run this same `zoo train` command in `nproc` processes under torchrun, and wait.

    torchrun (PyTorch's launcher) runs in this process; the training processes
    print for themselves (rank 0 alone). Ctrl-C or SIGTERM here is passed on to
    them by torchrun, and each stops at the end of its step with a resumable
    state, as in one process.
    """
    import logging
    import signal
    import tempfile

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if _started_by_torchrun():
        raise click.UsageError("--nproc starts torchrun; this is already a process it started")
    args = _without_nproc(click.get_current_context().find_root().command.given_args)
    # Each process gets its share of the cores (torchrun would say it chose 1).
    threads = max(1, (os.cpu_count() or 1) // nproc)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    # The processes stop (with a state) if this one dies: zoo.distributed.LAUNCHER.
    os.environ["ZOO_LAUNCHER_PID"] = str(os.getpid())
    # torchrun's own log lines (each of its loggers has its own level) would only
    # repeat what the training processes and this function say.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="zoo-torchrun-") as logs:
        options = [
            "--standalone",
            f"--nproc-per-node={nproc}",
            f"--log-dir={logs}",
            # Time the processes get, after Ctrl-C, to commit their state and pictures.
            "--shutdown-timeout=300",
            "--module",
            "zoo",
            *args,
        ]
        try:
            run(parse_args(options))
        except SignalException as exc:  # the processes have stopped and said so
            sys.exit(128 + int(exc.sigval))
        except ChildFailedError as exc:
            # The first process to fail tells why; torchrun then stops the others.
            rank, failure = min(exc.failures.items(), key=lambda item: item[1].timestamp)
            code = failure.exitcode
            if code not in (2, 130):
                how = (
                    f"was killed by {signal.Signals(-code).name}"
                    if code < 0 and -code in signal.valid_signals()
                    else f"ended with exit code {code} (its messages are above)"
                )
                click.echo(
                    f"zoo: error: training process {rank} of {nproc} {how}; torchrun stopped "
                    "the others; what the run committed is intact: go on with "
                    f"zoo train --resume RUN_FOLDER --nproc {nproc}",
                    err=True,
                )
            sys.exit(code if code > 0 else 1)


def _plan_options(params: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """`zoo train`'s parameters as `plan_run` takes them."""
    chosen = {
        key: params[key]
        for key in (
            "dataset",
            "task",
            "init",
            "loss",
            "epochs",
            "batch_size",
            "lr",
            "val_fraction",
            "shuffle",
            "workers",
            "memory_format",
            "precision",
            "log_every",
            "seed",
            "deterministic",
            "checkpoint_every",
            "device",
        )
    }
    return {**chosen, "compile": params["compile_model"], "settings": settings}


def _without_nproc(args: Sequence[str]) -> list[str]:
    """The command line with its --nproc N (or --nproc=N) taken out."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="zoo")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if _started_by_torchrun():
        # A process torchrun started: its files are committed (written and fsynced) and
        # the process group is left. End here, skipping the interpreter's teardown, where
        # gloo's threads can still abort an exiting process now and then; torchrun would
        # then report a finished run as failed.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
