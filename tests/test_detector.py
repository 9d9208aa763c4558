"""The parametric detector (hepdl.generation.detector) against the numbers of Delphes' ATLAS card.

Single-particle samples are synthetic arrays (no Pythia): many events of one particle each, so
efficiencies and resolutions are compared statistically with the card's formulas, written out
here from the card (cards/delphes_card_ATLAS.tcl) rather than read from the module. The last tests
generate a few hundred Pythia jets at both levels from the same events.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import uproot

from hepdl import cli
from hepdl.core.errors import ConfigError, HepdlError
from hepdl.generation.detector import (
    ECAL,
    HCAL,
    KIND_ECAL,
    KIND_HCAL,
    KIND_TRACK,
    Particles,
    detector_key,
    energy_flow,
    make_tracks,
    propagate,
    uniform,
)
from hepdl.generation.generate import JetGenerator, generate_jets, resolve_settings
from hepdl.io.jets_file import BRANCHES, read_provenance

KEY = detector_key(12345)
MASS = {211: 0.13957, 11: 0.000511, 13: 0.10566, 22: 0.0, 130: 0.497611, 2112: 0.939565}
CHARGE = {211: 1.0, -211: -1.0, 11: -1.0, -11: 1.0, 13: -1.0, -13: 1.0, 22: 0.0, 130: 0.0, 2112: 0.0}


def particles(rows, vertex=(0.0, 0.0, 0.0), first_event: int = 0) -> Particles:
    """Particles from rows (event, pid, pt [GeV], eta, phi); vertex in mm; record index = row number in its event."""
    rows = np.array(rows, dtype=np.float64).reshape(-1, 5)
    event = rows[:, 0].astype(np.int64)
    pid = rows[:, 1].astype(np.int64)
    pt, eta, phi = rows[:, 2], rows[:, 3], rows[:, 4]
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    mass = np.array([MASS[abs(int(p))] for p in pid])
    n_events = int(event.max()) + 1 if len(event) else 0
    index = np.arange(len(event)) - np.searchsorted(event, event)
    vx, vy, vz = (np.full(len(event), float(v)) for v in vertex)
    return Particles(px=px, py=py, pz=pz, e=np.sqrt(px**2 + py**2 + pz**2 + mass**2), pid=pid,
                     charge=np.array([CHARGE[int(p)] for p in pid]), x=vx, y=vy, z=vz, event=event,
                     index=index, event_number=first_event + np.arange(n_events))


def single(pid: int, pt: float, eta: float, n: int = 20000, phi: float | None = None) -> Particles:
    """n events of one particle each, at random phi (or ``phi``)."""
    angles = np.random.default_rng(7).uniform(-np.pi, np.pi, n) if phi is None else np.full(n, phi)
    return particles(np.column_stack([np.arange(n), np.full(n, pid), np.full(n, pt), np.full(n, eta), angles]))


def per_event(flow, n_events: int, mask=None) -> np.ndarray:
    weights = flow.e if mask is None else flow.e * mask
    return np.bincount(flow.event, weights=weights, minlength=n_events)


def within(measured: float, expected: float, error: float, n_sigma: float = 4.0) -> bool:
    return abs(measured - expected) <= n_sigma * error


# ----------------------------------------------------------------------------- granularity

def test_calorimeter_cells_are_the_cards():
    """ECAL: 0.0174 x 1 degree for |eta| < 2.958 ("$i * 0.0174", "$i * $pi/180.0"), 0.175 x 10 degrees in
    the HF; HCAL: 0.1 x 10 degrees up to |eta| 2.5 ("# 10 degrees towers"), 20 degrees beyond 3.2."""
    inside, k, j = ECAL.cells(np.array([0.30, 2.0, 4.0, 5.5]), np.array([0.1, -3.0, 1.0, 0.0]))
    assert inside.tolist() == [True, True, True, False]
    widths = ECAL.eta_edges[k[:3]] - ECAL.eta_edges[k[:3] - 1]
    assert widths[:2] == pytest.approx([0.0174, 0.0174])
    assert widths[2] == pytest.approx(0.175)
    phi_width = [ECAL.phi_table[ECAL.phi_set[kk], jj] - ECAL.phi_table[ECAL.phi_set[kk], jj - 1]
                 for kk, jj in zip(k[:3], j[:3], strict=True)]
    assert phi_width == pytest.approx([math.pi / 180, math.pi / 180, math.pi / 18])
    assert ECAL.eta_edges[k[0] - 1] == pytest.approx(17 * 0.0174) and ECAL.eta_edges[k[0]] == pytest.approx(18 * 0.0174)
    inside, k, j = HCAL.cells(np.array([0.33, -2.45, 4.0]), np.array([0.1, 0.1, 0.1]))
    assert inside.all()
    assert (HCAL.eta_edges[k] - HCAL.eta_edges[k - 1]) == pytest.approx([0.1, 0.1, 0.2])
    phi_width = [HCAL.phi_table[HCAL.phi_set[kk], jj] - HCAL.phi_table[HCAL.phi_set[kk], jj - 1]
                 for kk, jj in zip(k, j, strict=True)]
    assert phi_width == pytest.approx([math.pi / 18, math.pi / 18, math.pi / 9])
    assert ECAL.eta_edges[[0, -1]].tolist() == [-5.0, 5.0] and HCAL.eta_edges[[0, -1]].tolist() == [-4.9, 4.9]


# ----------------------------------------------------------------------------- propagation

def test_charged_particles_bend_in_the_field_and_neutral_ones_go_straight():
    """A 1 GeV charge +1 from the origin along phi = 0 leaves the 1.15 m cylinder at
    phi = -asin(R / 2r), r = pT / (0.2998 * 2 T) (positive charges turn clockwise in +z field);
    a photon leaves at phi = 0; a 0.2 GeV pion curls up (2r < R) and leaves through an end."""
    sample = particles([[0, 211, 1.0, 0.0, 0.0], [1, 22, 1.0, 0.0, 0.0], [2, -211, 1.0, 0.0, 0.0],
                        [3, 211, 0.2, 0.5, 0.0], [4, 22, 50.0, 3.0, 1.0]])
    kept, x, y, z = propagate(sample)
    assert kept.all()
    radius = 1.0 / (0.299792458 * 2.0)
    bend = math.asin(1.15 / (2 * radius))
    assert np.arctan2(y[:3], x[:3]) == pytest.approx([-bend, 0.0, bend], abs=1e-9)
    assert np.hypot(x[:3], y[:3]) == pytest.approx(1.15, abs=1e-9)
    assert z[3] == pytest.approx(3.51) and np.hypot(x[3], y[3]) < 2 * 0.2 / (0.299792458 * 2.0) + 1e-9
    assert z[4] == pytest.approx(3.51) and np.arcsinh(z[4] / np.hypot(x[4], y[4])) == pytest.approx(3.0)


def test_displaced_vertices_propagate_from_the_vertex_and_outside_the_cylinder_is_dropped():
    """A photon made at x = 0.5 m flying along +y hits the cylinder at y = sqrt(1.15^2 - 0.5^2);
    particles made beyond 1.15 m (a late K0S decay, say) are dropped ("produced outside the cylinder")."""
    inside = particles([[0, 22, 10.0, 0.0, math.pi / 2]], vertex=(500.0, 0.0, 0.0))
    kept, x, y, _ = propagate(inside)
    assert kept.all() and x[0] == pytest.approx(0.5) and y[0] == pytest.approx(math.sqrt(1.15**2 - 0.25))
    outside = particles([[0, 22, 10.0, 0.0, 0.0], [0, 211, 10.0, 0.0, 0.0]], vertex=(1200.0, 0.0, 0.0))
    assert not propagate(outside)[0].any()
    assert len(energy_flow(outside, KEY).e) == 0


# ----------------------------------------------------------------------------- tracking

@pytest.mark.parametrize("pid, pt, eta, efficiency", [
    # module Efficiency ChargedHadronTrackingEfficiency
    (211, 0.5, 0.3, 0.70), (211, 5.0, 0.3, 0.95), (-211, 0.5, 2.0, 0.60), (211, 5.0, 2.0, 0.85),
    (211, 5.0, 2.7, 0.0), (211, 0.08, 0.3, 0.0),
    # module Efficiency ElectronTrackingEfficiency
    (11, 0.5, 0.3, 0.73), (11, 20.0, 0.3, 0.95), (-11, 200.0, 0.3, 0.99),
    (11, 0.5, 2.0, 0.50), (11, 20.0, 2.0, 0.83), (11, 200.0, 2.0, 0.90),
    # module Efficiency MuonTrackingEfficiency
    (13, 0.5, 0.3, 0.75), (13, 5.0, 1.0, 0.99), (-13, 0.5, 2.0, 0.70), (13, 5.0, 2.0, 0.98),
])
def test_tracking_efficiency_is_the_cards(pid, pt, eta, efficiency):
    n = 20000
    tracks = make_tracks(sample := single(pid, pt, eta, n), KEY, np.ones(n, bool), *_position(sample))
    measured = len(tracks.pt) / n
    assert within(measured, efficiency, math.sqrt(max(efficiency * (1 - efficiency), 1e-4) / n)), measured


def _position(sample: Particles) -> tuple[np.ndarray, np.ndarray]:
    _, x, y, z = propagate(sample)
    return np.arcsinh(z / np.hypot(x, y)), np.arctan2(y, x)


@pytest.mark.parametrize("pid, pt, eta, a, b", [
    (211, 100.0, 0.2, 0.06, 1.3e-3),  # "(abs(eta) <= 0.5) * (pt > 0.1) * sqrt(0.06^2 + pt^2*1.3e-3^2)"
    (211, 20.0, 1.0, 0.10, 1.7e-3),  # "(abs(eta) > 0.5 && abs(eta) <= 1.5) * (pt > 0.1) * sqrt(0.10^2 + pt^2*1.7e-3^2)"
    (211, 50.0, 2.0, 0.25, 3.1e-3),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 0.1) * sqrt(0.25^2 + pt^2*3.1e-3^2)"
    (11, 20.0, 2.0, 0.15, 3.1e-3),  # ElectronMomentumSmearing: "sqrt(0.15^2 + pt^2*3.1e-3^2)"
    (13, 50.0, 1.0, 0.015, 1.5e-4),  # MuonMomentumSmearing: "sqrt(0.015^2 + pt^2*1.5e-4^2)"
])
def test_track_momentum_resolution_is_the_cards(pid, pt, eta, a, b):
    """Log-normal smearing: mean pT unchanged, relative width sqrt(a^2 + pt^2 b^2); direction kept."""
    n = 20000
    sample = single(pid, pt, eta, n)
    tracks = make_tracks(sample, KEY, np.ones(n, bool), *_position(sample))
    ratio = tracks.pt / pt
    resolution = math.sqrt(a * a + pt * pt * b * b)
    assert within(ratio.mean(), 1.0, resolution / math.sqrt(len(ratio)))
    assert within(ratio.std(), resolution, resolution / math.sqrt(2 * len(ratio)))
    assert np.allclose(tracks.eta, eta) and np.allclose(tracks.phi, np.arctan2(sample.py, sample.px)[tracks.source])


def test_muons_are_tracks_only():
    """Muons: no calorimeter deposit ("add EnergyFraction {13} {0.0}" in both), so the energy flow is
    the smeared track: the card's muon resolution, end to end."""
    n = 20000
    flow = energy_flow(single(13, 50.0, 1.0, n), KEY)
    assert set(flow.kind.tolist()) == {KIND_TRACK}
    ratio = np.hypot(flow.px, flow.py) / 50.0
    resolution = math.sqrt(0.015**2 + 50.0**2 * 1.5e-4**2)
    assert within(ratio.std(), resolution, resolution / math.sqrt(2 * n))
    assert set(np.abs(flow.pid).tolist()) == {13} and set(np.abs(flow.charge).tolist()) == {1}


