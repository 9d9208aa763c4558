"""hepdl.physics.kinematics: the one azimuth convention, rapidities and four-momenta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepdl.physics.kinematics import (
    PI32,
    delta_phi,
    delta_phi_jit,
    jet_four_momenta,
    jet_four_momentum_jit,
    pseudorapidity,
    pt_eta_phi_m,
    pt_eta_phi_m_jit,
    px_py_pz,
    rapidity,
    wrap_phi,
    wrap_phi32,
    wrap_phi_jit,
)

F32_PI = np.float32(np.pi)


def _random_phis():
    rng = np.random.default_rng(0)
    near_pi = np.concatenate([np.pi + rng.normal(0, 1e-7, 2000), -np.pi + rng.normal(0, 1e-7, 2000)])
    return np.concatenate([rng.uniform(-50, 50, 20000), rng.uniform(-4, 4, 20000), near_pi,
                           np.nextafter(np.pi, 10), np.nextafter(-np.pi, -10), np.nextafter(np.pi, 0),
                           np.nextafter(-np.pi, 0), [1e6, -1e6, 0.0, -0.0]], axis=None)


# --------------------------------------------------------------------------- azimuth


@pytest.mark.parametrize("phi, expected", [
    (np.pi, np.pi), (-np.pi, np.pi), (3 * np.pi, np.pi), (-3 * np.pi, np.pi), (2 * np.pi, 0.0),
    (-2 * np.pi, 0.0), (0.5, 0.5), (-0.5, -0.5), (np.pi + 0.5, -np.pi + 0.5), (-np.pi - 0.5, np.pi - 0.5),
    (4.0, 4.0 - 2 * np.pi)])
def test_wrap_phi_edge_values(phi, expected):
    assert wrap_phi(phi) == pytest.approx(expected, abs=1e-15)
    assert wrap_phi_jit(phi) == pytest.approx(expected, abs=1e-15)


def test_wrap_phi_range_and_in_range_values_unchanged():
    phi = _random_phis()
    wrapped = wrap_phi(phi)
    assert np.all((wrapped > -np.pi) & (wrapped <= PI32))
    inside = (phi > -np.pi) & (phi <= PI32)
    assert np.array_equal(wrapped[inside], phi[inside])  # bit for bit
    np.testing.assert_allclose(np.cos(wrapped), np.cos(phi), atol=1e-9)  # the same angle
    np.testing.assert_allclose(np.sin(wrapped), np.sin(phi), atol=1e-9)


def test_wrap_phi_keeps_float32_pi_read_from_a_file():
    """float32(pi) = pi + 8.7e-8 is the top of the stored range: it must not flip to -pi."""
    assert wrap_phi(np.float64(F32_PI)) == np.float64(F32_PI)
    assert wrap_phi_jit(float(F32_PI)) == float(F32_PI)
    assert wrap_phi32(np.array([F32_PI]))[0] == F32_PI


def test_wrap_phi_float64_input_in_range_is_not_copied_and_nan_propagates():
    phi = np.array([0.1, -3.0, 3.0])
    assert wrap_phi(phi) is phi
    assert np.isnan(wrap_phi(np.array([np.nan, 4.0]))[0])
    assert np.isnan(wrap_phi_jit(math.nan))
    assert np.all(np.isnan(wrap_phi(np.array([np.inf, -np.inf]))))  # no angle
    assert np.isnan(wrap_phi_jit(math.inf)) and np.isnan(wrap_phi_jit(-math.inf))


def test_wrap_phi_numba_equals_numpy_bit_for_bit():
    phi = _random_phis()
    assert np.array_equal(np.array([wrap_phi_jit(float(x)) for x in phi]), wrap_phi(phi))


def test_wrap_phi32_range_float32_rounding_at_pi_and_idempotent():
    phi = _random_phis()
    stored = wrap_phi32(phi)
    assert stored.dtype == np.float32
    assert np.all((stored > -F32_PI) & (stored <= F32_PI))
    # pi, -pi, 3 pi and a float64 just above -pi (which rounds to -float32(pi)) are all stored as float32(pi)
    edge = wrap_phi32(np.array([np.pi, -np.pi, 3 * np.pi, -np.pi + 1e-9, 0.5]))
    assert np.all(edge[:4] == F32_PI) and edge[4] == np.float32(0.5)
    assert np.array_equal(wrap_phi32(stored), stored)  # stored values read back are unchanged
    assert np.all(np.abs(delta_phi(stored, phi)) <= 2.5e-7)  # the same angle, up to float32 rounding


def test_wrap_phi32_of_minus_float32_pi():
    """-float32(pi) (= -pi - 8.7e-8) is the angle pi - 8.7e-8: the float32 just below pi."""
    assert wrap_phi32(np.array([-F32_PI]))[0] == np.nextafter(F32_PI, np.float32(0))


def test_delta_phi():
    assert delta_phi(3.0, -3.0) == pytest.approx(6.0 - 2 * np.pi)
    assert delta_phi(-3.0, 3.0) == pytest.approx(2 * np.pi - 6.0)
    assert delta_phi(np.pi, 0.0) == np.pi and delta_phi(0.0, np.pi) == np.pi  # -pi -> +pi
    assert delta_phi_jit(0.0, np.pi) == np.pi
    a, b = _random_phis(), _random_phis()[::-1]
    assert np.array_equal(delta_phi(a, b), np.array([delta_phi_jit(x, y) for x, y in zip(a, b, strict=True)]))


# --------------------------------------------------------------------------- rapidities and four-momenta


def test_massless_four_momentum_round_trip():
    rng = np.random.default_rng(1)
    pt, eta, phi = rng.uniform(1, 500, 1000), rng.uniform(-4, 4, 1000), rng.uniform(-np.pi, np.pi, 1000)
    px, py, pz = px_py_pz(pt, eta, phi)
    energy = pt * np.cosh(eta)
    pt2, eta2, phi2, mass = pt_eta_phi_m(px, py, pz, energy)
    np.testing.assert_allclose(pt2, pt, rtol=1e-12)
    np.testing.assert_allclose(eta2, eta, atol=1e-12)
    np.testing.assert_allclose(phi2, phi, atol=1e-12)
    assert np.all(mass < 1e-5 * energy)  # massless up to rounding (m^2 < 0 -> 0)
    np.testing.assert_allclose(rapidity(px, py, pz, energy), eta, atol=1e-9)  # massless: y = eta


def test_massive_four_momentum():
    pt, eta, phi, m = 100.0, 0.7, -2.0, 173.0
    px, py, pz = px_py_pz(pt, eta, phi)
    energy = math.sqrt((pt * math.cosh(eta)) ** 2 + m * m)
    out = tuple(float(x) for x in pt_eta_phi_m(px, py, pz, energy))
    assert out == pytest.approx((pt, eta, phi, m), rel=1e-12)
    assert pt_eta_phi_m_jit(float(px), float(py), float(pz), energy) == pytest.approx(out, rel=1e-15)
    y = rapidity(px, py, pz, energy)
    assert y == pytest.approx(0.5 * math.log((energy + pz) / (energy - pz)), rel=1e-12)
    assert abs(y) < abs(eta)  # massive: |y| < |eta|
    assert rapidity(px, py, -pz, energy) == pytest.approx(-y, rel=1e-15)


def test_rapidity_matches_fastjet_for_tachyonic_rounding():
    """E slightly below |p| (float32 rounding): FastJet takes m^2 = 0 and keeps E."""
    import fastjet

    rng = np.random.default_rng(2)
    px, py, pz = rng.normal(0, 50, (3, 200))
    energy = np.sqrt(px**2 + py**2 + pz**2) * (1 - rng.uniform(0, 2e-7, 200))
    reference = np.array([fastjet.PseudoJet(*v).rap() for v in zip(px, py, pz, energy, strict=True)])
    np.testing.assert_allclose(rapidity(px, py, pz, energy), reference, rtol=1e-14, atol=1e-15)


def test_pt_zero_and_signed_zero():
    assert pseudorapidity(0.0, 5.0) == np.inf and pseudorapidity(0.0, -5.0) == -np.inf
    assert np.isnan(pseudorapidity(0.0, 0.0))
    assert rapidity(0.0, 0.0, 5.0, 5.0) == np.inf and rapidity(0.0, 0.0, -5.0, 5.0) == -np.inf
    assert pt_eta_phi_m_jit(0.0, 0.0, 5.0, 5.0)[1] == math.inf
    assert math.isnan(pt_eta_phi_m_jit(0.0, 0.0, 0.0, 0.0)[1])
    # atan2(-0.0, -1) = -pi: the one atan2 value outside (-pi, pi]
    assert pt_eta_phi_m(-1.0, -0.0, 0.0, 1.0)[2] == np.pi
    assert pt_eta_phi_m_jit(-1.0, -0.0, 0.0, 1.0)[2] == np.pi


def test_pt_eta_phi_m_numba_equals_numpy():
    """pt and m bit for bit; eta and phi to the last bit (numpy's and libm's asinh / atan2 differ)."""
    rng = np.random.default_rng(3)
    p4 = rng.normal(0, 100, (4, 500))
    p4[3] = np.abs(p4[3]) + np.sqrt((p4[:3] ** 2).sum(axis=0))
    numpy_out = np.stack(pt_eta_phi_m(*p4))
    numba_out = np.array([pt_eta_phi_m_jit(*map(float, v)) for v in p4.T]).T
    assert np.array_equal(numpy_out[[0, 3]], numba_out[[0, 3]])
    np.testing.assert_allclose(numpy_out[[1, 2]], numba_out[[1, 2]], rtol=0, atol=1e-15)


def test_jet_four_momenta_with_empty_jets():
    counts = np.array([2, 0, 1, 0])
    px, py, pz, energy = (np.array([1.0, 2.0, 3.0]), np.array([0.5, -0.5, 1.0]), np.array([0.0, 1.0, -2.0]),
                          np.array([2.0, 3.0, 4.0]))
    jet = jet_four_momenta(counts, px, py, pz, energy)
    assert [list(x) for x in jet] == [[3.0, 0.0, 3.0, 0.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, -2.0, 0.0],
                                      [5.0, 0.0, 4.0, 0.0]]
    assert all(len(x) == 0 for x in jet_four_momenta(np.zeros(0, int), *(np.zeros(0),) * 4))
    pt, eta, _, mass = pt_eta_phi_m(*jet)
    assert pt[1] == 0 and mass[1] == 0 and np.isnan(eta[1])  # empty jet: the caller decides eta
    with pytest.raises(ValueError, match="counts sum to 3"):
        jet_four_momenta(counts, px[:2], py, pz, energy)


def test_jet_four_momenta_is_a_sequential_sum():
    """The same numbers as adding the constituents one by one (as a numba loop would)."""
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 50, 100)
    flat = rng.normal(0, 100, (4, counts.sum()))
    jet = np.stack(jet_four_momenta(counts, *flat))
    start = 0
    for j, n in enumerate(counts):
        total = [0.0, 0.0, 0.0, 0.0]
        for k in range(start, start + n):
            for c in range(4):
                total[c] += flat[c, k]
        assert list(jet[:, j]) == total
        start += n


def test_jet_four_momentum_jit_equals_the_numpy_sum():
    rng = np.random.default_rng(5)
    p4 = rng.normal(0, 100, (4, 40))
    members = rng.permutation(40)[:25]
    jet = jet_four_momenta(np.array([25]), *p4[:, members])
    assert jet_four_momentum_jit(p4, members) == tuple(float(x[0]) for x in jet)
    assert jet_four_momentum_jit(p4, members[:0]) == (0.0, 0.0, 0.0, 0.0)


def test_generation_jet_record_can_use_these_functions():
    """hepdl.generation.jet_record's jet kinematics = jet_four_momentum_jit + pt_eta_phi_m_jit, bit
    for bit (phi: up to the -pi -> pi wrap), so generation can switch over without output change."""
    from hepdl.generation.jet_record import jet_from_constituents

    rng = np.random.default_rng(6)
    for _ in range(50):
        p4 = rng.normal(0, 50, (4, 30))
        p4[3] = np.sqrt((p4[:3] ** 2).sum(axis=0) + rng.uniform(0, 1, 30))
        members = np.sort(rng.permutation(30)[: rng.integers(1, 30)])
        jet, _ = jet_from_constituents(p4, members, 10)
        ours = pt_eta_phi_m_jit(*jet_four_momentum_jit(p4, members))
        assert (ours[0], ours[1], ours[3]) == (jet[0], jet[1], jet[3])
        assert ours[2] == wrap_phi_jit(jet[2])
