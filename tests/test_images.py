"""Tests of hepdl.images.preprocess: the convention (axes, orientation, flip), wrap-around, sums, and agreement
with a plain per-jet numpy implementation of the same recipe."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepdl.images.preprocess import jet_images, pixelate

NPIX, HW = 40, 0.8


def _jets(*jets):
    """Jagged (pt, eta, phi) of jets given as lists of (pt, eta, phi) triples."""
    return tuple(ak.Array([[c[i] for c in jet] for jet in jets]) for i in range(3))


def reference_image(pt, eta, phi, npix=NPIX, half_width=HW, centre="centroid", rotate=True,
                    flip=True, normalise=True):
    """Plain numpy, one jet: the recipe of the hepdl.images.preprocess docstring written independently."""
    pt, eta, phi = (np.asarray(a, dtype=np.float64) for a in (pt, eta, phi))
    keep = pt > 0
    pt, eta, phi = pt[keep], eta[keep], phi[keep]
    image = np.zeros((npix, npix))
    if len(pt) == 0:
        return image.astype(np.float32)
    lead = np.argmax(pt)
    dphi = np.angle(np.exp(1j * (phi - phi[lead])))  # wrapped
    deta = eta - eta[lead]
    mean = np.array([np.average(deta, weights=pt), np.average(dphi, weights=pt)])
    coords = np.stack([deta, dphi], axis=1)
    centred = coords - (mean if centre == "centroid" else 0.0)
    if rotate:
        cov = np.cov((coords - mean).T, aweights=pt, bias=True) if len(pt) > 1 else np.zeros((2, 2))
        cov = cov * pt.sum()
        if cov[0, 1] != 0 or cov[0, 0] != cov[1, 1]:
            w, v = np.linalg.eigh(cov)
            axis = v[:, np.argmax(w)]
            theta = math.atan2(axis[1], axis[0])
            if theta > math.pi / 2:      # the axis is a line: take its direction in (-pi/2, pi/2]
                theta -= math.pi
            elif theta <= -math.pi / 2:
                theta += math.pi
            c, s = math.cos(theta), math.sin(theta)
            centred = centred @ np.array([[c, -s], [s, c]])
    width = 2 * half_width / npix
    idx = np.floor((centred + half_width) / width).astype(np.int64)
    inside = np.all((idx >= 0) & (idx < npix), axis=1)
    np.add.at(image, (idx[inside, 0], idx[inside, 1]), pt[inside])
    if flip:
        half = npix // 2
        if image[:half].sum() > image[npix - half:].sum():
            image = image[::-1]
        if image[:, :half].sum() > image[:, npix - half:].sum():
            image = image[:, ::-1]
    if normalise and image.sum() > 0:
        image = image / pt[inside].sum()
    return image.astype(np.float32)


def random_jets(rng, n_jets, phi0=0.0, min_count=0):
    counts = rng.integers(min_count, 60, n_jets)
    n = counts.sum()
    pt = rng.exponential(20.0, n) * (rng.random(n) > 0.02)  # a few zero-pt constituents
    eta = rng.normal(0.0, 0.3, n) + np.repeat(rng.uniform(-2, 2, n_jets), counts)
    phi = rng.normal(0.0, 0.3, n) + np.repeat(rng.uniform(-np.pi, np.pi, n_jets), counts) + phi0
    phi = np.angle(np.exp(1j * phi))
    return tuple(ak.unflatten(a.astype(np.float32), counts) for a in (pt, eta, phi))


def test_single_constituent_lands_in_a_centre_pixel():
    for centre in ("centroid", "leading"):
        images = jet_images(*_jets([(100.0, 1.3, -2.0)]), centre=centre, normalise=False)
        hit = np.argwhere(images[0] > 0)
        assert len(hit) == 1
        assert tuple(hit[0]) in {(19, 19), (19, 20), (20, 19), (20, 20)}
        assert images[0].sum() == pytest.approx(100.0)


def test_two_prong_jet_is_vertical_after_rotation():
    # prongs along the diagonal of (eta, phi), equal pt: after rotation both lie on the eta' axis
    jet = [(50.0, 0.3, 1.0 + 0.3), (50.0, -0.3, 1.0 - 0.3)]
    image = jet_images(*_jets(jet), rotate=True, flip=False)[0]
    rows, cols = np.nonzero(image)
    assert len(rows) == 2
    assert set(cols) <= {19, 20}           # on the phi' = 0 line: axis 0 (eta') is the long axis
    assert abs(rows[0] - rows[1]) >= 20    # separated by 2 * 0.42 in eta'
    unrotated = jet_images(*_jets(jet), rotate=False, flip=False)[0]
    rows_u, cols_u = np.nonzero(unrotated)
    assert abs(cols_u[0] - cols_u[1]) >= 10


def test_flip_puts_the_brighter_side_up_and_right():
    # bright prong at negative eta and negative phi relative to the centroid
    jet = [(80.0, -0.2, -0.1), (20.0, 0.3, 0.25), (5.0, 0.1, -0.4)]
    for rotate in (False, True):
        image = jet_images(*_jets(jet), rotate=rotate, flip=True)[0]
        assert image[20:].sum() >= image[:20].sum()
        assert image[:, 20:].sum() >= image[:, :20].sum()
        brightest = np.unravel_index(np.argmax(image), image.shape)
        assert brightest[0] >= 20 and brightest[1] >= 20
        not_flipped = jet_images(*_jets(jet), rotate=rotate, flip=False)[0]
        assert not np.array_equal(image, not_flipped)


def test_jet_across_phi_pi_equals_the_same_jet_at_phi_zero():
    rng = np.random.default_rng(7)
    n = 40
    pt = rng.exponential(20, n)
    eta = rng.normal(0.5, 0.2, n)
    dphi = rng.normal(0.0, 0.25, n)
    at_pi = np.angle(np.exp(1j * (np.pi + dphi)))   # straddles +-pi
    assert (at_pi > 0).any() and (at_pi < 0).any()
    for centre in ("centroid", "leading"):
        a = jet_images(ak.Array([pt]), ak.Array([eta]), ak.Array([at_pi]), centre=centre)
        b = jet_images(ak.Array([pt]), ak.Array([eta]), ak.Array([dphi]), centre=centre)
        np.testing.assert_allclose(a, b, atol=1e-6)
        assert (a[0] > 0).sum() > 10


def test_unnormalised_sum_is_the_in_window_pt():
    rng = np.random.default_rng(3)
    pt, eta, phi = random_jets(rng, 200)
    images, empty = jet_images(pt, eta, phi, normalise=False, rotate=False, flip=False,
                               return_empty=True)
    # without rotation the in-window test is a plain cut on the centred coordinates
    for j in range(len(images)):
        p, e, f = (np.asarray(a[j], dtype=np.float64) for a in (pt, eta, phi))
        keep = p > 0
        if not keep.any():
            assert empty[j] and not images[j].any()
            continue
        lead = np.argmax(p)
        df = np.angle(np.exp(1j * (f - f[lead])))
        de = e - e[lead]
        de = de - np.average(de[keep], weights=p[keep])
        df = df - np.average(df[keep], weights=p[keep])
        inside = keep & (np.floor((de + HW) / 0.04) >= 0) & (np.floor((de + HW) / 0.04) < 40) \
            & (np.floor((df + HW) / 0.04) >= 0) & (np.floor((df + HW) / 0.04) < 40)
        assert images[j].sum(dtype=np.float64) == pytest.approx(p[inside].sum(), rel=1e-5)


@pytest.mark.parametrize("options", [
    {},
    {"centre": "leading"},
    {"rotate": False},
    {"flip": False},
    {"normalise": False},
    {"rotate": False, "flip": False, "normalise": False, "centre": "leading"},
    {"npix": 33, "half_width": 0.6},
])
def test_agrees_with_per_jet_numpy_reference(options):
    # at least 3 constituents with pt > 0: with 2, both lie exactly on the rotated axis,
    # phi' = 0 up to rounding, and which side of the pixel edge they fall is rounding noise
    rng = np.random.default_rng(11)
    pt, eta, phi = random_jets(rng, 330, min_count=3)
    generic = ak.to_numpy(ak.sum(pt > 0, axis=1)) >= 3
    pt, eta, phi = pt[generic], eta[generic], phi[generic]
    assert len(pt) >= 300
    images = jet_images(pt, eta, phi, **options)
    expected = np.stack([reference_image(pt[j], eta[j], phi[j], **options) for j in range(len(pt))])
    scale = 1.0 if options.get("normalise", True) else 100.0
    np.testing.assert_allclose(images, expected, atol=1e-6 * scale, rtol=1e-6)


def test_empty_and_single_constituent_jets():
    pt = ak.Array([[], [10.0], [0.0, 0.0], [5.0, 5.0]])
    eta = ak.Array([[], [0.1], [0.0, 0.1], [0.0, 5.0]])
    phi = ak.Array([[], [0.2], [0.0, 0.1], [0.0, 0.0]])
    images, empty = jet_images(pt, eta, phi, return_empty=True)
    assert images.shape == (4, NPIX, NPIX) and images.dtype == np.float32
    assert empty.tolist() == [True, False, True, True]
    assert not np.isnan(images).any()
    assert not images[0].any() and not images[2].any()
    assert images[1].sum() == pytest.approx(1.0)
    # 2 constituents 5 apart in eta: the centroid is half-way, both fall outside +-0.8 unless the
    # leading constituent is the centre
    assert jet_images(pt[3:], eta[3:], phi[3:], centre="leading", return_empty=True)[1].tolist() == [False]


def test_float64_and_float32_inputs_and_zero_jets():
    rng = np.random.default_rng(5)
    pt, eta, phi = random_jets(rng, 50)
    a = jet_images(pt, eta, phi)
    b = jet_images(*(ak.values_astype(x, np.float64) for x in (pt, eta, phi)))
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert jet_images(pt[:0], eta[:0], phi[:0]).shape == (0, NPIX, NPIX)
    with pytest.raises(ValueError, match="same number"):
        jet_images(pt, eta[::-1], phi)


def test_pixelate_core_sums_shared_pixels():
    pt = ak.Array([[1.0, 2.0, 4.0]])
    eta = ak.Array([[0.01, 0.02, 0.9]])   # the last one is outside
    phi = ak.Array([[-0.01, -0.02, 0.0]])
    image = pixelate(pt, eta, phi)[0]
    assert image[20, 19] == pytest.approx(3.0)
    assert image.sum() == pytest.approx(3.0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.tuples(st.floats(0.0, 1e4), st.floats(-5.0, 5.0), st.floats(-10.0, 10.0)),
                         max_size=12), min_size=1, max_size=6),
       st.sampled_from(["centroid", "leading"]), st.booleans(), st.booleans())
def test_random_jets_never_give_nan_and_normalised_sums_are_one(jets, centre, rotate, flip):
    images, empty = jet_images(*_jets(*jets), centre=centre, rotate=rotate, flip=flip,
                               return_empty=True)
    assert np.isfinite(images).all()
    sums = images.sum(axis=(1, 2), dtype=np.float64)
    np.testing.assert_allclose(sums[~empty], 1.0, rtol=1e-5)
    assert (sums[empty] == 0).all()
