"""Tagging metrics: ROC, AUC with a bootstrap interval, background rejection, mass sculpting.

Conventions (the field's): a score is "larger = more signal-like (anomalous)". For a cut
``score > t``, eps_S is the fraction of signal jets passing and eps_B the fraction of background
jets passing; the background rejection at a working point is 1 / eps_B at the eps_S asked for.
The AUC is the area under eps_S(eps_B) (probability that a random signal jet scores above a
random background jet, ties counting one half), as in :func:`sklearn.metrics.roc_auc_score`.
"""

from __future__ import annotations

import math
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
    order = np.argsort(bg, kind="stable")
    bg_sorted = bg[order]
    below = np.searchsorted(bg_sorted, sig, side="left")   # background values < signal value
    upto = np.searchsorted(bg_sorted, sig, side="right")   # background values <= signal value
    aucs = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, block):
        size = min(block, n_bootstrap - start)
        w_bg = rng.multinomial(bg.size, np.full(bg.size, 1.0 / bg.size), size=size)[:, order]
        w_sig = rng.multinomial(sig.size, np.full(sig.size, 1.0 / sig.size), size=size)
        cumulative = np.concatenate([np.zeros((size, 1)), np.cumsum(w_bg, axis=1)], axis=1)
        less = cumulative[:, below]
        equal = cumulative[:, upto] - less
        aucs[start:start + size] = np.sum(w_sig * (less + 0.5 * equal), axis=1) / (bg.size * sig.size)
    return aucs


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
    """AUC (with 68% bootstrap interval), rejections at each eps_S, and the sample sizes.

    Where no background jet passes at a working point (eps_B = 0, rejection infinite) the
    rejection is reported as its lower bound n_background and the key is listed under
    ``rejection_lower_bounds``.
    """
    eps_b, eps_s, _ = roc(background_scores, signal_scores)
    auc, low, high = auc_with_interval(background_scores, signal_scores, n_bootstrap, seed)
    n_bg, n_sig = int(np.size(background_scores)), int(np.size(signal_scores))
    row: dict[str, Any] = {"auc": auc, "auc_low": low, "auc_high": high}
    lower_bounds = []
    for target in eps_s_list:
        rejection = rejection_at(target, eps_b, eps_s)
        if math.isinf(rejection):
            rejection = float(n_bg)
            lower_bounds.append(rejection_key(target))
        row[rejection_key(target)] = rejection
    row.update(n_background=n_bg, n_signal=n_sig, rejection_lower_bounds=lower_bounds)
    return row


def roc_points(background_scores: np.ndarray, signal_scores: np.ndarray, n_points: int = 500) -> dict[str, list[float]]:
    """The ROC down-sampled to ``n_points`` eps_S values evenly spaced in (0, 1] (eps_B by :func:`eps_b_at`)."""
    eps_b, eps_s, _ = roc(background_scores, signal_scores)
    grid = np.linspace(0.0, 1.0, n_points + 1)[1:]
    return {"eps_s": grid.tolist(), "eps_b": eps_b_at(grid, eps_b, eps_s).tolist()}


