"""Tagging metrics: ROC, AUC and background rejections with bootstrap intervals, model independence.

Conventions (the field's): a score is "larger = more signal-like (anomalous)". For a cut
``score > t``, eps_S is the fraction of signal jets passing and eps_B the fraction of background
jets passing; the background rejection at a working point is 1 / eps_B at the eps_S asked for.
The AUC is the area under eps_S(eps_B) (probability that a random signal jet scores above a
random background jet, ties counting one half), as in :func:`sklearn.metrics.roc_auc_score`.
Mass sculpting and score-mass correlations: :mod:`hepdl.evaluation.sculpting`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def _check(name: str, scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise ValueError(f"{name}: no scores")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{name}: {np.count_nonzero(~np.isfinite(scores))} scores are NaN or infinite")
    return scores


def _labelled(background: np.ndarray, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bg, sig = _check("background scores", background), _check("signal scores", signal)
    labels = np.concatenate([np.zeros(bg.size, np.int8), np.ones(sig.size, np.int8)])
    return labels, np.concatenate([bg, sig])


def roc(background_scores: np.ndarray, signal_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve (sklearn ``roc_curve``): eps_b, eps_s (non-decreasing, from (0, 0) to (1, 1)), thresholds."""
    labels, scores = _labelled(background_scores, signal_scores)
    eps_b, eps_s, thresholds = roc_curve(labels, scores)
    return eps_b, eps_s, thresholds


def _bootstrap_aucs(bg: np.ndarray, sig: np.ndarray, n_bootstrap: int, rng: np.random.Generator,
                    block: int = 32) -> np.ndarray:
    """AUCs of ``n_bootstrap`` resamples (background and signal resampled separately, with replacement).

    Exact Mann-Whitney AUC of each resample from multinomial resampling weights, vectorised over
    blocks of resamples: O(n_bootstrap * (n_bg + n_sig)), no sort per resample.
    """
    return _bootstrap(bg, sig, n_bootstrap, rng, np.empty(0), block)[0]


