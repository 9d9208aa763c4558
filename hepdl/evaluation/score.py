"""Score jets with a trained autoencoder: per-jet reconstruction error and anomaly score; ``hepdl score``.

Scores file (HDF5, an interface the metrics and report stages read; keep it exactly)
====================================================================================

================================  ======================  ===========================================
path                              type / shape            meaning
================================  ======================  ===========================================
``/jets/<column>``                as in the images file   every ``/jets`` column of the images files
                                                          for the scored rows, in input row order
``/jets/model_score``             float32 (n,)            the model's anomaly score
                                                          (:meth:`AnomalyModel.anomaly_score`; for the
                                                          autoencoders the reconstruction error: mean
                                                          over the npix x npix pixels of the squared
                                                          difference between the transformed image and
                                                          its reconstruction, input units)
``/jets/score``                   float32 (n,)            anomaly score after the variant's score
                                                          correction (hepdl.images.transforms); equal to
                                                          ``model_score`` when it has none
``/mean_input``                   float32 (npix, npix)    mean transformed image of the scored jets
``/mean_reconstruction``          float32 (npix, npix)    mean reconstruction of the scored jets
                                                          (models that reconstruct)
``/examples/input``               float32 (k, npix, npix) the first k <= 8 scored transformed images
``/examples/reconstruction``      float32 (k, npix, npix) their reconstructions (models that
                                                          reconstruct)
================================  ======================  ===========================================

Root attributes: ``provenance`` (JSON), ``model`` (path of the model file), ``variant``,
``variant_options`` (JSON), ``split``, ``dataset_files`` (JSON list of the images files),
``training`` (JSON: the model's ``val_loss_over_average_image``, ``learned``, ``best_epoch``,
``epochs_trained``, ``stop_reason``, ``input_scale`` from its model file).
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
from hepdl.core.checkpoint import load_checkpoint
from hepdl.core.errors import CheckpointError, HepdlError, InputFileError
from hepdl.models import build_model
from hepdl.models.base import AnomalyModel
from hepdl.core.progress import Progress
from hepdl.core.provenance import provenance

log = logging.getLogger("hepdl.evaluation.score")

N_EXAMPLES = 8
DEFAULT_BATCH = 4096


#: what a scores file (attribute ``training``) and a metrics row carry about how the model trained
TRAINING_KEYS = ("val_loss_over_average_image", "learned", "best_epoch", "epochs_trained", "max_epochs",
                 "stop_reason", "input_scale")


def load_model(model_path: str | os.PathLike, device: str | torch.device = "cpu"
               ) -> tuple[AnomalyModel, dict[str, Any], dict[str, Any]]:
    """The trained model (eval mode, input scaling included) of a model file, with its tensors
    and metadata."""
    tensors, meta = load_checkpoint(model_path, kind="model")
    for key in ("model_config", "npix", "variant", "variant_options"):
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
    except (HepdlError, RuntimeError, TypeError, ValueError) as err:
        raise CheckpointError(f"{model_path}: the weights do not fit the model its metadata describes "
                              f"({str(err).splitlines()[0][:200]})") from None
    from hepdl.training.train import prepare_model

    return prepare_model(model, torch.device(device)).eval(), tensors, meta


def score_correction(tensors: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The score-correction dict of hepdl.images.transforms stored in a model file (arrays as numpy)."""
    correction = {k: v.numpy() for k, v in tensors.get("score_correction", {}).items()}
    correction.update(meta.get("score_correction_scalars", {}))
    return correction


def training_record(meta: dict[str, Any]) -> dict[str, Any]:
    """How the model of a model file trained (:data:`TRAINING_KEYS`; None where the file predates them)."""
    return {key: meta.get(key) for key in TRAINING_KEYS}


def score(model_path: str | os.PathLike, images_paths: str | os.PathLike | list[str | os.PathLike],
          output: str | os.PathLike, split: str | None = "test", batch_size: int = DEFAULT_BATCH,
          device: str = "cpu") -> dict[str, Any]:
    """Write the scores file (format in the module docstring) for every jet of ``split``.

    Images are streamed in batches of ``batch_size`` over the images files (memory does not grow
    with the dataset), transformed with the model's variant, reconstructed, and scored. ``split``
    None scores every row. ``device``: a torch device name or ``auto`` (as ``training.device``).
    Returns ``{"n_jets", "mean_model_score", "output"}``.
    """
    from hepdl.images.store import iter_images, read_images
    from hepdl.images.transforms import apply_score_correction, transform_images
    from hepdl.training.train import check_pixels, configure_threads, select_device

    configure_threads()
    device = select_device(str(device))
    paths = [images_paths] if isinstance(images_paths, (str, os.PathLike)) else list(images_paths)
    model, tensors, meta = load_model(model_path, device)
    options, npix = meta["variant_options"], int(meta["npix"])
    correction = score_correction(tensors, meta)
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as h5:
        jets = h5.create_group("jets")
        _, first_cols = read_images(paths, split=split, max_jets=0)
        datasets: dict[str, h5py.Dataset] = {}
        for name, value in first_cols.items():
            dtype = h5py.string_dtype() if value.dtype == object else value.dtype
            datasets[name] = jets.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,))
        for name in ("model_score", "score"):
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
                errors, reco = _score_in_chunks(model, batch)
                if "jet_mass" not in cols and options.get("mass_decorrelation", False):
                    raise InputFileError(f"variant {meta['variant']!r} decorrelates from the jet mass, but "
                                         f"{', '.join(map(str, paths))} have no /jets/jet_mass column")
                scores = apply_score_correction(errors, transformed, cols.get("jet_mass"), correction, options)
                m = len(images)
                for name, ds in datasets.items():
                    value = {"model_score": errors, "score": scores}.get(name)
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
        h5.attrs["variant"] = meta["variant"]
        h5.attrs["variant_options"] = json.dumps(options, sort_keys=True)
        h5.attrs["split"] = "all" if split is None else split
        h5.attrs["dataset_files"] = json.dumps([str(p) for p in paths])
        h5.attrs["training"] = json.dumps(training_record(meta), sort_keys=True)
        mean_score = float(np.mean(datasets["model_score"][:])) if n else float("nan")
    log.info("scored %d %s jets of %s: mean model score %.4g -> %s", n, split or "all",
             ", ".join(map(str, paths)), mean_score, output)
    return {"n_jets": n, "mean_model_score": mean_score, "output": str(output)}


def default_device(model_path: str | os.PathLike) -> str:
    """The ``training.device`` setting recorded in a model file (``auto`` if none): scoring runs
    where training ran. A named device that this machine lacks (a cuda model scored on a laptop)
    falls back to ``auto``."""
    _, meta = load_checkpoint(model_path, kind="model")
    name = str(((meta.get("config") or {}).get("training") or {}).get("device", "auto"))
    if name.startswith("cuda") and not torch.cuda.is_available():
        log.warning("model %s was trained on %s, which this machine lacks: scoring on the best available device",
                    model_path, name)
        return "auto"
    return name


def _score_in_chunks(model: AnomalyModel, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
    """Anomaly scores (n,) and reconstructions (n, npix, npix) or None, forward passes of
    EVAL_BATCH jets (on CPU, 512 jets per pass run twice as fast as 4096: cache-sized)."""
    from hepdl.training.train import EVAL_BATCH

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