def _jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms (normalised here)."""
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    m = 0.5 * (p + q)

    def kl(a, b):
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def mass_sculpting(background_scores: np.ndarray, background_mass: np.ndarray, background_efficiency: float = 0.1,
                   bins: int = 40, mass_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """Background jet-mass histograms before and after a score cut keeping ``background_efficiency``.

    The cut is the (1 - background_efficiency) quantile of the background scores (jets with
    score > cut pass). Returns bin ``edges`` [GeV] (bins + 1), ``counts_before`` and
    ``counts_after`` (raw counts), the ``cut``, the realised ``passing_fraction`` and the
    Jensen-Shannon divergence ``jsd`` (base 2) of the two normalised histograms (0 = no sculpting).
    """
    scores = _check("background scores", background_scores)
    mass = np.asarray(background_mass, dtype=np.float64).ravel()
    if mass.shape != scores.shape:
        raise ValueError(f"mass_sculpting: {mass.size} masses for {scores.size} scores")
    cut = float(np.quantile(scores, 1.0 - background_efficiency))
    passing = scores > cut
    if mass_range is None:
        mass_range = (0.0, float(max(np.quantile(mass, 0.995), 1e-9)) * 1.05)
    edges = np.linspace(mass_range[0], mass_range[1], bins + 1)
    before, _ = np.histogram(mass, edges)
    after, _ = np.histogram(mass[passing], edges)
    return {"edges": edges.tolist(), "counts_before": before.tolist(), "counts_after": after.tolist(),
            "cut": cut, "background_efficiency": background_efficiency,
            "passing_fraction": float(passing.mean()),
            "jsd": _jensen_shannon(before.astype(float), after.astype(float))}


def distance_correlation(x: np.ndarray, y: np.ndarray, max_samples: int = 2000, seed: int = 0) -> float:
    """Distance correlation (Szekely et al. 2007) of two 1D samples, in [0, 1] (0 iff independent).

    O(n^2) memory: a seeded random subsample of at most ``max_samples`` pairs is used.
    """
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if x.size > max_samples:
        keep = np.random.default_rng(seed).choice(x.size, max_samples, replace=False)
        x, y = x[keep], y[keep]

    def centred(v):
        d = np.abs(v[:, None] - v[None, :])
        return d - d.mean(axis=0)[None, :] - d.mean(axis=1)[:, None] + d.mean()

    a, b = centred(x), centred(y)
    dcov2, dvar_x, dvar_y = (a * b).mean(), (a * a).mean(), (b * b).mean()
    if dvar_x <= 0 or dvar_y <= 0:
        return 0.0
    return float(np.sqrt(max(dcov2, 0.0) / np.sqrt(dvar_x * dvar_y)))


def mass_correlation(background_scores: np.ndarray, background_mass: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Pearson and distance correlation of score with jet mass on background jets."""
    scores = _check("background scores", background_scores)
    mass = np.asarray(background_mass, dtype=np.float64).ravel()
    pearson = float(np.corrcoef(scores, mass)[0, 1]) if scores.std() > 0 and mass.std() > 0 else 0.0
    return {"pearson_score_mass": pearson,
            "distance_correlation_score_mass": distance_correlation(scores, mass, seed=seed)}


def model_independence(rows: list[dict[str, Any]], eps_s_list: list[float] | None = None) -> list[dict[str, Any]]:
    """Per variant: the experiments (directions) side by side, and the worse of them.

    ``rows`` are metrics rows (baseline rows included; they are summarised too, per baseline).
    Returns one dict per variant: ``variant``, ``experiments`` {experiment: {auc, auc_low,
    auc_high, rejection_at_eps_s_..., and for models val_loss_over_average_image, learned}},
    ``worst_experiment`` and ``worst_auc`` (the smallest AUC), ``worst_rejection_at_eps_s_...``
    (the smallest rejection over the experiments), and ``result``.

    A variant any of whose models did not learn (``learned`` false) is no autoencoder result: its
    ``result`` is False, ``not_learned`` lists those experiments, and ``worst_experiment``,
    ``worst_auc`` and the worst rejections are None. Baselines always have ``result`` True.
    """
    summary = []
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    for variant in variants:
        chosen = [row for row in rows if row["variant"] == variant]
        keys = [rejection_key(e) for e in eps_s_list] if eps_s_list else sorted(
            {k for row in chosen for k in row if k.startswith("rejection_at_eps_s_")})
        extra = [k for k in ("val_loss_over_average_image", "learned") if any(k in row for row in chosen)]
        per_experiment = {row["experiment"]: {k: row.get(k) for k in ["auc", "auc_low", "auc_high", *keys, *extra]}
                          for row in chosen}
        not_learned = [row["experiment"] for row in chosen if row.get("learned") is False]
        entry: dict[str, Any] = {"variant": variant, "experiments": per_experiment, "result": not not_learned}
        if not_learned:
            entry.update(worst_experiment=None, worst_auc=None, not_learned=not_learned)
            entry.update({f"worst_{k}": None for k in keys})
        else:
            worst = min(chosen, key=lambda row: row["auc"])
            entry.update(worst_experiment=worst["experiment"], worst_auc=worst["auc"])
            for k in keys:
                values = [row[k] for row in chosen if row.get(k) is not None]
                entry[f"worst_{k}"] = min(values) if values else None
        summary.append(entry)
    return summary
