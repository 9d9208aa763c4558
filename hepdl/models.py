"""Autoencoder models for npix x npix jet images, built from ``config["model"]``.

A model maps a batch of images, shape (n, 1, npix, npix) float32 (pixel intensity = pT fraction
after the variant's transform), to reconstructions of the same shape. The registry :data:`MODELS`
maps ``model.name`` to a class whose keyword arguments are ``model.options``.

Default ``conv_ae`` follows the reference study (Finke et al., arXiv:2104.09051, lecture figure)
and the first author's thesis code: 4x4 convolutions with 'same' padding, PReLU, one 2x2 max
pooling, dense layers to a 32-dimensional bottleneck, a mirrored decoder with nearest-neighbour
upsampling (no bilinear: it has no deterministic CUDA backward), linear output, MSE loss.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from hepdl.errors import ConfigError

OUTPUT_ACTIVATIONS = ("linear", "relu", "softplus", "sigmoid")
UPSAMPLING = ("nearest", "transposed")


def _output_activation(name: str) -> nn.Module:
    return {"linear": nn.Identity, "relu": nn.ReLU, "softplus": nn.Softplus, "sigmoid": nn.Sigmoid}[name]()


def _same_conv(c_in: int, c_out: int, kernel_size: int) -> list[nn.Module]:
    """A stride-1 convolution keeping the image size ('same'); even kernels pad one more pixel at
    the high end (as PyTorch's padding='same'), done by an explicit ZeroPad2d because the built-in
    'same' with an even kernel falls off oneDNN's fast path (15x slower backward on CPU)."""
    low, high = (kernel_size - 1) // 2, kernel_size // 2
    if low == high:
        return [nn.Conv2d(c_in, c_out, kernel_size, padding=low)]
    return [nn.ZeroPad2d((low, high, low, high)), nn.Conv2d(c_in, c_out, kernel_size)]


def _as_4d(images: torch.Tensor) -> torch.Tensor:
    """(n, npix, npix) or (n, 1, npix, npix) -> (n, 1, npix, npix)."""
    return images.unsqueeze(1) if images.dim() == 3 else images


class ConvAE(nn.Module):
    """Convolutional autoencoder.

    Encoder: ``conv_layers`` read left to right, an int is a ``kernel_size`` convolution with that
    many output channels ('same' padding, PReLU), ``"pool"`` a 2x2 max pooling; then flatten and
    dense layers of widths ``dense`` (PReLU) down to ``latent_dim`` (linear bottleneck). Decoder:
    the mirror image (dense, reshape, convolutions, ``upsampling`` where the encoder pooled), last
    convolution to 1 channel followed by ``output_activation``.

    Input (n, 1, npix, npix) or (n, npix, npix); output (n, 1, npix, npix). npix must be divisible
    by 2 ** (number of pools).
    """

    def __init__(self, npix: int = 40, conv_layers: list[int | str] = (10, "pool", 10, 10, 5),
                 kernel_size: int = 4, dense: list[int] = (400, 100), latent_dim: int = 32,
                 output_activation: str = "linear", upsampling: str = "nearest"):
        super().__init__()
        conv_layers, dense = list(conv_layers), list(dense)
        _check_conv_options(npix, conv_layers, kernel_size, dense, latent_dim, output_activation, upsampling)
        n_pool = conv_layers.count("pool")
        self.npix = npix
        encoder: list[nn.Module] = []
        channels = 1
        for layer in conv_layers:
            if layer == "pool":
                encoder.append(nn.MaxPool2d(2))
            else:
                encoder += [*_same_conv(channels, int(layer), kernel_size), nn.PReLU()]
                channels = int(layer)
        self.bottom_shape = (channels, npix >> n_pool, npix >> n_pool)
        flat = math.prod(self.bottom_shape)
        widths = [flat, *dense]
        encoder.append(nn.Flatten())
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            encoder += [nn.Linear(w_in, w_out), nn.PReLU()]
        encoder.append(nn.Linear(widths[-1], latent_dim))
        self.encoder = nn.Sequential(*encoder)

        decoder: list[nn.Module] = []
        rev = [latent_dim, *reversed(widths)]
        for w_in, w_out in zip(rev[:-1], rev[1:]):
            decoder += [nn.Linear(w_in, w_out), nn.PReLU()]
        decoder.append(nn.Unflatten(1, self.bottom_shape))
        # mirror: walk the encoder's conv layers backwards; each conv maps back to the channels
        # that entered its mirror image, the last one to 1 channel
        entering = []
        channels = 1
        for layer in conv_layers:
            entering.append(channels if layer != "pool" else "pool")
            if layer != "pool":
                channels = int(layer)
        channels = self.bottom_shape[0]
        mirrored = list(reversed(entering))
        for i, layer in enumerate(mirrored):
            if layer == "pool":
                if upsampling == "nearest":
                    decoder.append(nn.Upsample(scale_factor=2, mode="nearest"))
                else:
                    decoder += [nn.ConvTranspose2d(channels, channels, 2, stride=2), nn.PReLU()]
                continue
            out = int(layer)
            is_last = i == len(mirrored) - 1
            out = 1 if is_last else max(out, 1)
            decoder += _same_conv(channels, out, kernel_size)
            if not is_last:
                decoder.append(nn.PReLU())
            channels = out
        if channels != 1:  # encoder ended with a pool: project to one channel
            decoder += _same_conv(channels, 1, kernel_size)
        decoder.append(_output_activation(output_activation))
        self.decoder = nn.Sequential(*decoder)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(_as_4d(images)))


