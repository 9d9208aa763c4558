"""A parametric detector after Delphes' ATLAS card: a batch of events' particles -> energy-flow objects.

The top-tagging reference dataset passed Pythia 8 events through Delphes with its ATLAS card and
clustered the Delphes *energy-flow* objects into jets. Delphes needs ROOT, so hepdl carries this
small re-implementation of the part of that card that makes energy-flow objects. Every number
below names the card line it comes from: ``cards/delphes_card_ATLAS.tcl`` of the repository
delphes/delphes, as read at commit :data:`CARD_COMMIT` (module name, then the line as written);
the algorithms follow the Delphes modules the card names (``modules/ParticlePropagator.cc``,
``Efficiency.cc``, ``MomentumSmearing.cc``, ``SimpleCalorimeter.cc``, ``Merger.cc``).
docs/generation.md ("Detector level") goes through it line by line.

What it does, in the card's order of execution (no pile-up, as in the reference dataset):

1. **ParticlePropagator** (:func:`propagate`): each stable visible particle goes from its
   production vertex (Pythia's, mm) to the surface of a cylinder (radius 1.15 m, half-length
   3.51 m) in a 2 T solenoid field along z: neutral particles in a straight line, charged ones on
   a helix. Particles produced outside the cylinder, or with pT^2 < 1e-9 GeV^2, are dropped. The
   point where a particle leaves the cylinder is its *position*, which decides its calorimeter
   cell and the eta of the tracking formulas; its *momentum* is unchanged (production direction).
2. **Tracking efficiency** (Efficiency ``ChargedHadronTrackingEfficiency``, ``Electron...``,
   ``Muon...``): a charged particle becomes a track with the card's probability, a function of
   its pT and of the eta of its position (:func:`tracking_efficiency`).
3. **Momentum smearing** (MomentumSmearing, three modules): the track's pT is drawn from a
   log-normal distribution of mean pT and relative width ``res(pT, eta)`` (capped at 1, as
   ``MomentumSmearing.cc`` does); eta and phi are kept (:func:`track_resolution`). Tracks are
   massless, E = |p|, as in Delphes up to 3.4.2 (the releases that predate the reference dataset;
   Delphes 3.5 keeps the mass).
4. **ECal, then HCal** (two SimpleCalorimeter modules, :func:`calorimeter`): each particle puts the
   fraction of its energy that the card's ``EnergyFraction`` lists for its |PDG id| into the cell
   (eta x phi bins of the card) that its position falls in: e, gamma, pi0 all in the ECAL;
   muons, neutrinos, neutralinos nowhere; K0S and Lambda 30% ECAL, 70% HCAL; everything else
   (charged hadrons, neutrons, K0L, ...) all in the HCAL. A cell's energy is drawn from a
   log-normal of mean the deposited energy and width the card's resolution at the cell's centre
   eta, then zeroed below ``EnergyMin`` or below ``EnergySignificanceMin`` sigma; the cell's eta
   and phi are drawn uniformly within its edges (``SmearTowerCenter true``). **Energy flow**, per
   cell: the tracks pointing into it whose particles deposit in this calorimeter (electrons in
   the ECAL, charged hadrons in the HCAL) are *matched*; if the cell's energy minus the matched
   tracks' energy is above ``EnergyMin`` and above ``EnergySignificanceMin`` times its error
   (tracks' and calorimeter's in quadrature), that excess becomes a neutral object (ECAL: a
   photon, PID 22; HCAL: a neutral hadron, PID 0) and the tracks stay as they are; otherwise no
   neutral object is made and the matched tracks are scaled so that their energy is the
   error-weighted mean of the tracks' and the cell's measurement. Tracks whose position lies
   outside a calorimeter's cells are dropped (Delphes' ``SimpleCalorimeter`` does so; with the
   card's coverage, |eta| < 4.9, no track is affected). The HCAL reads the tracks the ECAL passes on.
5. **EFlowMerger**: the energy-flow objects are the HCAL's tracks, the ECAL's photons and the
   HCAL's neutral hadrons (``HCal/eflowTracks``, ``ECal/eflowPhotons``, ``HCal/eflowNeutralHadrons``).
   The card's EFlowFilter (electrons and muons out, for its isolation modules) is not applied:
   the reference dataset clustered the Delphes energy flow, which includes them.

Not taken from the card, because they do not act on energy-flow objects: the photon, electron and
muon efficiencies and isolation, the tower jets (FastJetFinder, R = 0.6) and their
JetEnergyScale, b- and tau-tagging, missing ET.

Conventions of the output (:class:`EnergyFlow`): every object is massless (E = |p|): neutral
objects as in every Delphes version (E and eta of the cell give pT = E / cosh(eta)), tracks as in
Delphes up to 3.4.2. Each object keeps its ``kind`` (track, ECAL neutral, HCAL neutral), a PDG id
(tracks: their particle's; Delphes' 22 and 0 for the neutral ones) and a charge; the canonical jets
file stores (pt, eta, phi, E) only, at particle and at detector level alike.

Differences from Delphes (documented, deliberate):

* Random numbers: counter-based (SplitMix64 of the key, event number, object number and a stream
  number; :func:`uniform`), not ROOT's ``gRandom``: the response of an event depends only on the
  shard seed (:func:`detector_key`), the event's number in the shard and the particle's place in
  its record, so it is the same whatever batches the events come in. Delphes' distributions are
  kept (uniform, Gaussian by Box-Muller, log-normal as ``LogNormal`` in the modules).
* The helix's exit point is computed from the angle turned since the point of closest approach to
  the beam axis (exact for any production vertex); ``ParticlePropagator.cc`` finds that point
  through an arctangent modulo pi, which gives the same point for particles made at the origin.
  The momentum direction is left as produced (Delphes >= 3.4.2 moves a displaced track's phi to
  its point of closest approach).
* If neither the tracks nor the cell had an error (both weights zero; cannot happen with this
  card, whose tracks all have a resolution > 0), tracks are left unscaled instead of NaN.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

#: the ``detector`` settings of a generated dataset (the schema's enum): ``none`` is particle level
DETECTORS = ("none", "atlas_delphes")

CARD = "delphes/delphes cards/delphes_card_ATLAS.tcl"
CARD_COMMIT = "15772b7063d186d74f5711e86d9a3af366effa50"

# ----------------------------------------------------------------------------- ParticlePropagator
RADIUS_M = 1.15  # module ParticlePropagator: "set Radius 1.15" (m)
HALF_LENGTH_M = 3.51  # module ParticlePropagator: "set HalfLength 3.51" (m)
BZ_T = 2.0  # module ParticlePropagator: "set Bz 2.0" (T)
GEV_PER_TESLA_METRE = 0.299792458  # pT = 0.2998 q Bz r (ParticlePropagator.cc: r = pt / (q Bz) * 1e9 / c_light)

INF = math.inf

# ----------------------------------------------------------------------------- tracking efficiency
# Rows (|eta| above, |eta| up to, pT above, pT up to [GeV], efficiency); 0 outside every row
# (the card's "(pt <= 0.1) * (0.00)" and "(abs(eta) > 2.5) * (0.00)"). eta: of the position.
CHARGED_HADRON_TRACKING_EFFICIENCY = (  # module Efficiency ChargedHadronTrackingEfficiency, EfficiencyFormula:
    (-INF, 1.5, 0.1, 1.0, 0.70),  # "(abs(eta) <= 1.5) * (pt > 0.1   && pt <= 1.0)   * (0.70)"
    (-INF, 1.5, 1.0, INF, 0.95),  # "(abs(eta) <= 1.5) * (pt > 1.0)                  * (0.95)"
    (1.5, 2.5, 0.1, 1.0, 0.60),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 0.1   && pt <= 1.0)   * (0.60)"
    (1.5, 2.5, 1.0, INF, 0.85),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 1.0)                  * (0.85)"
)
ELECTRON_TRACKING_EFFICIENCY = (  # module Efficiency ElectronTrackingEfficiency, EfficiencyFormula:
    (-INF, 1.5, 0.1, 1.0, 0.73),  # "(abs(eta) <= 1.5) * (pt > 0.1   && pt <= 1.0)   * (0.73)"
    (-INF, 1.5, 1.0, 1.0e2, 0.95),  # "(abs(eta) <= 1.5) * (pt > 1.0   && pt <= 1.0e2) * (0.95)"
    (-INF, 1.5, 1.0e2, INF, 0.99),  # "(abs(eta) <= 1.5) * (pt > 1.0e2)                * (0.99)"
    (1.5, 2.5, 0.1, 1.0, 0.50),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 0.1   && pt <= 1.0)   * (0.50)"
    (1.5, 2.5, 1.0, 1.0e2, 0.83),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 1.0   && pt <= 1.0e2) * (0.83)"
    (1.5, 2.5, 1.0e2, INF, 0.90),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 1.0e2)                * (0.90)"
)
MUON_TRACKING_EFFICIENCY = (  # module Efficiency MuonTrackingEfficiency, EfficiencyFormula:
    (-INF, 1.5, 0.1, 1.0, 0.75),  # "(abs(eta) <= 1.5) * (pt > 0.1   && pt <= 1.0)   * (0.75)"
    (-INF, 1.5, 1.0, INF, 0.99),  # "(abs(eta) <= 1.5) * (pt > 1.0)                  * (0.99)"
    (1.5, 2.5, 0.1, 1.0, 0.70),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 0.1   && pt <= 1.0)   * (0.70)"
    (1.5, 2.5, 1.0, INF, 0.98),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 1.0)                  * (0.98)"
)

# ----------------------------------------------------------------------------- momentum resolution
# Rows (|eta| above, |eta| up to, a, b): relative pT resolution sqrt(a^2 + pt^2 b^2) for pt > 0.1 GeV
# (the card's "(pt > 0.1)" factor), 0 outside every row. eta: of the position.
CHARGED_HADRON_MOMENTUM_RESOLUTION = (  # module MomentumSmearing ChargedHadronMomentumSmearing, ResolutionFormula:
    (-INF, 0.5, 0.06, 1.3e-3),  # "(abs(eta) <= 0.5) * (pt > 0.1) * sqrt(0.06^2 + pt^2*1.3e-3^2)"
    (0.5, 1.5, 0.10, 1.7e-3),  # "(abs(eta) > 0.5 && abs(eta) <= 1.5) * (pt > 0.1) * sqrt(0.10^2 + pt^2*1.7e-3^2)"
    (1.5, 2.5, 0.25, 3.1e-3),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 0.1) * sqrt(0.25^2 + pt^2*3.1e-3^2)"
)
ELECTRON_MOMENTUM_RESOLUTION = (  # module MomentumSmearing ElectronMomentumSmearing, ResolutionFormula:
    (-INF, 0.5, 0.03, 1.3e-3),  # "(abs(eta) <= 0.5) * (pt > 0.1) * sqrt(0.03^2 + pt^2*1.3e-3^2)"
    (0.5, 1.5, 0.05, 1.7e-3),  # "(abs(eta) > 0.5 && abs(eta) <= 1.5) * (pt > 0.1) * sqrt(0.05^2 + pt^2*1.7e-3^2)"
    (1.5, 2.5, 0.15, 3.1e-3),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 0.1) * sqrt(0.15^2 + pt^2*3.1e-3^2)"
)
MUON_MOMENTUM_RESOLUTION = (  # module MomentumSmearing MuonMomentumSmearing, ResolutionFormula:
    (-INF, 0.5, 0.01, 1.0e-4),  # "(abs(eta) <= 0.5) * (pt > 0.1) * sqrt(0.01^2 + pt^2*1.0e-4^2)"
    (0.5, 1.5, 0.015, 1.5e-4),  # "(abs(eta) > 0.5 && abs(eta) <= 1.5) * (pt > 0.1) * sqrt(0.015^2 + pt^2*1.5e-4^2)"
    (1.5, 2.5, 0.025, 3.5e-4),  # "(abs(eta) > 1.5 && abs(eta) <= 2.5) * (pt > 0.1) * sqrt(0.025^2 + pt^2*3.5e-4^2)"
)
MOMENTUM_RESOLUTION_MAX = 1.0  # MomentumSmearing.cc: "res = (res > 1.0) ? 1.0 : res;"

# ----------------------------------------------------------------------------- calorimeters
# Energy resolution rows (|eta| above, |eta| up to, c, s, n): sigma(E) = sqrt(E^2 c^2 + E s^2 + n^2)
# [GeV], 0 outside every row; eta: the cell's centre (SimpleCalorimeter.cc evaluates at fTowerEta).
ECAL_RESOLUTION = (  # module SimpleCalorimeter ECal, ResolutionFormula:
    (-INF, 3.2, 0.0017, 0.101, 0.0),  # "(abs(eta) <= 3.2) * sqrt(energy^2*0.0017^2 + energy*0.101^2)"
    (3.2, 4.9, 0.0350, 0.285, 0.0),  # "(abs(eta) > 3.2 && abs(eta) <= 4.9) * sqrt(energy^2*0.0350^2 + energy*0.285^2)"
)
HCAL_RESOLUTION = (  # module SimpleCalorimeter HCal, ResolutionFormula:
    (-INF, 1.7, 0.0302, 0.5205, 1.59),  # "(abs(eta) <= 1.7) * sqrt(energy^2*0.0302^2 + energy*0.5205^2 + 1.59^2)"
    (1.7, 3.2, 0.0500, 0.706, 0.0),  # "(abs(eta) > 1.7 && abs(eta) <= 3.2) * sqrt(energy^2*0.0500^2 + energy*0.706^2)"
    (3.2, 4.9, 0.09420, 1.00, 0.0),  # "(abs(eta) > 3.2 && abs(eta) <= 4.9) * sqrt(energy^2*0.09420^2 + energy*1.00^2)"
)

# EnergyFraction {|PDG id|} {fraction}; key 0 is every id not listed
ECAL_ENERGY_FRACTION = {  # module SimpleCalorimeter ECal:
    0: 0.0,  # "add EnergyFraction {0} {0.0}"
    11: 1.0, 22: 1.0, 111: 1.0,  # "add EnergyFraction {11} {1.0}", "{22} {1.0}", "{111} {1.0}" (e, gamma, pi0)
    12: 0.0, 13: 0.0, 14: 0.0, 16: 0.0,  # "{12} {0.0}", "{13} {0.0}", "{14} {0.0}", "{16} {0.0}" (muon, neutrinos)
    1000022: 0.0, 1000023: 0.0, 1000025: 0.0, 1000035: 0.0, 1000045: 0.0,  # "{1000022} {0.0}" ... (neutralinos)
    310: 0.3, 3122: 0.3,  # "add EnergyFraction {310} {0.3}", "add EnergyFraction {3122} {0.3}" (K0S, Lambda)
}
HCAL_ENERGY_FRACTION = {  # module SimpleCalorimeter HCal:
    0: 1.0,  # "add EnergyFraction {0} {1.0}"
    11: 0.0, 22: 0.0, 111: 0.0,  # "add EnergyFraction {11} {0.0}", "{22} {0.0}", "{111} {0.0}"
    12: 0.0, 13: 0.0, 14: 0.0, 16: 0.0,  # "{12} {0.0}", "{13} {0.0}", "{14} {0.0}", "{16} {0.0}"
    1000022: 0.0, 1000023: 0.0, 1000025: 0.0, 1000035: 0.0, 1000045: 0.0,  # "{1000022} {0.0}" ...
    310: 0.7, 3122: 0.7,  # "add EnergyFraction {310} {0.7}", "add EnergyFraction {3122} {0.7}"
}
ECAL_ENERGY_MIN = 0.5  # module SimpleCalorimeter ECal: "set EnergyMin 0.5" (GeV)
ECAL_SIGNIFICANCE_MIN = 2.0  # module SimpleCalorimeter ECal: "set EnergySignificanceMin 2.0"
HCAL_ENERGY_MIN = 1.0  # module SimpleCalorimeter HCal: "set EnergyMin 1.0" (GeV)
HCAL_SIGNIFICANCE_MIN = 2.0  # module SimpleCalorimeter HCal: "set EnergySignificanceMin 2.0"
FRACTION_MIN = 1.0e-9  # SimpleCalorimeter.cc: "if(fraction < 1.0E-9) continue;" (no deposit below)


def _phi_bins(n: int) -> np.ndarray:
    """``for {set i -n} {$i <= n} {incr i} { add PhiBins [expr {$i * $pi/n}] }``: 2n bins over (-pi, pi]."""
    return np.arange(-n, n + 1) * np.pi / n


def _ecal_eta_phi_bins() -> list[tuple[np.ndarray, np.ndarray]]:
    """The ECal's ``add EtaPhiBins $eta $PhiBins`` lines: (eta edges, their phi edges)."""
    one_degree = _phi_bins(180)  # "for {set i -180} {$i <= 180} {incr i} { add PhiBins [expr {$i * $pi/180.0}] }"
    return [
        # "for {set i -85} {$i <= 86} {incr i} { set eta [expr {$i * 0.0174}]" (barrel)
        (np.arange(-85, 87) * 0.0174, one_degree),
        # "for {set i 1} {$i <= 84} {incr i} { set eta [expr { -2.958 + $i * 0.0174}]" (endcap)
        (-2.958 + np.arange(1, 85) * 0.0174, one_degree),
        # "for {set i 1} {$i <= 84} {incr i} { set eta [expr { 1.4964 + $i * 0.0174}]" (endcap)
        (1.4964 + np.arange(1, 85) * 0.0174, one_degree),
        (np.array([-5, -4.7, -4.525, -4.35, -4.175, -4, -3.825, -3.65, -3.475, -3.3, -3.125, -2.958,  # "foreach eta {-5
                   3.125, 3.3, 3.475, 3.65, 3.825, 4, 4.175, 4.35, 4.525, 4.7, 5]),  # ... 4.7 5}" (HF)
         _phi_bins(18)),  # "for {set i -18} {$i <= 18} {incr i} { add PhiBins [expr {$i * $pi/18.0}] }"
    ]


