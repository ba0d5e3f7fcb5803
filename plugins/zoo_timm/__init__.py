"""First-party plugin: every timm architecture as a zoo model named `timm/<architecture>`.

Registration reads the architecture list from a cache file (see
`zoo_timm.catalog`) and never imports timm or torch: each factory imports
`zoo_timm.build` (and with it timm) only when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import zoo
from zoo_timm.catalog import architectures

#: The options every timm model takes; the `digits` data (or any image dataset)
#: fills in_channels and num_classes when training.
DEFAULTS: dict[str, Any] = {
    "in_channels": 3,
    "num_classes": 1000,
    "pretrained": "",
    "timm_options": {},
}
PREFIX = "timm/"


class TimmFactory:
    """Build one timm architecture; the registry holds one of these per architecture."""

    def __init__(self, architecture: str, module: str) -> None:
        self.architecture = architecture
        self.module = module
        self.__doc__ = (
            f"timm's {architecture} (module timm.models.{module}), built by timm.create_model.\n\n"
            "Options: in_channels (timm's in_chans) and num_classes size the input and the\n"
            "classifier; pretrained names a local .safetensors file of this architecture\n"
            "whose weights are loaded (the first conv and the classifier adapted when\n"
            "in_channels or num_classes differ); timm_options holds further keyword\n"
            'arguments for timm.create_model, e.g. {"drop_rate": 0.1}. Nothing is\n'
            "downloaded."
        )

    def __call__(self, **config: Any) -> Any:
        from zoo_timm.build import build_model

        return build_model(self.architecture, **config)

    def __repr__(self) -> str:
        return f"TimmFactory({self.architecture!r})"


@zoo.hookimpl
def register_models(register: Callable[..., None]) -> None:
    """Register timm/<architecture> for every architecture the installed timm lists."""
    for architecture in architectures():
        register(
            PREFIX + architecture.name,
            TimmFactory(architecture.name, architecture.module),
            task="classification",
            dataset="digits",
            defaults=DEFAULTS,
            summary=f"timm {architecture.name} (module {architecture.module})",
            tags=("timm", "image", "classification", architecture.module),
        )