# ----------------------------------------------------------------------------- calorimeters

@pytest.mark.parametrize("pid, energy, eta, kind, sigma", [
    # ECal: "(abs(eta) <= 3.2) * sqrt(energy^2*0.0017^2 + energy*0.101^2)"
    (22, 100.0, 0.3, KIND_ECAL, math.sqrt(100.0**2 * 0.0017**2 + 100.0 * 0.101**2)),
    (22, 10.0, 2.2, KIND_ECAL, math.sqrt(10.0**2 * 0.0017**2 + 10.0 * 0.101**2)),
    # HCal: "(abs(eta) <= 1.7) * sqrt(energy^2*0.0302^2 + energy*0.5205^2 + 1.59^2)" (K0L: default fraction {0} {1.0})
    (130, 50.0, 0.3, KIND_HCAL, math.sqrt(50.0**2 * 0.0302**2 + 50.0 * 0.5205**2 + 1.59**2)),
    # HCal: "(abs(eta) > 1.7 && abs(eta) <= 3.2) * sqrt(energy^2*0.0500^2 + energy*0.706^2)"
    (2112, 200.0, 2.2, KIND_HCAL, math.sqrt(200.0**2 * 0.05**2 + 200.0 * 0.706**2)),
])
def test_calorimeter_resolution_is_the_cards(pid, energy, eta, kind, sigma):
    """A neutral particle makes one neutral object of its calorimeter: log-normal energy of mean E and
    width the card's ResolutionFormula (the thresholds are far below these energies)."""
    n = 20000
    mass = MASS[pid]
    pt = math.sqrt(energy**2 - mass**2) / math.cosh(eta)
    flow = energy_flow(single(pid, pt, eta, n), KEY)
    assert set(flow.kind.tolist()) == {kind} and len(flow.e) == n
    assert set(flow.pid.tolist()) == {22 if kind == KIND_ECAL else 0} and not flow.charge.any()
    assert np.allclose(flow.e**2, flow.px**2 + flow.py**2 + flow.pz**2)  # massless
    assert within(flow.e.mean(), energy, sigma / math.sqrt(n))
    assert within(flow.e.std(), sigma, sigma / math.sqrt(2 * n) * 1.5)  # (log-normal: a wider error of the width)


