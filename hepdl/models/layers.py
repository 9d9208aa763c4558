"""Building blocks shared by the models (torch modules, no hepdl state)."""

from __future__ import annotations

from torch import nn

#: output activations a model may end with (``output_activation`` option)
OUTPUT_ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "softplus": nn.Softplus, "sigmoid": nn.Sigmoid}


def output_activation(name: str) -> nn.Module:
    """The module of an ``output_activation`` option value."""
    return OUTPUT_ACTIVATIONS[name]()


def same_conv(c_in: int, c_out: int, kernel_size: int) -> list[nn.Module]:
    """A stride-1 convolution keeping the image size ('same').

    Even kernels pad one more pixel at the high end (as PyTorch's ``padding='same'``), done by an
    explicit ZeroPad2d because the built-in 'same' with an even kernel falls off oneDNN's fast path
    (15x slower backward on CPU).
    """
    low, high = (kernel_size - 1) // 2, kernel_size // 2
    if low == high:
        return [nn.Conv2d(c_in, c_out, kernel_size, padding=low)]
    return [nn.ZeroPad2d((low, high, low, high)), nn.Conv2d(c_in, c_out, kernel_size)]


def dense_stack(widths: list[int], activate_last: bool = True) -> list[nn.Module]:
    """Linear layers through ``widths`` (w0 -> w1 -> ...), each followed by PReLU (the last one
    only if ``activate_last``)."""
    layers: list[nn.Module] = []
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    for i, (w_in, w_out) in enumerate(pairs):
        layers.append(nn.Linear(w_in, w_out))
        if activate_last or i < len(pairs) - 1:
            layers.append(nn.PReLU())
    return layers
