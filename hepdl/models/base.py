"""The interface every hepdl model implements: its own loss, its own anomaly score, its own input scaling.

Training (:mod:`hepdl.training.train`), scoring (:mod:`hepdl.evaluation.score`) and ONNX export
(:mod:`hepdl.training.export`) call only the methods below, so a new model is one module with one
class (plus its options schema and tests); nothing else changes.

Images are float32 tensors of shape (n, 1, npix, npix) (a stack (n, npix, npix) is accepted too)
holding the pixel intensities after the image transform (:mod:`hepdl.images.transforms`):
the *input units* (for the default images: the pT fraction of the jet in the pixel, unit sum).

Input scaling
-------------
Jet images normalised to unit sum have pixels of about 1/npix^2 (6e-4 at 40x40) and a
reconstruction loss of about 1e-4. PyTorch's default initialisation assumes inputs and targets
of order one: with inputs 1000 times smaller, the input-dependent part of every activation is
drowned by the biases, and Adam, whose steps are about ``learning_rate`` in absolute size whatever
the gradient scale, needs of order 1/learning_rate steps to grow the first-layer weights by the
missing factor. Until then the network outputs the average image (the "average-image plateau").
Every model therefore divides its input by a scale fitted on the training images
(:meth:`AnomalyModel.fit_input_scaling`, the root mean square pixel of the training set, so the
network sees pixels of unit mean square) and multiplies its reconstructions back. The scale is a
buffer of the module: it is saved in the model file's ``state_dict``, applied by scoring, and
traced into the ONNX graph. Its training loss is measured in scaled units; its anomaly score in
input units (so a score does not depend on how the images were scaled).

Training schedule
-----------------
Models that train differently from one Adam run on :meth:`AnomalyModel.loss` override no-op hooks
(the autoencoders override none): :meth:`AnomalyModel.training_phases` (a list of
:class:`TrainingPhase`: name, epochs, learning rate, whether the validation loss selects the best
epoch), :meth:`AnomalyModel.start_phase` (what :meth:`AnomalyModel.loss` computes in a phase),
``trained_by_gradient = False`` with :meth:`AnomalyModel.fit_epoch` (a model fitted without an
optimizer, e.g. k-means), and :meth:`AnomalyModel.training_state` /
:meth:`AnomalyModel.load_training_state` (state outside the ``state_dict`` that a bit-exact resume
needs, e.g. a replay buffer; kept in the training checkpoint, not in the model file).

The learning ratio
------------------
:meth:`AnomalyModel.reference_losses` is the loss of the trivial solution the model has to beat;
for reconstruction models, every jet reconstructed as the average training image. The best
validation loss over that reference (``val_loss_over_average_image``) is reported next to every
number the model produces; at or above :data:`LEARNED_MAX_RATIO` the model has not learnt more
than the average jet and its AUC is not an autoencoder result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

#: a model whose best validation loss is above this fraction of the reference (average-image)
#: loss has not learnt (hepdl reports it as such)
LEARNED_MAX_RATIO = 0.9
#: input scalings a model may use (``model.input_scaling``)
INPUT_SCALINGS = ("rms", "none")


@dataclass(frozen=True)
class TrainingPhase:
    """One phase of a model's training schedule (:meth:`AnomalyModel.training_phases`).

    ``name``: what the phase is called (the history's ``phase`` column, the model's
    :meth:`AnomalyModel.start_phase` argument). ``epochs``: the phase ends after this many epochs
    (None: only by early stopping or at ``training.max_epochs``). ``learning_rate``: Adam's
    initial rate in this phase (None: ``training.learning_rate``). ``selects_best``: the
    validation loss drives the learning-rate plateau schedule and early stopping, and the phase
    keeps its best epoch's weights; False: a fixed learning rate, no early stopping, the phase
    keeps its last epoch's weights (for a loss that is not the validation loss, e.g. the NAE's).

    Each phase starts with a fresh optimizer and schedule, from the weights the previous phase kept.
    """

    name: str = "train"
    epochs: int | None = None
    learning_rate: float | None = None
    selects_best: bool = True


def as_4d(images: torch.Tensor) -> torch.Tensor:
    """(n, npix, npix) or (n, 1, npix, npix) -> (n, 1, npix, npix)."""
    return images.unsqueeze(1) if images.dim() == 3 else images


def learning_summary(best_val_loss: float, reference_loss: float) -> dict[str, Any]:
    """``val_loss_over_average_image`` (best validation loss / reference loss) and ``learned``."""
    ratio = best_val_loss / reference_loss if reference_loss > 0 else float("inf")
    return {"val_loss_over_average_image": float(ratio), "learned": bool(ratio <= LEARNED_MAX_RATIO)}


class AnomalyModel(nn.Module):
    """Base class of hepdl's models. Subclasses set :attr:`name` (the ``model.name`` of the
    config, equal to the module name) and implement :meth:`jet_losses`,
    :meth:`reference_losses` and :meth:`anomaly_score`; reconstruction models also
    :meth:`reconstruct` (see :class:`ReconstructionModel`).

    Buffers (saved with the weights): ``input_scale`` (scalar, input units), ``mean_image``
    (1, npix, npix) float32, the mean training image in input units.
    """

    name: ClassVar[str] = ""
    #: whether :meth:`reconstruct` returns images (scoring then stores average reconstructions)
    reconstructs: ClassVar[bool] = False
    #: True: the training loop minimises :meth:`loss` with Adam; False: a model fitted without
    #: gradients (k-means), whose epochs are :meth:`fit_epoch` (no optimizer, no learning rate)
    trained_by_gradient: ClassVar[bool] = True

    def __init__(self, npix: int, input_scaling: str = "rms"):
        super().__init__()
        if input_scaling not in INPUT_SCALINGS:
            raise ValueError(f"input_scaling {input_scaling!r} is not one of {', '.join(INPUT_SCALINGS)}")
        self.npix = int(npix)
        self.input_scaling = input_scaling
        self.register_buffer("input_scale", torch.ones(()))
        self.register_buffer("mean_image", torch.zeros(1, self.npix, self.npix))

    # ------------------------------------------------------------------ fitted before training

    @torch.no_grad()
    def fit_input_scaling(self, images: torch.Tensor, batch_size: int = 8192) -> None:
        """Set ``mean_image`` and ``input_scale`` from the training images (n, 1, npix, npix).

        ``input_scale`` = sqrt(mean of squared pixels) over all training pixels (``rms``), or 1
        (``none``). Accumulated in float64 in batches (no copy of the training set).
        """
        images = as_4d(images)
        n = len(images)
        if n == 0:
            raise ValueError("fit_input_scaling: no training images")
        total = torch.zeros(images.shape[1:], dtype=torch.float64)
        square = torch.zeros((), dtype=torch.float64)
        for start in range(0, n, batch_size):
            batch = images[start:start + batch_size].detach().to("cpu", torch.float64)
            total += batch.sum(dim=0)
            square += batch.square().sum()
        self.mean_image.copy_((total / n).to(self.mean_image.dtype))
        rms = float(torch.sqrt(square / (n * images[0].numel())))
        scale = rms if (self.input_scaling == "rms" and rms > 0) else 1.0
        self.input_scale.fill_(scale)

    def scale_inputs(self, images: torch.Tensor) -> torch.Tensor:
        """Images in input units -> what the network sees (divided by ``input_scale``)."""
        return as_4d(images) / self.input_scale

    # ------------------------------------------------------------------ the interface

    def loss(self, images: torch.Tensor) -> torch.Tensor:
        """Training loss of a batch (scalar): the mean of :meth:`jet_losses`."""
        return self.jet_losses(images).mean()

    def jet_losses(self, images: torch.Tensor) -> torch.Tensor:
        """Per-jet training loss (n,), in the model's loss units."""
        raise NotImplementedError

    def reference_losses(self, images: torch.Tensor) -> torch.Tensor:
        """Per-jet loss (n,) of the trivial solution (every jet as the average training image),
        in the units of :meth:`jet_losses`."""
        raise NotImplementedError

    def anomaly_score(self, images: torch.Tensor) -> torch.Tensor:
        """Per-jet anomaly score (n,), larger = more anomalous, in input units."""
        raise NotImplementedError

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor | None:
        """Reconstructions (n, 1, npix, npix) in input units, or None for a model that does not
        reconstruct."""
        return None

    def score_and_reconstruct(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(:meth:`anomaly_score`, :meth:`reconstruct`) of one batch; models override it to share
        one forward pass."""
        return self.anomaly_score(images), self.reconstruct(images)

    # ------------------------------------------------------------------ training schedule (optional)
    # No-op defaults: a model that trains in one phase by gradient descent on loss() overrides none.

    def training_phases(self) -> list[TrainingPhase]:
        """The model's training schedule, run in order by the training loop (default: one open-ended
        phase, early stopping on the validation loss)."""
        return [TrainingPhase()]

    def start_phase(self, phase: str) -> None:
        """Called by the training loop before the first epoch of phase ``phase`` (and again when a
        run resumes inside it): switch what :meth:`loss` computes. Default: nothing."""

    def fit_epoch(self, images: torch.Tensor, batch_size: int) -> float:
        """One training epoch of a model with ``trained_by_gradient = False`` on the training images
        (n, 1, npix, npix), input units, in batches of ``batch_size``; returns the epoch's mean
        training loss (units of :meth:`jet_losses`). Must be deterministic given torch's global
        random state."""
        raise NotImplementedError(f"model {self.name!r} is trained by gradient descent, not by fit_epoch")

    def training_state(self) -> dict[str, torch.Tensor]:
        """Tensors the model needs, besides its ``state_dict``, to resume training bit-exactly (a
        replay buffer); saved in the training checkpoint only, never in the model file. Default: {}."""
        return {}

    def load_training_state(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`training_state` returned. Default: nothing."""


