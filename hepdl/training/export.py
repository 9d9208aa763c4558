"""Export a trained model for inference outside hepdl; the ``hepdl export`` CLI.

ONNX graph (opset 17, TorchScript-based exporter ``torch.onnx.export(..., dynamo=False)``: the
dynamo exporter of torch 2.13 needs the ``onnxscript`` package, which hepdl does not require):

* input ``images``: float32 (n, 1, npix, npix), n dynamic; images already transformed with the
  model's image transform (``hepdl.images.transforms.transform_images``, recorded in the model file) — a
  (n, npix, npix) stack needs ``images[:, None]`` first. The model's input scaling (its
  ``input_scale`` buffer) is part of the graph: pass images in input units;
* output ``anomaly_score``: float32 (n,), the model's anomaly score
  (:meth:`hepdl.models.base.AnomalyModel.anomaly_score`), the ``/jets/model_score`` of
  ``hepdl score`` (before any score correction); for the autoencoders the mean squared error over
  the pixels;
* output ``reconstruction``: float32 (n, 1, npix, npix), for models that reconstruct.

The model file's metadata (transform, npix, seed, input scale, learning ratio, provenance) is copied
into the ONNX ``metadata_props`` as JSON under the key ``hepdl``.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import torch

from hepdl.core.atomic import atomic_path
from hepdl.models.base import AnomalyModel
from hepdl.models.model_file import load_model
from hepdl.models.record import TRAINING_KEYS

OPSET = 17


class _Scorer(torch.nn.Module):
    """Wrap a model: images (n, 1, npix, npix) -> anomaly score (n,) [, reconstruction], through
    the model interface only."""

    def __init__(self, model: AnomalyModel):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        score, reconstruction = self.model.score_and_reconstruct(images)
        return (score,) if reconstruction is None else (score, reconstruction)


def export_onnx(model_path: str | os.PathLike, output: str | os.PathLike) -> dict[str, Any]:
    """Write the ONNX graph of a model file (see the module docstring) atomically; return a summary."""
    import onnx

    model, _, meta = load_model(model_path)
    npix = int(meta["npix"])
    wrapped = _Scorer(model).eval()
    example = torch.zeros(2, 1, npix, npix)
    outputs = ["anomaly_score", "reconstruction"] if model.reconstructs else ["anomaly_score"]
    with atomic_path(output) as tmp:
        with warnings.catch_warnings():
            # the TorchScript exporter chatters (constant folding notes, deprecation of itself)
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped, (example,), str(tmp), dynamo=False, opset_version=OPSET,
                input_names=["images"], output_names=outputs,
                dynamic_axes={name: {0: "n"} for name in ["images", *outputs]})
        graph = onnx.load(str(tmp))
        onnx.checker.check_model(graph)
        keys = ("transform", "transform_options", "npix", "seed", "model_config", *TRAINING_KEYS)
        keep = {k: meta.get(k) for k in keys}
        keep["model_file"] = str(model_path)
        keep["provenance"] = meta.get("provenance")
        entry = graph.metadata_props.add()
        entry.key, entry.value = "hepdl", json.dumps(keep, sort_keys=True)
        onnx.save(graph, str(tmp))
    return {"output": str(output), "npix": npix, "opset": OPSET, "outputs": outputs}
