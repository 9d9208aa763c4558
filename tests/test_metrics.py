"""Tagging metrics against scikit-learn and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from hepdl.evaluation.metrics import (
    _bootstrap,
    _bootstrap_aucs,
    auc_with_interval,
    eps_b_at,
    model_independence,
    rejection_at,
    roc,
    roc_points,
    tagger_evaluation,
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


def test_bootstrap_rejections_are_exact_weighted_rocs():
    """eps_B at each target of every resample equals eps_b_at on sklearn's ROC of the same
    multinomial weights (ties included)."""
    bg, sig = _gaussians(150, 100, seed=3)
    bg, sig = np.round(bg, 1), np.round(sig, 1)
    targets = np.array([0.0001, 0.1, 0.3, 0.5, 0.77, 1.0])
    aucs, eps_b = _bootstrap(bg, sig, 5, np.random.default_rng(9), targets)
    np.testing.assert_array_equal(aucs, _bootstrap_aucs(bg, sig, 5, np.random.default_rng(9)))
    rng = np.random.default_rng(9)
    w_bg = rng.multinomial(bg.size, np.full(bg.size, 1 / bg.size), size=5)
    w_sig = rng.multinomial(sig.size, np.full(sig.size, 1 / sig.size), size=5)
    labels = np.r_[np.zeros(bg.size), np.ones(sig.size)]
    for i in range(5):
        fpr, tpr, _ = roc_curve(labels, np.r_[bg, sig], sample_weight=np.r_[w_bg[i], w_sig[i]])
        np.testing.assert_allclose(eps_b[i], eps_b_at(targets, fpr, tpr), rtol=0, atol=1e-12)


def test_tagger_evaluation_intervals_and_band():
    bg, sig = _gaussians(400, 300)
    row, curve = tagger_evaluation(bg, sig, [0.3, 0.5], n_bootstrap=100, seed=3, n_points=50)
    # the same resamples as auc_with_interval: the same AUC interval
    assert (row["auc"], row["auc_low"], row["auc_high"]) == auc_with_interval(bg, sig, 100, seed=3)
    assert row == tagger_evaluation(bg, sig, [0.3, 0.5], n_bootstrap=100, seed=3, n_points=50)[0]
    for key in ("rejection_at_eps_s_0.3", "rejection_at_eps_s_0.5"):
        assert row[f"{key}_low"] < row[key] < row[f"{key}_high"]
        # relative width of the interval: at least the binomial one of the background jets passing
        # (about 2 / sqrt(n passing)), at most a few times that (the signal adds its own)
        binomial = 2 / math.sqrt(400 / row[key])
        assert binomial < (row[f"{key}_high"] - row[f"{key}_low"]) / row[key] < 3 * binomial
    assert row == {**tagger_metrics(bg, sig, [0.3, 0.5], n_bootstrap=100, seed=3)}
    assert len(curve["eps_s"]) == len(curve["eps_b_low"]) == len(curve["eps_b_high"]) == 50
    low, mid, high = (np.array(curve[k]) for k in ("eps_b_low", "eps_b", "eps_b_high"))
    assert np.all(low <= high) and np.mean((low <= mid) & (mid <= high)) > 0.9
    assert curve["eps_b"] == roc_points(bg, sig, 50)["eps_b"]
    row0, curve0 = tagger_evaluation(bg, sig, [0.3], n_bootstrap=0, n_points=50)
    assert math.isnan(row0["rejection_at_eps_s_0.3_low"]) and "eps_b_low" not in curve0


def test_rejection_interval_ends_without_background_are_lower_bounds():
    """Separated samples: no background jet passes at eps_S = 0.5 in any resample, so the
    rejection and both ends of its interval are the lower bound n_background."""
    bg, sig = np.arange(10.0), np.arange(5.0, 15.0)
    row = tagger_metrics(bg, sig, [0.5], n_bootstrap=50, seed=1)
    key = "rejection_at_eps_s_0.5"
    assert row[key] == 10.0 and key in row["rejection_lower_bounds"]
    assert f"{key}_high" in row["rejection_lower_bounds"] and row[f"{key}_high"] == 10.0


def test_model_independence_takes_the_worse_direction():
    rows = [
        {"experiment": "top_vs_qcd", "variant": "plain", "auc": 0.9, "auc_low": 0.89, "auc_high": 0.91,
         "rejection_at_eps_s_0.3": 50.0},
        {"experiment": "qcd_vs_top", "variant": "plain", "auc": 0.4, "auc_low": 0.39, "auc_high": 0.41,
         "rejection_at_eps_s_0.3": 2.0},
        {"experiment": "top_vs_qcd", "variant": "smeared", "auc": 0.86, "rejection_at_eps_s_0.3": 30.0},
        {"experiment": "qcd_vs_top", "variant": "smeared", "auc": 0.84, "rejection_at_eps_s_0.3": 40.0},
    ]
    rows[2].update({"rejection_at_eps_s_0.3_low": 25.0, "rejection_at_eps_s_0.3_high": 36.0,
                    "rejection_lower_bounds": ["rejection_at_eps_s_0.3_high"]})
    summary = {s["variant"]: s for s in model_independence(rows, [0.3])}
    assert summary["plain"]["worst_experiment"] == "qcd_vs_top" and summary["plain"]["worst_auc"] == 0.4
    assert summary["smeared"]["worst_auc"] == 0.84
    assert summary["smeared"]["worst_rejection_at_eps_s_0.3"] == 30.0
    # the interval of the direction with the smaller rejection, and which end is a lower bound
    assert summary["smeared"]["worst_rejection_at_eps_s_0.3_low"] == 25.0
    assert summary["smeared"]["worst_rejection_lower_bounds"] == ["worst_rejection_at_eps_s_0.3_high"]
    # without eps_s_list the working points are read from the rows (not their _low/_high keys)
    assert "worst_rejection_at_eps_s_0.3_low_low" not in model_independence(rows)[0]
    assert set(summary["plain"]["experiments"]) == {"top_vs_qcd", "qcd_vs_top"}


def test_nan_scores_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        roc(np.array([0.1, np.nan]), np.array([0.5]))
