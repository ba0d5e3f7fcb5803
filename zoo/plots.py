"""Pictures every run gets (the loss curve), drawn off-screen with matplotlib."""

from __future__ import annotations

from collections.abc import Sequence
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
    history: Sequence[dict[str, Any]], path: str | Path, title: str = "", ylabel: str = "loss"
) -> Path:
    """loss.png: every loss-like metric per epoch, training solid and held-out dashed."""
    fig = figure(figsize=(6, 4))
    axes = fig.add_subplot(1, 1, 1)
    epochs = [row["epoch"] for row in history]
    marker = "o" if len(epochs) <= 30 else None
    keys = sorted({k for row in history for k in row if "loss" in k and not k.startswith("val_")})
    for key in keys:
        line = axes.plot(
            epochs, [row.get(key) for row in history], marker=marker, label=f"training {key}"
        )[0]
        if any(f"val_{key}" in row for row in history):
            axes.plot(
                epochs,
                [row.get(f"val_{key}") for row in history],
                marker=marker,
                linestyle="--",
                color=line.get_color(),
                label=f"held-out {key}",
            )
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title or "training loss")
    axes.legend()
    axes.grid(alpha=0.3)
    return save_figure(fig, path)