def _hcal_eta_phi_bins() -> list[tuple[np.ndarray, np.ndarray]]:
    """The HCal's ``add EtaPhiBins $eta $PhiBins`` lines: (eta edges, their phi edges)."""
    return [
        (np.array([-3.2, -2.5, -2.4, -2.3, -2.2, -2.1, -2, -1.9, -1.8, -1.7, -1.6, -1.5, -1.4, -1.3, -1.2, -1.1,
                   -1, -0.9, -0.8, -0.7, -0.6, -0.5, -0.4, -0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
                   0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.1, 2.2, 2.3, 2.4, 2.5,
                   2.6, 3.3]),  # "# 10 degrees towers" ... "foreach eta {-3.2 -2.5 -2.4 ... 2.5 2.6 3.3}"
         _phi_bins(18)),  # "for {set i -18} {$i <= 18} {incr i} { add PhiBins [expr {$i * $pi/18.0}] }"
        (np.array([-4.9, -4.7, -4.5, -4.3, -4.1, -3.9, -3.7, -3.5, -3.3, -3, -2.8, -2.6,
                   2.8, 3, 3.2, 3.5, 3.7, 3.9, 4.1, 4.3, 4.5, 4.7, 4.9]),  # "# 20 degrees towers" ... "foreach eta
         _phi_bins(9)),  # {-4.9 -4.7 ... 4.7 4.9}"; "for {set i -9} {$i <= 9} {incr i} { ... [expr {$i * $pi/9.0}] }"
    ]


