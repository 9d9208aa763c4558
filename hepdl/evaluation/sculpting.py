"""Mass sculpting: does a cut on a score reshape the jet-mass distribution?

A search for a resonance in the jet mass needs a tagger whose cut keeps the shape of the
background mass distribution: a cut that prefers heavy jets sculpts a bump out of a falling
background. For a score (larger = more anomalous) and a cut ``score > t`` this module compares the
jet-mass histograms of background (and signal) jets before and after the cut, at working points
fixed by the fraction of background kept (eps_B; the cut is the (1 - eps_B) quantile of the
background scores) or of signal kept (eps_S; the (1 - eps_S) quantile of the signal scores).

The sculpting measure is the Jensen-Shannon divergence (base 2, in [0, 1], 0 = same shape) of the
background mass histogram before and after the cut. With few jets after the cut the JSD is
dominated by statistical fluctuations: ``jsd_random`` is the mean JSD of random subsets of the
background of the same size (no sculpting), the floor below which a JSD means nothing. The usual
decorrelation summary plots the rejection at eps_S = 0.5 against 1 / JSD at that working point.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hepdl.evaluation.metrics import _check

#: the signal efficiency of the decorrelation summary: rejection at eps_S = 0.5 against 1 / JSD there
SUMMARY_EPS_S = 0.5


def working_point_key(kind: str, value: float) -> str:
    """Name of a working point: ``eps_b_0.1`` (``kind`` "background") or ``eps_s_0.5`` ("signal")."""
    if kind not in ("background", "signal"):
        raise ValueError(f"working point kind '{kind}': background or signal")
    return f"eps_{kind[0]}_{value:g}"


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms (normalised here)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    m = 0.5 * (p + q)

    def kl(a, b):
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def _jensen_shannon_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """:func:`jensen_shannon` of histogram ``p`` (bins,) with each row of ``q`` (rows, bins)."""
    p = p / max(p.sum(), 1e-300)
    q = q / np.maximum(q.sum(axis=1, keepdims=True), 1e-300)
    m = 0.5 * (p[None, :] + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p[None, :] > 0, p[None, :] * np.log2(p[None, :] / m), 0.0).sum(axis=1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=1)
    return 0.5 * kl_p + 0.5 * kl_q


def _random_subset_jsd(bins: np.ndarray, n_bins: int, size: int, n_random: int, rng: np.random.Generator) -> float:
    """Mean JSD between the histogram of all jets (bin indices ``bins``, -1 outside the range)
    and ``n_random`` random subsets of ``size`` jets: the statistical floor of the JSD."""
    n = bins.size
    if size >= n:
        return 0.0  # every jet: the same histogram
    chosen = rng.random((n_random, n)).argpartition(size - 1, axis=1)[:, :size]
    picked = bins[chosen]
    rows = np.broadcast_to(np.arange(n_random)[:, None], picked.shape)
    valid = picked >= 0
    counts = np.bincount(rows[valid] * n_bins + picked[valid], minlength=n_random * n_bins).reshape(n_random, n_bins)
    full = np.bincount(bins[bins >= 0], minlength=n_bins).astype(np.float64)
    return float(_jensen_shannon_rows(full, counts.astype(np.float64)).mean())


def round_edges(top: float, bins: int) -> np.ndarray:
    """Bin edges from 0 to at least ``top`` in about ``bins`` bins of a round width (1, 2, 2.5 or 5
    times a power of ten, the nearest to top / bins: "jets / 5 GeV")."""
    raw = top / bins
    power = 10.0 ** math.floor(math.log10(raw))
    width = min((f * power for f in (1.0, 2.0, 2.5, 5.0, 10.0)), key=lambda w: abs(math.log(w / raw)))
    return np.arange(0.0, math.ceil(top / width - 1e-9) + 1) * width


def _point_rng(seed: int, kind: str, target: float) -> np.random.Generator:
    """The random generator of one working point's floor: from the seed and the point alone."""
    return np.random.default_rng([int(seed), int(kind == "signal"), round(float(target) * 1e9)])


