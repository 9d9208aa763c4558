"""Postprocessing variants: image transformations and score corrections."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.images.transforms import (apply_score_correction, fit_score_correction, normalise_scores,
                               transform_images, trivial_error)

VARIANTS = {
    "none": {},
    "power": {"intensity": {"kind": "power", "k": 0.5}},
    "log": {"intensity": {"kind": "log", "c": 1000.0}},
    "occupancy": {"intensity": {"kind": "occupancy"}},
    "smeared": {"smear_sigma_px": 1.0},
    "power_smeared": {"intensity": {"kind": "power", "k": 0.25}, "smear_sigma_px": 2.0},
}


def _images(n=6, npix=12, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.exponential(1.0, (n, npix, npix)) * (rng.random((n, npix, npix)) < 0.15)
    images[0] = 0.0  # an empty image
    images[1, 0, 0] = 5.0  # mass in the corner: smearing pushes some out of the window
    total = images.sum(axis=(1, 2), keepdims=True)
    return np.divide(images, total, out=np.zeros_like(images), where=total > 0).astype(np.float32)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_transform_keeps_shape_and_unit_sum(name):
    images = _images()
    original = images.copy()
    out = transform_images(images, VARIANTS[name])
    assert out.shape == images.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.all(out >= 0)
    np.testing.assert_allclose(out[1:].sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert np.all(out[0] == 0)
    np.testing.assert_array_equal(images, original)  # input untouched


def test_intensity_definitions_by_hand():
    image = np.zeros((1, 4, 4), np.float32)
    image[0, 1, 1], image[0, 2, 3] = 0.75, 0.25
    power = transform_images(image, VARIANTS["power"])[0]
    assert power[1, 1] == pytest.approx(np.sqrt(0.75) / (np.sqrt(0.75) + 0.5))
    log = transform_images(image, VARIANTS["log"])[0]
    assert log[2, 3] == pytest.approx(np.log1p(250) / (np.log1p(750) + np.log1p(250)))
    occupancy = transform_images(image, VARIANTS["occupancy"])[0]
    assert occupancy[1, 1] == occupancy[2, 3] == pytest.approx(0.5)


def test_smearing_conserves_sum_of_unnormalised_images():
    images = _images() * np.arange(1, 7, dtype=np.float32)[:, None, None] * 3.0
    out = transform_images(images, {"smear_sigma_px": 1.5})
    np.testing.assert_allclose(out.sum(axis=(1, 2)), images.sum(axis=(1, 2)), rtol=1e-5)
    # it spreads: the corner pixel of image 1 loses intensity to its neighbours
    assert out[1, 0, 0] < images[1, 0, 0] and out[1, 1, 1] > images[1, 1, 1]


def test_score_normalisations_by_hand():
    images = _images()
    mean = images[1:].mean(axis=0)
    errors = np.linspace(0.1, 1.0, len(images))
    correction = fit_score_correction(errors, images, np.ones(len(images)), {}, mean)
    trivial = normalise_scores(errors, images, correction, {"score_normalisation": "trivial"})
    np.testing.assert_allclose(trivial, errors / trivial_error(images, mean))
    active = normalise_scores(errors, images, correction, {"score_normalisation": "active_pixels"})
    n_active = np.maximum((images > 0).sum(axis=(1, 2)), 1)
    np.testing.assert_allclose(active, errors * 144 / n_active)
    assert np.all(np.isfinite(trivial)) and np.all(np.isfinite(active))
    plain = apply_score_correction(errors, images, np.ones(len(images)), correction, {})
    assert plain.dtype == np.float32
    np.testing.assert_allclose(plain, errors, rtol=1e-6)


def _background_efficiency_by_mass_bin(scores, mass, cut, edges):
    bins = np.digitize(mass, edges)
    return np.array([(scores[bins == b] > cut).mean() for b in range(len(edges) + 1)])


def test_mass_decorrelation_flattens_background_efficiency():
    rng = np.random.default_rng(3)
    n = 20000
    variant = {"mass_decorrelation": True, "mass_bins": 10}
    images = np.zeros((n, 4, 4), np.float32)  # not used without score normalisation

    def sample(size):
        mass = rng.gamma(4.0, 25.0, size)
        errors = np.exp(0.02 * mass + rng.normal(0, 0.5, size))  # error grows with mass
        return mass, errors

    mass_val, errors_val = sample(n)
    correction = fit_score_correction(errors_val, images, mass_val, variant, np.zeros((4, 4)))
    assert set(correction) >= {"mass_bin_edges", "quantile_levels", "score_quantiles", "score_scale"}
    assert all(isinstance(v, np.ndarray) for v in correction.values())
    mass_test, errors_test = sample(n)
    edges = np.quantile(mass_test, np.linspace(0, 1, 7)[1:-1])
    raw_cut = np.quantile(errors_test, 0.9)
    before = _background_efficiency_by_mass_bin(errors_test, mass_test, raw_cut, edges)
    assert np.corrcoef(errors_test, mass_test)[0, 1] > 0.3
    assert before.max() - before.min() > 0.3  # sculpted: heavy jets pass much more often
    scores = apply_score_correction(errors_test, images[:n], mass_test, correction, variant)
    cut = np.quantile(scores, 0.9)
    after = _background_efficiency_by_mass_bin(scores, mass_test, cut, edges)
    np.testing.assert_allclose(after, 0.1, atol=0.025)
    assert abs(np.corrcoef(scores, mass_test)[0, 1]) < 0.1  # residual: within-bin mass dependence
    # monotone in the raw error within a mass bin, also beyond the fitted range
    m = np.full(5, np.median(mass_val))
    e = np.array([1e-6, 0.5, 1.0, 1e3, 1e6])
    s = apply_score_correction(e, images[:5], m, correction, variant)
    assert np.all(np.diff(s) > 0) and np.all(np.isfinite(s))


def test_mass_decorrelation_needs_enough_jets():
    from hepdl.core.errors import HepdlError

    with pytest.raises(HepdlError, match="mass_bins"):
        fit_score_correction(np.ones(5), np.zeros((5, 2, 2)), np.ones(5), {"mass_decorrelation": True,
                                                                          "mass_bins": 10}, np.zeros((2, 2)))
