"""A generated jet's record from its constituents' four-momenta (numba: one fixed order of arithmetic).

Conventions (those of the canonical jets file, :mod:`hepdl.io.jets_file`):

* the jet four-momentum is the sum of *all* its constituents, added in increasing event-record
  index (the order in which ``SlowJet.constituents`` lists them; the fastjet path sorts its
  constituent indices so), before the list is truncated: ``jet_mass`` is the full jet mass;
* ``jet_pt = hypot(px, py)``, ``jet_eta = asinh(pz / pt)`` (pseudorapidity),
  ``jet_phi = atan2(py, px)`` in (-pi, pi], ``jet_mass = sqrt(max(E^2 - p^2, 0))`` [GeV]
  (:mod:`hepdl.physics.kinematics`: ``jet_four_momentum_jit`` and ``pt_eta_phi_m_jit``);
* constituents sorted by decreasing pT (ties keep record order), at most ``max_constituents``,
  each as (pt, eta, phi, E) with the same formulas.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from hepdl.physics.kinematics import jet_four_momentum_jit, pt_eta_phi_m_jit


@numba.njit(cache=True, nogil=True)
def jet_from_constituents(p4: np.ndarray, members: np.ndarray,
                          max_constituents: int) -> tuple[np.ndarray, np.ndarray]:
    """Jet kinematics and its stored constituents.

    ``p4``: float64 ``(4, N)``, rows px, py, pz, E [GeV] of an event's particles; ``members``:
    int64 ``(n,)``, the jet's columns of ``p4`` in increasing record order. Returns
    (``jet`` float64 ``(4,)``: pt, eta, phi, mass; ``const`` float64 ``(min(n, max), 4)``:
    pt, eta, phi, E sorted by decreasing pt).
    """
    n = members.shape[0]
    const_pt = np.empty(n)
    for k in range(n):
        i = members[k]
        const_pt[k] = math.hypot(p4[0, i], p4[1, i])
    px, py, pz, e = jet_four_momentum_jit(p4, members)
    jet = np.empty(4)
    jet[0], jet[1], jet[2], jet[3] = pt_eta_phi_m_jit(px, py, pz, e)
    order = np.argsort(-const_pt, kind="mergesort")[:max_constituents]
    const = np.empty((order.shape[0], 4))
    for k in range(order.shape[0]):
        i = members[order[k]]
        pt = const_pt[order[k]]
        const[k, 0] = pt
        const[k, 1] = math.asinh(p4[2, i] / pt)
        const[k, 2] = math.atan2(p4[1, i], p4[0, i])
        const[k, 3] = p4[3, i]
    return jet, const
