"""N-subjettiness: hand-computed prongs, degenerate jets, a per-jet FastJet reference, and the
vectorised hand computation hepdl used before the fjcontrib binding."""

from __future__ import annotations

import warnings

import awkward as ak
import numpy as np
import pytest

from hepdl.physics.kinematics import rapidity as fastjet_rapidity
from hepdl.physics.substructure import nsubjettiness, tau_ratio

#: kt radius of the exclusive-kt axes (FastJet's JetDefinition::max_allowable_R, as KT_Axes)
KT_AXES_R = 1000.0


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
                 for pt, eta, phi, e in zip(jet_pt, jet_eta, jet_phi, jet_e, strict=True)]
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


def test_r0_scales_normalisation():
    rng = np.random.default_rng(3)
    counts = np.array([12, 30, 5])
    total = counts.sum()
    pt, eta, phi = rng.exponential(20.0, total) + 1, rng.normal(0, 0.3, total), rng.normal(0, 0.3, total)
    arrays = [ak.unflatten(x, counts) for x in (pt, eta, phi, pt * np.cosh(eta))]
    np.testing.assert_allclose(nsubjettiness(*arrays, r0=0.4), 2 * nsubjettiness(*arrays, r0=0.8), rtol=1e-6)


def test_zero_pt_jets_give_zero_and_zero_pt_constituents_keep_one_row_per_jet():
    """fjcontrib gives 0/0 = NaN for a jet with no pt; a pt = 0 constituent (e.g. padding) becomes its
    own inclusive jet of the interface's clustering, which must not add a row."""
    pt = ak.Array([[0.0, 0.0, 0.0, 0.0], [50.0, 0.0, 30.0, 20.0, 10.0], [40.0, 30.0]])
    eta = ak.Array([[0.1, 0.2, 0.3, -0.1], [0.0, 0.0, 0.1, 0.2, -0.1], [0.0, 0.1]])
    phi = ak.Array([[0.0, 0.1, 0.2, 0.3], [0.0, 0.0, 0.1, -0.2, 0.1], [0.0, 0.1]])
    energy = ak.Array([[1.0, 2.0, 3.0, 1.0], [50.0, 0.0, 30.2, 20.4, 10.1], [40.0, 30.2]])
    tau = nsubjettiness(pt, eta, phi, energy)
    assert tau.shape == (3, 3) and np.all(np.isfinite(tau))
    assert np.all(tau[0] == 0)
    # the zero constituent carries no weight: the same tau as without it
    without = nsubjettiness(*(ak.Array([ak.to_list(a[1])[:1] + ak.to_list(a[1])[2:]]) for a in (pt, eta, phi, energy)))
    np.testing.assert_allclose(tau[1, :2], without[0, :2], rtol=1e-6)


# --------------------------------------------------------------------------- the hand computation
# hepdl's vectorised N-subjettiness before it used fjcontrib's binding (hepdl/physics/substructure.py
# at commit cf3a08a), kept as an independent reference: exclusive-kt axes from fastjet, distances
# and sums in numpy. ``rapidity`` is the constituent rapidity: the old code raised E to |p|
# (``_rapidity_e_raised``); FastJet's arithmetic (hepdl.physics.kinematics.rapidity) keeps E.


def _rapidity_e_raised(px, py, pz, energy):
    p = np.sqrt(px * px + py * py + pz * pz)
    e = np.maximum(energy, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        rap = 0.5 * np.log((e + pz) / (e - pz))
    return np.where(np.isfinite(rap), rap, 0.0)


def _hand_exclusive_kt_axes(px, py, pz, energy, counts, n_axes_list):
    import fastjet

    offsets = np.concatenate([[0], np.cumsum(counts)])
    content = ak.contents.RecordArray(
        [ak.contents.NumpyArray(x) for x in (px, py, pz, energy)], ["px", "py", "pz", "E"],
        parameters={"__record__": "Momentum4D"})
    particles = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), content))
    jetdef = fastjet.JetDefinition(fastjet.kt_algorithm, KT_AXES_R, fastjet.E_scheme)
    result = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="dcut and exclusive jets", category=UserWarning)
        sequence = fastjet.ClusterSequence(particles, jetdef)
        for n_axes in n_axes_list:
            axes = sequence.exclusive_jets(n_jets=n_axes)
            ax = {f: np.asarray(ak.flatten(axes[f], axis=1), dtype=np.float64).reshape(len(counts), n_axes)
                  for f in ("px", "py", "pz", "E")}
            result.append((_rapidity_e_raised(ax["px"], ax["py"], ax["pz"], ax["E"]), np.arctan2(ax["py"], ax["px"])))
    return result


