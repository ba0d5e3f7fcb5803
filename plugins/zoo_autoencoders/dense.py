"""The chapter's dense autoencoder: Linear + Sigmoid down to a small code, and back."""

from __future__ import annotations

import torch
from torch import nn

OUTPUT_ACTIVATIONS = ("sigmoid", "linear")


class DenseAutoencoder(nn.Module):
    """Dense autoencoder: Linear(in, hidden) + Sigmoid, then Linear(hidden, in) + Sigmoid.

    With the defaults (in_features=3, hidden=2) it is the chapter's 3 -> 2 -> 3
    network, which learns a 2-D code for 3-D data. `encode` returns the code.
    The chapter ends the decoder with a sigmoid although its data are
    standardised (values outside [0, 1]); `output_activation="linear"` lets the
    decoder reach them.

    Example:
        >>> import torch, zoo
        >>> model = zoo.create_model("dense-ae")
        >>> model.encode(torch.zeros(4, 3)).shape
        torch.Size([4, 2])
    """

    def __init__(
        self, in_features: int = 3, hidden: int = 2, output_activation: str = "sigmoid"
    ) -> None:
        super().__init__()
        if in_features < 1 or hidden < 1:
            raise ValueError(f"in_features and hidden must be >= 1, got {in_features} and {hidden}")
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation must be one of {', '.join(OUTPUT_ACTIVATIONS)}, "
                f"got {output_activation!r}"
            )
        self.encoder = nn.Sequential(nn.Linear(in_features, hidden), nn.Sigmoid())
        decoder: list[nn.Module] = [nn.Linear(hidden, in_features)]
        if output_activation == "sigmoid":
            decoder.append(nn.Sigmoid())
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each row of `x` (shape: batch x hidden)."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
