"""N-subjettiness of jets from their constituents, vectorised over jets with FastJet.

Definition (Thaler, Van Tilburg, arXiv:1011.2268), with the normalisation of the original paper::

    tau_N = sum_i pt_i * min_k DeltaR(i, axis_k) / (sum_i pt_i * r0),   k = 1..N

* ``DeltaR^2 = (y_i - y_k)^2 + (phi_i - phi_k)^2`` in **rapidity** y and azimuth phi, with the
  azimuth difference wrapped into [-pi, pi). Rapidity (not pseudorapidity) is the convention of
  FastJet's ``PseudoJet::delta_R`` and of the fastjet-contrib ``Nsubjettiness`` package; for the
  (nearly massless) jet constituents the two coincide, for the massive axes they do not.
* Axes: the N **exclusive-kt subjets** of the jet's constituents (kt algorithm, **E-scheme**
  recombination, R = 1000, i.e. ``JetDefinition.max_allowable_R``, so that the beam distance never
  competes with the pairwise distances and ``exclusive_jets(N)`` is the last N protojets of the
  clustering). This is ``KT_Axes`` of fastjet-contrib Nsubjettiness (unoptimised axes, beta = 1).
* A jet with at most N constituents has tau_N = 0 (each constituent is its own axis, or there are
  fewer constituents than axes); a jet without constituents or with zero scalar pt sum has all
  tau_N = 0.

Clustering runs through the FastJet Python package's awkward interface: one
``fastjet.ClusterSequence`` for all jets together (the per-jet loop is in C++); the distances and
sums are numpy over the flattened constituents. No Python loop per jet.
"""

from __future__ import annotations

import warnings

import awkward as ak
import numpy as np

#: kt radius of the exclusive clustering (FastJet's max_allowable_R): no beam distance competes.
KT_AXES_R = 1000.0


def _kinematics(const_pt: ak.Array, const_eta: ak.Array, const_phi: ak.Array, const_e: ak.Array):
    """Flat float64 arrays (pt, px, py, pz, E, rapidity, phi) and per-jet counts."""
    counts = np.asarray(ak.num(const_pt, axis=1), dtype=np.int64)
    flat = [np.asarray(ak.flatten(a, axis=1), dtype=np.float64) for a in (const_pt, const_eta, const_phi, const_e)]
    pt, eta, phi, energy = flat
    for name, arr in zip(("const_eta", "const_phi", "const_e"), flat[1:]):
        if len(arr) != len(pt):
            raise ValueError(f"nsubjettiness: {name} has {len(arr)} constituents, const_pt has {len(pt)}")
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    rap = _rapidity(px, py, pz, energy)
    return counts, pt, px, py, pz, energy, rap, phi


def _rapidity(px: np.ndarray, py: np.ndarray, pz: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Rapidity; an energy below |p| (float rounding of a massless particle) is raised to |p|."""
    p = np.sqrt(px * px + py * py + pz * pz)
    e = np.maximum(energy, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        rap = 0.5 * np.log((e + pz) / (e - pz))
    return np.where(np.isfinite(rap), rap, 0.0)


def _wrap(dphi: np.ndarray) -> np.ndarray:
    """Azimuth difference wrapped into [-pi, pi)."""
    return (dphi + np.pi) % (2.0 * np.pi) - np.pi


def _exclusive_kt_axes(px, py, pz, energy, counts, n_axes_list) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rapidity and phi, shape (n_jets, N), of the exclusive-kt axes for each N in ``n_axes_list``.

    One clustering of all jets (each must have at least max(n_axes_list) constituents), then
    ``exclusive_jets(N)`` of the same cluster sequence for each N.
    """
    import fastjet  # heavy import (prints the FastJet banner once)

    offsets = np.concatenate([[0], np.cumsum(counts)])
    content = ak.contents.RecordArray(
        [ak.contents.NumpyArray(x) for x in (px, py, pz, energy)], ["px", "py", "pz", "E"],
        parameters={"__record__": "Momentum4D"})
    particles = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), content))
    jetdef = fastjet.JetDefinition(fastjet.kt_algorithm, KT_AXES_R, fastjet.E_scheme)
    result = []
    with warnings.catch_warnings():
        # fastjet-python 3.5 compares a JetDefinition with an algorithm enum and warns for kt too
        warnings.filterwarnings("ignore", message="dcut and exclusive jets", category=UserWarning)
        sequence = fastjet.ClusterSequence(particles, jetdef)
        for n_axes in n_axes_list:
            axes = sequence.exclusive_jets(n_jets=n_axes)
            ax = {f: np.asarray(ak.flatten(axes[f], axis=1), dtype=np.float64).reshape(len(counts), n_axes)
                  for f in ("px", "py", "pz", "E")}
            result.append((_rapidity(ax["px"], ax["py"], ax["pz"], ax["E"]), np.arctan2(ax["py"], ax["px"])))
    return result


