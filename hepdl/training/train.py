"""Train a model on the train split of background images; the ``hepdl train`` CLI.

The loss is the model's own (:meth:`hepdl.models.base.AnomalyModel.loss`; for the autoencoders
the mean squared error per pixel of the scaled images). Before the first step the model fits its
input scaling on the training images (part of the model file). Adam; the learning rate is
reduced on a validation-loss plateau and training stops early once the validation loss has not
improved by ``training.min_rel_improvement`` (relative) for ``training.early_stopping_patience``
epochs, or at ``training.max_epochs`` (the cap); the best weights are restored. Every setting
comes from ``config["training"]``.

Training schedules: a model may train in several phases (:meth:`AnomalyModel.training_phases`; the
``nae`` pretrains as an autoencoder, then trains with its own loss). Each phase starts from the
weights the previous one kept, with a fresh Adam at its own learning rate and a fresh schedule; a
phase that selects by validation loss has the plateau schedule and early stopping above and keeps
its best epoch, any other keeps its last. A model with ``trained_by_gradient = False`` (k-means)
has no optimizer: each epoch is its :meth:`AnomalyModel.fit_epoch`. Only these interface methods
are called; train.py knows no concrete model.

Learning is measured: the lowest validation loss of the run over the loss of reconstructing every
validation jet as the average training image (``val_loss_over_average_image``) is stored in the
model file with ``learned`` (ratio <= 0.9), and travels to the scores and metrics.

Reproducibility: one seed (``--seed``, else ``config["seed"]``) seeds torch, numpy and Python;
the shuffling permutation of epoch ``e`` comes from a ``torch.Generator`` seeded with
``derive_seed(seed, "shuffle", e)``, so a run resumed from its checkpoint sees exactly the batches
an uninterrupted run sees. With ``training.deterministic`` (default) PyTorch's deterministic
algorithms are enforced (and ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` set for CUDA); on CPU two runs
with one seed, thread count and machine give bit-identical weights.

Files: the model ``OUTPUT`` (see :func:`train`), the training state ``OUTPUT.ckpt`` written
atomically after every epoch (model, optimizer, schedule, phase, early-stopping state, best
weights, RNG and the model's :meth:`AnomalyModel.training_state`; ``--resume`` continues from it),
the history CSV (``--history``).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepdl.config import derive_seed, load_config, transform_options
from hepdl.core.atomic import write_text_atomic
from hepdl.core.checkpoint import load_checkpoint, save_checkpoint
from hepdl.core.errors import CheckpointError, ConfigError, HepdlError
from hepdl.core.progress import Progress
from hepdl.core.provenance import provenance
from hepdl.images.store import check_pixels, read_images
from hepdl.images.transforms import transform_images
from hepdl.models import build_model
from hepdl.models.base import AnomalyModel, TrainingPhase, learning_summary
from hepdl.models.runtime import configure_threads, per_jet, prepare_model, select_device

log = logging.getLogger("hepdl.training.train")

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "average_image_loss", "learning_rate", "seconds",
                   "images_per_s", "phase")


def make_optimizer(model: AnomalyModel, learning_rate: float) -> torch.optim.Optimizer:
    """Adam with PyTorch's fused kernel where the device has one (torch >= 2.4 on CPU and CUDA;
    3% more training images/s on 2 CPU threads, benchmarks/bench_train.py), else the default."""
    try:
        return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)
    except (RuntimeError, TypeError):  # fused Adam unsupported for this device or torch version
        return torch.optim.Adam(model.parameters(), lr=learning_rate)


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, numpy and torch; enforce deterministic algorithms if asked."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds the legacy global generator third-party code may use)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = False


# --------------------------------------------------------------------------------- data

def load_split(paths: list[str | os.PathLike], split: str, transform: dict[str, Any],
               max_jets: int | None = None, columns: list[str] | None = None
               ) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """Images of one split, transformed (``transform``: a validated image_transforms block), as
    one contiguous float32 tensor (n, 1, npix, npix), with the requested ``/jets`` columns."""
    columns = list(dict.fromkeys([*(columns or []), "jet_mass", "source_file", "source_entry"]))
    images, cols = read_images(paths, split=split, columns=columns, max_jets=max_jets)
    if len(images) == 0:
        raise HepdlError(f"the {split} split of {', '.join(map(str, paths))} holds no jets")
    check_pixels(images, cols)
    images = transform_images(images, transform)
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1), cols


# --------------------------------------------------------------------------------- loops

def jet_losses(model: AnomalyModel, images: torch.Tensor, device: torch.device, reference: bool = False
               ) -> torch.Tensor:
    """Per-jet loss (n,) float64 on CPU of images (n, 1, npix, npix) (the model's
    :meth:`~hepdl.models.base.AnomalyModel.jet_losses`, or with ``reference`` its
    :meth:`~hepdl.models.base.AnomalyModel.reference_losses`), in eval mode, in batches."""
    model.eval()
    return per_jet(model.reference_losses if reference else model.jet_losses, images, device)


def train_epoch(model: AnomalyModel, optimizer: torch.optim.Optimizer, images: torch.Tensor,
                permutation: torch.Tensor, batch_size: int, device: torch.device,
                progress: Progress | None = None) -> float:
    """One pass over ``images`` in the order of ``permutation``; returns the mean training loss.

    Batches are gathered from one contiguous in-memory tensor (no Dataset / collate).
    """
    model.train()
    total, n_seen = 0.0, 0
    for start in range(0, len(permutation), batch_size):
        batch = images.index_select(0, permutation[start:start + batch_size].to(images.device)).to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = model.loss(batch)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
        n_seen += len(batch)
        if progress is not None:
            progress.update(len(batch))
    return total / max(n_seen, 1)


def epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffling of epoch ``epoch`` (1-based): a function of (seed, epoch) only."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "shuffle", epoch))
    return torch.randperm(n, generator=generator)


# --------------------------------------------------------------------------------- state

def _state_dict_cpu(module_or_optimizer: Any) -> dict[str, Any]:
    def to_cpu(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().clone()
        if isinstance(value, dict):
            return {k: to_cpu(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [to_cpu(v) for v in value]
        return value

    return to_cpu(module_or_optimizer.state_dict())


def _fingerprint(config: dict[str, Any], transform: str, seed: int, paths: list[str]) -> dict[str, Any]:
    """What must match for a checkpoint to be resumed (max_epochs may grow)."""
    training = {k: v for k, v in config["training"].items() if k != "max_epochs"}
    return {"model": config["model"], "training": training, "transform": transform,
            "transform_options": config["image_transforms"][transform], "seed": seed,
            "images": [str(p) for p in paths]}


def _upgrade_state(saved: dict[str, Any]) -> dict[str, Any]:
    """The training state of a checkpoint written before training phases existed (one phase, no
    ``phase`` key), in today's form."""
    if "phase" in saved:
        return saved
    stopped = bool(saved.get("stopped_early"))
    return {**saved, "phase": int(stopped), "phase_epochs": saved.get("epoch", 0),
            "phase_end": "early_stopping" if stopped else None,
            "lowest_val_loss": saved.get("best_val_loss", float("inf")),
            "selected_val_loss": saved.get("best_val_loss", float("inf"))}