def test_cell_position_is_drawn_uniformly_within_the_cell():
    """"set SmearTowerCenter true": eta, phi uniform within the cell's edges."""
    n = 20000
    flow = energy_flow(single(22, 20.0, 0.300, n, phi=0.1), KEY)
    eta = np.arcsinh(flow.pz / np.hypot(flow.px, flow.py))
    phi = np.arctan2(flow.py, flow.px)
    lo, hi = 17 * 0.0174, 18 * 0.0174
    assert eta.min() >= lo - 1e-12 and eta.max() <= hi + 1e-12
    assert phi.min() >= 5 * math.pi / 180 - 1e-12 and phi.max() <= 6 * math.pi / 180 + 1e-12
    assert within(eta.mean(), (lo + hi) / 2, 0.0174 / math.sqrt(12 * n))
    assert within(eta.std(), 0.0174 / math.sqrt(12), 0.0174 / math.sqrt(12) / math.sqrt(n) * 1.2)


def test_two_photons_in_one_ecal_cell_become_one_object():
    """Photons of 20 and 30 GeV 0.005 apart in eta and phi, in one ECAL cell (0.2958-0.3132 x
    5-6 degrees): one photon object of about 50 GeV. 0.02 apart in eta (two cells): two objects."""
    n = 5000
    rows = [[e, 22, 20.0 / math.cosh(0.300), 0.300, 0.100] for e in range(n)]
    rows += [[e, 22, 30.0 / math.cosh(0.305), 0.305, 0.095] for e in range(n)]
    rows.sort(key=lambda row: row[0])
    flow = energy_flow(particles(rows), KEY)
    assert np.array_equal(flow.counts, np.ones(n)) and set(flow.kind.tolist()) == {KIND_ECAL}
    sigma = math.sqrt(50.0**2 * 0.0017**2 + 50.0 * 0.101**2)
    assert within(flow.e.mean(), 50.0, sigma / math.sqrt(n)) and within(flow.e.std(), sigma, 0.1 * sigma)
    apart = [[e, 22, 20.0, 0.300, 0.100] for e in range(200)] + [[e, 22, 30.0, 0.320, 0.100] for e in range(200)]
    apart.sort(key=lambda row: row[0])
    flow = energy_flow(particles(apart), KEY)
    assert np.array_equal(flow.counts, np.full(200, 2))


