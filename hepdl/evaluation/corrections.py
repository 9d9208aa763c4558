"""Score corrections of a variant: fitted on background validation scores of a trained model,
applied when scoring; no retraining.

The model score (for the autoencoders the per-jet mean squared reconstruction error over the
npix x npix pixels of the transformed image, as written by ``hepdl score``) is corrected by

* ``score_normalisation: trivial``: score / trivial error, the trivial error being the same mean
  squared error with the mean transformed training image as the reconstruction;
* ``score_normalisation: active_pixels``: score * npix^2 / n_active, n_active = the number of
  pixels > 0 of the transformed image (at least 1); after smearing this counts the smeared support;
* ``mass_decorrelation``: the (normalised) score is replaced by its background CDF in the jet's
  mass bin. Bins are ``mass_bins`` quantiles of the background validation jet mass; in each bin
  the score quantiles at ``n_levels`` evenly spaced levels are stored, and a score maps to the
  linear interpolation of its level, a value in [0, 1]. A cut ``score > t`` for t in [0, 1] then
  keeps the same fraction 1 - t of background in every mass bin (flat background efficiency).
  Beyond the background range seen in the fit the map continues monotonically,
  ``1 + log(1 + (s - q_max) / scale)`` above and ``-log(1 + (q_min - s) / scale)`` below
  (scale = q_max - q_median of the bin), so the order of the most anomalous jets is kept.

The correction is a dict of numpy arrays and floats only (storable in a torch checkpoint or JSON).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.core.errors import HepdlError

#: number of score quantile levels stored per mass bin (fewer if the smallest bin has fewer jets)
MAX_QUANTILE_LEVELS = 1001


def trivial_error(images: np.ndarray, mean_image: np.ndarray) -> np.ndarray:
    """Per-jet mean squared error (n,) of images (n, npix, npix) against one image (npix, npix)."""
    diff = np.asarray(images, dtype=np.float64) - np.asarray(mean_image, dtype=np.float64)[None]
    return np.mean(diff * diff, axis=(1, 2))


def normalise_scores(errors: np.ndarray, images_transformed: np.ndarray, correction: dict[str, Any],
                     variant: dict[str, Any]) -> np.ndarray:
    """The score after ``score_normalisation`` (float64, shape (n,)), before mass decorrelation."""
    errors = np.asarray(errors, dtype=np.float64)
    kind = variant.get("score_normalisation", "none")
    if kind == "none":
        return errors
    images = np.asarray(images_transformed)
    if images.shape[0] != errors.shape[0]:
        raise ValueError(f"normalise_scores: {errors.shape[0]} errors but {images.shape[0]} images")
    if kind == "trivial":
        reference = trivial_error(images, correction["mean_train_image"])
        return np.divide(errors, reference, out=np.zeros_like(errors), where=reference > 0)
    if kind == "active_pixels":
        npix2 = images.shape[1] * images.shape[2]
        active = np.maximum(np.count_nonzero(images > 0, axis=(1, 2)), 1)
        return errors * npix2 / active
    raise ValueError(f"normalise_scores: unknown score_normalisation {kind!r} (none, trivial, active_pixels)")


def fit_score_correction(errors_val: np.ndarray, images_val_transformed: np.ndarray, mass_val: np.ndarray,
                         variant: dict[str, Any], mean_train_image: np.ndarray) -> dict[str, Any]:
    """Fit a variant's score correction on background validation jets.

    Parameters: reconstruction errors (n,), transformed validation images (n, npix, npix), jet
    mass (n,) [GeV], the variant dict, and the mean transformed training image (npix, npix).
    Returns a dict of numpy arrays and floats: always ``mean_train_image`` (float32, npix x npix);
    with mass decorrelation also ``mass_bin_edges`` (mass_bins - 1 inner edges, GeV),
    ``quantile_levels`` (L,), ``score_quantiles`` (mass_bins, L) and ``score_scale`` (mass_bins,).
    """
    correction: dict[str, Any] = {"mean_train_image": np.asarray(mean_train_image, dtype=np.float32)}
    if not variant.get("mass_decorrelation", False):
        return correction
    scores = normalise_scores(errors_val, images_val_transformed, correction, variant)
    mass = np.asarray(mass_val, dtype=np.float64)
    if mass.shape != scores.shape:
        raise ValueError(f"fit_score_correction: {mass.shape[0]} masses for {scores.shape[0]} errors")
    n_bins = int(variant.get("mass_bins", 10))
    if len(scores) < 2 * n_bins:
        raise HepdlError(f"mass decorrelation with {n_bins} mass bins needs at least {2 * n_bins} background "
                         f"validation jets, got {len(scores)} (lower postprocessing.<variant>.mass_bins)")
    inner_edges = np.quantile(mass, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
    bins = np.searchsorted(inner_edges, mass, side="right")
    per_bin = np.bincount(bins, minlength=n_bins)
    n_levels = int(np.clip(per_bin[per_bin > 0].min(), 2, MAX_QUANTILE_LEVELS))
    levels = np.linspace(0.0, 1.0, n_levels)
    quantiles = np.empty((n_bins, n_levels))
    global_quantiles = np.quantile(scores, levels)
    for b in range(n_bins):  # a loop over mass bins (about 10), not over jets
        quantiles[b] = np.quantile(scores[bins == b], levels) if per_bin[b] > 0 else global_quantiles
    median = quantiles[:, n_levels // 2]
    scale = quantiles[:, -1] - median
    scale = np.where(scale > 0, scale, np.maximum(np.abs(quantiles[:, -1]), 1e-12))
    correction.update(mass_bin_edges=inner_edges, quantile_levels=levels, score_quantiles=quantiles,
                      score_scale=scale)
    return correction


def _decorrelate(scores: np.ndarray, mass: np.ndarray, correction: dict[str, Any]) -> np.ndarray:
    """Map scores to their background CDF in their mass bin (see module docstring)."""
    edges = np.asarray(correction["mass_bin_edges"])
    levels = np.asarray(correction["quantile_levels"])
    quantiles = np.asarray(correction["score_quantiles"])
    scale = np.asarray(correction["score_scale"])
    bins = np.searchsorted(edges, mass, side="right")
    out = np.empty_like(scores)
    for b in range(quantiles.shape[0]):
        sel = bins == b
        s, q = scores[sel], quantiles[b]
        # first crossing of the (non-decreasing) quantile curve: ties in q map to their mean level
        value = 0.5 * (np.interp(s, q, levels, left=0.0, right=1.0)
                       + 1.0 - np.interp(-s, -q[::-1], 1.0 - levels[::-1], left=0.0, right=1.0))
        value = np.where(s > q[-1], 1.0 + np.log1p(np.maximum(s - q[-1], 0.0) / scale[b]), value)
        value = np.where(s < q[0], -np.log1p(np.maximum(q[0] - s, 0.0) / scale[b]), value)
        out[sel] = value
    return out


def apply_score_correction(errors: np.ndarray, images_transformed: np.ndarray, mass: np.ndarray,
                           correction: dict[str, Any], variant: dict[str, Any]) -> np.ndarray:
    """Anomaly scores (n,) float32 from reconstruction errors (n,), larger = more anomalous.

    ``images_transformed`` (n, npix, npix) are the transformed images that were scored, ``mass``
    the jet mass (n,) [GeV] (used only with mass decorrelation), ``correction`` the dict of
    :func:`fit_score_correction` for this variant.
    """
    scores = normalise_scores(errors, images_transformed, correction, variant)
    if variant.get("mass_decorrelation", False):
        if "score_quantiles" not in correction:
            raise HepdlError("the model's score correction has no mass-decorrelation fit, but the variant asks "
                             "for mass_decorrelation: retrain the model with this variant")
        scores = _decorrelate(scores, np.asarray(mass, dtype=np.float64), correction)
    return scores.astype(np.float32)
