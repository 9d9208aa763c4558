"""Score corrections: fitted on the validation scores of a trained model (background jets of its
training dataset), applied to its test scores; no retraining.

A correction is a validated ``score_corrections.<name>`` block (``none`` = every option off).
It works on per-jet columns of a scores file (``hepdl score``): ``model_score`` (the model's
anomaly score; for the autoencoders the mean squared reconstruction error over the npix x npix
pixels of the transformed image), ``average_image_error`` (the same mean squared difference with
the average training image as the reconstruction), ``active_pixel_fraction`` (pixels > 0 of the
transformed image over npix^2, at least 1/npix^2) and ``jet_mass`` [GeV]. In this order:

* ``score_normalisation: trivial``: score / average_image_error (0 where that is 0);
* ``score_normalisation: active_pixels``: score / active_pixel_fraction, i.e. error * npix^2 /
  n_active; after smearing this counts the smeared support;
* ``mass_decorrelation``: the (normalised) score is replaced by its background CDF in the jet's
  mass bin. Bins are ``mass_bins`` quantiles of the background validation jet mass; in each bin
  the score quantiles at ``n_levels`` evenly spaced levels are stored, and a score maps to the
  linear interpolation of its level, a value in [0, 1]. A cut ``score > t`` for t in [0, 1] then
  keeps the same fraction 1 - t of background in every mass bin (flat background efficiency).
  Beyond the background range seen in the fit the map continues monotonically,
  ``1 + log(1 + (s - q_max) / scale)`` above and ``-log(1 + (q_min - s) / scale)`` below
  (scale = q_max - q_median of the bin), so the order of the most anomalous jets is kept.

A fit is a dict of numpy arrays and floats only (storable as JSON).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.core.errors import HepdlError

#: per-jet columns of a scores file that corrections read
CORRECTION_COLUMNS = ("model_score", "average_image_error", "active_pixel_fraction", "jet_mass")

#: number of score quantile levels stored per mass bin (fewer if the smallest bin has fewer jets)
MAX_QUANTILE_LEVELS = 1001


def normalise_scores(columns: dict[str, np.ndarray], correction: dict[str, Any]) -> np.ndarray:
    """The score after ``score_normalisation`` (float64, shape (n,)), before mass decorrelation."""
    scores = np.asarray(columns["model_score"], dtype=np.float64)
    kind = correction["score_normalisation"]
    if kind == "none":
        return scores
    if kind == "trivial":
        reference = np.asarray(columns["average_image_error"], dtype=np.float64)
        return np.divide(scores, reference, out=np.zeros_like(scores), where=reference > 0)
    if kind == "active_pixels":
        return scores / np.asarray(columns["active_pixel_fraction"], dtype=np.float64)
    raise ValueError(f"normalise_scores: unknown score_normalisation {kind!r} (none, trivial, active_pixels)")


def fit_correction(validation: dict[str, np.ndarray], correction: dict[str, Any]) -> dict[str, Any]:
    """Fit a score correction on the background validation jets' columns (see module docstring).

    Returns a dict of numpy arrays: empty without mass decorrelation; with it
    ``mass_bin_edges`` (mass_bins - 1 inner edges, GeV), ``quantile_levels`` (L,),
    ``score_quantiles`` (mass_bins, L) and ``score_scale`` (mass_bins,).
    """
    if not correction["mass_decorrelation"]:
        return {}
    scores = normalise_scores(validation, correction)
    mass = np.asarray(validation["jet_mass"], dtype=np.float64)
    if mass.shape != scores.shape:
        raise ValueError(f"fit_correction: {mass.shape[0]} masses for {scores.shape[0]} scores")
    n_bins = int(correction["mass_bins"])
    if len(scores) < 2 * n_bins:
        raise HepdlError(f"mass decorrelation with {n_bins} mass bins needs at least {2 * n_bins} background "
                         f"validation jets, got {len(scores)} (lower score_corrections.<name>.mass_bins)")
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
    return {"mass_bin_edges": inner_edges, "quantile_levels": levels, "score_quantiles": quantiles,
            "score_scale": scale}


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


def apply_correction(columns: dict[str, np.ndarray], fit: dict[str, Any], correction: dict[str, Any]) -> np.ndarray:
    """Corrected anomaly scores (n,) float32 from a scores file's columns, larger = more anomalous.

    ``fit`` is the dict of :func:`fit_correction` for this correction (made on the same model's
    background validation scores).
    """
    scores = normalise_scores(columns, correction)
    if correction["mass_decorrelation"]:
        if "score_quantiles" not in fit:
            raise HepdlError("the correction asks for mass_decorrelation, but its fit has no mass-decorrelation "
                             "quantiles: fit it with this correction's options")
        scores = _decorrelate(scores, np.asarray(columns["jet_mass"], dtype=np.float64), fit)
    return scores.astype(np.float32)
