"""``kmeans``: k-means clustering of jet images, the anomaly score a distance to the cluster centres.

Follows Buss et al., "What's anomalous in LHC jets?", SciPost Phys. 15, 168 (2023), and its code
(IvanOleksiyuk/jet-k-means): k-means with k = 100 on Gaussian-smeared jet images (sigma = 3
pixels), the score "MinD" (distance to the nearest centroid) or "KNC5" (mean distance to the 5
nearest centroids). The smearing is
hepdl's image transform (``image_transforms.NAME.smear_sigma_px``), not part of the model. Options:
``kmeans.yaml`` next to this module; docs/models-and-training.md ("kmeans").

Fitted without gradients (``trained_by_gradient = False``): epoch 1 places the centroids by
k-means++ (D^2 sampling from torch's global generator, seeded by the training seed), every epoch is
one Lloyd iteration over all training jets (assign each to its nearest centroid, move each centroid
to the mean of its jets; an empty cluster moves to the training jet farthest from its centroid).
The training loop's early stopping ends the fit once the validation loss (mean squared distance of
the validation jets to their nearest centroid) stops falling. Distances are computed in the
model's scaled units, like every hepdl model's loss.

As a :class:`~hepdl.models.base.ReconstructionModel`, the "reconstruction" of a jet is its nearest
centroid: the loss is the mean over pixels of the squared difference to it (scaled units), the
reference loss the same with the single centroid of k = 1, the mean training image. So the learning
ratio is the validation k-means inertia over the single-cluster inertia.
"""

from __future__ import annotations

import torch

from hepdl.core.errors import ConfigError
from hepdl.models.base import ReconstructionModel, as_4d

#: anomaly scores ``score`` may select
SCORES = ("nearest", "knc")


class KMeans(ReconstructionModel):
    """k-means on (n, 1, npix, npix) images. Buffers: ``centroids`` (n_clusters, 1, npix, npix),
    scaled units; ``initialised`` (bool scalar: k-means++ has run)."""

    name = "kmeans"
    trained_by_gradient = False

    def __init__(self, npix: int = 40, n_clusters: int = 100, score: str = "nearest", knc: int = 5,
                 input_scaling: str = "rms"):
        super().__init__(npix, input_scaling)
        if score not in SCORES:
            raise ConfigError(f"config key 'model.options.score': {score!r} is not one of {', '.join(SCORES)}")
        if score == "knc" and knc > n_clusters:
            raise ConfigError(f"config key 'model.options.knc': {knc} nearest centroids of only {n_clusters} "
                              f"(model.options.n_clusters)")
        self.n_clusters, self.score, self.knc = int(n_clusters), score, int(knc)
        self.register_buffer("centroids", torch.zeros(self.n_clusters, 1, self.npix, self.npix))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    # ------------------------------------------------------------------ geometry

    def _flat_centroids(self) -> torch.Tensor:
        return self.centroids.reshape(self.n_clusters, -1)

    def _ranking(self, flat: torch.Tensor) -> torch.Tensor:
        """|c|^2 - 2 x.c (n, n_clusters): squared distance of scaled flat images (n, npix^2) to each
        centroid, less |x|^2 (the same for every centroid). For ranking only; exact distances are
        recomputed from the chosen centroids."""
        centroids = self._flat_centroids()
        return centroids.square().sum(dim=1)[None] - 2.0 * flat @ centroids.T

    def nearest(self, scaled: torch.Tensor) -> torch.Tensor:
        """Index (n,) of the nearest centroid of scaled images (n, 1, npix, npix)."""
        return self._ranking(scaled.flatten(1)).argmin(dim=1)

    def network(self, scaled: torch.Tensor) -> torch.Tensor:
        """The nearest centroid (n, 1, npix, npix) of each scaled image, scaled units."""
        return self.centroids[self.nearest(scaled)]

    def score_and_reconstruct(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``nearest``: mean over pixels of the squared difference of the image and its nearest
        centroid (input units: the reconstruction error with the nearest centroid as the
        reconstruction). ``knc``: the same averaged over the ``knc`` nearest centroids."""
        images = as_4d(images)
        if self.score == "nearest":
            return super().score_and_reconstruct(images)
        flat = images.flatten(1)  # (not reshape(len(images), -1): the ONNX trace would fix n)
        order = self._ranking(flat / self.input_scale).topk(self.knc, dim=1, largest=False).indices  # (n, knc)
        near = self._flat_centroids()[order] * self.input_scale  # (n, knc, npix^2), input units
        score = (near - flat[:, None]).square().mean(dim=2).mean(dim=1)
        return score, near[:, 0].reshape(-1, 1, self.npix, self.npix)

    # ------------------------------------------------------------------ fit

    @torch.no_grad()
    def fit_epoch(self, images: torch.Tensor, batch_size: int) -> float:
        """k-means++ on the first call, then one Lloyd iteration over images (n, 1, npix, npix),
        input units; returns the mean squared distance (scaled units) of the jets to the centroid
        they were assigned to in this iteration."""
        n = len(images)
        if n < self.n_clusters:
            raise ConfigError(f"config key 'model.options.n_clusters': {self.n_clusters} clusters for only {n} "
                              f"training jets")
        flat = images.reshape(n, -1) / self.input_scale
        if not bool(self.initialised):
            self._kmeans_plus_plus(flat)
            self.initialised.fill_(True)
        centroids = self._flat_centroids()
        sums = torch.zeros(self.n_clusters, flat.shape[1], dtype=torch.float64, device=flat.device)
        counts = torch.zeros(self.n_clusters, dtype=torch.float64, device=flat.device)
        distances = torch.empty(n, dtype=torch.float64, device=flat.device)
        step = max(int(batch_size), 1)
        for start in range(0, n, step):
            batch = flat[start:start + step]
            index = self._ranking(batch).argmin(dim=1)
            distances[start:start + step] = (batch - centroids[index]).square().mean(dim=1).double()
            sums.index_add_(0, index, batch.double())
            counts.index_add_(0, index, torch.ones_like(index, dtype=torch.float64))
        updated = sums / counts.clamp_min(1.0)[:, None]
        empty = torch.nonzero(counts == 0).flatten()
        if len(empty):  # move empty clusters to the worst-fitted jets
            farthest = distances.topk(len(empty)).indices
            updated[empty] = flat[farthest].double()
        self.centroids.copy_(updated.to(self.centroids.dtype).reshape(self.centroids.shape))
        return float(distances.mean())

    def _kmeans_plus_plus(self, flat: torch.Tensor) -> None:
        """Initial centroids by D^2 sampling (Arthur and Vassilvitskii 2007): the first a uniformly
        drawn jet, each next one a jet drawn with probability proportional to its squared distance
        to the nearest centroid so far. Random numbers from torch's global CPU generator."""
        n = len(flat)
        chosen = [int(torch.randint(n, (1,)))]
        closest = (flat - flat[chosen[0]]).square().sum(dim=1).double()
        for _ in range(1, self.n_clusters):
            weights = closest.cpu()
            pick = (int(torch.multinomial(weights, 1)) if float(weights.sum()) > 0
                    else int(torch.randint(n, (1,))))
            chosen.append(pick)
            closest = torch.minimum(closest, (flat - flat[pick]).square().sum(dim=1).double())
        self.centroids.copy_(flat[chosen].reshape(self.centroids.shape))


MODEL = KMeans
