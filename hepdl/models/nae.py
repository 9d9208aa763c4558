"""``nae``: the normalized autoencoder (NAE) of Yoon, Noh, Park, ICML 2021 (arXiv:2105.05735), as
applied to jet images by Dillon, Favaro, Plehn, Sorrenson, Krämer, SciPost Phys. Core 6, 074 (2023)
(arXiv:2206.14225). Options: ``nae.yaml`` next to this module; the choices are explained in
docs/models-and-training.md ("nae").

The energy of an image is its reconstruction error, E(x) = mean over pixels of (x - f(x))^2, in
the model's scaled units (the network's view of the image: pixels divided by ``input_scale``).
The network is :class:`~hepdl.models.conv_ae.ConvAE`'s, with the latent point projected onto the
unit sphere (``spherical_latent``, as published). Training has two phases
(:meth:`NormalizedAE.training_phases`):

1. ``reconstruction``: ``pretrain_epochs`` epochs (fewer if early stopping ends it) of the plain
   autoencoder loss, the mean of E over the batch, at ``training.learning_rate``; the phase keeps
   its best-validation epoch;
2. ``nae``: ``nae_epochs`` epochs of the NAE loss at ``nae_learning_rate``, keeping the last epoch:
   (mean E(x_data) - mean E(x_neg)) / temperature + gamma * mean E(x_neg)^2
   (+ ``weight_penalty`` * the squared norm of all weights). The negative samples x_neg are drawn
   from the model by Langevin dynamics with on-manifold initialisation: latent points (95 % from a
   replay buffer of earlier chains' ends, 5 % fresh Gaussian points on the sphere) run a Langevin
   chain on E(decode(z)), are decoded, clamped to non-negative pixels, and run a second Langevin
   chain in image space, where each step clamps the pixels at 0 again.

The anomaly score, the reconstruction, :meth:`jet_losses` (the validation loss) and the learning
ratio are those of every autoencoder (:class:`~hepdl.models.base.ReconstructionModel`): the energy,
in input units for the score and in scaled units for the losses, in both phases.
"""

from __future__ import annotations

import torch
from torch import nn

from hepdl.models.base import TrainingPhase
from hepdl.models.conv_ae import ConvAE