def mass_sculpting(background_scores: np.ndarray, background_mass: np.ndarray, signal_scores: np.ndarray,
                   signal_mass: np.ndarray, background_efficiencies: list[float] = (0.5, 0.1, 0.01),
                   signal_efficiencies: list[float] = (0.5,), bins: int = 40,
                   mass_range: tuple[float, float] | None = None, n_random: int = 20, seed: int = 0) -> dict[str, Any]:
    """Background and signal jet-mass histograms before and after score cuts at working points.

    Scores and masses [GeV] are 1D arrays per jet. The working points keep a fraction of the
    background (``background_efficiencies``, cut = (1 - eps_B) quantile of the background
    scores) or of the signal (``signal_efficiencies``, cut = (1 - eps_S) quantile of the signal
    scores); jets with score > cut pass. Returns ``edges`` [GeV] (about ``bins`` bins of a round
    width from 0 to 1.05 x the larger 99.5% quantile of the two mass samples, or ``bins`` bins over
    ``mass_range``),
    ``background`` and ``signal`` (counts before any cut), ``n_background``, ``n_signal`` and
    ``working_points``: one dict each with ``name`` (:func:`working_point_key`), ``kind``
    ("background"/"signal"), ``target``, ``cut``, the realised ``background_efficiency`` and
    ``signal_efficiency`` (ties in the scores make them differ from the target),
    ``n_background_passing``, ``n_signal_passing``, ``background`` and ``signal`` (counts after
    the cut), ``jsd`` (background before vs after; None when no background jet passes) and
    ``jsd_random`` (mean JSD of ``n_random`` random background subsets of the same size, seeded by
    ``seed`` and the working point).
    """
    bg_score, sig_score, bg_mass, sig_mass = (np.asarray(a, np.float64).ravel() for a in (
        background_scores, signal_scores, background_mass, signal_mass))
    for name, score, mass in (("background", bg_score, bg_mass), ("signal", sig_score, sig_mass)):
        if score.size == 0 or mass.shape != score.shape:
            raise ValueError(f"mass_sculpting: {mass.size} {name} masses for {score.size} scores")
        if not np.all(np.isfinite(score)):
            raise ValueError(f"mass_sculpting: {name} scores are NaN or infinite")
    if mass_range is None:
        top = max(float(np.quantile(bg_mass, 0.995)), float(np.quantile(sig_mass, 0.995)), 1e-9) * 1.05
        edges = round_edges(top, bins)
    else:
        edges = np.linspace(mass_range[0], mass_range[1], bins + 1)
    bins = len(edges) - 1
    bg_before, _ = np.histogram(bg_mass, edges)
    sig_before, _ = np.histogram(sig_mass, edges)
    inside = (bg_mass >= edges[0]) & (bg_mass <= edges[-1])
    bg_bins = np.where(inside, np.clip(np.searchsorted(edges, bg_mass, side="right") - 1, 0, bins - 1), -1)
    points = []
    for kind, targets, reference in (("background", background_efficiencies, bg_score),
                                     ("signal", signal_efficiencies, sig_score)):
        for target in targets:
            cut = float(np.quantile(reference, 1.0 - target))
            bg_pass, sig_pass = bg_score > cut, sig_score > cut
            bg_after, _ = np.histogram(bg_mass[bg_pass], edges)
            sig_after, _ = np.histogram(sig_mass[sig_pass], edges)
            n_pass = int(bg_pass.sum())
            points.append({
                "name": working_point_key(kind, target), "kind": kind, "target": float(target), "cut": cut,
                "background_efficiency": float(bg_pass.mean()), "signal_efficiency": float(sig_pass.mean()),
                "n_background_passing": n_pass, "n_signal_passing": int(sig_pass.sum()),
                "background": bg_after.tolist(), "signal": sig_after.tolist(),
                "jsd": jensen_shannon(bg_before, bg_after) if n_pass > 0 else None,
                "jsd_random": _random_subset_jsd(bg_bins, bins, n_pass, n_random, _point_rng(seed, kind, target))
                if n_pass > 0 else None,
            })
    return {"edges": edges.tolist(), "background": bg_before.tolist(), "signal": sig_before.tolist(),
            "n_background": int(bg_score.size), "n_signal": int(sig_score.size), "working_points": points}


def sculpting_row(sculpting: dict[str, Any]) -> dict[str, Any]:
    """The metrics-row keys of a :func:`mass_sculpting` result: ``mass_jsd_at_<point>`` for every
    working point, and ``signal_efficiency_at_<point>`` for the background-efficiency ones."""
    row: dict[str, Any] = {}
    for point in sculpting["working_points"]:
        row[f"mass_jsd_at_{point['name']}"] = point["jsd"]
        if point["kind"] == "background":
            row[f"signal_efficiency_at_{point['name']}"] = point["signal_efficiency"]
    return row


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