class DenseAE(nn.Module):
    """Fully connected autoencoder baseline: flatten, dense ``hidden`` (PReLU), ``latent_dim``,
    mirrored decoder, ``output_activation``. Input (n, [1,] npix, npix); output (n, 1, npix, npix)."""

    def __init__(self, npix: int = 40, hidden: list[int] = (512, 128), latent_dim: int = 32,
                 output_activation: str = "linear"):
        super().__init__()
        hidden = list(hidden)
        _check_dense_options(hidden, latent_dim, output_activation)
        self.npix = npix
        widths = [npix * npix, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.PReLU()]
        layers.append(nn.Linear(widths[-1], latent_dim))
        self.encoder = nn.Sequential(*layers)
        rev = [latent_dim, *reversed(widths)]
        layers = []
        for i, (w_in, w_out) in enumerate(zip(rev[:-1], rev[1:])):
            layers.append(nn.Linear(w_in, w_out))
            if i < len(rev) - 2:
                layers.append(nn.PReLU())
        layers += [_output_activation(output_activation), nn.Unflatten(1, (1, npix, npix))]
        self.decoder = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(_as_4d(images)))


#: model.name -> class (keyword arguments = model.options, plus npix)
MODELS: dict[str, type[nn.Module]] = {"conv_ae": ConvAE, "dense_ae": DenseAE}

_OPTIONS = {
    "conv_ae": ("conv_layers", "kernel_size", "dense", "latent_dim", "output_activation", "upsampling"),
    "dense_ae": ("hidden", "latent_dim", "output_activation"),
}


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"config key 'model.options.{key}': {message}")


def _check_positive_int_list(key: str, values: Any) -> None:
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        _fail(key, f"expected a list of positive integers, got {values!r}")


def _check_common(latent_dim: Any, output_activation: Any) -> None:
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        _fail("latent_dim", f"expected a positive integer, got {latent_dim!r}")
    if output_activation not in OUTPUT_ACTIVATIONS:
        _fail("output_activation", f"{output_activation!r} is not one of {', '.join(OUTPUT_ACTIVATIONS)}")


def _check_conv_options(npix: int, conv_layers: Any, kernel_size: Any, dense: Any, latent_dim: Any,
                        output_activation: Any, upsampling: Any) -> None:
    if not isinstance(conv_layers, (list, tuple)) or not conv_layers or not all(
            layer == "pool" or (isinstance(layer, int) and not isinstance(layer, bool) and layer > 0)
            for layer in conv_layers):
        _fail("conv_layers", f"expected a non-empty list of positive channel counts and 'pool', got {conv_layers!r}")
    if not any(layer != "pool" for layer in conv_layers):
        _fail("conv_layers", "needs at least one convolution (a channel count)")
    if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1:
        _fail("kernel_size", f"expected a positive integer, got {kernel_size!r}")
    _check_positive_int_list("dense", dense)
    _check_common(latent_dim, output_activation)
    if upsampling not in UPSAMPLING:
        _fail("upsampling", f"{upsampling!r} is not one of {', '.join(UPSAMPLING)} (bilinear is "
                            f"not offered: no deterministic GPU backward)")
    n_pool = list(conv_layers).count("pool")
    if npix % (2 ** n_pool):
        _fail("conv_layers", f"{n_pool} 2x2 pooling layer(s) need images.npix divisible by "
                             f"{2 ** n_pool}, got npix = {npix}")


def _check_dense_options(hidden: Any, latent_dim: Any, output_activation: Any) -> None:
    _check_positive_int_list("hidden", hidden)
    _check_common(latent_dim, output_activation)


def check_model_config(model_config: dict[str, Any], npix: int) -> None:
    """Raise ConfigError if the model described by ``model_config`` cannot take npix x npix images.

    ``model_config`` is ``config["model"]`` ({name, options}). Unknown option keys, bad values and
    an npix the architecture cannot take (npix not divisible by the pooling) are named as
    ``model.options.<key>``.
    """
    name = model_config.get("name", "conv_ae")
    if name not in MODELS:
        raise ConfigError(f"config key 'model.name': {name!r} is not one of {', '.join(MODELS)}")
    options = dict(model_config.get("options") or {})
    unknown = sorted(set(options) - set(_OPTIONS[name]))
    if unknown:
        _fail(unknown[0], f"unknown option of model {name!r} (allowed: {', '.join(_OPTIONS[name])})")
    defaults = _defaults(name)
    merged = {**defaults, **options}
    if name == "conv_ae":
        _check_conv_options(npix, merged["conv_layers"], merged["kernel_size"], merged["dense"],
                            merged["latent_dim"], merged["output_activation"], merged["upsampling"])
    else:
        _check_dense_options(merged["hidden"], merged["latent_dim"], merged["output_activation"])


def _defaults(name: str) -> dict[str, Any]:
    import inspect

    params = inspect.signature(MODELS[name].__init__).parameters
    return {key: (list(p.default) if isinstance(p.default, tuple) else p.default)
            for key, p in params.items() if key in _OPTIONS[name]}


def build_model(model_config: dict[str, Any], npix: int) -> nn.Module:
    """The model of ``config["model"]`` ({name, options}) for npix x npix images (float32, CPU)."""
    check_model_config(model_config, npix)
    name = model_config.get("name", "conv_ae")
    return MODELS[name](npix=npix, **dict(model_config.get("options") or {}))
