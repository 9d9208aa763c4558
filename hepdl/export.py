"""Export a trained model for inference outside hepdl; the ``hepdl export`` CLI.

ONNX graph (opset 17, TorchScript-based exporter ``torch.onnx.export(..., dynamo=False)``: the
dynamo exporter of torch 2.13 needs the ``onnxscript`` package, which hepdl does not require):

* input ``images``: float32 (n, 1, npix, npix), n dynamic; images already transformed with the
  model's variant (``hepdl.postprocess.transform_images``, recorded in the model file) — a
  (n, npix, npix) stack needs ``images[:, None]`` first;
* output ``reconstruction``: float32 (n, 1, npix, npix);
* output ``reconstruction_error``: float32 (n,), mean squared error over the pixels, the
  ``/jets/reconstruction_error`` of ``hepdl score`` (before any score correction).

The model file's metadata (variant, npix, seed, provenance) is copied into the ONNX
``metadata_props`` as JSON under the key ``hepdl``.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from typing import Any

import torch

from hepdl.atomic import atomic_path
from hepdl.errors import HepdlError
from hepdl.score import load_model

OPSET = 17


class _WithError(torch.nn.Module):
    """Wrap an autoencoder: images (n, 1, npix, npix) -> (reconstruction, per-jet MSE (n,))."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reconstruction = self.model(images)
        error = (reconstruction - images).square().mean(dim=(1, 2, 3))
        return reconstruction, error


def export_onnx(model_path: str | os.PathLike, output: str | os.PathLike) -> dict[str, Any]:
    """Write the ONNX graph of a model file (see the module docstring) atomically; return a summary."""
    import onnx

    model, _, meta = load_model(model_path)
    npix = int(meta["npix"])
    wrapped = _WithError(model).eval()
    example = torch.zeros(2, 1, npix, npix)
    with atomic_path(output) as tmp:
        with warnings.catch_warnings():
            # the TorchScript exporter chatters (constant folding notes, deprecation of itself)
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped, (example,), str(tmp), dynamo=False, opset_version=OPSET,
                input_names=["images"], output_names=["reconstruction", "reconstruction_error"],
                dynamic_axes={"images": {0: "n"}, "reconstruction": {0: "n"}, "reconstruction_error": {0: "n"}})
        graph = onnx.load(str(tmp))
        onnx.checker.check_model(graph)
        keep = {k: meta.get(k) for k in ("variant", "variant_options", "npix", "seed", "model_config", "best_epoch")}
        keep["model_file"] = str(model_path)
        keep["provenance"] = meta.get("provenance")
        entry = graph.metadata_props.add()
        entry.key, entry.value = "hepdl", json.dumps(keep, sort_keys=True)
        onnx.save(graph, str(tmp))
    return {"output": str(output), "npix": npix, "opset": OPSET}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL.pt", help="model file written by `hepdl train`")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="export format (onnx)")
    parser.add_argument("--output", required=True, metavar="model.onnx", help="file to write")


def run(args: argparse.Namespace) -> int:
    if args.format != "onnx":  # argparse already refuses; kept for callers building args by hand
        raise HepdlError(f"unknown export format {args.format!r} (onnx)")
    summary = export_onnx(args.model, args.output)
    print(f"exported {args.model} -> {summary['output']} (ONNX opset {summary['opset']}, images n x 1 x "
          f"{summary['npix']} x {summary['npix']})")
    return 0