def _cpu_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in tensors.items()}


def _start_phase(model: AnomalyModel, phases: list[TrainingPhase], state: dict[str, Any], tcfg: dict[str, Any]
                 ) -> tuple[torch.optim.Optimizer | None, Any]:
    """Enter phase ``state["phase"]`` (if any is left): tell the model, and build a fresh Adam (at the
    phase's learning rate, else ``training.learning_rate``) and plateau schedule. (None, None) for
    a model not trained by gradient descent."""
    if state["phase"] >= len(phases):
        return None, None
    phase = phases[state["phase"]]
    model.start_phase(phase.name)
    if not model.trained_by_gradient:
        return None, None
    learning_rate = float(tcfg["learning_rate"] if phase.learning_rate is None else phase.learning_rate)
    optimizer = make_optimizer(model, learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=float(tcfg["lr_plateau_factor"]), patience=int(tcfg["lr_plateau_patience"]),
        threshold=float(tcfg["min_rel_improvement"]), threshold_mode="rel")
    if len(phases) > 1:
        log.info("training phase %r from epoch %d (learning rate %.2g, %s)", phase.name, state["epoch"] + 1,
                 learning_rate, "early stopping on the validation loss" if phase.selects_best
                 else f"{phase.epochs} epochs, keeps the last")
    return optimizer, scheduler