def nsubjettiness(const_pt: ak.Array, const_eta: ak.Array, const_phi: ak.Array, const_e: ak.Array,
                  n_max: int = 3, r0: float = 0.8) -> np.ndarray:
    """N-subjettiness tau_1 .. tau_{n_max} of each jet (exclusive-kt axes, E-scheme, beta = 1).

    Parameters
    ----------
    const_pt, const_eta, const_phi, const_e:
        jagged awkward arrays, one list of constituents per jet: transverse momentum [GeV],
        pseudorapidity, azimuth [rad], energy [GeV].
    n_max:
        the largest N computed.
    r0:
        the characteristic jet radius of the normalisation ``sum_i pt_i * r0`` (the jet radius).

    Returns
    -------
    float32 array of shape (n_jets, n_max); column N-1 is tau_N (dimensionless, in [0, ~1.5]).
    Jets with at most N constituents have tau_N = 0.
    """
    if n_max < 1:
        raise ValueError(f"nsubjettiness: n_max must be >= 1, got {n_max}")
    if r0 <= 0:
        raise ValueError(f"nsubjettiness: r0 must be > 0, got {r0}")
    counts, pt, px, py, pz, energy, rap, phi = _kinematics(const_pt, const_eta, const_phi, const_e)
    n_jets = len(counts)
    tau = np.zeros((n_jets, n_max), dtype=np.float64)
    if n_jets == 0 or len(pt) == 0:
        return tau.astype(np.float32)
    jet_of_const = np.repeat(np.arange(n_jets), counts)
    norm = np.bincount(jet_of_const, weights=pt, minlength=n_jets) * r0
    # Group jets by how many taus need a clustering: jets with m <= n_max constituents need
    # N = 1..m-1 (tau_N = 0 for N >= m: every constituent is an axis); the rest need 1..n_max.
    group = np.minimum(counts, n_max + 1)
    for size in np.unique(group):
        n_axes_list = list(range(1, min(int(size) - 1, n_max) + 1)) if size <= n_max else list(range(1, n_max + 1))
        if not n_axes_list:
            continue
        jets = np.flatnonzero(group == size)
        keep = np.isin(jet_of_const, jets)  # constituents of those jets, in jet order
        sub_counts = counts[jets]
        local = np.repeat(np.arange(len(jets)), sub_counts)
        sub_pt, sub_rap, sub_phi = pt[keep], rap[keep], phi[keep]
        all_axes = _exclusive_kt_axes(px[keep], py[keep], pz[keep], energy[keep], sub_counts, n_axes_list)
        for n_axes, (axis_rap, axis_phi) in zip(n_axes_list, all_axes):
            drap = sub_rap[:, None] - axis_rap[local]
            dphi = _wrap(sub_phi[:, None] - axis_phi[local])
            min_dr = np.sqrt(np.min(drap * drap + dphi * dphi, axis=1))
            numerator = np.bincount(local, weights=sub_pt * min_dr, minlength=len(jets))
            with np.errstate(divide="ignore", invalid="ignore"):
                tau[jets, n_axes - 1] = np.where(norm[jets] > 0, numerator / norm[jets], 0.0)
    return tau.astype(np.float32)


def tau_ratio(tau_numerator: np.ndarray, tau_denominator: np.ndarray, undefined: float = 1.0) -> np.ndarray:
    """tau_N / tau_{N-1} (e.g. tau32 = tau3 / tau2) as float32, ``undefined`` where the denominator is 0.

    tau_2 = 0 happens only for jets with at most 2 constituents (then tau_3 = 0 too): such a jet
    is as far from a 3-prong jet as can be, so tau32 is defined as 1 (the top-unlike end).
    """
    num = np.asarray(tau_numerator, dtype=np.float64)
    den = np.asarray(tau_denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den, undefined)
    return ratio.astype(np.float32)
