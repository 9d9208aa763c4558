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
"""

from __future__ import annotations

import math
from typing import Any

import numba
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
    dr2_max = dr_max * dr_max
    for k, top in enumerate(np.asarray(partons, dtype=np.float64).reshape(-1, 4, 4).tolist()):
        for _, _, eta, phi in top:
            dphi = (phi - jet_phi + math.pi) % (2 * math.pi) - math.pi
            if (eta - jet_eta) ** 2 + dphi * dphi >= dr2_max:
                break
        else:
            return k
    return -1


# ----------------------------------------------------------------------------- compiled, on the raw record
# The same partons from the event record's memory (see hepdl.generation.pythia_record), with Pythia's own
# definitions of Particle::daughterList, iBotCopyId, pT, eta and phi. tests/test_pythia_record.py
# checks it against hadronic_top_partons, bit for bit.

ID, STATUS, MOTHER1, DAUGHTER1, DAUGHTER2 = range(5)  # order of the int32 column offsets
TINY = 1e-20  # Pythia's Particle::TINY


@numba.njit(cache=True, nogil=True)
def _daughters(i32: np.ndarray, o_int: np.ndarray, i: int, out: np.ndarray) -> int:
    """Pythia's ``Particle::daughterList`` of entry ``i`` into ``out``; returns its length."""
    d1 = i32[i, o_int[DAUGHTER1]]
    d2 = i32[i, o_int[DAUGHTER2]]
    m = 0
    if d1 == 0 and d2 == 0:
        pass
    elif d2 == 0 or d2 == d1:
        out[0] = d1
        m = 1
    elif d2 > d1:
        for d in range(d1, d2 + 1):
            out[m] = d
            m += 1
    else:
        out[0] = d2
        out[1] = d1
        m = 2
    status = abs(i32[i, o_int[STATUS]])
    if status == 12 or status == 13:  # beams: also the initiators and remnants that have them as mother
        for j in range(i + 1, i32.shape[0]):
            if i32[j, o_int[MOTHER1]] == i and not np.any(out[:m] == j):
                out[m] = j
                m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _bottom_copy(i32: np.ndarray, o_int: np.ndarray, i: int, work: np.ndarray) -> int:
    """Pythia's ``Particle::iBotCopyId()``: down the unique chain of daughters with the same id."""
    pid = i32[i, o_int[ID]]
    down = i
    while True:
        nxt = 0
        for k in range(_daughters(i32, o_int, down, work)):
            d = work[k]
            if i32[d, o_int[ID]] == pid:
                if nxt != 0:
                    return down
                nxt = d
        if nxt == 0:
            return down
        down = nxt


@numba.njit(cache=True, nogil=True)
def top_partons_from_record(i32: np.ndarray, f64: np.ndarray, o_int: np.ndarray, o_p: np.ndarray) -> np.ndarray:
    """:func:`hadronic_top_partons` on the record's memory.

    ``i32``, ``f64``: the records viewed as int32 ``(n, stride / 4)`` and float64
    ``(n, stride / 8)``; ``o_int``: column offsets of (id, status, mother1, daughter1, daughter2)
    in ``i32``; ``o_p``: of (px, py, pz) in ``f64``. Returns float64 ``(n_tops, 4, 4)``.
    """
    n = i32.shape[0]
    out = np.empty((9, 4, 4))
    work = np.empty(n, np.int64)  # a daughter list (at most every entry)
    n_tops = 0
    for i in range(3, min(n, 12)):
        if abs(i32[i, o_int[ID]]) != 6 or abs(i32[i, o_int[STATUS]]) != 22:
            continue
        top = _bottom_copy(i32, o_int, i, work)
        quark = -1
        n_quarks = 0
        w = -1
        n_ws = 0
        for k in range(_daughters(i32, o_int, top, work)):
            d = work[k]
            a = abs(i32[d, o_int[ID]])
            if 1 <= a <= 5:
                quark = d
                n_quarks += 1
            elif a == 24:
                w = d
                n_ws += 1
        if n_quarks != 1 or n_ws != 1:
            continue
        w_last = _bottom_copy(i32, o_int, w, work)
        rows = np.empty(4, np.int64)
        rows[0] = top
        rows[1] = quark
        n_rows = 2
        for k in range(_daughters(i32, o_int, w_last, work)):
            d = work[k]
            if 1 <= abs(i32[d, o_int[ID]]) <= 5:
                if n_rows < 4:
                    rows[n_rows] = d
                n_rows += 1
        if n_rows != 4:
            continue
        for r in range(4):
            j = rows[r]
            px = f64[j, o_p[0]]
            py = f64[j, o_p[1]]
            pz = f64[j, o_p[2]]
            pt = math.sqrt(px * px + py * py)
            p_abs = math.sqrt(px * px + py * py + pz * pz)
            eta = math.log((p_abs + abs(pz)) / max(TINY, pt))
            out[n_tops, r, 0] = i32[j, o_int[ID]]
            out[n_tops, r, 1] = pt
            out[n_tops, r, 2] = eta if pz > 0 else -eta
            out[n_tops, r, 3] = math.atan2(py, px)
        n_tops += 1
    return out[:n_tops].copy()
