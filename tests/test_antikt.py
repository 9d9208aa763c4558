"""hepdl.generation.antikt: anti-kt clustering, checked jet by jet against the fastjet package."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.generation.antikt import MAX_R, cluster_antikt
from hepdl.generation.generate import JetGenerator

fastjet = pytest.importorskip("fastjet")


def _fastjet_jets(p4: np.ndarray, r: float, pt_min: float) -> list[tuple[tuple[float, ...], list[int]]]:
    """FastJet's inclusive anti-kt jets of ``p4`` (4, n): [((px, py, pz, E), sorted constituent indices)]."""
    particles = []
    for i, row in enumerate(p4.T):
        particle = fastjet.PseudoJet(*map(float, row))
        particle.set_user_index(i)
        particles.append(particle)
    sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, r))
    return [((j.px(), j.py(), j.pz(), j.e()), sorted(c.user_index() for c in j.constituents()))
            for j in fastjet.sorted_by_pt(sequence.inclusive_jets(pt_min))]


def _ours(p4: np.ndarray, r: float, pt_min: float) -> list[tuple[tuple[float, ...], list[int]]]:
    jets, offsets, constituents = cluster_antikt(p4[0], p4[1], p4[2], p4[3], r, pt_min)
    return [(tuple(jets[k].tolist()), constituents[offsets[k]:offsets[k + 1]].tolist()) for k in range(len(jets))]


@pytest.fixture(scope="module")
def pythia_events() -> list[np.ndarray]:
    """Visible final states (4, n) of 12 QCD and 12 top-pair events, default generation settings."""
    events = []
    for process, seed in (("qcd", 31), ("top", 32)):
        generator = JetGenerator(process, seed, {})
        generator.next_event()
        assert generator._reader is not None
        for _ in range(12):
            generator.pythia.next()
            events.append(generator._reader.final_visible()[1])
    return events


@pytest.mark.parametrize("pt_min", [0.0, 5.0, 300.0, 549.99945])
def test_pythia_events_give_fastjets_jets_bit_for_bit(pythia_events, pt_min):
    """Every jet's four-momentum (exact float equality) and constituent list, at four thresholds:
    0 (every jet: no early stop), 5 GeV, 300 GeV and the generation threshold (early stop active)."""
    n_jets = 0
    for p4 in pythia_events:
        ours, theirs = _ours(p4, 0.8, pt_min), _fastjet_jets(p4, 0.8, pt_min)
        assert ours == theirs
        n_jets += len(ours)
    assert n_jets >= {0.0: 300, 5.0: 100, 300.0: 30, 549.99945: 5}[pt_min]


def _synthetic_event(rng: np.random.Generator) -> np.ndarray:
    """A few hard massive cores with soft sprays, a soft uniform background, particles straddling
    phi = 0 = 2 pi, very forward particles, and a particle along the beam (pT = 0)."""
    parts = []
    for _ in range(rng.integers(1, 5)):
        y0, phi0, pt0 = rng.uniform(-3, 3), rng.choice([0.02, 6.27, rng.uniform(0, 2 * np.pi)]), rng.uniform(50, 800)
        n = rng.integers(5, 60)
        pt = pt0 * rng.dirichlet(np.full(n, 0.3))
        parts.append((pt, y0 + rng.normal(0, 0.25, n), phi0 + rng.normal(0, 0.25, n), rng.uniform(0, 1.5, n)))
    n = rng.integers(20, 200)
    parts.append((rng.exponential(2.0, n), rng.uniform(-8, 8, n), rng.uniform(0, 2 * np.pi, n), np.full(n, 0.14)))
    pt, y, phi, m = (np.concatenate(x) for x in zip(*parts))
    mt = np.hypot(pt, m)
    p4 = np.stack([pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y)])
    beam = np.array([[0.0], [0.0], [-40.0], [40.0]])
    return np.ascontiguousarray(np.concatenate([p4, beam], axis=1))


@pytest.mark.parametrize("r", [0.4, 0.8, 1.5, MAX_R])
def test_synthetic_events_give_fastjets_jets_bit_for_bit(r):
    rng = np.random.default_rng(int(r * 10))
    for _ in range(15):
        p4 = _synthetic_event(rng)
        for pt_min in (0.0, 100.0):
            assert _ours(p4, r, pt_min) == _fastjet_jets(p4, r, pt_min)


def test_early_stop_keeps_every_jet_above_threshold():
    """Clustering with pt_min stops early; its jets must be exactly those of the full clustering above pt_min."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        p4 = _synthetic_event(rng)
        everything = _ours(p4, 0.8, 0.0)
        for pt_min in (30.0, 200.0, 500.0):
            expected = [jet for jet in everything if np.hypot(*jet[0][:2]) >= pt_min]
            assert _ours(p4, 0.8, pt_min) == expected


def test_no_particle_and_one_particle():
    empty = np.zeros((4, 0))
    jets, offsets, constituents = cluster_antikt(*empty, 0.8, 0.0)
    assert jets.shape == (0, 4) and offsets.tolist() == [0] and constituents.size == 0
    one = np.array([[30.0], [40.0], [0.0], [50.0]])
    jets, offsets, constituents = cluster_antikt(*one, 0.8, 10.0)
    assert jets.tolist() == [[30.0, 40.0, 0.0, 50.0]] and constituents.tolist() == [0]
    assert cluster_antikt(*one, 0.8, 60.0)[0].shape == (0, 4)


@pytest.mark.parametrize("r", [0.0, -0.4, MAX_R + 0.01])
def test_radius_outside_the_supported_range_is_refused(r):
    with pytest.raises(ValueError, match="jet radius"):
        cluster_antikt(*np.ones((4, 3)), r, 0.0)
