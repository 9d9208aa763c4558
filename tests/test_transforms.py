"""Image transforms: intensity rescaling and smearing, definitions by hand, sums kept."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.config import section_defaults
from hepdl.core.errors import ConfigError
from hepdl.images.transforms import transform_images

TRANSFORMS = {name: section_defaults("image_transform", options) for name, options in {
    "none": {},
    "power": {"intensity": {"kind": "power", "k": 0.5}},
    "log": {"intensity": {"kind": "log", "c": 1000.0}},
    "occupancy": {"intensity": {"kind": "occupancy"}},
    "smeared": {"smear_sigma_px": 1.0},
    "power_smeared": {"intensity": {"kind": "power", "k": 0.25}, "smear_sigma_px": 2.0},
}.items()}


def _images(n=6, npix=12, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.exponential(1.0, (n, npix, npix)) * (rng.random((n, npix, npix)) < 0.15)
    images[0] = 0.0  # an empty image
    images[1, 0, 0] = 5.0  # mass in the corner: smearing pushes some out of the window
    total = images.sum(axis=(1, 2), keepdims=True)
    return np.divide(images, total, out=np.zeros_like(images), where=total > 0).astype(np.float32)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_keeps_shape_and_unit_sum(name):
    images = _images()
    original = images.copy()
    out = transform_images(images, TRANSFORMS[name])
    assert out.shape == images.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.all(out >= 0)
    np.testing.assert_allclose(out[1:].sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert np.all(out[0] == 0)
    np.testing.assert_array_equal(images, original)  # input untouched


def test_intensity_definitions_by_hand():
    image = np.zeros((1, 4, 4), np.float32)
    image[0, 1, 1], image[0, 2, 3] = 0.75, 0.25
    power = transform_images(image, TRANSFORMS["power"])[0]
    assert power[1, 1] == pytest.approx(np.sqrt(0.75) / (np.sqrt(0.75) + 0.5))
    log = transform_images(image, TRANSFORMS["log"])[0]
    assert log[2, 3] == pytest.approx(np.log1p(250) / (np.log1p(750) + np.log1p(250)))
    occupancy = transform_images(image, TRANSFORMS["occupancy"])[0]
    assert occupancy[1, 1] == occupancy[2, 3] == pytest.approx(0.5)


def test_smearing_conserves_sum_of_unnormalised_images():
    images = _images() * np.arange(1, 7, dtype=np.float32)[:, None, None] * 3.0
    out = transform_images(images, section_defaults("image_transform", {"smear_sigma_px": 1.5}))
    np.testing.assert_allclose(out.sum(axis=(1, 2)), images.sum(axis=(1, 2)), rtol=1e-5)
    # it spreads: the corner pixel of image 1 loses intensity to its neighbours
    assert out[1, 0, 0] < images[1, 0, 0] and out[1, 1, 1] > images[1, 1, 1]


def test_the_schema_owns_the_defaults():
    assert section_defaults("image_transform") == {"intensity": {"kind": "none", "k": 0.5, "c": 1000},
                                                   "smear_sigma_px": 0}
    with pytest.raises(ConfigError, match="image_transform.intensity.kind"):
        section_defaults("image_transform", {"intensity": {"kind": "sqrt"}})
