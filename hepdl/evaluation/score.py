"""Score jets with a trained model: per-jet anomaly scores of one split of images files.

Scores file (HDF5, an interface the evaluate and report stages read; keep it exactly)
=====================================================================================

==================================  ======================  =========================================
path                                type / shape            meaning
==================================  ======================  =========================================
``/jets/<column>``                  as in the images file   every ``/jets`` column of the images
                                                            files for the scored rows, in input order
``/jets/model_score``               float32 (n,)            the model's anomaly score
                                                            (:meth:`AnomalyModel.anomaly_score`; for
                                                            the autoencoders the reconstruction
                                                            error: mean over the npix x npix pixels
                                                            of the squared difference between the
                                                            transformed image and its
                                                            reconstruction, input units)
``/jets/average_image_error``       float32 (n,)            the same mean squared difference with the
                                                            average training image as reconstruction
``/jets/active_pixel_fraction``     float32 (n,)            pixels > 0 of the transformed image over
                                                            npix^2 (at least 1/npix^2)
``/mean_input``                     float32 (npix, npix)    mean transformed image of the scored jets
``/mean_reconstruction``            float32 (npix, npix)    mean reconstruction of the scored jets
                                                            (models that reconstruct)
``/examples/input``                 float32 (k, npix, npix) the first k <= 8 scored transformed images
``/examples/reconstruction``        float32 (k, npix, npix) their reconstructions (models that
                                                            reconstruct)
==================================  ======================  =========================================

Score corrections (:mod:`hepdl.evaluation.corrections`) are applied later, by ``hepdl evaluate``,
from these columns. Root attributes: ``provenance`` (JSON), ``model`` (path of the model file),
``transform``, ``transform_options`` (JSON), ``split``, ``dataset_files`` (JSON list of the images
files), ``training`` (JSON: :data:`hepdl.models.record.TRAINING_KEYS` from the model file:
learning ratio, learned, epochs, stop reason, input scale).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from hepdl.core.atomic import atomic_path
from hepdl.core.errors import InputFileError
from hepdl.core.progress import Progress
from hepdl.core.provenance import provenance
from hepdl.images.store import check_pixels, iter_images, read_images
from hepdl.images.transforms import transform_images
from hepdl.models.base import AnomalyModel
from hepdl.models.model_file import load_model, trained_device, training_record
from hepdl.models.runtime import EVAL_BATCH, configure_threads, select_device

log = logging.getLogger("hepdl.evaluation.score")

N_EXAMPLES = 8
DEFAULT_BATCH = 4096
#: per-jet columns computed by scoring (added to the images files' columns)
COMPUTED_COLUMNS = ("model_score", "average_image_error", "active_pixel_fraction")


def score(model_path: str | os.PathLike, images_paths: str | os.PathLike | list[str | os.PathLike],
          output: str | os.PathLike, split: str | None = "test", batch_size: int = DEFAULT_BATCH,
          device: str = "cpu") -> dict[str, Any]:
    """Write the scores file (format in the module docstring) for every jet of ``split``.

    Images are streamed in batches of ``batch_size`` over the images files (memory does not grow
    with the dataset), transformed with the model's image transform, and scored. ``split``
    None scores every row. ``device``: a torch device name or ``auto`` (as ``training.device``).
    Returns ``{"n_jets", "mean_model_score", "output"}``.
    """
    configure_threads()
    device = select_device(str(device))
    paths = [images_paths] if isinstance(images_paths, (str, os.PathLike)) else list(images_paths)
    model, _, meta = load_model(model_path, device)
    options, npix = meta["transform_options"], int(meta["npix"])
    mean_image = model.mean_image.detach().cpu().numpy()[0].astype(np.float64)
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as h5:
        jets = h5.create_group("jets")
        _, first_cols = read_images(paths, split=split, max_jets=0)
        datasets: dict[str, h5py.Dataset] = {}
        for name, value in first_cols.items():
            dtype = h5py.string_dtype() if value.dtype == object else value.dtype
            datasets[name] = jets.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,))
        for name in COMPUTED_COLUMNS:
            datasets[name] = jets.create_dataset(name, shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(4096,))
        sum_input = np.zeros((npix, npix), dtype=np.float64)
        sum_reco = np.zeros((npix, npix), dtype=np.float64)
        examples_in: list[np.ndarray] = []
        examples_reco: list[np.ndarray] = []
        n = 0
        with Progress(None, f"score {Path(str(output)).name}", unit="jets") as progress, torch.no_grad():
            for images, cols in iter_images(paths, split, batch_size):
                if images.shape[1:] != (npix, npix):
                    _raise_shape(paths, images.shape[1:], npix, model_path)
                check_pixels(images, cols)
                transformed = transform_images(images, options)
                batch = torch.from_numpy(transformed).unsqueeze(1).to(device)
                model_scores, reco = _score_in_chunks(model, batch)
                computed = {"model_score": model_scores,
                            "average_image_error": _mean_square(transformed - mean_image[None]),
                            "active_pixel_fraction": np.maximum(np.count_nonzero(transformed > 0, axis=(1, 2)), 1)
                            / float(npix * npix)}
                m = len(images)
                for name, ds in datasets.items():
                    value = computed.get(name)
                    value = cols[name] if value is None else value
                    ds.resize((n + m,))
                    ds[n:n + m] = value
                sum_input += transformed.sum(axis=0, dtype=np.float64)
                if reco is not None:
                    sum_reco += reco.sum(axis=0, dtype=np.float64)
                if sum(len(e) for e in examples_in) < N_EXAMPLES:
                    need = N_EXAMPLES - sum(len(e) for e in examples_in)
                    examples_in.append(transformed[:need])
                    if reco is not None:
                        examples_reco.append(reco[:need])
                n += m
                progress.update(m)
        empty = np.zeros((0, npix, npix), dtype=np.float32)
        h5["mean_input"] = (sum_input / max(n, 1)).astype(np.float32)
        h5["examples/input"] = np.concatenate(examples_in) if examples_in else empty
        if model.reconstructs:
            h5["mean_reconstruction"] = (sum_reco / max(n, 1)).astype(np.float32)
            h5["examples/reconstruction"] = np.concatenate(examples_reco) if examples_reco else empty
        h5.attrs["provenance"] = json.dumps(provenance(seed=meta.get("seed"), model_provenance=meta.get("provenance")))
        h5.attrs["model"] = str(model_path)
        h5.attrs["transform"] = meta["transform"]
        h5.attrs["transform_options"] = json.dumps(options, sort_keys=True)
        h5.attrs["split"] = "all" if split is None else split
        h5.attrs["dataset_files"] = json.dumps([str(p) for p in paths])
        h5.attrs["training"] = json.dumps(training_record(meta), sort_keys=True)
        mean_score = float(np.mean(datasets["model_score"][:])) if n else float("nan")
    log.info("scored %d %s jets of %s: mean model score %.4g -> %s", n, split or "all",
             ", ".join(map(str, paths)), mean_score, output)
    return {"n_jets": n, "mean_model_score": mean_score, "output": str(output)}


def default_device(model_path: str | os.PathLike) -> str:
    """The ``training.device`` recorded in a model file: scoring runs where training ran. A cuda
    model scored on a machine without CUDA falls back to ``auto`` (with a warning)."""
    from hepdl.core.checkpoint import load_checkpoint

    _, meta = load_checkpoint(model_path, kind="model")
    name = trained_device(meta)
    if name.startswith("cuda") and not torch.cuda.is_available():
        log.warning("model %s was trained on %s, which this machine lacks: scoring on the best available device",
                    model_path, name)
        return "auto"
    return name


def _mean_square(diff: np.ndarray) -> np.ndarray:
    """Per-jet mean of squares (n,) float32 of (n, npix, npix), accumulated in float64."""
    return np.mean(np.square(diff, dtype=np.float64), axis=(1, 2)).astype(np.float32)


def _score_in_chunks(model: AnomalyModel, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
    """Anomaly scores (n,) and reconstructions (n, npix, npix) or None, forward passes of
    EVAL_BATCH jets (on CPU, 512 jets per pass run twice as fast as 4096: cache-sized)."""
    scores, reconstructions = [], []
    for start in range(0, len(batch), EVAL_BATCH):
        model_scores, reconstruction = model.score_and_reconstruct(batch[start:start + EVAL_BATCH])
        scores.append(model_scores.float().cpu().numpy())
        if reconstruction is not None:
            reconstructions.append(reconstruction[:, 0].float().cpu().numpy())
    if not scores:
        return np.zeros(0, np.float32), None
    return np.concatenate(scores), (np.concatenate(reconstructions) if reconstructions else None)


def _raise_shape(paths: list, shape: tuple, npix: int, model_path: Any) -> None:
    raise InputFileError(f"images in {', '.join(map(str, paths))} are {shape[0]}x{shape[1]} pixels but "
                         f"model {model_path} was trained on {npix}x{npix}")
