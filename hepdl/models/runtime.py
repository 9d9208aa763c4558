"""Where and how a model runs: device, threads, memory layout, evaluation batches.

Shared by training, scoring and export (torch is imported here).
"""

from __future__ import annotations

import os

import torch

from hepdl.core.errors import ConfigError
from hepdl.models.base import AnomalyModel

#: jets per forward pass when evaluating (validation loss, per-jet scores); on 2 CPU threads 256-512
#: jets per pass ran fastest, 4096 at half that rate (cache), benchmarks/bench_train.py
EVAL_BATCH = 512


def configure_threads() -> int:
    """Use ``OMP_NUM_THREADS`` (set by Snakemake to the rule's threads) as torch's intra-op thread
    count when it is set; otherwise keep torch's default. Returns the thread count in use."""
    value = os.environ.get("OMP_NUM_THREADS")
    if value and value.isdigit() and int(value) > 0 and torch.get_num_threads() != int(value):
        torch.set_num_threads(int(value))
    return torch.get_num_threads()


def select_device(name: str = "auto") -> torch.device:
    """``"auto"``: cuda if available, then mps, then cpu; else the named torch device."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"config key 'training.device': {name!r} is not a torch device ({err})") from None


def prepare_model(model: AnomalyModel, device: torch.device) -> AnomalyModel:
    """Move a model to ``device`` in channels-last memory format (oneDNN's and cuDNN's fast
    convolution layout; 1.4x the training images/s of NCHW for the default model on 2 CPU
    threads, benchmarks/bench_train.py). Batches follow the weights' format; outputs are equal
    up to float rounding."""
    return model.to(device=device, memory_format=torch.channels_last)




def per_jet(method, images: torch.Tensor, device: torch.device, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """``method(batch)`` (a per-jet model method, e.g. ``model.jet_losses``) over images (n, 1,
    npix, npix) in batches of ``batch_size`` on ``device``, without gradients; (n,) float64 on CPU."""
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            out.append(method(images[start:start + batch_size].to(device)).double().cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)
