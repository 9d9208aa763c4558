"""Score corrections: fitted on validation columns of a scores file, applied to test columns."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.config import section_defaults
from hepdl.core.errors import HepdlError
from hepdl.evaluation.corrections import apply_correction, fit_correction, normalise_scores


def _columns(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return {"model_score": np.linspace(0.1, 1.0, n), "average_image_error": rng.uniform(0.5, 2.0, n),
            "active_pixel_fraction": rng.integers(1, 40, n) / 144.0, "jet_mass": rng.uniform(20, 200, n)}


def test_score_normalisations_by_hand():
    columns = _columns()
    trivial = normalise_scores(columns, section_defaults("score_correction", {"score_normalisation": "trivial"}))
    np.testing.assert_allclose(trivial, columns["model_score"] / columns["average_image_error"])
    active = normalise_scores(columns, section_defaults("score_correction", {"score_normalisation": "active_pixels"}))
    np.testing.assert_allclose(active, columns["model_score"] / columns["active_pixel_fraction"])
    none = section_defaults("score_correction")
    assert fit_correction(columns, none) == {}
    plain = apply_correction(columns, {}, none)
    assert plain.dtype == np.float32
    np.testing.assert_allclose(plain, columns["model_score"], rtol=1e-6)


def test_trivial_normalisation_of_a_zero_reference_is_zero():
    columns = {**_columns(3), "average_image_error": np.array([0.0, 1.0, 2.0])}
    out = normalise_scores(columns, section_defaults("score_correction", {"score_normalisation": "trivial"}))
    assert out[0] == 0 and np.all(np.isfinite(out))


def _background_efficiency_by_mass_bin(scores, mass, cut, edges):
    bins = np.digitize(mass, edges)
    return np.array([(scores[bins == b] > cut).mean() for b in range(len(edges) + 1)])


def test_mass_decorrelation_flattens_background_efficiency():
    rng = np.random.default_rng(3)
    n = 20000
    correction = section_defaults("score_correction", {"mass_decorrelation": True, "mass_bins": 10})

    def sample(size):
        mass = rng.gamma(4.0, 25.0, size)
        errors = np.exp(0.02 * mass + rng.normal(0, 0.5, size))  # error grows with mass
        return {"model_score": errors, "jet_mass": mass}

    validation = sample(n)
    fit = fit_correction(validation, correction)
    assert set(fit) >= {"mass_bin_edges", "quantile_levels", "score_quantiles", "score_scale"}
    assert all(isinstance(v, np.ndarray) for v in fit.values())
    test = sample(n)
    edges = np.quantile(test["jet_mass"], np.linspace(0, 1, 7)[1:-1])
    raw_cut = np.quantile(test["model_score"], 0.9)
    before = _background_efficiency_by_mass_bin(test["model_score"], test["jet_mass"], raw_cut, edges)
    assert np.corrcoef(test["model_score"], test["jet_mass"])[0, 1] > 0.3
    assert before.max() - before.min() > 0.3  # sculpted: heavy jets pass much more often
    scores = apply_correction(test, fit, correction)
    cut = np.quantile(scores, 0.9)
    after = _background_efficiency_by_mass_bin(scores, test["jet_mass"], cut, edges)
    np.testing.assert_allclose(after, 0.1, atol=0.025)
    assert abs(np.corrcoef(scores, test["jet_mass"])[0, 1]) < 0.1  # residual: within-bin mass dependence
    # monotone in the raw score within a mass bin, also beyond the fitted range
    m = np.full(5, np.median(validation["jet_mass"]))
    s = apply_correction({"model_score": np.array([1e-6, 0.5, 1.0, 1e3, 1e6]), "jet_mass": m}, fit, correction)
    assert np.all(np.diff(s) > 0) and np.all(np.isfinite(s))


def test_mass_decorrelation_needs_enough_jets():
    correction = section_defaults("score_correction", {"mass_decorrelation": True, "mass_bins": 10})
    with pytest.raises(HepdlError, match="mass_bins"):
        fit_correction({"model_score": np.ones(5), "jet_mass": np.ones(5)}, correction)


def test_a_fit_without_quantiles_is_refused():
    correction = section_defaults("score_correction", {"mass_decorrelation": True})
    with pytest.raises(HepdlError, match="no mass-decorrelation quantiles"):
        apply_correction(_columns(), {}, correction)