def clip_norm(grad: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Rescale each sample's gradient (first axis) to a Euclidean norm of at most ``max_norm``."""
    norm = grad.flatten(1).norm(dim=1).clamp_min(1e-30)
    factor = (max_norm / norm).clamp(max=1.0)
    return grad * factor.view(-1, *([1] * (grad.dim() - 1)))


class NormalizedAE(ConvAE):
    """Normalized autoencoder on (n, 1, npix, npix) images; the network options are ``conv_ae``'s."""

    name = "nae"

    def __init__(self, npix: int = 40, conv_layers: list[int | str] = (10, "pool", 10, 10, 5),
                 kernel_size: int = 4, dense: list[int] = (400, 100), latent_dim: int = 32,
                 output_activation: str = "linear", upsampling: str = "nearest", spherical_latent: bool = True,
                 pretrain_epochs: int = 20, nae_epochs: int = 5, nae_learning_rate: float = 1e-5,
                 negative_samples: int = 128, gamma: float = 0.1, temperature: float = 1.0,
                 weight_penalty: float = 0.0, latent_steps: int = 30, latent_step_size: float = 10.0,
                 latent_noise: float = 0.01, latent_grad_clip: float = 0.01, image_steps: int = 30,
                 image_step_size: float = 50.0, image_noise: float = 0.01, image_noise_anneal: bool = True,
                 image_grad_clip: float = 1.0, buffer_size: int = 10000, replay_fraction: float = 0.95,
                 input_scaling: str = "rms"):
        super().__init__(npix, conv_layers, kernel_size, dense, latent_dim, output_activation, upsampling,
                         input_scaling)
        self.latent_dim = int(latent_dim)
        self.spherical_latent = bool(spherical_latent)
        self.pretrain_epochs, self.nae_epochs = int(pretrain_epochs), int(nae_epochs)
        self.nae_learning_rate = float(nae_learning_rate)
        self.negative_samples = int(negative_samples)
        self.gamma, self.temperature, self.weight_penalty = float(gamma), float(temperature), float(weight_penalty)
        self.latent_chain = {"steps": int(latent_steps), "step_size": float(latent_step_size),
                             "noise": float(latent_noise), "grad_clip": float(latent_grad_clip), "anneal": False}
        self.image_chain = {"steps": int(image_steps), "step_size": float(image_step_size),
                            "noise": float(image_noise), "grad_clip": float(image_grad_clip),
                            "anneal": bool(image_noise_anneal)}
        self.buffer_size, self.replay_fraction = int(buffer_size), float(replay_fraction)
        self.phase = "reconstruction"
        #: latent ends of earlier chains (m, latent_dim), CPU; training state, not a module buffer
        self.replay_buffer = torch.zeros(0, self.latent_dim)

    # ------------------------------------------------------------------ network

    def encode(self, scaled: torch.Tensor) -> torch.Tensor:
        latent = super().encode(scaled)
        return nn.functional.normalize(latent, dim=1) if self.spherical_latent else latent

    def energy(self, scaled: torch.Tensor) -> torch.Tensor:
        """E(x) (n,): mean over pixels of (x - f(x))^2 of scaled images (n, 1, npix, npix)."""
        return (self.network(scaled) - scaled).square().mean(dim=(1, 2, 3))

    # ------------------------------------------------------------------ training schedule

    def training_phases(self) -> list[TrainingPhase]:
        phases = [TrainingPhase("reconstruction", epochs=self.pretrain_epochs)]
        if self.nae_epochs > 0:
            phases.append(TrainingPhase("nae", epochs=self.nae_epochs, learning_rate=self.nae_learning_rate,
                                        selects_best=False))
        return phases

    def start_phase(self, phase: str) -> None:
        self.phase = phase

    def training_state(self) -> dict[str, torch.Tensor]:
        return {"replay_buffer": self.replay_buffer}

    def load_training_state(self, tensors: dict[str, torch.Tensor]) -> None:
        buffer = tensors.get("replay_buffer")
        self.replay_buffer = torch.zeros(0, self.latent_dim) if buffer is None else buffer.detach().cpu().clone()

    # ------------------------------------------------------------------ loss

    def loss(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction phase: mean E over the batch. NAE phase: the NAE loss (module docstring)
        with ``negative_samples`` fresh negative samples."""
        if self.phase != "nae":
            return super().loss(images)
        negatives = self.sample_negatives(self.negative_samples)
        positive = self.energy(self.scale_inputs(images))
        negative = self.energy(negatives)
        loss = (positive.mean() - negative.mean()) / self.temperature + self.gamma * negative.square().mean()
        if self.weight_penalty > 0:
            loss = loss + self.weight_penalty * sum(p.square().sum() for p in self.parameters())
        return loss

    # ------------------------------------------------------------------ negative samples

    def _randn(self, *shape: int) -> torch.Tensor:
        """Standard normal numbers from torch's global CPU generator (saved in the training
        checkpoint, so a resumed run draws the same), on the model's device."""
        return torch.randn(*shape).to(self.input_scale.device)

    def initial_latent(self, n: int) -> torch.Tensor:
        """Starting points (n, latent_dim) of the latent chains: each from the replay buffer with
        probability ``replay_fraction`` (uniformly, with replacement), else a standard normal point
        (projected onto the sphere with ``spherical_latent``)."""
        n_replay = int((torch.rand(n) < self.replay_fraction).sum()) if len(self.replay_buffer) else 0
        replayed = self.replay_buffer[torch.randint(len(self.replay_buffer), (n_replay,))] if n_replay else None
        fresh = self._randn(n - n_replay, self.latent_dim)
        if self.spherical_latent:
            fresh = nn.functional.normalize(fresh, dim=1)
        parts = [fresh] if replayed is None else [replayed.to(fresh.device), fresh]
        return torch.cat(parts)

    def _langevin(self, start: torch.Tensor, energy, chain: dict, project) -> torch.Tensor:
        """x <- project(x - step_size * clip(grad E(x)) / temperature + noise_i * N(0, 1)), ``steps``
        times; noise_i = noise, or noise / i from the second step on with ``anneal`` (as published)."""
        x = start.detach()
        for step in range(chain["steps"]):
            x.requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(x).sum(), x)
            grad = clip_norm(grad, chain["grad_clip"])
            noise = chain["noise"] / max(step, 1) if chain["anneal"] else chain["noise"]
            x = project(x.detach() - chain["step_size"] * grad / self.temperature + noise * self._randn(*x.shape))
        return x.detach()

    def _push(self, latent: torch.Tensor) -> None:
        self.replay_buffer = torch.cat([self.replay_buffer, latent.detach().cpu()])[-self.buffer_size:]

    def sample_negatives(self, n: int) -> torch.Tensor:
        """n negative samples (n, 1, npix, npix) in scaled units, non-negative pixels (see the module
        docstring). The latent chains' ends enter the replay buffer."""
        sphere = (lambda z: nn.functional.normalize(z, dim=1)) if self.spherical_latent else (lambda z: z)
        with torch.enable_grad():
            latent = self._langevin(self.initial_latent(n), lambda z: self.energy(self.decode(z)),
                                    self.latent_chain, sphere)
            self._push(latent)
            with torch.no_grad():
                start = self.decode(latent).clamp_min(0.0)
            return self._langevin(start, self.energy, self.image_chain, lambda x: x.clamp_min(0.0))


MODEL = NormalizedAE