def _hand_nsubjettiness(const_pt, const_eta, const_phi, const_e, n_max=3, r0=0.8, rapidity=_rapidity_e_raised):
    """float64 (n_jets, n_max) tau_N, the pre-binding hepdl computation (see above)."""
    counts = np.asarray(ak.num(const_pt, axis=1), dtype=np.int64)
    pt, eta, phi, energy = (np.asarray(ak.flatten(a, axis=1), dtype=np.float64)
                            for a in (const_pt, const_eta, const_phi, const_e))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    rap = rapidity(px, py, pz, energy)
    n_jets = len(counts)
    tau = np.zeros((n_jets, n_max), dtype=np.float64)
    jet_of_const = np.repeat(np.arange(n_jets), counts)
    norm = np.bincount(jet_of_const, weights=pt, minlength=n_jets) * r0
    group = np.minimum(counts, n_max + 1)
    for size in np.unique(group):
        n_axes_list = list(range(1, min(int(size) - 1, n_max) + 1)) if size <= n_max else list(range(1, n_max + 1))
        if not n_axes_list:
            continue
        jets = np.flatnonzero(group == size)
        keep = np.isin(jet_of_const, jets)
        sub_counts = counts[jets]
        local = np.repeat(np.arange(len(jets)), sub_counts)
        sub_pt, sub_rap, sub_phi = pt[keep], rap[keep], phi[keep]
        all_axes = _hand_exclusive_kt_axes(px[keep], py[keep], pz[keep], energy[keep], sub_counts, n_axes_list)
        for n_axes, (axis_rap, axis_phi) in zip(n_axes_list, all_axes, strict=True):
            drap = sub_rap[:, None] - axis_rap[local]
            dphi = (sub_phi[:, None] - axis_phi[local] + np.pi) % (2.0 * np.pi) - np.pi
            min_dr = np.sqrt(np.min(drap * drap + dphi * dphi, axis=1))
            numerator = np.bincount(local, weights=sub_pt * min_dr, minlength=len(jets))
            with np.errstate(divide="ignore", invalid="ignore"):
                tau[jets, n_axes - 1] = np.where(norm[jets] > 0, numerator / norm[jets], 0.0)
    return tau


def _relative_difference(new, old):
    new, old = np.asarray(new, dtype=np.float64), np.asarray(old, dtype=np.float64)
    both_zero = (new == 0) & (old == 0)
    return np.where(both_zero, 0.0, np.abs(new - old) / np.maximum(np.abs(old), 1e-300))


@pytest.mark.parametrize("process", ["qcd", "top"])
def test_binding_matches_the_hand_computation_on_pythia_jets(generated_jets_arrays, process):
    """fjcontrib's tau_N = hepdl's former hand computation (150 QCD / 100 top Pythia jets).

    The definitions agree; the one difference is the rapidity of constituents with E < |p|
    (float32 rounding of massless particles): with FastJet's rapidity the hand computation
    agrees to float64 rounding, with its own (E raised to |p|) to a few 1e-6 relative.
    """
    jets = generated_jets_arrays[process]
    arrays = [jets[name] for name in ("const_pt", "const_eta", "const_phi", "const_e")]
    tau = nsubjettiness(*arrays)
    assert np.all(tau[:, 0] > 0)  # real jets have more than one constituent
    same_rapidity = _relative_difference(tau, _hand_nsubjettiness(*arrays, rapidity=fastjet_rapidity))
    assert same_rapidity.max() < 2e-7  # float32 rounding of the result (2^-24 = 6e-8, twice)
    former = _relative_difference(tau, _hand_nsubjettiness(*arrays))
    assert former.max() < 2e-5 and np.median(former) < 1e-7