def _bootstrap(bg: np.ndarray, sig: np.ndarray, n_bootstrap: int, rng: np.random.Generator,
               eps_s_targets: np.ndarray, block: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """AUC and eps_B at each of ``eps_s_targets`` of ``n_bootstrap`` resamples: arrays of shapes
    (n_bootstrap,) and (n_bootstrap, len(eps_s_targets)).

    Background and signal are resampled separately with replacement, as multinomial weights (the
    same weights give the AUC and the eps_B of a resample). The weighted ROC of a resample has a
    vertex at every distinct score (cumulative weights above it, from the top), so eps_B at a
    target eps_S follows :func:`eps_b_at` on that polyline. Vectorised over blocks of resamples:
    O(n_bootstrap * (n_bg + n_sig + targets * log)), no sort and no Python loop per resample.
    """
    order = np.argsort(bg, kind="stable")
    bg_sorted = bg[order]
    below = np.searchsorted(bg_sorted, sig, side="left")   # background values < signal value
    upto = np.searchsorted(bg_sorted, sig, side="right")   # background values <= signal value
    targets = np.asarray(eps_s_targets, np.float64).ravel()
    if targets.size:
        # ROC vertices: one per distinct score t (descending), with the jets scoring >= t passing
        thresholds = np.unique(np.concatenate([bg, sig]))[::-1]
        sig_order = np.argsort(-sig, kind="stable")
        # jets passing at each threshold = how many of the descending-sorted jets score >= t
        bg_passing = bg.size - np.searchsorted(bg_sorted, thresholds, side="left")
        sig_passing = sig.size - np.searchsorted(np.sort(sig), thresholds, side="left")
        sig_target = targets * sig.size  # targets in signal-count units
    aucs = np.empty(n_bootstrap)
    eps_b = np.empty((n_bootstrap, targets.size))
    for start in range(0, n_bootstrap, block):
        size = min(block, n_bootstrap - start)
        w_bg = rng.multinomial(bg.size, np.full(bg.size, 1.0 / bg.size), size=size)[:, order]
        w_sig = rng.multinomial(sig.size, np.full(sig.size, 1.0 / sig.size), size=size)
        cumulative = np.concatenate([np.zeros((size, 1)), np.cumsum(w_bg, axis=1)], axis=1)
        less = cumulative[:, below]
        equal = cumulative[:, upto] - less
        aucs[start:start + size] = np.sum(w_sig * (less + 0.5 * equal), axis=1) / (bg.size * sig.size)
        if targets.size:
            # weights of the jets above each threshold: background from the top of the ascending
            # cumulative sum, signal from the descending one; a leading (0, 0) vertex
            bg_above = cumulative[:, -1:] - cumulative[:, bg.size - bg_passing]
            sig_cumulative = np.concatenate([np.zeros((size, 1)), np.cumsum(w_sig[:, sig_order], axis=1)], axis=1)
            sig_above = sig_cumulative[:, sig_passing]
            zero = np.zeros((size, 1))
            eps_b[start:start + size] = _interpolate_rows(np.concatenate([zero, sig_above], axis=1), sig_target,
                                                          np.concatenate([zero, bg_above], axis=1)) / bg.size
    return aucs, eps_b


def _interpolate_rows(x: np.ndarray, targets: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row by row, ``y`` at ``targets`` along the polyline (x, y) with x non-decreasing from 0,
    as :func:`eps_b_at` does it (the first point when several share a target). ``x`` and ``y``
    (rows, m) hold integer counts (exact in float64), ``targets`` (t,); returns (rows, t).

    One ``searchsorted`` for every row: row r is shifted by r * (x.max() + 1) so the rows
    concatenate into one sorted array (exact: the counts are integers).
    """
    rows, m = x.shape
    shift = (np.arange(rows) * (float(x.max()) + 1.0))[:, None]
    flat = (x + shift).ravel()
    k = np.searchsorted(flat, (targets[None, :] + shift).ravel(), side="left").reshape(rows, -1)
    k = np.clip(k - (np.arange(rows) * m)[:, None], 1, m - 1)
    x0, x1 = np.take_along_axis(x, k - 1, axis=1), np.take_along_axis(x, k, axis=1)
    y0, y1 = np.take_along_axis(y, k - 1, axis=1), np.take_along_axis(y, k, axis=1)
    span = x1 - x0
    frac = np.divide(targets[None, :] - x0, span, out=np.ones_like(span), where=span > 0)
    return np.where(x0 >= targets[None, :], y0, y0 + frac * (y1 - y0))


def auc_with_interval(background_scores: np.ndarray, signal_scores: np.ndarray, n_bootstrap: int = 200,
                      seed: int = 0) -> tuple[float, float, float]:
    """AUC and its 68% bootstrap interval (16th and 84th percentiles), seeded.

    Background and signal are resampled separately (each with replacement, its own size).
    ``n_bootstrap = 0`` gives NaN bounds.
    """
    labels, scores = _labelled(background_scores, signal_scores)
    auc = float(roc_auc_score(labels, scores))
    if n_bootstrap <= 0:
        return auc, math.nan, math.nan
    bg, sig = scores[labels == 0], scores[labels == 1]
    aucs = _bootstrap_aucs(bg, sig, n_bootstrap, np.random.default_rng(seed))
    low, high = np.percentile(aucs, [16.0, 84.0])
    return auc, float(low), float(high)


def eps_b_at(eps_s_target: float | np.ndarray, eps_b: np.ndarray, eps_s: np.ndarray) -> np.ndarray:
    """Background efficiency at signal efficiency ``eps_s_target``, linear interpolation in the ROC.

    The ROC polyline (eps_s non-decreasing) is followed from (0, 0): at a target met exactly by
    several points the first (smallest eps_b) is taken; otherwise eps_b is interpolated linearly
    between the last point below and the first point above the target.
    """
    target = np.atleast_1d(np.asarray(eps_s_target, dtype=np.float64))
    eps_b, eps_s = np.asarray(eps_b, np.float64), np.asarray(eps_s, np.float64)
    k = np.clip(np.searchsorted(eps_s, target, side="left"), 1, len(eps_s) - 1)
    exact = eps_s[k - 1] >= target  # only possible at k = 1 (target <= first point)
    span = eps_s[k] - eps_s[k - 1]
    frac = np.divide(target - eps_s[k - 1], span, out=np.ones_like(target), where=span > 0)
    value = eps_b[k - 1] + frac * (eps_b[k] - eps_b[k - 1])
    return np.where(exact, eps_b[k - 1], value)


def rejection_at(eps_s_target: float, eps_b: np.ndarray, eps_s: np.ndarray) -> float:
    """Background rejection 1 / eps_B at ``eps_s_target`` (see :func:`eps_b_at`); ``inf`` if eps_B = 0."""
    value = float(eps_b_at(eps_s_target, eps_b, eps_s)[0])
    return math.inf if value <= 0 else 1.0 / value


def rejection_key(eps_s: float) -> str:
    """The metrics key of a working point, e.g. ``rejection_at_eps_s_0.3``."""
    return f"rejection_at_eps_s_{eps_s:g}"


def tagger_metrics(background_scores: np.ndarray, signal_scores: np.ndarray, eps_s_list: list[float],
                   n_bootstrap: int = 200, seed: int = 0) -> dict[str, Any]:
    """The metrics row of :func:`tagger_evaluation` (no ROC curve)."""
    return tagger_evaluation(background_scores, signal_scores, eps_s_list, n_bootstrap, seed, n_points=0)[0]


def tagger_evaluation(background_scores: np.ndarray, signal_scores: np.ndarray, eps_s_list: list[float],
                      n_bootstrap: int = 200, seed: int = 0, n_points: int = 500
                      ) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Metrics row and ROC curve of one tagger, with 68% bootstrap intervals, seeded.

    Row: ``auc`` and its interval ``auc_low``/``auc_high``; per eps_S of ``eps_s_list`` the
    rejection 1/eps_B (``rejection_at_eps_s_<x>``, :func:`rejection_key`) and its interval
    (``..._low``, ``..._high``); ``n_background``, ``n_signal``, ``rejection_lower_bounds``.
    Curve: the ROC at ``n_points`` eps_S evenly spaced in (0, 1] (:func:`roc_points`) with the
    band ``eps_b_low``/``eps_b_high`` (16th/84th percentiles of eps_B at each point).

    Intervals are the 16th-84th percentiles over ``n_bootstrap`` resamples, background and signal
    resampled separately with replacement (:func:`_bootstrap`; the same resamples for the AUC,
    the rejections and the band). A rejection interval is the inverse of the eps_B interval.
    ``n_bootstrap = 0``: every interval is NaN and the curve has no band.

    Where no background jet passes (eps_B = 0, rejection infinite) a rejection, or the end of
    its interval, is reported as its lower bound n_background and its key is listed under
    ``rejection_lower_bounds`` (e.g. ``rejection_at_eps_s_0.5_high``).
    """
    labels, scores = _labelled(background_scores, signal_scores)
    bg, sig = scores[labels == 0], scores[labels == 1]
    eps_b, eps_s, _ = roc(bg, sig)
    grid = np.linspace(0.0, 1.0, n_points + 1)[1:] if n_points > 0 else np.empty(0)
    targets = np.concatenate([np.asarray(eps_s_list, np.float64), grid])
    row: dict[str, Any] = {"auc": float(roc_auc_score(labels, scores))}
    if n_bootstrap > 0:
        aucs, eps_b_resampled = _bootstrap(bg, sig, n_bootstrap, np.random.default_rng(seed), targets)
        row["auc_low"], row["auc_high"] = (float(v) for v in np.percentile(aucs, [16.0, 84.0]))
        eps_b_low, eps_b_high = np.percentile(eps_b_resampled, [16.0, 84.0], axis=0)
    else:
        row["auc_low"] = row["auc_high"] = math.nan
        eps_b_low = eps_b_high = np.full(targets.size, math.nan)
    n_bg = int(bg.size)
    lower_bounds = []

    def rejection(key: str, value: float) -> float:
        if math.isnan(value):
            return math.nan
        if value <= 0:
            lower_bounds.append(key)
            return float(n_bg)
        return 1.0 / value

    central = eps_b_at(targets[:len(eps_s_list)], eps_b, eps_s)
    for i, target in enumerate(eps_s_list):
        key = rejection_key(target)
        row[key] = rejection(key, float(central[i]))
        row[f"{key}_low"] = rejection(f"{key}_low", float(eps_b_high[i]))
        row[f"{key}_high"] = rejection(f"{key}_high", float(eps_b_low[i]))
    row.update(n_background=n_bg, n_signal=int(sig.size), rejection_lower_bounds=lower_bounds)
    curve = {"eps_s": grid.tolist(), "eps_b": eps_b_at(grid, eps_b, eps_s).tolist()} if n_points > 0 else {}
    if n_points > 0 and n_bootstrap > 0:
        curve.update(eps_b_low=eps_b_low[len(eps_s_list):].tolist(), eps_b_high=eps_b_high[len(eps_s_list):].tolist())
    return row, curve


def roc_points(background_scores: np.ndarray, signal_scores: np.ndarray, n_points: int = 500) -> dict[str, list[float]]:
    """The ROC down-sampled to ``n_points`` eps_S values evenly spaced in (0, 1] (eps_B by :func:`eps_b_at`)."""
    eps_b, eps_s, _ = roc(background_scores, signal_scores)
    grid = np.linspace(0.0, 1.0, n_points + 1)[1:]
    return {"eps_s": grid.tolist(), "eps_b": eps_b_at(grid, eps_b, eps_s).tolist()}


def model_independence(rows: list[dict[str, Any]], eps_s_list: list[float] | None = None) -> list[dict[str, Any]]:
    """Per variant: the experiments (directions) side by side, and the worse of them.

    ``rows`` are metrics rows (baseline rows included; they are summarised too, per baseline).
    ``eps_s_list`` names the working points (default: every ``rejection_at_eps_s_<x>`` of the
    rows). Returns one dict per variant: ``variant``, ``experiments`` {experiment: {auc, auc_low,
    auc_high, rejection_at_eps_s_<x> and its ``_low``/``_high``, and for models
    val_loss_over_average_image, learned}}, ``worst_experiment`` and ``worst_auc`` (the smallest
    AUC), ``worst_rejection_at_eps_s_<x>`` (the smallest rejection over the experiments) with its
    interval ``worst_rejection_at_eps_s_<x>_low``/``_high`` (``worst_rejection_lower_bounds`` lists
    those that are lower bounds, see :func:`tagger_evaluation`), and ``result``.

    A variant any of whose models did not learn (``learned`` false) is no autoencoder result: its
    ``result`` is False, ``not_learned`` lists those experiments, and ``worst_experiment``,
    ``worst_auc`` and the worst rejections are None. Baselines always have ``result`` True.
    """
    summary = []
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    for variant in variants:
        chosen = [row for row in rows if row["variant"] == variant]
        keys = [rejection_key(e) for e in eps_s_list] if eps_s_list else sorted(
            {k for row in chosen for k in row if re.fullmatch(r"rejection_at_eps_s_[^_]+", k)})
        intervals = [f"{k}_{end}" for k in keys for end in ("low", "high")]
        extra = [k for k in ("val_loss_over_average_image", "learned") if any(k in row for row in chosen)]
        per_experiment = {row["experiment"]: {k: row.get(k) for k in ["auc", "auc_low", "auc_high", *keys,
                                                                        *intervals, *extra]}
                          for row in chosen}
        not_learned = [row["experiment"] for row in chosen if row.get("learned") is False]
        entry: dict[str, Any] = {"variant": variant, "experiments": per_experiment, "result": not not_learned}
        if not_learned:
            entry.update(worst_experiment=None, worst_auc=None, not_learned=not_learned)
            entry.update({f"worst_{k}{end}": None for k in keys for end in ("", "_low", "_high")})
        else:
            worst = min(chosen, key=lambda row: row["auc"])
            entry.update(worst_experiment=worst["experiment"], worst_auc=worst["auc"], worst_rejection_lower_bounds=[])
            for k in keys:
                candidates = [row for row in chosen if row.get(k) is not None]
                lowest = min(candidates, key=lambda row: row[k]) if candidates else {}
                bounds = lowest.get("rejection_lower_bounds") or []
                entry[f"worst_{k}"] = lowest.get(k)
                entry[f"worst_{k}_low"], entry[f"worst_{k}_high"] = lowest.get(f"{k}_low"), lowest.get(f"{k}_high")
                entry["worst_rejection_lower_bounds"] += [f"worst_{k}{end}" for end in ("", "_low", "_high")
                                                          if f"{k}{end}" in bounds]
        summary.append(entry)
    return summary
