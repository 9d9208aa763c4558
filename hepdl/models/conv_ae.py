"""``conv_ae``: the convolutional autoencoder of the reference study.

Follows Finke et al., arXiv:2104.09051 (lecture figure) and the first author's thesis code:
4x4 convolutions with 'same' padding, PReLU, one 2x2 max pooling, dense layers to a
32-dimensional bottleneck, a mirrored decoder with nearest-neighbour upsampling (no bilinear: it
has no deterministic CUDA backward), linear output, mean squared error. Options: ``conv_ae.yaml``
next to this module.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hepdl.models.base import ReconstructionModel
from hepdl.models.layers import dense_stack, same_conv
from hepdl.models.layers import output_activation as make_output_activation


class ConvAE(ReconstructionModel):
    """Convolutional autoencoder on (n, 1, npix, npix) images.

    Encoder: ``conv_layers`` read left to right, an int is a ``kernel_size`` convolution with that
    many output channels ('same' padding, PReLU), ``"pool"`` a 2x2 max pooling; then flatten and
    dense layers of widths ``dense`` (PReLU) down to ``latent_dim`` (linear bottleneck). Decoder:
    the mirror image (dense, reshape, convolutions, ``upsampling`` where the encoder pooled), the
    last convolution to 1 channel followed by ``output_activation``.

    Any npix works: with k pooling layers the image is zero-padded at the high end to a multiple
    of 2^k and the reconstruction cropped back.
    """

    name = "conv_ae"

    def __init__(self, npix: int = 40, conv_layers: list[int | str] = (10, "pool", 10, 10, 5),
                 kernel_size: int = 4, dense: list[int] = (400, 100), latent_dim: int = 32,
                 output_activation: str = "linear", upsampling: str = "nearest", input_scaling: str = "rms"):
        super().__init__(npix, input_scaling)
        conv_layers, dense = list(conv_layers), list(dense)
        n_pool = conv_layers.count("pool")
        step = 2 ** n_pool
        self.padded = math.ceil(npix / step) * step
        encoder: list[nn.Module] = []
        channels, entering = 1, []
        for layer in conv_layers:
            entering.append("pool" if layer == "pool" else channels)
            if layer == "pool":
                encoder.append(nn.MaxPool2d(2))
            else:
                encoder += [*same_conv(channels, int(layer), kernel_size), nn.PReLU()]
                channels = int(layer)
        self.bottom_shape = (channels, self.padded // step, self.padded // step)
        widths = [math.prod(self.bottom_shape), *dense]
        encoder += [nn.Flatten(), *dense_stack(widths), nn.Linear(widths[-1], latent_dim)]
        self.encoder = nn.Sequential(*encoder)

        decoder: list[nn.Module] = dense_stack([latent_dim, *reversed(widths)])
        decoder.append(nn.Unflatten(1, self.bottom_shape))
        # mirror: walk the encoder's conv layers backwards; each conv maps back to the channels
        # that entered its mirror image, the last one to 1 channel
        mirrored = list(reversed(entering))
        for i, layer in enumerate(mirrored):
            if layer == "pool":
                if upsampling == "nearest":
                    decoder.append(nn.Upsample(scale_factor=2, mode="nearest"))
                else:
                    decoder += [nn.ConvTranspose2d(channels, channels, 2, stride=2), nn.PReLU()]
                continue
            is_last = i == len(mirrored) - 1
            out = 1 if is_last else int(layer)
            decoder += same_conv(channels, out, kernel_size)
            if not is_last:
                decoder.append(nn.PReLU())
            channels = out
        if channels != 1:  # the encoder began with a pool: project to one channel
            decoder += same_conv(channels, 1, kernel_size)
        decoder.append(make_output_activation(output_activation))
        self.decoder = nn.Sequential(*decoder)

    def encode(self, scaled: torch.Tensor) -> torch.Tensor:
        """Scaled images (n, 1, npix, npix) -> latent points (n, latent_dim)."""
        pad = self.padded - self.npix
        if pad:
            scaled = nn.functional.pad(scaled, (0, pad, 0, pad))
        return self.encoder(scaled)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent points (n, latent_dim) -> scaled reconstructions (n, 1, npix, npix)."""
        out = self.decoder(latent)
        return out[..., :self.npix, :self.npix] if self.padded != self.npix else out

    def network(self, scaled: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(scaled))


MODEL = ConvAE