def test_photon_and_neutral_hadron_in_one_place_make_an_ecal_and_an_hcal_object():
    flow = energy_flow(particles([[0, 22, 30.0, 0.3, 0.1], [0, 130, 30.0, 0.3, 0.1]]), KEY)
    assert sorted(flow.kind.tolist()) == [KIND_ECAL, KIND_HCAL]


def test_charged_pion_track_and_its_hcal_deposit_are_not_double_counted():
    """A 50 GeV pi+ leaves a track and an HCAL deposit in the cell it points to: energy flow counts
    it once. With its track, the cell's excess over the track is rarely significant (then the track
    is scaled to the weighted mean of track and cell, no neutral object); without it (5% at
    |eta| < 1.5, "(pt > 1.0) * (0.95)"), the cell is a neutral hadron."""
    n = 20000
    energy = 50.0
    pt = math.sqrt(energy**2 - MASS[211] ** 2) / math.cosh(0.5)
    flow = energy_flow(single(211, pt, 0.5, n), KEY)
    total = per_event(flow, n)
    tracked = per_event(flow, n, flow.kind == KIND_TRACK) > 0
    neutral = per_event(flow, n, flow.kind == KIND_HCAL)
    assert within(tracked.mean(), 0.95, math.sqrt(0.95 * 0.05 / n))
    assert within(total.mean() / energy, 1.0, 0.003)  # once, not twice
    assert total.max() < 1.6 * energy
    assert np.mean(tracked & (neutral > 0)) < 0.05  # a neutral object next to the track: a fluctuation
    assert np.all(neutral[~tracked] > 0) or np.mean(neutral[~tracked] > 0) > 0.99  # the untracked pion: HCAL
    alone = tracked & (neutral == 0)
    hcal = math.sqrt(energy**2 * 0.0302**2 + energy * 0.5205**2 + 1.59**2)
    track = energy * math.sqrt(0.10**2 + pt**2 * 1.7e-3**2)  # |eta| = 0.5 of the position: > 0.5 after bending
    combined = 1.0 / math.sqrt(1 / hcal**2 + 1 / track**2)
    assert total[alone].std() < min(hcal, track)  # the combination beats either measurement
    assert total[alone].std() == pytest.approx(combined, rel=0.25)


