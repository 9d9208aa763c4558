"""Mass sculpting (hepdl.evaluation.sculpting): working points, JSD and its statistical floor,
score-mass correlations."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.evaluation.sculpting import (
    distance_correlation,
    jensen_shannon,
    mass_correlation,
    mass_sculpting,
    sculpting_row,
)


def _jets(n=20000, seed=2):
    rng = np.random.default_rng(seed)
    mass = rng.gamma(4.0, 25.0, n)
    signal_mass = rng.normal(172.0, 15.0, n // 4)
    return rng, mass, signal_mass


def test_mass_sculpting_working_points():
    rng, mass, signal_mass = _jets()
    sculpting_score = mass + rng.normal(0, 10, mass.size)
    signal_score = signal_mass + rng.normal(0, 10, signal_mass.size)
    flat_score, flat_signal = rng.normal(0, 1, mass.size), rng.normal(0.5, 1, signal_mass.size)
    sculpted = mass_sculpting(sculpting_score, mass, signal_score, signal_mass, [0.5, 0.1, 0.01], [0.5])
    flat = mass_sculpting(flat_score, mass, flat_signal, signal_mass, [0.5, 0.1, 0.01], [0.5])
    names = [p["name"] for p in sculpted["working_points"]]
    assert names == ["eps_b_0.5", "eps_b_0.1", "eps_b_0.01", "eps_s_0.5"]
    edges = sculpted["edges"]
    widths = np.diff(edges)
    assert 28 <= len(widths) <= 56 and edges[0] == 0.0 and np.allclose(widths, widths[0])
    assert widths[0] / 10 ** np.floor(np.log10(widths[0])) in (1.0, 2.0, 2.5, 5.0)  # a round width: jets / 10 GeV
    assert edges[-1] >= 1.05 * max(np.quantile(mass, 0.995), np.quantile(signal_mass, 0.995))
    assert sum(sculpted["background"]) <= mass.size
    assert len(sculpted["signal"]) == len(widths) and sum(sculpted["signal"]) > 0.99 * signal_mass.size
    for point in sculpted["working_points"][:3]:
        assert point["background_efficiency"] == pytest.approx(point["target"], rel=0.02)
        assert point["n_background_passing"] == pytest.approx(point["target"] * mass.size, rel=0.02)
        assert sum(point["background"]) <= point["n_background_passing"]
        assert len(point["signal"]) == len(widths)
    eps_s = sculpted["working_points"][3]
    assert eps_s["signal_efficiency"] == pytest.approx(0.5, abs=2e-3)
    # a mass-like score sculpts far beyond the statistical floor; a mass-independent one does not
    for i in range(3):
        sculpting, no_sculpting = sculpted["working_points"][i], flat["working_points"][i]
        assert sculpting["jsd"] > 5 * sculpting["jsd_random"]
        assert no_sculpting["jsd"] < 3 * no_sculpting["jsd_random"] + 1e-3
    assert sculpted["working_points"][1]["jsd"] > 0.3 > 0.02 > flat["working_points"][1]["jsd"]
    # the floor grows as fewer jets pass
    floors = [p["jsd_random"] for p in flat["working_points"][:3]]
    assert floors[0] < floors[1] < floors[2]
    row = sculpting_row(sculpted)
    assert set(row) == {"mass_jsd_at_eps_b_0.5", "mass_jsd_at_eps_b_0.1", "mass_jsd_at_eps_b_0.01",
                        "mass_jsd_at_eps_s_0.5", "signal_efficiency_at_eps_b_0.5", "signal_efficiency_at_eps_b_0.1",
                        "signal_efficiency_at_eps_b_0.01"}
    # seeded: the same floor again
    assert mass_sculpting(flat_score, mass, flat_signal, signal_mass, [0.1], [])["working_points"][0] == \
        flat["working_points"][1]


def test_jensen_shannon_limits():
    assert jensen_shannon(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == 0.0
    assert jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)


def test_no_background_passing_gives_no_jsd():
    mass = np.linspace(10, 200, 50)
    score = np.zeros(50)  # ties: nothing scores above the cut
    point = mass_sculpting(score, mass, score[:10], mass[:10], [0.1], [])["working_points"][0]
    assert point["n_background_passing"] == 0 and point["jsd"] is None and point["jsd_random"] is None


def test_score_mass_correlation():
    rng, mass, _ = _jets()
    sculpting_score, flat_score = mass + rng.normal(0, 10, mass.size), rng.normal(0, 1, mass.size)
    strong, none = mass_correlation(sculpting_score, mass), mass_correlation(flat_score, mass)
    assert strong["pearson_score_mass"] > 0.9 and abs(none["pearson_score_mass"]) < 0.05
    assert strong["distance_correlation_score_mass"] > 0.8 > 0.1 > none["distance_correlation_score_mass"]
    # distance correlation sees a non-monotone dependence that Pearson misses
    x = rng.normal(0, 1, 1500)
    assert distance_correlation(x, x**2) > 0.3 and abs(np.corrcoef(x, x**2)[0, 1]) < 0.15
