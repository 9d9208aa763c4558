"""The processes hepdl generates: class label, Pythia 8 settings and truth definition of each.

Every process is pp at ``ecm_gev`` with Pythia's default tune; the jet selection (anti-kt R = 0.8
on the visible final state, every jet with 550 < pT < 650 GeV and |eta| < 2) is the same for all
(:mod:`hepdl.generation.generate`). A signal jet is kept only if it is truth-matched: every parton
of one truth object lies within ``truth_match_dr`` (Delta R in eta, phi) of the jet axis
(:mod:`hepdl.generation.truth` says which copy of each particle is used).

======  =====  ==============================================  ===========================================
name    label  Pythia process (decays forced)                  truth object (all within Delta R)
======  =====  ==============================================  ===========================================
qcd     0      ``HardQCD:all``                                  none (every jet is kept)
top     1      ``Top:gg2ttbar``, ``Top:qqbar2ttbar``; W -> qq'  t, its b and the W's q, q'
w       2      ``WeakDoubleBoson:ffbar2WW``; W -> qq'           W, q, q'
z       3      ``WeakDoubleBoson:ffbar2gmZgmZ`` (Z only);       Z, q, qbar
               Z -> q qbar (q = d, u, s, c, b)
hbb     4      ``HiggsSM:ffbar2HZ``; H -> b bbar, Z -> nu nubar H, b, bbar
svj     5      Hidden Valley ``ffbar2Zv``: Z' -> q_v q_v-bar,   the dark quark q_v
               dark shower and hadronisation, dark mesons
               invisible with probability ``r_inv``
======  =====  ==============================================  ===========================================

The W, Z and H processes are 2 -> 2, so the pTHat window applies (per-process defaults in the
config schema, chosen by the bias check of docs/generation.md). The dark-shower process is
2 -> 1 (a Z' resonance): Pythia's pTHat cut does not apply to it, so the schema does not accept
``pthat_min``/``pthat_max`` for it; the jet pT spectrum is set by ``zprime_mass_gev`` instead.

Dark shower (``svj``): the s-channel semi-visible-jet model of Cohen, Lisanti, Lou, PRL 115 (2015)
171804 (arXiv:1503.00009) with the benchmark settings of the CMS search, JHEP 06 (2022) 156
(arXiv:2112.11125), as its public generator helper writes them (github.com/cms-svj/SVJProduction,
``python/svjHelper.py``): dark SU(2) (``Ngauge = 2``), two dark flavours, dark-hadron mass
m_dark = 20 GeV for the pseudoscalar and vector, flavour-diagonal and off-diagonal mesons alike,
dark-quark mass m_dark / 2, the running dark coupling at one loop with Lambda_dark = 3.2
m_dark^0.8 GeV (the "alpha_peak" choice, alpha_dark(1 TeV) = 0.313), 75% vector mesons. Every
dark meson decays to a pair of invisible stand-ins (id 51 for the pseudoscalars, 53 for the
vectors; massless, stable) with probability ``r_inv`` and to a Standard-Model quark pair
(hadronised as a string, ``meMode = 91``) otherwise: pseudoscalars to c cbar and b bbar in
proportion to the running quark mass squared at 20 GeV (5.72% and 94.28%, the helper's
"massInsertion"), vectors democratically to d, u, s, c, b. The Z' (id 4900023, width 0.01 GeV)
decays to q_v q_v-bar with branching ratio 0.982 (its small couplings to Standard-Model quarks
produce it; its rare decays to them give no dark quark and so no selected jet). Changes for
Pythia 8.3 (the helper was written for 8.2): ``HiddenValley:setLambda = on`` so that
``HiddenValley:Lambda`` is used, and ``HiddenValley:pTminFSR = 1.1 Lambda`` set explicitly (Pythia
resets a lower value to that); the fragmentation parameters scale with the dark rho mass
(Pythia's default ``HiddenValley:setabsigma = 0``). The Z' mass default, 2000 GeV instead of the
search's 3100, puts the visible jets in the 550-650 GeV window (docs/generation.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepdl.generation.truth import (
    hadronic_top_partons,
    hadronic_top_partons_from_columns,
    resonance_decay_partons,
    resonance_decay_partons_from_columns,
)

QUARKS = (1, 2, 3, 4, 5)  # d, u, s, c, b: the quarks a W, Z or dark meson decays to

# ----------------------------------------------------------------------------- dark shower (svj)
DARK_QUARK = 4900101
ZPRIME = 4900023
DARK_HADRON_MASS_GEV = 20.0
DARK_N_COLOURS = 2
DARK_N_FLAVOURS = 2
#: Standard-Model quarks of a dark pseudoscalar's visible decay, with the share of each ("mass
#: insertion": proportional to the running mass squared at 20 GeV, as the CMS helper computes it)
PSEUDOSCALAR_QUARK_SHARES = ((4, 0.0572), (5, 0.9428))
VECTOR_QUARK_SHARES = tuple((q, 0.2) for q in QUARKS)  # democratic


def dark_lambda_gev(dark_hadron_mass_gev: float = DARK_HADRON_MASS_GEV) -> float:
    """Lambda_dark [GeV] of the "alpha_peak" benchmark: 3.2 m_dark^0.8 (arXiv:1707.05326, as in the CMS helper)."""
    return 3.2 * dark_hadron_mass_gev**0.8


def dark_alpha_at_1_tev(dark_hadron_mass_gev: float = DARK_HADRON_MASS_GEV) -> float:
    """The one-loop dark coupling at 1 TeV for :func:`dark_lambda_gev`: pi / (b0 ln(1 TeV / Lambda)),
    b0 = 11/6 N_c - 2/6 n_f."""
    b0 = 11 / 6 * DARK_N_COLOURS - 2 / 6 * DARK_N_FLAVOURS
    return math.pi / (b0 * math.log(1000.0 / dark_lambda_gev(dark_hadron_mass_gev)))


def _dark_meson_decays(meson: int, invisible: int, shares: tuple[tuple[int, float], ...], r_inv: float) -> list[str]:
    lines = [f"{meson}:oneChannel = 1 {r_inv:.10g} 0 {invisible} -{invisible}"]
    lines += [f"{meson}:addChannel = 1 {(1 - r_inv) * share:.10g} 91 {q} -{q}" for q, share in shares]
    return lines


def dark_shower_commands(settings: dict[str, Any]) -> tuple[str, ...]:
    """Pythia commands of the ``svj`` process for resolved ``settings`` (``r_inv``, ``zprime_mass_gev``)."""
    m_zprime = settings["zprime_mass_gev"]
    r_inv = settings["r_inv"]
    m_dark = DARK_HADRON_MASS_GEV
    lam = dark_lambda_gev(m_dark)
    lines = [
        "HiddenValley:ffbar2Zv = on",
        f"{ZPRIME}:m0 = {m_zprime:.10g}",
        f"{ZPRIME}:mMin = {m_zprime - 1:.10g}",
        f"{ZPRIME}:mMax = {m_zprime + 1:.10g}",
        f"{ZPRIME}:mWidth = 0.01",
        f"{ZPRIME}:oneChannel = 1 0.982 102 {DARK_QUARK} -{DARK_QUARK}",
        *(f"{ZPRIME}:addChannel = 1 0.003 102 {q} -{q}" for q in range(1, 7)),
        # decouple the Hidden Valley partners of the Standard-Model fermions
        *(f"{pid}:m0 = 50000" for pid in (*range(4900001, 4900007), *range(4900011, 4900017))),
        f"{DARK_QUARK}:m0 = {m_dark / 2:.10g}",
        *(f"{meson}:m0 = {m_dark:.10g}" for meson in (4900111, 4900211, 4900113, 4900213)),
        "51:m0 = 0.0", "51:isResonance = false",
        "53:m0 = 0.0", "53:isResonance = false",
        f"HiddenValley:Ngauge = {DARK_N_COLOURS}",
        "HiddenValley:spinFv = 0",
        "HiddenValley:FSR = on",
        "HiddenValley:fragment = on",
        "HiddenValley:alphaOrder = 1",
        "HiddenValley:setLambda = on",
        f"HiddenValley:Lambda = {lam:.10g}",
        f"HiddenValley:pTminFSR = {1.1 * lam:.10g}",
        f"HiddenValley:nFlav = {DARK_N_FLAVOURS}",
        "HiddenValley:probVector = 0.75",
    ]
    for meson in (4900111, 4900211):
        lines += _dark_meson_decays(meson, 51, PSEUDOSCALAR_QUARK_SHARES, r_inv)
    for meson in (4900113, 4900213):
        lines += _dark_meson_decays(meson, 53, VECTOR_QUARK_SHARES, r_inv)
    return tuple(lines)


# ----------------------------------------------------------------------------- the process table

def _fixed(*commands: str) -> Callable[[dict[str, Any]], tuple[str, ...]]:
    return lambda settings: commands


def _dark_quarks(partons: np.ndarray) -> np.ndarray:
    """(Z', q_v, q_v-bar) rows -> one truth object per dark quark: ``(2 n, 1, 4)``."""
    return np.ascontiguousarray(partons[:, 1:, :]).reshape(-1, 1, 4)


@dataclass(frozen=True)
class Process:
    """One generated process.

    ``commands(settings)`` gives its Pythia commands (beyond the common ones of
    :func:`hepdl.generation.generate.pythia_commands`) for resolved settings. ``truth_partons``
    names the partons of one truth object (empty: no truth matching, every jet is kept);
    ``partons_from_event(event)`` (accessors) and ``partons_from_columns(id, status, daughter1,
    daughter2, px, py, pz)`` (one event of ``Pythia.nextBatch``) both return them as float64
    ``(n_objects, len(truth_partons), 4)``: (pdg id, pT [GeV], eta, phi [rad]), bit for bit alike.
    """

    name: str
    label: int
    summary: str
    commands: Callable[[dict[str, Any]], tuple[str, ...]]
    truth_partons: tuple[str, ...] = ()
    partons_from_event: Callable[[Any], np.ndarray] | None = field(default=None, repr=False)
    partons_from_columns: Callable[..., np.ndarray] | None = field(default=None, repr=False)


def _resonance(resonance_id: int, daughter_ids: tuple[int, ...],
               view: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
    """Truth readers of a process whose objects are (a view of) a resonance and its two daughters."""
    view = view or (lambda partons: partons)
    from_event = functools.partial(resonance_decay_partons, resonance_id=resonance_id, daughter_ids=daughter_ids)
    from_columns = functools.partial(resonance_decay_partons_from_columns, resonance_id=resonance_id,
                                     daughter_ids=daughter_ids)
    return {"partons_from_event": lambda event: view(from_event(event)),
            "partons_from_columns": lambda *columns: view(from_columns(*columns))}


PROCESSES: dict[str, Process] = {p.name: p for p in (
    Process("qcd", 0, "HardQCD:all", _fixed("HardQCD:all = on")),
    Process("top", 1, "hadronic ttbar", _fixed("Top:gg2ttbar = on", "Top:qqbar2ttbar = on",
                                               "24:onMode = off", "24:onIfAny = 1 2 3 4 5"),
            ("top", "b", "q1", "q2"), hadronic_top_partons, hadronic_top_partons_from_columns),
    Process("w", 2, "WW, W -> q q'", _fixed("WeakDoubleBoson:ffbar2WW = on",
                                           "24:onMode = off", "24:onIfAny = 1 2 3 4 5"),
            ("W", "q1", "q2"), **_resonance(24, QUARKS)),
    Process("z", 3, "ZZ, Z -> q qbar", _fixed("WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2",
                                             "23:onMode = off", "23:onIfAny = 1 2 3 4 5"),
            ("Z", "q1", "q2"), **_resonance(23, QUARKS)),
    Process("hbb", 4, "ZH, H -> b bbar, Z -> nu nubar",
            _fixed("HiggsSM:ffbar2HZ = on", "25:onMode = off", "25:onIfMatch = 5 -5",
                   "23:onMode = off", "23:onIfAny = 12 14 16"),
            ("H", "b1", "b2"), **_resonance(25, (5,))),
    Process("svj", 5, "dark shower: Z' -> q_v q_v-bar (Hidden Valley)", dark_shower_commands,
            ("q_v",), **_resonance(ZPRIME, (DARK_QUARK,), _dark_quarks)),
)}


def process_commands(process: str, settings: dict[str, Any]) -> tuple[str, ...]:
    """The process-specific Pythia commands of ``process`` for resolved ``settings``."""
    return PROCESSES[process].commands(settings)
