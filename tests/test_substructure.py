"""N-subjettiness: hand-computed prongs, degenerate jets, and a per-jet FastJet reference."""

from __future__ import annotations

import warnings

import awkward as ak
import numpy as np
import pytest

from hepdl.physics.substructure import KT_AXES_R, nsubjettiness, tau_ratio


def _jets(jets: list[list[tuple[float, float, float]]]):
    """Jagged (pt, eta, phi, E) of massless constituents from lists of (pt, eta, phi)."""
    pt = ak.Array([[c[0] for c in jet] for jet in jets])
    eta = ak.Array([[c[1] for c in jet] for jet in jets])
    phi = ak.Array([[c[2] for c in jet] for jet in jets])
    energy = pt * np.cosh(eta)
    return pt, eta, phi, energy


def test_two_prong_jet_hand_computation():
    # two prongs of two particles each, at eta 0; phi 0 / 0.02 and 0.4 / 0.42 (eta = y: massless, centred)
    jet = [(100, 0.0, 0.0), (100, 0.0, 0.02), (100, 0.0, 0.4), (100, 0.0, 0.42)]
    tau = nsubjettiness(*_jets([jet]), n_max=3, r0=0.8)[0]
    # tau_2: axes at the prong centres, every particle 0.01 away: 400 * 0.01 / (400 * 0.8)
    assert tau[1] == pytest.approx(0.01 / 0.8, rel=1e-4)
    # tau_1: one axis at phi 0.21 (E-scheme sum of symmetric momenta), distances 0.21, 0.19, 0.19, 0.21
    assert tau[0] == pytest.approx((0.21 + 0.19 + 0.19 + 0.21) / 4 / 0.8, rel=2e-3)
    assert tau[1] / tau[0] < 0.1
    # tau_3: one prong resolved into its two particles, the other still 0.01 + 0.01 away
    assert tau[2] == pytest.approx(0.02 * 100 / (400 * 0.8), rel=1e-3)


def test_three_prong_jet_has_small_tau32():
    prongs = [(0.0, 0.0), (0.3, 0.1), (-0.1, 0.35)]
    jet = []
    for eta, phi in prongs:
        jet += [(80, eta, phi), (20, eta + 0.01, phi - 0.01), (10, eta - 0.015, phi + 0.005)]
    one_prong = [(150, 0.0, 0.0), (80, 0.02, 0.01), (40, -0.01, 0.03), (20, 0.03, -0.02)]
    tau = nsubjettiness(*_jets([jet, one_prong]), n_max=3)
    tau32 = tau_ratio(tau[:, 2], tau[:, 1])
    assert tau32[0] < 0.1
    assert tau32[1] > 0.3
    assert tau.dtype == np.float32 and tau.shape == (2, 3)


def test_phi_wraps_around_pi():
    # the same two-prong jet rotated to straddle phi = +-pi gives the same tau
    base = [(100, 0.1, -0.1), (60, 0.12, -0.08), (100, 0.1, 0.2), (40, 0.05, 0.22)]
    shifted = [(pt, eta, (phi + np.pi + 0.05 + np.pi) % (2 * np.pi) - np.pi) for pt, eta, phi in base]
    tau = nsubjettiness(*_jets([base, shifted]))
    np.testing.assert_allclose(tau[0], tau[1], rtol=1e-5)


def test_few_and_no_constituents_give_zero():
    jets = [[], [(100, 0.0, 0.0)], [(100, 0.0, 0.0), (50, 0.1, 0.1)], [(100, 0, 0), (50, 0.1, 0.1), (20, -0.2, 0.1)]]
    pt = ak.values_astype(ak.Array([[c[0] for c in j] for j in jets]), np.float32)
    eta = ak.values_astype(ak.Array([[c[1] for c in j] for j in jets]), np.float32)
    phi = ak.values_astype(ak.Array([[c[2] for c in j] for j in jets]), np.float32)
    tau = nsubjettiness(pt, eta, phi, pt * np.cosh(eta))
    assert np.all(tau[0] == 0)
    assert np.all(tau[1] == 0)
    assert tau[2, 0] > 0 and np.all(tau[2, 1:] == 0)
    assert np.all(tau[3, :2] > 0) and tau[3, 2] == 0
    assert tau_ratio(tau[:, 2], tau[:, 1]).tolist() == [1.0, 1.0, 1.0, 0.0]


def test_empty_input():
    empty = ak.Array([[0.0]])[:0]
    assert nsubjettiness(empty, empty, empty, empty).shape == (0, 3)


def _reference_tau(jet_pt, jet_eta, jet_phi, jet_e, n_max, r0):
    """Per-jet FastJet PseudoJet computation (slow, independent of the vectorised path)."""
    import fastjet

    jetdef = fastjet.JetDefinition(fastjet.kt_algorithm, KT_AXES_R, fastjet.E_scheme)
    particles = [fastjet.PseudoJet(float(pt * np.cos(phi)), float(pt * np.sin(phi)), float(pt * np.sinh(eta)), float(e))
                 for pt, eta, phi, e in zip(jet_pt, jet_eta, jet_phi, jet_e)]
    tau = np.zeros(n_max)
    for n in range(1, n_max + 1):
        if len(particles) <= n:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sequence = fastjet.ClusterSequence(particles, jetdef)
            axes = sequence.exclusive_jets(n)
        num = sum(p.pt() * min(p.delta_R(a) for a in axes) for p in particles)
        tau[n - 1] = num / (sum(p.pt() for p in particles) * r0)
    return tau


def test_matches_per_jet_fastjet_reference():
    rng = np.random.default_rng(7)
    n_jets = 25
    counts = rng.integers(1, 30, n_jets)
    total = counts.sum()
    pt = rng.exponential(20.0, total) + 0.5
    eta = rng.normal(0.3, 0.25, total)
    phi = rng.normal(3.0, 0.25, total)  # straddles +-pi after wrapping
    phi = (phi + np.pi) % (2 * np.pi) - np.pi
    mass = 0.14
    energy = np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)
    arrays = [ak.unflatten(x.astype(np.float32), counts) for x in (pt, eta, phi, energy)]
    tau = nsubjettiness(*arrays, n_max=3, r0=0.8)
    for j in range(n_jets):
        ref = _reference_tau(*(ak.to_numpy(a[j]).astype(np.float64) for a in arrays), n_max=3, r0=0.8)
        np.testing.assert_allclose(tau[j], ref, rtol=2e-4, atol=1e-6, err_msg=f"jet {j}")