def checkpoint_path(output: str | os.PathLike) -> Path:
    """The training-state file of a model ``output``: ``<output>.ckpt``."""
    return Path(f"{output}.ckpt")


def _write_history(path: str | os.PathLike, history: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: row.get(k, "") for k in HISTORY_COLUMNS} for row in history)
    write_text_atomic(path, buffer.getvalue())


# --------------------------------------------------------------------------------- train

def train(images_paths: str | os.PathLike | list[str | os.PathLike], output: str | os.PathLike,
          config: dict[str, Any] | str | os.PathLike | None = None, transform: str = "plain",
          epochs: int | None = None, seed: int | None = None, resume: bool = False,
          history_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Train ``config["model"]`` on the train split of ``images_paths``, validate on the validation split.

    ``config``: a validated config dict, a config file, or None (defaults). ``transform``: the
    name of the image transform (``image_transforms.<name>``) applied before training. ``epochs``
    overrides ``training.max_epochs``; ``seed`` overrides ``config["seed"]``. ``resume``: continue
    from ``<output>.ckpt`` if it exists (an error if it belongs to another config/seed/transform).

    Writes the model file ``output`` (:func:`hepdl.core.checkpoint.save_checkpoint`, kind ``"model"``):
    tensors ``state_dict`` (best epoch; holds the model's buffers ``input_scale`` and
    ``mean_image``) and ``mean_image`` (npix, npix) float32 (mean transformed training image);
    metadata ``model_config``, ``npix``, ``transform``, ``transform_options``, ``seed``,
    ``config``, ``provenance``, ``input_scale``, ``best_epoch`` (the epoch whose weights the file
    holds), ``best_val_loss`` (the lowest validation loss of the run), ``selected_val_loss`` (that
    of the epoch in the file: the same for a one-phase model), ``average_image_loss``,
    ``val_loss_over_average_image``, ``learned``, ``epochs_trained``, ``stop_reason``
    (``early_stopping``: the last phase converged; ``completed``: the last phase ran its fixed
    number of epochs; ``max_epochs``: stopped at the cap), ``history`` (one row per epoch, with
    its ``phase``), ``train_jets``, ``validation_jets``. Returns a summary dict
    (same keys as the metadata, minus config and provenance, plus ``model``, ``checkpoint``,
    ``stopped_early``).
    """
    if config is None or isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    paths = [images_paths] if isinstance(images_paths, (str, os.PathLike)) else list(images_paths)
    options = transform_options(config, transform)
    tcfg = config["training"]
    seed = int(config["seed"] if seed is None else seed)
    max_epochs = int(tcfg["max_epochs"] if epochs is None else epochs)
    if max_epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {max_epochs}")
    threads = configure_threads()
    seed_everything(seed, bool(tcfg["deterministic"]))
    device = select_device(tcfg["device"])

    train_images, _ = load_split(paths, "train", options, max_jets=tcfg["max_train_jets"])
    val_images, _ = load_split(paths, "validation", options)
    npix = int(train_images.shape[-1])
    n_train, n_val = len(train_images), len(val_images)
    log.info("training %s (transform %s) on %d train / %d validation jets, %dx%d, device %s, %d threads",
             config["model"]["name"], transform, n_train, n_val, npix, npix, device, threads)

    model = build_model(config["model"], npix)
    model.fit_input_scaling(train_images)
    model = prepare_model(model, device)
    input_scale = float(model.input_scale)
    mean_image = model.mean_image.detach().cpu().clone()  # (1, npix, npix), input units
    average_image_loss = float(jet_losses(model, val_images, device, reference=True).mean())
    phases = model.training_phases()
    fingerprint = _fingerprint(config, transform, seed, paths)
    state = {"epoch": 0, "phase": 0, "phase_epochs": 0, "best_val_loss": float("inf"), "best_epoch": 0,
             "epochs_without_improvement": 0, "reference_val_loss": float("inf"), "stopped_early": False,
             "lowest_val_loss": float("inf"), "selected_val_loss": float("inf"), "phase_end": None, "history": []}
    ckpt = checkpoint_path(output)
    resumed = None
    if resume and ckpt.exists():
        tensors, meta = load_checkpoint(ckpt, kind="training_state")
        if meta.get("fingerprint") != fingerprint:
            raise CheckpointError(f"{ckpt} belongs to another run (config, transform, seed or images "
                                  f"differ); delete it or train without --resume")
        model.load_state_dict(tensors["model"])
        state.update(_upgrade_state(meta["state"]))
        resumed = tensors, meta
    elif resume:
        log.info("no checkpoint %s: starting from scratch", ckpt)
    optimizer, scheduler = _start_phase(model, phases, state, tcfg)
    best_weights = _state_dict_cpu(model)
    if resumed is not None:
        tensors, meta = resumed
        if optimizer is not None:
            optimizer.load_state_dict(tensors["optimizer"])
            scheduler.load_state_dict(meta["scheduler"])
        model.load_training_state(tensors.get("model_training_state", {}))
        best_weights = tensors["best_weights"]
        torch.set_rng_state(tensors["torch_rng"])
        log.info("resumed from %s after epoch %d", ckpt, state["epoch"])

    # one copy on the accelerator, batches gathered there (channels-last: see prepare_model)
    train_on_device = train_images.to(device).contiguous(memory_format=torch.channels_last)
    batch_size = int(tcfg["batch_size"])
    patience = int(tcfg["early_stopping_patience"])
    min_rel = float(tcfg["min_rel_improvement"])
    log.info("input scale %.4g (%s); average-image loss (reference) %.4g", input_scale,
             config["model"]["input_scaling"], average_image_loss)
    while state["epoch"] < max_epochs and state["phase"] < len(phases):
        phase = phases[state["phase"]]
        epoch = state["epoch"] + 1
        t0 = time.perf_counter()
        with Progress(n_train, f"epoch {epoch}/{max_epochs}", unit="images") as progress:
            if model.trained_by_gradient:
                permutation = epoch_permutation(seed, epoch, n_train)
                train_loss = train_epoch(model, optimizer, train_on_device, permutation, batch_size, device, progress)
            else:
                model.train()
                train_loss = float(model.fit_epoch(train_on_device, batch_size))
                progress.update(n_train)
        seconds = time.perf_counter() - t0
        val_loss = float(jet_losses(model, val_images, device).mean())
        learning_rate = float(optimizer.param_groups[0]["lr"]) if optimizer is not None else 0.0
        row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
               "average_image_loss": average_image_loss, "learning_rate": learning_rate,
               "seconds": round(seconds, 3), "images_per_s": round(n_train / max(seconds, 1e-9), 1),
               "phase": phase.name}
        state["history"].append(row)
        state["lowest_val_loss"] = min(state["lowest_val_loss"], val_loss)
        state["phase_epochs"] += 1
        phase_end = None
        if phase.selects_best:
            if scheduler is not None:
                scheduler.step(val_loss)
            if val_loss < state["best_val_loss"]:
                state.update(best_val_loss=val_loss, best_epoch=epoch)
                best_weights = _state_dict_cpu(model)
            # patience counts epochs without a *significant* improvement (relative min_rel_improvement)
            if val_loss < state["reference_val_loss"] * (1.0 - min_rel):
                state.update(reference_val_loss=val_loss, epochs_without_improvement=0)
            else:
                state["epochs_without_improvement"] += 1
                if state["epochs_without_improvement"] >= patience:
                    phase_end = "early_stopping"
        else:  # the phase keeps its last epoch
            state.update(best_val_loss=val_loss, best_epoch=epoch)
            best_weights = _state_dict_cpu(model)
        if phase_end is None and phase.epochs is not None and state["phase_epochs"] >= phase.epochs:
            phase_end = "completed"
        state["epoch"] = epoch
        log.info("epoch %d%s: train_loss %.4g val_loss %.4g (%.3f of the average image) lr %.2g, %.1f s, "
                 "%.0f images/s%s", epoch, f" ({phase.name})" if len(phases) > 1 else "", train_loss, val_loss,
                 val_loss / average_image_loss, learning_rate, seconds, row["images_per_s"],
                 ", early stop (converged)" if phase_end == "early_stopping" else "")
        if phase_end is not None:
            state.update(phase_end=phase_end, stopped_early=phase_end == "early_stopping",
                         selected_val_loss=state["best_val_loss"])
            state["phase"] += 1
            if state["phase"] < len(phases):  # the next phase starts from the weights this one kept
                model.load_state_dict(best_weights)
                state.update(phase_epochs=0, best_val_loss=float("inf"), epochs_without_improvement=0,
                             reference_val_loss=float("inf"))
                optimizer, scheduler = _start_phase(model, phases, state, tcfg)
        save_checkpoint(ckpt, "training_state",
                        {"model": _state_dict_cpu(model),
                         "optimizer": _state_dict_cpu(optimizer) if optimizer is not None else {},
                         "best_weights": best_weights, "torch_rng": torch.get_rng_state(),
                         "model_training_state": _cpu_tensors(model.training_state())},
                        {"fingerprint": fingerprint, "state": state,
                         "scheduler": scheduler.state_dict() if scheduler is not None else None})
        if history_path is not None:
            _write_history(history_path, state["history"])
    if state["phase"] < len(phases) and state["phase_epochs"] > 0:  # stopped at the cap inside a phase
        state["selected_val_loss"] = state["best_val_loss"]
    learning = learning_summary(state["lowest_val_loss"], average_image_loss)
    finished = state["phase"] >= len(phases)
    stop_reason = state["phase_end"] if finished else "max_epochs"
    if not finished and len(phases) > 1:
        log.warning("stopped at the cap of %d epochs in training phase %r: phase(s) %s never ran; raise "
                    "training.max_epochs", max_epochs, phases[state["phase"]].name,
                    ", ".join(p.name for p in phases[state["phase"] + 1:]) or "(none)")
    if not learning["learned"]:
        log.warning("NOT LEARNT: the best validation loss is %.3f of the average-image loss (learnt means <= 0.9): "
                    "the model reconstructs little more than the average jet, and its AUC is not an "
                    "autoencoder result", learning["val_loss_over_average_image"])
    if stop_reason == "max_epochs":
        log.warning("stopped at the cap of %d epochs before converging (the validation loss still improved "
                    "by more than %g within the last %d epochs); raise training.max_epochs for a converged model",
                    max_epochs, min_rel, patience)
    if history_path is not None:
        _write_history(history_path, state["history"])

    model.load_state_dict(best_weights)
    tensors = {"state_dict": _state_dict_cpu(model), "mean_image": mean_image[0].clone()}
    summary = {
        "model_config": config["model"], "npix": npix, "transform": transform, "transform_options": options,
        "seed": seed, "input_scale": input_scale, "best_epoch": state["best_epoch"],
        "best_val_loss": state["lowest_val_loss"], "selected_val_loss": state["selected_val_loss"],
        "average_image_loss": average_image_loss, **learning,
        "epochs_trained": state["epoch"], "max_epochs": max_epochs, "stop_reason": stop_reason,
        "history": state["history"], "train_jets": n_train, "validation_jets": n_val,
    }
    metadata = {**summary, "config": config,
                "provenance": provenance(config=None, seed=seed, images=[str(p) for p in paths],
                                         threads=threads, device=str(device))}
    save_checkpoint(output, "model", tensors, metadata)
    log.info("wrote %s (best epoch %d of %d, val_loss %.4g = %.3f of the average image, %s)", output,
             state["best_epoch"], state["epoch"], state["lowest_val_loss"], learning["val_loss_over_average_image"],
             "learnt" if learning["learned"] else "NOT LEARNT")
    return {**summary, "model": str(output), "checkpoint": str(ckpt), "stopped_early": state["stopped_early"]}