class ReconstructionModel(AnomalyModel):
    """An autoencoder: :meth:`network` maps scaled images to scaled reconstructions.

    Loss: mean squared error per pixel in scaled units. Anomaly score: the reconstruction error,
    mean over the npix x npix pixels of (reconstruction - image)^2 in input units.
    """

    reconstructs = True

    def network(self, scaled: torch.Tensor) -> torch.Tensor:
        """Scaled images (n, 1, npix, npix) -> scaled reconstructions (n, 1, npix, npix)."""
        raise NotImplementedError

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.reconstruct(images)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(self.scale_inputs(images)) * self.input_scale

    def jet_losses(self, images: torch.Tensor) -> torch.Tensor:
        scaled = self.scale_inputs(images)
        return (self.network(scaled) - scaled).square().mean(dim=(1, 2, 3))

    def reference_losses(self, images: torch.Tensor) -> torch.Tensor:
        return ((as_4d(images) - self.mean_image) / self.input_scale).square().mean(dim=(1, 2, 3))

    def anomaly_score(self, images: torch.Tensor) -> torch.Tensor:
        return self.score_and_reconstruct(images)[0]

    def score_and_reconstruct(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = as_4d(images)
        reconstruction = self.reconstruct(images)
        return (reconstruction - images).square().mean(dim=(1, 2, 3)), reconstruction
