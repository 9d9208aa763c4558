"""Truth matching of top jets to the partons of a hadronic top decay in a Pythia 8 event.

Which copy of each particle is used
-----------------------------------
Pythia's event record holds many copies of a top quark (one per recoil of initial- or
final-state radiation) and of the W. hepdl uses, for each top of the hard 2 -> 2 process:

* **top**: its *last* copy (``Particle.iBotCopyId``), the one that decays; its momentum includes
  every recoil it took from radiation before the decay;
* **b**: the quark daughter (|id| 1-5, almost always a b) of that last top copy, *as produced by
  the decay*, before its own final-state shower;
* **q, q'**: the two quark daughters of the W's *last* copy (the W daughter of the top is
  followed down its copies, because it takes the recoil of the b's shower), again as produced
  by the W decay, before their final-state shower.

So the decay partons are the partons of the decay itself, not their showered descendants: the
showered copies depend on shower history (and change about 7% of the matches), while the decay
partons are what "the top and its decay partons" means in the reference dataset
(arXiv:1902.09914). A top jet is *matched* when all four (top, b, q, q') lie within
``Delta R < dr_max`` of the jet axis, with ``Delta R = sqrt(Delta eta^2 + Delta phi^2)`` in
pseudorapidity eta and azimuth phi (the coordinates stored in the jets file), Delta phi wrapped
into [-pi, pi].

Two readers give the same partons, bit for bit (``tests/test_generate.py`` compares them event by
event): :func:`hadronic_top_partons` through pythia8mc's accessors of the current event
(``Particle.iBotCopyId``, ``daughterList``, ``id``, ``pT``, ``eta``, ``phi``: Pythia's own
definitions), and :func:`hadronic_top_partons_from_columns` on the columns of one event of
pythia8mc's batch interface (``Pythia.nextBatch``), which the default generation path uses; it
follows the same definitions of ``daughterList``, ``iBotCopyId``, pT, eta and phi. Both read only
the dozen or so entries of the decay chain, once per event that has a candidate jet.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: truth partons of one hadronic top, in this order
TRUTH_PARTONS = ("top", "b", "q1", "q2")


def _last_copy(event: Any, index: int) -> int:
    return int(event[index].iBotCopyId())


def hadronic_top_partons(event: Any) -> np.ndarray:
    """Truth partons of every hadronically decaying top of the hard process in a Pythia event.

    Returns a float64 array of shape ``(n_tops, 4, 4)``: axis 1 is (top, b, q1, q2), axis 2 is
    (pdg id, pT [GeV], eta, phi [rad]). ``n_tops`` is 0 to 2 (a top whose W decays to leptons or
    whose decay is not t -> W q is skipped). Only the few entries of the decay chain are read.
    """
    tops = []
    # Outgoing partons of the hard 2 -> 2 process carry status -22 or 22, right after the
    # incoming ones (entries 5, 6); scan the first entries only.
    for i in range(3, min(int(event.size()), 12)):
        particle = event[i]
        if particle.idAbs() != 6 or abs(particle.status()) != 22:
            continue
        top = event[_last_copy(event, i)]
        daughters = list(top.daughterList())
        quarks = [d for d in daughters if 1 <= event[d].idAbs() <= 5]
        ws = [d for d in daughters if event[d].idAbs() == 24]
        if len(quarks) != 1 or len(ws) != 1:
            continue
        w_last = _last_copy(event, ws[0])
        w_quarks = [d for d in event[w_last].daughterList() if 1 <= event[d].idAbs() <= 5]
        if len(w_quarks) != 2:
            continue
        rows = [top] + [event[d] for d in (quarks[0], *w_quarks)]
        tops.append([[p.id(), p.pT(), p.eta(), p.phi()] for p in rows])
    return np.asarray(tops, dtype=np.float64).reshape(-1, 4, 4)


TINY = 1e-20  # Pythia's Particle::TINY, in Particle::eta


def _daughter_list(daughter1: int, daughter2: int) -> list[int]:
    """Pythia's ``Particle::daughterList`` from (daughter1, daughter2). (Its extra case, the beams
    of status -12/-13, never arises here: only tops, Ws and their daughters are looked at.)"""
    if daughter1 == 0 and daughter2 == 0:
        return []
    if daughter2 == 0 or daughter2 == daughter1:
        return [daughter1]
    if daughter2 > daughter1:
        return list(range(daughter1, daughter2 + 1))
    return [daughter2, daughter1]


def _bottom_copy(ids: list[int], daughter1: list[int], daughter2: list[int], i: int) -> int:
    """Pythia's ``Particle::iBotCopyId``: down the chain of *unique* daughters with the same id."""
    while True:
        same = [d for d in _daughter_list(daughter1[i], daughter2[i]) if ids[d] == ids[i]]
        if len(same) != 1:
            return i
        i = same[0]


