"""Model files (``hepdl train`` writes them): load a trained model through the registry.

A model file is a safe checkpoint (:mod:`hepdl.core.checkpoint`, kind ``"model"``) holding the
tensors ``state_dict`` (weights and buffers, the input scaling among them) and ``mean_image``, and
the metadata written by :func:`hepdl.training.train.train` (model config, npix, transform and its
options, seed, provenance, and how the model trained: :data:`hepdl.models.record.TRAINING_KEYS`).
"""

from __future__ import annotations

import os
from typing import Any

import torch

from hepdl.core.checkpoint import load_checkpoint
from hepdl.core.errors import CheckpointError, HepdlError
from hepdl.models import build_model
from hepdl.models.base import AnomalyModel
from hepdl.models.record import TRAINING_KEYS
from hepdl.models.runtime import prepare_model

#: metadata every model file has
REQUIRED_METADATA = ("model_config", "npix", "transform", "transform_options")


def load_model(model_path: str | os.PathLike, device: str | torch.device = "cpu"
               ) -> tuple[AnomalyModel, dict[str, Any], dict[str, Any]]:
    """The trained model (eval mode, input scaling included) of a model file, with its tensors
    and metadata. Raises CheckpointError naming the file if it is not a complete hepdl model file
    or its weights do not fit the model its metadata describes."""
    tensors, meta = load_checkpoint(model_path, kind="model")
    for key in REQUIRED_METADATA:
        if key not in meta:
            raise CheckpointError(f"{model_path} is a hepdl model file without {key!r} in its metadata "
                                  f"(write it with `hepdl train`)")
    for key in ("state_dict", "mean_image"):
        if key not in tensors:
            raise CheckpointError(f"{model_path} is a hepdl model file without the tensor {key!r} "
                                  f"(write it with `hepdl train`)")
    try:
        model = build_model(meta["model_config"], int(meta["npix"]))
        model.load_state_dict(tensors["state_dict"])
    except (HepdlError, RuntimeError, TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{model_path}: the weights do not fit the model its metadata describes "
                              f"({str(err).splitlines()[0][:200]})") from None
    return prepare_model(model, torch.device(device)).eval(), tensors, meta


def training_record(meta: dict[str, Any]) -> dict[str, Any]:
    """How the model of a model file trained (:data:`TRAINING_KEYS`; None where the file lacks one)."""
    return {key: meta.get(key) for key in TRAINING_KEYS}


def trained_device(meta: dict[str, Any]) -> str:
    """The ``training.device`` a model file was trained with (``auto`` if it records none)."""
    return str(((meta.get("config") or {}).get("training") or {}).get("device", "auto"))
