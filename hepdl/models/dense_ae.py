"""``dense_ae``: a fully connected autoencoder baseline. Options: ``dense_ae.yaml`` next to this module."""

from __future__ import annotations

import torch
from torch import nn

from hepdl.models.base import ReconstructionModel
from hepdl.models.layers import dense_stack
from hepdl.models.layers import output_activation as make_output_activation


class DenseAE(ReconstructionModel):
    """Flatten, dense ``hidden`` layers (PReLU), a linear ``latent_dim`` bottleneck, the mirrored
    decoder (PReLU between layers), ``output_activation``. Images (n, 1, npix, npix)."""

    name = "dense_ae"

    def __init__(self, npix: int = 40, hidden: list[int] = (512, 128), latent_dim: int = 32,
                 output_activation: str = "linear", input_scaling: str = "rms"):
        super().__init__(npix, input_scaling)
        widths = [npix * npix, *hidden]
        self.encoder = nn.Sequential(nn.Flatten(), *dense_stack(widths), nn.Linear(widths[-1], latent_dim))
        self.decoder = nn.Sequential(*dense_stack([latent_dim, *reversed(widths)], activate_last=False),
                                     make_output_activation(output_activation), nn.Unflatten(1, (1, npix, npix)))

    def network(self, scaled: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(scaled))


MODEL = DenseAE