def test_binding_matches_the_hand_computation_to_float64_rounding():
    """Synthetic massive jets across phi = +-pi, 1 to 60 constituents, all N <= 5."""
    from hepdl.physics.kinematics import px_py_pz
    from hepdl.physics.substructure import _njettiness

    rng = np.random.default_rng(11)
    counts = rng.integers(1, 60, 300)
    total = counts.sum()
    pt = rng.exponential(15.0, total) + 0.3
    eta = rng.normal(0.0, 0.4, total) + np.repeat(rng.uniform(-2.0, 2.0, len(counts)), counts)
    phi = rng.normal(0.0, 0.4, total) + np.repeat(rng.uniform(-np.pi, np.pi, len(counts)), counts)
    phi = (phi + np.pi) % (2 * np.pi) - np.pi
    energy = np.sqrt((pt * np.cosh(eta)) ** 2 + rng.uniform(0.0, 1.0, total) ** 2)
    arrays = [ak.unflatten(x, counts) for x in (pt, eta, phi, energy)]
    tau = _njettiness(counts, *px_py_pz(pt, eta, phi), energy, n_max=5, r0=1.0)
    hand = _hand_nsubjettiness(*arrays, n_max=5, r0=1.0, rapidity=fastjet_rapidity)
    assert _relative_difference(tau, hand).max() < 1e-10
    assert np.array_equal(tau == 0, np.arange(1, 6)[None, :] >= counts[:, None])


def _compare_on_generated_jets(n_jets: int, repeats: int) -> None:
    """Agreement and speed, binding vs the former hand computation, on freshly generated jets."""
    import time

    from hepdl.generation.generate import generate_jets

    for process, seed in (("qcd", 11), ("top", 12)):
        jets = generate_jets(process, n_jets, seed, {}, progress=False)
        arrays = [jets[name] for name in ("const_pt", "const_eta", "const_phi", "const_e")]
        nsubjettiness(*(a[:10] for a in arrays)), _hand_nsubjettiness(*(a[:10] for a in arrays))  # warm up
        best = {"hand computation (before)": np.inf, "fjcontrib binding (now)": np.inf}
        for _ in range(repeats):  # interleaved, best of `repeats`
            for name, function in (("hand computation (before)", _hand_nsubjettiness),
                                   ("fjcontrib binding (now)", nsubjettiness)):
                start = time.perf_counter()
                function(*arrays)
                best[name] = min(best[name], time.perf_counter() - start)
        # the former output was float32: compare what each returned
        diff = _relative_difference(nsubjettiness(*arrays), _hand_nsubjettiness(*arrays).astype(np.float32))
        hand = _hand_nsubjettiness(*arrays, rapidity=fastjet_rapidity)
        exact = _relative_difference(_njettiness_float64(*arrays), hand)
        print(f"{process}: {len(jets)} jets (seed {seed}), median {np.median(ak.num(arrays[0])):.0f} constituents")
        for n in range(3):
            print(f"  tau{n + 1}: float32 outputs identical for {np.mean(diff[:, n] == 0):.1%} of jets, relative "
                  f"difference max {diff[:, n].max():.2e}, median {np.median(diff[:, n]):.2e}, mean "
                  f"{diff[:, n].mean():.2e}; float64 with FastJet's rapidity: max {exact[:, n].max():.2e}")
        for name, seconds in best.items():
            print(f"  {name}: {len(jets) / seconds:,.0f} jets/s ({seconds:.3f} s)")


def _njettiness_float64(const_pt, const_eta, const_phi, const_e):
    from hepdl.physics.kinematics import px_py_pz
    from hepdl.physics.substructure import _njettiness

    counts = np.asarray(ak.num(const_pt, axis=1), dtype=np.int64)
    pt, eta, phi, energy = (np.asarray(ak.flatten(a), dtype=np.float64)
                            for a in (const_pt, const_eta, const_phi, const_e))
    return _njettiness(counts, *px_py_pz(pt, eta, phi), energy, n_max=3, r0=0.8)


if __name__ == "__main__":
    # PYTHONPATH=. python tests/test_substructure.py [n_jets per process] [repeats]
    import sys

    _compare_on_generated_jets(int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
                               int(sys.argv[2]) if len(sys.argv) > 2 else 3)
