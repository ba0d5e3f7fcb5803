"""Pictures every run gets (the loss curve), drawn off-screen with matplotlib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zoo.files import atomic_write

__all__ = ["figure", "plot_history", "save_figure"]


def figure(**kwargs: Any) -> Any:
    """A new matplotlib figure on the off-screen backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    return plt.figure(**kwargs)


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save a figure as PNG atomically and close it."""
    from matplotlib import pyplot as plt

    try:
        fig.tight_layout()
        return atomic_write(path, lambda temp: fig.savefig(temp, format="png", dpi=110))
    finally:
        plt.close(fig)


def plot_history(
    history: Sequence[dict[str, Any]],
    path: str | Path,
    title: str = "",
    ylabel: str = "loss",
    panels: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """loss.png: metrics per epoch, training solid and held-out dashed.

    Without `panels`, one panel shows every metric whose name contains "loss".
    `panels` maps a y-axis label to the metrics it shows, one panel each, side
    by side (e.g. a GAN's two losses, and its discriminator's outputs).
    """
    if not panels:
        keys = sorted(
            {k for row in history for k in row if "loss" in k and not k.startswith("val_")}
        )
        panels = {ylabel: keys}

    def recorded(key: str) -> bool:
        return any(row.get(key) is not None or row.get(f"val_{key}") is not None for row in history)

    # A panel of metrics the run never recorded (held-out ones, with no split) is left out.
    shown = {
        label: [key for key in keys if recorded(key)]
        for label, keys in panels.items()
        if any(recorded(key) for key in keys)
    } or {ylabel: []}
    fig = figure(figsize=(6 * len(shown), 4))
    epochs = [row["epoch"] for row in history]
    marker = "o" if len(epochs) <= 30 else None
    from matplotlib.ticker import MaxNLocator

    for index, (label, keys) in enumerate(shown.items(), start=1):
        axes = fig.add_subplot(1, len(shown), index)
        for key in keys:
            color = None
            if any(key in row for row in history):
                line = axes.plot(
                    epochs,
                    [row.get(key) for row in history],
                    marker=marker,
                    label=f"training {key}",
                )[0]
                color = line.get_color()
            if any(f"val_{key}" in row for row in history):
                axes.plot(
                    epochs,
                    [row.get(f"val_{key}") for row in history],
                    marker=marker and "s",  # squares: told apart even with one epoch
                    markerfacecolor="none",
                    linestyle="--",
                    color=color,
                    label=f"held-out {key}",
                )
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        if len(set(epochs)) == 1:  # one point: no fractional ticks around it
            axes.set_xticks(epochs)
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if keys:
            axes.legend()
        axes.grid(alpha=0.3)
    fig.suptitle(title or "training loss")
    return save_figure(fig, path)