def hadronic_top_partons_from_columns(ids: list[int], status: list[int], daughter1: list[int],
                                      daughter2: list[int], px: list[float], py: list[float],
                                      pz: list[float]) -> np.ndarray:
    """:func:`hadronic_top_partons` on one event's columns of pythia8mc's batch interface.

    Arguments: the event's entries in record order (Python lists): ``id``, ``status``,
    ``daughter1``, ``daughter2`` and ``p.px, p.py, p.pz`` [GeV] of ``Pythia.nextBatch``'s ``prt``.
    pT, eta and phi follow Pythia's ``Particle::pT``, ``eta`` and ``phi``. Same output.
    """
    tops = []
    for i in range(3, min(len(ids), 12)):  # the outgoing partons of the hard 2 -> 2 process
        if abs(ids[i]) != 6 or abs(status[i]) != 22:
            continue
        top = _bottom_copy(ids, daughter1, daughter2, i)
        daughters = _daughter_list(daughter1[top], daughter2[top])
        quarks = [d for d in daughters if 1 <= abs(ids[d]) <= 5]
        ws = [d for d in daughters if abs(ids[d]) == 24]
        if len(quarks) != 1 or len(ws) != 1:
            continue
        w_last = _bottom_copy(ids, daughter1, daughter2, ws[0])
        w_quarks = [d for d in _daughter_list(daughter1[w_last], daughter2[w_last]) if 1 <= abs(ids[d]) <= 5]
        if len(w_quarks) != 2:
            continue
        rows = []
        for j in (top, quarks[0], *w_quarks):
            x, y, z = px[j], py[j], pz[j]
            pt = math.sqrt(x * x + y * y)
            eta = math.log((math.sqrt(x * x + y * y + z * z) + abs(z)) / max(TINY, pt))
            rows.append([ids[j], pt, eta if z > 0 else -eta, math.atan2(y, x)])
        tops.append(rows)
    return np.asarray(tops, dtype=np.float64).reshape(-1, 4, 4)


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """Delta R = sqrt(Delta eta^2 + Delta phi^2) with Delta phi wrapped into [-pi, pi] (broadcasts)."""
    dphi = np.remainder(np.asarray(phi1) - np.asarray(phi2) + np.pi, 2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), dphi)


def match_top(jet_eta: np.ndarray, jet_phi: np.ndarray, partons: np.ndarray, dr_max: float) -> np.ndarray:
    """Which jets contain a whole hadronic top: top, b, q and q' all within ``dr_max`` of the axis.

    ``jet_eta``, ``jet_phi``: shape ``(n_jets,)``; ``partons``: shape ``(n_tops, 4, 4)`` from
    :func:`hadronic_top_partons`. Returns a boolean array of shape ``(n_jets,)``: True where at
    least one top has all four partons within ``dr_max``.
    """
    jet_eta = np.asarray(jet_eta, dtype=np.float64)
    jet_phi = np.asarray(jet_phi, dtype=np.float64)
    partons = np.asarray(partons, dtype=np.float64).reshape(-1, 4, 4)
    if partons.shape[0] == 0:
        return np.zeros(jet_eta.shape, dtype=bool)
    dr = delta_r(jet_eta[:, None, None], jet_phi[:, None, None],
                 partons[None, :, :, 2], partons[None, :, :, 3])  # (n_jets, n_tops, 4)
    return np.any(np.all(dr < dr_max, axis=2), axis=1)


def matched_top_index(jet_eta: float, jet_phi: float, partons: np.ndarray, dr_max: float) -> int:
    """Index of the first top (axis 0 of ``partons``) matched to one jet, or -1.

    Same criterion as :func:`match_top` for a single jet, in plain Python floats: this runs once
    per candidate jet during generation, where numpy's per-call overhead would dominate.
    """
    return matched_index(jet_eta, jet_phi, np.asarray(partons, dtype=np.float64).reshape(-1, 4, 4), dr_max)


# ----------------------------------------------------------------------------- resonance decays (W, Z, H, Z')
#
# The other generated processes have one decay step: a resonance R of the hard process decays to
# two partons. As for the top, R is its *last* copy (``Particle.iBotCopyId``, the one that decays:
# its momentum includes every recoil it took from initial-state radiation), and its two daughters
# are taken *as produced by the decay*, before their own shower (QCD, QED, or the Hidden Valley
# shower of a dark quark). Rows: (R, d1, d2), each (pdg id, pT [GeV], eta, phi [rad]), d1 and d2
# in record order. An R whose last copy does not decay to exactly two partons with |id| in
# ``daughter_ids`` (e.g. a Z' of the dark-shower process that decays to Standard-Model quarks) is
# skipped. Which of R, d1, d2 must lie near the jet is the process's choice
# (:mod:`hepdl.generation.processes`).