PHI_STRIDE = 512  # cell number = eta bin * PHI_STRIDE + phi bin (the card has at most 361 phi edges)

# counter-based random streams (:func:`uniform`): one per random quantity
STREAM_TRACKING, STREAM_SMEAR_1, STREAM_SMEAR_2 = 0, 1, 2
ECAL_STREAMS = (3, 4, 5, 6)  # energy (two uniforms of Box-Muller), cell eta, cell phi
HCAL_STREAMS = (7, 8, 9, 10)

KIND_TRACK, KIND_ECAL, KIND_HCAL = 0, 1, 2  # EnergyFlow.kind


@dataclasses.dataclass(frozen=True)
class Calorimeter:
    """One SimpleCalorimeter module of the card: granularity, energy fractions, resolution, thresholds.

    A cell lies between ``eta_edges[k - 1]`` and ``eta_edges[k]`` and between phi edges ``j - 1``
    and ``j`` of ``phi_edges[phi_set[k]]`` (SimpleCalorimeter.cc: ``lower_bound`` on the sorted
    eta edges, then on the phi edges the card lists with the cell's *upper* eta edge; an edge
    listed twice gets the union of its phi edges). ``phi_table`` is ``phi_edges`` padded with NaN.
    """

    name: str
    eta_edges: np.ndarray
    phi_edges: tuple[np.ndarray, ...]
    phi_set: np.ndarray
    phi_table: np.ndarray
    fractions: dict[int, float]
    resolution: tuple[tuple[float, float, float, float, float], ...]
    energy_min: float
    significance_min: float
    neutral_pid: int
    kind: int
    streams: tuple[int, int, int, int]

    @classmethod
    def build(cls, name: str, eta_phi_bins: list[tuple[np.ndarray, np.ndarray]], **fields: Any) -> Calorimeter:
        """From the card's ``add EtaPhiBins`` lines (SimpleCalorimeter::Init's ``fBinMap``)."""
        bin_map: dict[float, set[float]] = {}
        for etas, phis in eta_phi_bins:
            for eta in np.asarray(etas, dtype=np.float64).tolist():
                bin_map.setdefault(eta, set()).update(np.asarray(phis, dtype=np.float64).tolist())
        eta_edges = np.array(sorted(bin_map), dtype=np.float64)
        sets: list[tuple[float, ...]] = []
        phi_set = np.empty(len(eta_edges), dtype=np.int64)
        for k, eta in enumerate(eta_edges.tolist()):
            edges = tuple(sorted(bin_map[eta]))
            if edges not in sets:
                sets.append(edges)
            phi_set[k] = sets.index(edges)
        width = max(len(s) for s in sets)
        if width > PHI_STRIDE:
            raise ValueError(f"{name}: {width} phi edges exceed PHI_STRIDE = {PHI_STRIDE}")
        table = np.full((len(sets), width), np.nan)
        for i, edges in enumerate(sets):
            table[i, :len(edges)] = edges
        return cls(name=name, eta_edges=eta_edges, phi_edges=tuple(np.array(s) for s in sets), phi_set=phi_set,
                   phi_table=table, **fields)

    def fraction(self, pid: np.ndarray) -> np.ndarray:
        """``EnergyFraction`` of each |PDG id| (float64; ids not listed take the entry of 0)."""
        abs_id = np.abs(np.asarray(pid, dtype=np.int64))
        out = np.full(abs_id.shape, self.fractions[0])
        for code, value in self.fractions.items():
            if code:
                out[abs_id == code] = value
        return out

    def sigma(self, eta: np.ndarray, energy: np.ndarray) -> np.ndarray:
        """``ResolutionFormula`` [GeV] at pseudorapidity ``eta`` and energy [GeV]."""
        abs_eta = np.abs(eta)
        out = np.zeros(np.broadcast(abs_eta, energy).shape)
        for lo, hi, c, s, n in self.resolution:
            rows = (abs_eta > lo) & (abs_eta <= hi)
            e = np.broadcast_to(energy, out.shape)[rows]
            out[rows] = np.sqrt(e * e * c * c + e * s * s + n * n)
        return out

    def cells(self, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(inside, eta bin k, phi bin j) of positions (eta, phi); outside the cells: inside False."""
        n_eta = len(self.eta_edges)
        k = np.searchsorted(self.eta_edges, eta, side="left")  # std::lower_bound
        inside = (k > 0) & (k < n_eta)
        k = np.where(inside, k, 1)
        which = self.phi_set[k]
        j = np.zeros_like(k)
        for index, edges in enumerate(self.phi_edges):  # a few granularities, not a loop over particles
            rows = which == index
            j[rows] = np.searchsorted(edges, phi[rows], side="left")
        n_phi = np.array([len(edges) for edges in self.phi_edges])[which]
        inside &= (j > 0) & (j < n_phi)
        return inside, k, np.where(inside, j, 1)


ECAL = Calorimeter.build(
    "ECal", _ecal_eta_phi_bins(), fractions=ECAL_ENERGY_FRACTION, resolution=ECAL_RESOLUTION,
    energy_min=ECAL_ENERGY_MIN, significance_min=ECAL_SIGNIFICANCE_MIN,
    neutral_pid=22,  # SimpleCalorimeter.cc: "tower->PID = (fIsEcal) ? 22 : 0;" (card: "set IsEcal true")
    kind=KIND_ECAL, streams=ECAL_STREAMS)
HCAL = Calorimeter.build(
    "HCal", _hcal_eta_phi_bins(), fractions=HCAL_ENERGY_FRACTION, resolution=HCAL_RESOLUTION,
    energy_min=HCAL_ENERGY_MIN, significance_min=HCAL_SIGNIFICANCE_MIN,
    neutral_pid=0,  # card: "set IsEcal false"
    kind=KIND_HCAL, streams=HCAL_STREAMS)


# ----------------------------------------------------------------------------- random numbers

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment (2^64 / golden ratio)
_KEY_TAG = 0x6465746563746F72  # "detector" in ASCII: separates the detector's key from other uses of the seed


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def detector_key(seed: int) -> np.uint64:
    """The detector's random key from a shard's seed (independent of Pythia's stream, which uses the seed itself)."""
    return _splitmix64(np.array([int(seed) ^ _KEY_TAG], dtype=np.uint64))[0]


def uniform(key: np.uint64, event_number: np.ndarray, index: np.ndarray, stream: int) -> np.ndarray:
    """Counter-based uniform numbers in [0, 1): SplitMix64 at position (event, index, stream) of the key's stream.

    ``event_number`` < 2^36 (the event's number in its shard), ``index`` < 2^24 (a particle's
    place in its event record, or a calorimeter cell number), ``stream`` < 16. The same
    arguments always give the same number.
    """
    counter = ((np.asarray(event_number, dtype=np.uint64) << np.uint64(28))
               | (np.asarray(index, dtype=np.uint64) << np.uint64(4)) | np.uint64(stream))
    z = _splitmix64(key + counter * _GAMMA)
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normal(key: np.uint64, event_number: np.ndarray, index: np.ndarray, streams: tuple[int, int]) -> np.ndarray:
    """Standard normal numbers (Box-Muller on two :func:`uniform` streams)."""
    u1 = 1.0 - uniform(key, event_number, index, streams[0])  # in (0, 1]
    u2 = uniform(key, event_number, index, streams[1])
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def log_normal(mean: np.ndarray, sigma: np.ndarray, gauss: np.ndarray) -> np.ndarray:
    """Delphes' ``LogNormal(mean, sigma)`` with the standard normal numbers ``gauss``: log-normal
    of that mean and standard deviation; 0 where mean <= 0."""
    mean = np.asarray(mean, dtype=np.float64)
    positive = mean > 0.0
    safe = np.where(positive, mean, 1.0)
    b = np.sqrt(np.log1p((sigma * sigma) / (safe * safe)))
    a = np.log(safe) - 0.5 * b * b
    return np.where(positive, np.exp(a + b * gauss), 0.0)


# ----------------------------------------------------------------------------- inputs and outputs

@dataclasses.dataclass(frozen=True)
class Particles:
    """Stable visible particles of a batch of events, flat, event after event.

    ``px, py, pz, e`` [GeV], ``pid`` (PDG id), ``charge`` [e], ``x, y, z``: production vertex [mm]
    (all shape (n,)); ``event``: int64 (n,), each particle's event in the batch (0..n_events-1,
    non-decreasing); ``index``: int64 (n,), its place in its event's record (< 2^24; numbers the
    random draws); ``event_number``: int64 (n_events,), each event's number in the shard.
    """

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    pid: np.ndarray
    charge: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    event: np.ndarray
    index: np.ndarray
    event_number: np.ndarray

    @property
    def n_events(self) -> int:
        return len(self.event_number)


@dataclasses.dataclass(frozen=True)
class EnergyFlow:
    """Energy-flow objects of a batch of events, flat, event after event (tracks, then ECAL neutral
    objects, then HCAL neutral objects, each in a fixed order).

    ``px, py, pz, e`` [GeV] (massless: e = |p|), ``kind`` (:data:`KIND_TRACK`,
    :data:`KIND_ECAL`, :data:`KIND_HCAL`), ``pid`` (tracks: the particle's PDG id; 22 and 0 for
    ECAL and HCAL neutral objects, as Delphes), ``charge`` (tracks +-1, neutral 0), ``event``
    (each object's event in the batch), ``counts`` (int64 (n_events,): objects per event).
    """

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    kind: np.ndarray
    pid: np.ndarray
    charge: np.ndarray
    event: np.ndarray
    counts: np.ndarray


# ----------------------------------------------------------------------------- the modules

def propagate(particles: Particles) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ParticlePropagator: (kept, x, y, z [m]) of the point where each particle leaves the cylinder.

    Neutral particles go straight; charged ones follow a helix of radius pT / (0.2998 |q| Bz) about
    the z axis, leaving through the side (radius 1.15 m) or an end (|z| = 3.51 m), whichever comes
    first. Dropped (kept False): produced outside the cylinder, or pT^2 < 1e-9 GeV^2.
    """
    x0, y0, z0 = particles.x * 1.0e-3, particles.y * 1.0e-3, particles.z * 1.0e-3
    px, py, pz = particles.px, particles.py, particles.pz
    pt2 = px * px + py * py
    # ParticlePropagator.cc: "if(TMath::Hypot(x, y) > fRadiusMax || TMath::Abs(z) > fHalfLengthMax) continue;"
    # and "if(pt2 < 1.0E-9) continue;" (RadiusMax, HalfLengthMax: not in the card, so Radius, HalfLength)
    kept = (np.hypot(x0, y0) <= RADIUS_M) & (np.abs(z0) <= HALF_LENGTH_M) & (pt2 >= 1.0e-9)
    charged = np.abs(particles.charge) > 1.0e-9
    x, y, z = np.full(len(px), np.nan), np.full(len(px), np.nan), np.full(len(px), np.nan)
    end = np.where(pz > 0.0, HALF_LENGTH_M, -HALF_LENGTH_M)  # the end a particle flies to
    with np.errstate(divide="ignore", invalid="ignore"):
        # straight line: point = vertex + p s, to the side (s_r) or an end (s_z)
        n = np.flatnonzero(kept & ~charged)
        nx, ny, nz, npx, npy, npz, npt2 = x0[n], y0[n], z0[n], px[n], py[n], pz[n], pt2[n]
        rxp, rdp = nx * npy - ny * npx, nx * npx + ny * npy
        s_r = (np.sqrt(np.maximum(RADIUS_M**2 * npt2 - rxp * rxp, 0.0)) - rdp) / npt2
        s_z = np.where(npz != 0.0, (end[n] - nz) / npz, INF)
        step = np.minimum(s_r, s_z)
        x[n], y[n], z[n] = nx + npx * step, ny + npy * step, nz + npz * step
        # helix: signed radius r, centre (xc, yc); the position turns by -sign(q Bz) per unit angle
        c = np.flatnonzero(kept & charged)
        cx, cy, cz, cpx, cpy, cpz, q = x0[c], y0[c], z0[c], px[c], py[c], pz[c], particles.charge[c]
        pt = np.sqrt(pt2[c])
        r = pt / (q * BZ_T * GEV_PER_TESLA_METRE)
        abs_r = np.abs(r)
        cos_phi0, sin_phi0 = cpx / pt, cpy / pt
        xc, yc = cx + r * sin_phi0, cy - r * cos_phi0
        rc = np.hypot(xc, yc)
        # angle from the point of closest approach to the z axis: theta0 at production, alpha at the side
        cos_t0 = (rc * rc + r * r - (cx * cx + cy * cy)) / (2.0 * abs_r * rc)
        sin_t0 = (cx * cos_phi0 + cy * sin_phi0) / rc
        theta0 = np.where(rc > 0.0, np.arctan2(sin_t0, np.clip(cos_t0, -1.0, 1.0)), 0.0)
        cos_alpha = (rc * rc + r * r - RADIUS_M**2) / (2.0 * abs_r * rc)
        # "if(r_c + TMath::Abs(r) < fRadius)": the helix never reaches the side, it leaves through an end
        turn_r = np.where(rc + abs_r < RADIUS_M, INF, np.arccos(np.clip(cos_alpha, -1.0, 1.0)) - theta0)
        turn_z = np.where(cpz != 0.0, (end[c] - cz) * pt / (cpz * abs_r), INF)
        turn = np.minimum(turn_r, turn_z)  # "t = TMath::Min(t_r, t_z)", as an angle
        psi = np.arctan2(cpy, cpx) - np.sign(q * BZ_T) * turn  # phi_0 - omega * t
        x[c] = xc - r * np.sin(psi)  # "x_t = x_c - r*TMath::Sin(phi_0 - omega*t)"
        y[c] = yc + r * np.cos(psi)  # "y_t = y_c + r*TMath::Cos(phi_0 - omega*t)"
        z[c] = cz + cpz / pt * abs_r * turn  # "z_t = z + c_light*t*pz/e"
    kept &= np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & (np.hypot(x, y) > 0.0)  # "if(r_t > 0.0)"
    return kept, x, y, z


def _piecewise(abs_eta: np.ndarray, pt: np.ndarray, rows) -> np.ndarray:
    out = np.zeros(abs_eta.shape)
    for eta_lo, eta_hi, pt_lo, pt_hi, value in rows:
        out[(abs_eta > eta_lo) & (abs_eta <= eta_hi) & (pt > pt_lo) & (pt <= pt_hi)] = value
    return out


def _resolution(abs_eta: np.ndarray, pt: np.ndarray, rows) -> np.ndarray:
    out = np.zeros(abs_eta.shape)
    for eta_lo, eta_hi, a, b in rows:
        sel = (abs_eta > eta_lo) & (abs_eta <= eta_hi) & (pt > 0.1)
        out[sel] = np.sqrt(a * a + pt[sel] ** 2 * b * b)
    return out


def tracking_efficiency(pid: np.ndarray, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The card's tracking efficiency of charged particles (|PDG id| 11: electrons, 13: muons,
    else charged hadrons) at pT [GeV] and pseudorapidity ``eta`` (of the position)."""
    abs_id, abs_eta = np.abs(pid), np.abs(eta)
    return np.where(abs_id == 11, _piecewise(abs_eta, pt, ELECTRON_TRACKING_EFFICIENCY),
                    np.where(abs_id == 13, _piecewise(abs_eta, pt, MUON_TRACKING_EFFICIENCY),
                             _piecewise(abs_eta, pt, CHARGED_HADRON_TRACKING_EFFICIENCY)))


def track_resolution(pid: np.ndarray, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The card's relative pT resolution of tracks (before the cap at 1), as :func:`tracking_efficiency`."""
    abs_id, abs_eta = np.abs(pid), np.abs(eta)
    return np.where(abs_id == 11, _resolution(abs_eta, pt, ELECTRON_MOMENTUM_RESOLUTION),
                    np.where(abs_id == 13, _resolution(abs_eta, pt, MUON_MOMENTUM_RESOLUTION),
                             _resolution(abs_eta, pt, CHARGED_HADRON_MOMENTUM_RESOLUTION)))


@dataclasses.dataclass
class _Tracks:
    """Tracks on their way through the calorimeters (flat; ``cell_eta, cell_phi``: of the position)."""

    source: np.ndarray  # index into the particles
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    resolution: np.ndarray
    pid: np.ndarray
    charge: np.ndarray
    event: np.ndarray
    cell_eta: np.ndarray
    cell_phi: np.ndarray

    def energy(self) -> np.ndarray:
        return self.pt * np.cosh(self.eta)  # massless

    def select(self, rows: np.ndarray) -> _Tracks:
        return _Tracks(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))


def make_tracks(particles: Particles, key: np.uint64, kept: np.ndarray, position_eta: np.ndarray,
                position_phi: np.ndarray) -> _Tracks:
    """Tracking efficiency and momentum smearing (three Efficiency and three MomentumSmearing modules)."""
    pt = np.hypot(particles.px, particles.py)
    event_number = particles.event_number[particles.event]
    charged = np.flatnonzero(kept & (np.abs(particles.charge) > 1.0e-9))
    pid, pt_c, eta_pos = particles.pid[charged], pt[charged], position_eta[charged]
    # Efficiency.cc: "if(gRandom->Uniform() > fFormula->Eval(pt, eta, phi, e)) continue;"
    draw = uniform(key, event_number[charged], particles.index[charged], STREAM_TRACKING)
    tracked = draw < tracking_efficiency(pid, pt_c, eta_pos)
    rows = charged[tracked]
    pt_c, eta_pos = pt_c[tracked], eta_pos[tracked]
    res = np.minimum(track_resolution(particles.pid[rows], pt_c, eta_pos), MOMENTUM_RESOLUTION_MAX)
    gauss = normal(key, event_number[rows], particles.index[rows], (STREAM_SMEAR_1, STREAM_SMEAR_2))
    smeared = log_normal(pt_c, res * pt_c, gauss)  # MomentumSmearing.cc: "pt = LogNormal(pt, res * pt);"
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(particles.pz[rows] / pt_c)  # direction of the momentum, kept
    return _Tracks(source=rows, pt=smeared, eta=eta, phi=np.arctan2(particles.py[rows], particles.px[rows]),
                   resolution=res, pid=particles.pid[rows], charge=np.sign(particles.charge[rows]).astype(np.int8),
                   event=particles.event[rows], cell_eta=position_eta[rows], cell_phi=position_phi[rows])


def calorimeter(cal: Calorimeter, key: np.uint64, particles: Particles, kept: np.ndarray,
                position_eta: np.ndarray, position_phi: np.ndarray,
                tracks: _Tracks) -> tuple[_Tracks, dict[str, np.ndarray]]:
    """One SimpleCalorimeter module: the tracks it passes on (scaled where it combines them with a
    cell) and its neutral energy-flow objects (``event, e, eta, phi``)."""
    n_cells = len(cal.eta_edges) * PHI_STRIDE
    event_number = particles.event_number
    # particle deposits: "fraction = itFractionMap->second; ... if(fraction < 1.0E-9) continue;"
    fraction = cal.fraction(particles.pid)
    deposit = np.flatnonzero(kept & (fraction >= FRACTION_MIN))
    inside, k, j = cal.cells(position_eta[deposit], position_phi[deposit])
    deposit = deposit[inside]
    deposit_key = particles.event[deposit] * n_cells + k[inside] * PHI_STRIDE + j[inside]
    # tracks: outside the cells dropped; fraction > 1e-9: matched to their cell, else passed on as they are
    t_inside, t_k, t_j = cal.cells(tracks.cell_eta, tracks.cell_phi)
    tracks = tracks.select(t_inside)
    t_k, t_j = t_k[t_inside], t_j[t_inside]
    t_fraction = cal.fraction(tracks.pid)
    matched = np.flatnonzero(t_fraction > FRACTION_MIN)
    track_key = tracks.event[matched] * n_cells + t_k[matched] * PHI_STRIDE + t_j[matched]

    cell_keys, tower_of_hit = np.unique(np.concatenate([deposit_key, track_key]), return_inverse=True)
    deposit_tower, track_tower = tower_of_hit[:len(deposit_key)], tower_of_hit[len(deposit_key):]
    n_towers = len(cell_keys)
    tower_event = cell_keys // n_cells
    cell = cell_keys % n_cells
    k_t, j_t = cell // PHI_STRIDE, cell % PHI_STRIDE
    eta_lo, eta_hi = cal.eta_edges[k_t - 1], cal.eta_edges[k_t]
    which = cal.phi_set[k_t]
    phi_lo, phi_hi = cal.phi_table[which, j_t - 1], cal.phi_table[which, j_t]
    eta_centre = 0.5 * (eta_lo + eta_hi)  # "fTowerEta = 0.5*(fEtaBins[etaBin - 1] + fEtaBins[etaBin]);"

    true_energy = np.bincount(deposit_tower, weights=particles.e[deposit] * fraction[deposit], minlength=n_towers)
    track_e = tracks.energy()[matched]
    track_res = tracks.resolution[matched]
    track_energy = np.bincount(track_tower, weights=track_e * t_fraction[matched], minlength=n_towers)
    # "sigma = fResolutionFormula->Eval(0.0, fTowerEta, 0.0, momentum.E());
    #  if(sigma/momentum.E() < track->TrackResolution) energyGuess = energy; else energyGuess = momentum.E();
    #  fTrackSigma += ((track->TrackResolution)*energyGuess)*((track->TrackResolution)*energyGuess);"
    with np.errstate(divide="ignore", invalid="ignore"):
        calo_better = cal.sigma(eta_centre[track_tower], track_e) / track_e < track_res
    guess = np.where(calo_better, track_e * t_fraction[matched], track_e)
    track_variance = np.bincount(track_tower, weights=(track_res * guess) ** 2, minlength=n_towers)

    # FinalizeTower: smear, threshold, place
    tower_number = event_number[tower_event]
    gauss = normal(key, tower_number, cell, cal.streams[:2])
    # "sigma = fResolutionFormula->Eval(0.0, fTowerEta, 0.0, fTowerEnergy); energy = LogNormal(fTowerEnergy, sigma);"
    energy = log_normal(true_energy, cal.sigma(eta_centre, true_energy), gauss)
    sigma = cal.sigma(eta_centre, energy)  # "sigma = fResolutionFormula->Eval(0.0, fTowerEta, 0.0, energy);"
    # "if(energy < fEnergyMin || energy < fEnergySignificanceMin*sigma) energy = 0.0;"
    energy = np.where((energy < cal.energy_min) | (energy < cal.significance_min * sigma), 0.0, energy)
    # "SmearTowerCenter true": "eta = gRandom->Uniform(fTowerEdges[0], fTowerEdges[1]);" (and phi)
    eta = eta_lo + (eta_hi - eta_lo) * uniform(key, tower_number, cell, cal.streams[2])
    phi = phi_lo + (phi_hi - phi_lo) * uniform(key, tower_number, cell, cal.streams[3])

    # energy flow: "neutralEnergy = max((energy - fTrackEnergy), 0.0);
    #  neutralSigma = neutralEnergy / TMath::Sqrt(fTrackSigma*fTrackSigma + sigma*sigma);
    #  if(neutralEnergy > fEnergyMin && neutralSigma > fEnergySignificanceMin)" -> neutral object
    neutral = np.maximum(energy - track_energy, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        significance = neutral / np.sqrt(track_variance + sigma * sigma)
        emit = (neutral > cal.energy_min) & (significance > cal.significance_min)
        # "else if(fTrackEnergy > 0.0)": tracks scaled to the weighted mean of tracks and cell
        weight_track = np.where(track_variance > 0.0, 1.0 / track_variance, 0.0)
        weight_calo = np.where(sigma > 0.0, 1.0 / (sigma * sigma), 0.0)
        best = (weight_track * track_energy + weight_calo * energy) / (weight_track + weight_calo)
        scale = np.where(~emit & (track_energy > 0.0) & (weight_track + weight_calo > 0.0), best / track_energy, 1.0)
    track_scale = np.ones(len(tracks.pt))
    track_scale[matched] = scale[track_tower]
    tracks.pt = tracks.pt * track_scale  # "track->Momentum.SetPtEtaPhiM(track->Momentum.Pt()*rescaleFactor, ...)"
    neutrals = {"event": tower_event[emit], "e": neutral[emit], "eta": eta[emit], "phi": phi[emit]}
    return tracks, neutrals


def energy_flow(particles: Particles, key: np.uint64) -> EnergyFlow:
    """The card's energy-flow objects of a batch of events (see the module docstring).

    ``key``: :func:`detector_key` of the shard's seed. Deterministic: the same particles, event
    numbers and key give the same objects, bit for bit, however the events are split into batches.
    """
    if len(particles.index) and int(particles.index.max()) >= 1 << 24:
        raise ValueError("detector: a particle's index in its event record exceeds 2^24")
    kept, x, y, z = propagate(particles)
    with np.errstate(divide="ignore", invalid="ignore"):
        position_eta = np.where(kept, np.arcsinh(z / np.hypot(x, y)), np.nan)
    position_phi = np.where(kept, np.arctan2(y, x), np.nan)
    tracks = make_tracks(particles, key, kept, position_eta, position_phi)
    tracks, photons = calorimeter(ECAL, key, particles, kept, position_eta, position_phi, tracks)
    tracks, hadrons = calorimeter(HCAL, key, particles, kept, position_eta, position_phi, tracks)

    pt_photon = photons["e"] / np.cosh(photons["eta"])  # "pt = neutralEnergy / TMath::CosH(eta);"
    pt_hadron = hadrons["e"] / np.cosh(hadrons["eta"])
    pt = np.concatenate([tracks.pt, pt_photon, pt_hadron])
    eta = np.concatenate([tracks.eta, photons["eta"], hadrons["eta"]])
    phi = np.concatenate([tracks.phi, photons["phi"], hadrons["phi"]])
    event = np.concatenate([tracks.event, photons["event"], hadrons["event"]])
    n_t, n_p, n_h = len(tracks.pt), len(pt_photon), len(pt_hadron)
    kind = np.repeat(np.array([KIND_TRACK, KIND_ECAL, KIND_HCAL], dtype=np.int8), [n_t, n_p, n_h])
    pid = np.concatenate([tracks.pid.astype(np.int64), np.full(n_p, ECAL.neutral_pid, dtype=np.int64),
                          np.full(n_h, HCAL.neutral_pid, dtype=np.int64)])
    charge = np.concatenate([tracks.charge, np.zeros(n_p + n_h, dtype=np.int8)])
    order = np.argsort(event, kind="stable")  # event after event; within one: tracks, photons, hadrons
    pt, eta, phi = pt[order], eta[order], phi[order]
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return EnergyFlow(px=px, py=py, pz=pz, e=pt * np.cosh(eta), kind=kind[order], pid=pid[order],
                      charge=charge[order], event=event[order],
                      counts=np.bincount(event, minlength=particles.n_events).astype(np.int64))


# ----------------------------------------------------------------------------- in the generator

def charge_table(particle_data: Any) -> tuple[np.ndarray, np.ndarray]:
    """(sorted |PDG id|, charge [e]) of every particle Pythia's ``ParticleData`` knows."""
    ids, charges = [], []
    pid, seen = 1, set()
    while pid > 0 and pid not in seen:  # nextId walks all ids in increasing order, then returns 0
        seen.add(pid)
        ids.append(pid)
        charges.append(float(particle_data.charge(pid)))
        pid = particle_data.nextId(pid)
    order = np.argsort(ids)
    return np.asarray(ids, dtype=np.int64)[order], np.asarray(charges, dtype=np.float64)[order]


class Detector:
    """The ``atlas_delphes`` detector of one generator: its random key and Pythia's particle charges."""

    name = "atlas_delphes"

    def __init__(self, seed: int, particle_data: Any = None):
        self.seed = int(seed)
        self.key = detector_key(self.seed)
        self._ids, self._charges = (charge_table(particle_data) if particle_data is not None
                                    else (np.zeros(0, dtype=np.int64), np.zeros(0)))

    def charge(self, pid: np.ndarray) -> np.ndarray:
        """Charge [e] of PDG ids (Pythia's ``ParticleData.charge``; an antiparticle's is the opposite)."""
        if not len(self._ids):
            raise ValueError("detector: no charge table (make the Detector with Pythia's particle data)")
        abs_id = np.abs(pid).astype(np.int64)
        k = np.minimum(np.searchsorted(self._ids, abs_id), len(self._ids) - 1)
        charge = np.where(self._ids[k] == abs_id, self._charges[k], 0.0)
        return np.where(pid < 0, -charge, charge)

    def __call__(self, particles: Particles) -> EnergyFlow:
        return energy_flow(particles, self.key)

    def energy_flow_of_batch(self, prt: Any, ids: np.ndarray, p4: list[np.ndarray], rows: np.ndarray,
                             offsets: np.ndarray, first_event: int) -> tuple[list[np.ndarray], np.ndarray]:
        """Energy flow of a ``Pythia.nextBatch`` batch: ((px, py, pz, E) flat, objects per event).

        ``prt``: the batch's particle record (awkward; its ``vProd`` gives the vertices); ``ids``,
        ``p4``: its flat id and (px, py, pz, e) columns; ``rows``: the flat rows of the visible final
        state (increasing); ``offsets``: (n_events + 1,) first row of each event; ``first_event``:
        the number of the batch's first event in the shard.
        """
        import awkward as ak

        n_events = len(offsets) - 1
        event = np.searchsorted(offsets, rows, side="right") - 1
        vertices = ak.flatten(prt.vProd)[rows]  # (mm; none: the origin)
        vertex = [ak.to_numpy(ak.fill_none(vertices[c], 0.0)) for c in ("px", "py", "pz")]
        pid = ids[rows].astype(np.int64)
        particles = Particles(px=p4[0][rows], py=p4[1][rows], pz=p4[2][rows], e=p4[3][rows], pid=pid,
                              charge=self.charge(pid), x=vertex[0], y=vertex[1], z=vertex[2], event=event,
                              index=rows - offsets[event], event_number=first_event + np.arange(n_events))
        flow = self(particles)
        return [flow.px, flow.py, flow.pz, flow.e], flow.counts

    def describe(self) -> dict[str, Any]:
        """The detector's settings, for the provenance."""
        return {"name": self.name, "card": CARD, "card_commit": CARD_COMMIT,
                "modules": "ParticlePropagator, tracking Efficiency and MomentumSmearing (charged hadrons, "
                           "electrons, muons), SimpleCalorimeter ECal and HCal with energy flow, EFlowMerger",
                "bz_t": BZ_T, "radius_m": RADIUS_M, "half_length_m": HALF_LENGTH_M, "pile_up": "none",
                "constituents": "energy-flow objects, massless",
                "random": "SplitMix64, counter-based: key from the seed, event number, particle or cell"}


def make_detector(name: str, seed: int, particle_data: Any = None) -> Detector | None:
    """The detector of a ``detector`` setting (:data:`DETECTORS`); None for ``none`` (particle level)."""
    if name == "none":
        return None
    if name == "atlas_delphes":
        return Detector(seed, particle_data)
    raise ValueError(f"detector {name!r}: expected one of {', '.join(DETECTORS)}")
