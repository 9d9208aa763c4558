"""Tagging metrics against scikit-learn and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from hepdl.evaluation.metrics import (
    _bootstrap_aucs,
    auc_with_interval,
    distance_correlation,
    eps_b_at,
    mass_correlation,
    mass_sculpting,
    model_independence,
    rejection_at,
    roc,
    roc_points,
    tagger_metrics,
)


def _gaussians(n_bg=400, n_sig=300, shift=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, n_bg), rng.normal(shift, 1, n_sig)


def test_roc_and_auc_agree_with_sklearn():
    bg, sig = _gaussians()
    bg = np.round(bg, 1)  # ties
    labels = np.r_[np.zeros(bg.size), np.ones(sig.size)]
    eps_b, eps_s, thresholds = roc(bg, sig)
    ref = roc_curve(labels, np.r_[bg, sig])
    for mine, theirs in zip((eps_b, eps_s, thresholds), ref, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    auc, _, _ = auc_with_interval(bg, sig, n_bootstrap=0)
    assert auc == pytest.approx(roc_auc_score(labels, np.r_[bg, sig]))


def test_auc_limits():
    bg, sig = np.arange(100.0), np.arange(100.0, 150.0)
    assert auc_with_interval(bg, sig, 0)[0] == 1.0
    assert auc_with_interval(sig, bg, 0)[0] == 0.0
    rng = np.random.default_rng(1)
    assert auc_with_interval(rng.random(5000), rng.random(5000), 0)[0] == pytest.approx(0.5, abs=0.02)


def test_bootstrap_resamples_are_exact_weighted_aucs():
    bg, sig = _gaussians(120, 80)
    bg, sig = np.round(bg, 1), np.round(sig, 1)
    rng = np.random.default_rng(5)
    aucs = _bootstrap_aucs(bg, sig, 4, rng)
    rng = np.random.default_rng(5)
    w_bg = rng.multinomial(bg.size, np.full(bg.size, 1 / bg.size), size=4)
    w_sig = rng.multinomial(sig.size, np.full(sig.size, 1 / sig.size), size=4)
    labels = np.r_[np.zeros(bg.size), np.ones(sig.size)]
    for i in range(4):
        ref = roc_auc_score(labels, np.r_[bg, sig], sample_weight=np.r_[w_bg[i], w_sig[i]])
        assert aucs[i] == pytest.approx(ref, abs=1e-12)


def test_bootstrap_interval_contains_auc_and_is_reproducible():
    bg, sig = _gaussians()
    first = auc_with_interval(bg, sig, n_bootstrap=100, seed=3)
    assert first == auc_with_interval(bg, sig, n_bootstrap=100, seed=3)
    assert first != auc_with_interval(bg, sig, n_bootstrap=100, seed=4)
    auc, low, high = first
    assert low < auc < high
    # 68% interval of an AUC from 400 x 300 jets: half-width about 0.02
    assert 0.005 < (high - low) / 2 < 0.05
    assert all(math.isnan(x) for x in auc_with_interval(bg, sig, 0)[1:])


def test_rejection_by_hand():
    # background 0..9, signal 5..14 (step 1): a cut score > t
    bg, sig = np.arange(10.0), np.arange(5.0, 15.0)
    eps_b, eps_s, _ = roc(bg, sig)
    # eps_S = 0.5: the 5 signal jets 10..14 pass, no background jet: eps_B = 0 -> inf
    assert rejection_at(0.5, eps_b, eps_s) == math.inf
    # eps_S = 0.7: signal 8..14 pass with background 8, 9 -> eps_B = 0.2 (ROC point (0.2, 0.7) exists
    # only as a corner: the curve rises from (0, 0.5) to (0.1, 0.6) to (0.2, 0.7))
    assert rejection_at(0.7, eps_b, eps_s) == pytest.approx(5.0)
    # between points: eps_S = 0.65 lies halfway from (0.1, 0.6) to (0.2, 0.7) -> eps_B 0.15
    assert eps_b_at(0.65, eps_b, eps_s)[0] == pytest.approx(0.15)
    metrics = tagger_metrics(bg, sig, [0.5, 0.7], n_bootstrap=0)
    assert metrics["rejection_at_eps_s_0.5"] == 10.0
    assert metrics["rejection_lower_bounds"] == ["rejection_at_eps_s_0.5"]
    assert metrics["rejection_at_eps_s_0.7"] == pytest.approx(5.0)
    assert metrics["n_background"] == 10 and metrics["n_signal"] == 10


def test_rejection_takes_smallest_eps_b_at_a_flat_step():
    # ROC points (0, 0), (0, 0.5), (0.5, 0.5), (0.5, 1), (1, 1): at eps_S = 0.5 the best eps_B is 0
    eps_b, eps_s = np.array([0.0, 0.0, 0.5, 0.5, 1.0]), np.array([0.0, 0.5, 0.5, 1.0, 1.0])
    assert eps_b_at(0.5, eps_b, eps_s)[0] == 0.0
    assert eps_b_at(0.75, eps_b, eps_s)[0] == 0.5


def test_roc_points_downsampled():
    bg, sig = _gaussians(3000, 3000)
    points = roc_points(bg, sig, n_points=500)
    assert len(points["eps_s"]) == len(points["eps_b"]) == 500
    assert np.all(np.diff(points["eps_b"]) >= 0)
    eps_b, eps_s, _ = roc(bg, sig)
    assert points["eps_b"][299] == pytest.approx(eps_b_at(0.6, eps_b, eps_s)[0])


def test_mass_sculpting_and_correlation():
    rng = np.random.default_rng(2)
    mass = rng.gamma(4.0, 25.0, 20000)
    sculpting_score = mass + rng.normal(0, 10, mass.size)
    flat_score = rng.normal(0, 1, mass.size)
    sculpted = mass_sculpting(sculpting_score, mass, 0.1)
    flat = mass_sculpting(flat_score, mass, 0.1)
    assert sculpted["passing_fraction"] == pytest.approx(0.1, abs=1e-3)
    assert sum(sculpted["counts_after"]) <= 2000 and sum(sculpted["counts_before"]) <= mass.size
    assert len(sculpted["edges"]) == len(sculpted["counts_before"]) + 1
    assert sculpted["jsd"] > 0.3 > 0.02 > flat["jsd"]
    strong, none = mass_correlation(sculpting_score, mass), mass_correlation(flat_score, mass)
    assert strong["pearson_score_mass"] > 0.9 and abs(none["pearson_score_mass"]) < 0.05
    assert strong["distance_correlation_score_mass"] > 0.8 > 0.1 > none["distance_correlation_score_mass"]
    # distance correlation sees a non-monotone dependence that Pearson misses
    x = rng.normal(0, 1, 1500)
    assert distance_correlation(x, x**2) > 0.3 and abs(np.corrcoef(x, x**2)[0, 1]) < 0.15


def test_model_independence_takes_the_worse_direction():
    rows = [
        {"experiment": "top_vs_qcd", "variant": "plain", "auc": 0.9, "auc_low": 0.89, "auc_high": 0.91,
         "rejection_at_eps_s_0.3": 50.0},
        {"experiment": "qcd_vs_top", "variant": "plain", "auc": 0.4, "auc_low": 0.39, "auc_high": 0.41,
         "rejection_at_eps_s_0.3": 2.0},
        {"experiment": "top_vs_qcd", "variant": "smeared", "auc": 0.86, "rejection_at_eps_s_0.3": 30.0},
        {"experiment": "qcd_vs_top", "variant": "smeared", "auc": 0.84, "rejection_at_eps_s_0.3": 40.0},
    ]
    summary = {s["variant"]: s for s in model_independence(rows, [0.3])}
    assert summary["plain"]["worst_experiment"] == "qcd_vs_top" and summary["plain"]["worst_auc"] == 0.4
    assert summary["smeared"]["worst_auc"] == 0.84
    assert summary["smeared"]["worst_rejection_at_eps_s_0.3"] == 30.0
    assert set(summary["plain"]["experiments"]) == {"top_vs_qcd", "qcd_vs_top"}


def test_nan_scores_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        roc(np.array([0.1, np.nan]), np.array([0.5]))