def test_electron_track_and_its_ecal_deposit_are_not_double_counted():
    n = 20000
    flow = energy_flow(single(11, 20.0, 0.3, n), KEY)
    total = per_event(flow, n)
    assert within(total.mean() / (20.0 * math.cosh(0.3)), 1.0, 0.002)
    assert not np.any(flow.kind == KIND_HCAL)


# ----------------------------------------------------------------------------- determinism

def test_same_key_same_objects_whatever_the_batches():
    """Counter-based random numbers: the same events give the same objects whether simulated in one
    batch or in two (event numbers carried along); another key gives others."""
    rng = np.random.default_rng(3)
    n_events, per = 40, 30
    rows = [[e, rng.choice([211, -211, 22, 130, 11]), rng.uniform(0.5, 40), rng.uniform(-1, 1), rng.uniform(-0.3, 0.3)]
            for e in range(n_events) for _ in range(per)]
    whole = energy_flow(particles(rows), KEY)
    first = energy_flow(particles(rows[: 17 * per]), KEY)
    second = energy_flow(particles([[r[0] - 17, *r[1:]] for r in rows[17 * per:]], first_event=17), KEY)
    for name in ("px", "py", "pz", "e", "kind", "pid", "charge"):
        assert np.array_equal(getattr(whole, name), np.concatenate([getattr(first, name), getattr(second, name)]))
    assert np.array_equal(whole.counts, np.concatenate([first.counts, second.counts]))
    other = energy_flow(particles(rows), detector_key(54321))
    assert not np.array_equal(whole.e[: len(other.e)], other.e[: len(whole.e)])


def test_uniform_numbers_are_uniform_and_independent_between_streams():
    events, index = np.repeat(np.arange(500), 200), np.tile(np.arange(200), 500)
    u, v = uniform(KEY, events, index, 0), uniform(KEY, events, index, 1)
    assert u.min() >= 0 and u.max() < 1
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    expected = len(u) / 20
    assert np.sum((counts - expected) ** 2 / expected) < 60  # chi2 with 19 dof
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01


# ----------------------------------------------------------------------------- jets