def resonance_decay_partons(event: Any, resonance_id: int, daughter_ids: tuple[int, ...]) -> np.ndarray:
    """(R, d1, d2) of every resonance ``|id| == resonance_id`` of the hard process in a Pythia event.

    Reads the event through pythia8mc's accessors (``iBotCopyId``, ``daughterList``, ``id``,
    ``pT``, ``eta``, ``phi``). Returns float64 ``(n_resonances, 3, 4)``; axis 2 is (pdg id, pT
    [GeV], eta, phi [rad]). The hard process's outgoing particles (|status| 22) are among the first
    entries, as for :func:`hadronic_top_partons`.
    """
    rows = []
    for i in range(3, min(int(event.size()), 12)):
        particle = event[i]
        if particle.idAbs() != resonance_id or abs(particle.status()) != 22:
            continue
        last = event[_last_copy(event, i)]
        daughters = [d for d in last.daughterList() if event[d].idAbs() in daughter_ids]
        if len(daughters) != 2 or len(list(last.daughterList())) != 2:
            continue
        rows.append([[p.id(), p.pT(), p.eta(), p.phi()] for p in (last, *map(event.__getitem__, daughters))])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3, 4)


def _pt_eta_phi(x: float, y: float, z: float) -> tuple[float, float, float]:
    """Pythia's ``Particle::pT``, ``eta`` and ``phi`` from px, py, pz (the same arithmetic)."""
    pt = math.sqrt(x * x + y * y)
    eta = math.log((math.sqrt(x * x + y * y + z * z) + abs(z)) / max(TINY, pt))
    return pt, (eta if z > 0 else -eta), math.atan2(y, x)


def resonance_decay_partons_from_columns(ids: list[int], status: list[int], daughter1: list[int],
                                         daughter2: list[int], px: list[float], py: list[float],
                                         pz: list[float], resonance_id: int,
                                         daughter_ids: tuple[int, ...]) -> np.ndarray:
    """:func:`resonance_decay_partons` on one event's columns of pythia8mc's batch interface
    (arguments as for :func:`hadronic_top_partons_from_columns`). Same output, bit for bit."""
    rows = []
    for i in range(3, min(len(ids), 12)):
        if abs(ids[i]) != resonance_id or abs(status[i]) != 22:
            continue
        last = _bottom_copy(ids, daughter1, daughter2, i)
        every = _daughter_list(daughter1[last], daughter2[last])
        daughters = [d for d in every if abs(ids[d]) in daughter_ids]
        if len(daughters) != 2 or len(every) != 2:
            continue
        rows.append([[ids[j], *_pt_eta_phi(px[j], py[j], pz[j])] for j in (last, *daughters)])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3, 4)


def matched_index(jet_eta: float, jet_phi: float, partons: np.ndarray, dr_max: float) -> int:
    """Index of the first truth object (axis 0 of ``partons``, shape ``(n_objects, n_partons, 4)``
    with (pdg id, pT, eta, phi) on axis 2) whose partons all lie within ``dr_max`` of the jet axis
    (eta, phi), or -1; :func:`matched_top_index` is its four-parton case."""
    dr2_max = dr_max * dr_max
    for k, obj in enumerate(np.asarray(partons, dtype=np.float64).tolist()):
        for _, _, eta, phi in obj:
            dphi = (phi - jet_phi + math.pi) % (2 * math.pi) - math.pi
            if (eta - jet_eta) ** 2 + dphi * dphi >= dr2_max:
                break
        else:
            return k
    return -1


def match_partons(jet_eta: np.ndarray, jet_phi: np.ndarray, partons: np.ndarray, dr_max: float) -> np.ndarray:
    """:func:`match_top` for any number of partons per object: which jets (shape ``(n_jets,)``)
    have every parton of at least one object of ``partons`` (``(n_objects, n_partons, 4)``)
    within ``dr_max``. Vectorised over jets, objects and partons."""
    jet_eta = np.asarray(jet_eta, dtype=np.float64)
    jet_phi = np.asarray(jet_phi, dtype=np.float64)
    partons = np.asarray(partons, dtype=np.float64)
    if partons.ndim != 3 or partons.shape[0] == 0:
        return np.zeros(jet_eta.shape, dtype=bool)
    dr = delta_r(jet_eta[:, None, None], jet_phi[:, None, None], partons[None, :, :, 2], partons[None, :, :, 3])
    return np.any(np.all(dr < dr_max, axis=2), axis=1)