@pytest.fixture(scope="module")
def jets_at_both_levels():
    """Jets above 300 GeV of the same 300 QCD events (seed 11) at particle and at detector level,
    matched within Delta R < 0.4: (particle pT, detector pT, particle mass, detector mass)."""
    window = {"jet_pt_min": 300, "jet_pt_max": 2000}
    particle = JetGenerator("qcd", 11, window)
    detector = JetGenerator("qcd", 11, {**window, "detector": "atlas_delphes"})
    pairs = []
    for _ in range(300):
        ours, theirs = particle.next_event(), detector.next_event()
        for jet in ours:
            for other in theirs:
                dphi = (jet["jet_phi"] - other["jet_phi"] + math.pi) % (2 * math.pi) - math.pi
                if math.hypot(jet["jet_eta"] - other["jet_eta"], dphi) < 0.4:
                    pairs.append((jet["jet_pt"], other["jet_pt"], jet["jet_mass"], other["jet_mass"]))
    assert particle.n_generated == detector.n_generated  # the same events
    return np.array(pairs)


def test_detector_level_jets_are_close_to_particle_level_in_pt(jets_at_both_levels):
    """Response pT(detector) / pT(particle): near 1 (median within -5%..+1%: thresholds and the
    particles of late decays dropped by the propagator lower it a little) and a core width (IQR /
    1.349) between the track-dominated 1.5% and 7%, about twice the HCAL alone at 600 GeV
    (sqrt(0.0302^2 + 0.5205^2 / 600 + 1.59^2 / 600^2) = 3.7%)."""
    pairs = jets_at_both_levels
    assert len(pairs) > 300
    response = pairs[:, 1] / pairs[:, 0]
    q25, q50, q75 = np.percentile(response, [25, 50, 75])
    assert 0.95 < q50 < 1.01
    assert 0.015 < (q75 - q25) / 1.349 < 0.07
    assert np.mean(np.abs(response - 1) < 0.1) > 0.8


def test_detector_level_jet_mass_is_close_to_particle_level(jets_at_both_levels):
    pairs = jets_at_both_levels
    assert np.median(pairs[:, 3] - pairs[:, 2]) == pytest.approx(0, abs=8)
    assert np.corrcoef(pairs[:, 2], pairs[:, 3])[0, 1] > 0.8


# ----------------------------------------------------------------------------- in the generator

def test_detector_level_file_is_deterministic_and_its_provenance_records_the_detector(tmp_path):
    """``hepdl generate --detector atlas_delphes`` twice with one seed: the same jets; the provenance
    holds the setting and the detector's description (card, commit, field)."""
    arrays, records = [], []
    for name in ("a.root", "b.root"):
        out = tmp_path / name
        assert cli.main(["generate", "--process", "top", "--n-jets", "6", "--seed", "31", "--detector",
                         "atlas_delphes", "--output", str(out)]) == 0
        with uproot.open(out) as file:
            arrays.append(file["jets"].arrays(list(BRANCHES)))
        record = read_provenance(out)
        record.pop("created_utc")
        records.append(record)
    assert records[0] == records[1]
    for name in BRANCHES:
        assert ak.all(ak.flatten(arrays[0][name], axis=None) == ak.flatten(arrays[1][name], axis=None)), name
    record = records[0]
    assert record["generation"]["detector"] == "atlas_delphes"
    assert record["detector"]["name"] == "atlas_delphes" and record["detector"]["bz_t"] == 2.0
    assert "delphes_card_ATLAS.tcl" in record["detector"]["card"]
    out = tmp_path / "particle.root"
    assert cli.main(["generate", "--process", "top", "--n-jets", "2", "--seed", "31", "--output", str(out)]) == 0
    particle = read_provenance(out)
    assert particle["detector"] == "none" and particle["generation"]["detector"] == "none"


def test_detector_level_constituents_are_massless_energy_flow_objects():
    jets = generate_jets("qcd", 20, 4, {"detector": "atlas_delphes"}, progress=False)
    pt, eta, e = (ak.to_numpy(ak.flatten(jets[f"const_{n}"])).astype(np.float64) for n in ("pt", "eta", "e"))
    assert np.allclose(e, pt * np.cosh(eta), rtol=1e-5)
    assert np.all((ak.to_numpy(jets.jet_pt) > 550) & (ak.to_numpy(jets.jet_pt) < 650))


def test_detector_needs_the_batch_path():
    with pytest.raises(HepdlError, match="batch path only"):
        JetGenerator("qcd", 1, {"detector": "atlas_delphes"}, clustering="slowjet")


def test_unknown_detector_is_named():
    with pytest.raises(ConfigError, match=r"'detector' \(--detector\)"):
        resolve_settings("qcd", {"detector": "cms"})
    assert resolve_settings("qcd", {})["detector"] == "none"
