"""hepdl's kinematics conventions, in one place: azimuth wrapping, rapidities, four-momenta.

Every hepdl module that wraps an azimuth, takes an azimuth difference, converts between
(px, py, pz, E) and (pt, eta, phi, m) or sums a jet's constituents uses the functions here, so
the whole package has one convention.

Conventions
===========

* Units: GeV for momenta, energies and masses; radians for angles.
* **Azimuth** ``phi = atan2(py, px)``, **wrapped into (-pi, pi]**: ``-pi`` (and ``3 pi``) become
  ``+pi``. Why this half-open interval: the canonical jets schema (DESIGN.md) stores phi in
  (-pi, pi], and it is the range of ``atan2`` itself except for ``atan2(-0.0, x < 0) = -pi``, so
  a computed azimuth is changed only in that one signed-zero case.
* **float32 at pi.** pi is not a float32 number: ``float32(pi) = 3.14159274 = pi + 8.7e-8``. A
  stored (float32) azimuth lies in **(-float32(pi), float32(pi)]**: :func:`wrap_phi32` rounds to
  float32 and maps ``-float32(pi)`` (what a float64 value in (-pi, -pi + 3.2e-8) rounds to) to
  ``+float32(pi)``. So that a float32 azimuth read back from a file is left as it is,
  :func:`wrap_phi` treats the float64 numbers in (pi, float32(pi)] as pi: it returns them
  unchanged. Its output range is therefore (-pi, float32(pi)].
* **Azimuth difference** ``delta_phi(a, b) = wrap_phi(a - b)``, in the same range.
* **Pseudorapidity** ``eta = asinh(pz / pt)``: ``+-inf`` for pt = 0 (NaN if pz = 0 too).
* **Rapidity** ``y = 0.5 ln((E + pz) / (E - pz))``, computed with the arithmetic of FastJet's
  ``PseudoJet::rap`` (the rapidity the N-subjettiness binding uses):
  ``y = -sign(pz) * 0.5 * ln((pt^2 + max(m^2, 0)) / (E + |pz|)^2)``, so a particle whose
  ``E^2 < |p|^2`` (float rounding of a massless particle) is taken as massless *keeping its E*.
  A massless particle along the beam gets ``+-inf`` (FastJet: ``+-(1e5 + |pz|)``); E = p = 0
  gives NaN (FastJet: 1e5).
* **Mass** ``m = sqrt(max(E^2 - px^2 - py^2 - pz^2, 0))`` (a negative m^2 from rounding is 0).
* **Jet four-momentum**: the sum of its constituents' (px, py, pz, E) (E-scheme), added in the
  order the constituents are given; an empty jet has (0, 0, 0, 0). Its (pt, eta, phi, m) are
  those of :func:`pt_eta_phi_m`.

The numpy functions take arrays of any shape (or scalars) and return float64 arrays, except
:func:`wrap_phi32` (float32). The ``*_jit`` functions are numba-compiled scalar versions, for
numba kernels (callable from Python too), with the same arithmetic: :func:`wrap_phi_jit` and
:func:`delta_phi_jit` give the numpy functions' numbers bit for bit; :func:`pt_eta_phi_m_jit`
uses the C library's ``asinh`` / ``atan2``, which can differ from numpy's in the last bit.
numba's on-disk cache (``cache=True``) of a kernel in another module does not notice a change
of a ``*_jit`` function it calls: after editing one, clear the ``__pycache__`` ``*.nbi``/``*.nbc``
files of its callers (e.g. :mod:`hepdl.images.preprocess`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: float32(pi) = 3.14159274 (pi + 8.7e-8), as a Python float: the top of (-pi, pi] in float32.
PI32 = float(np.float32(np.pi))
_PI = math.pi
_TWO_PI = 2.0 * math.pi


# --------------------------------------------------------------------------- azimuth


def wrap_phi(phi) -> np.ndarray:
    """Azimuth [rad] wrapped into (-pi, pi] (float64, same shape); NaN stays NaN.

    Values already in range, including the float64 numbers in (pi, float32(pi)] (float32 pi
    read back from a file), are returned bit for bit; others get ``phi - 2 pi k`` for the
    integer ``k`` that brings them into range. A float64 input entirely in range is returned
    without a copy.
    """
    phi = np.asarray(phi, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        inside = (phi > -_PI) & (phi <= PI32)
        if np.all(inside):
            return phi
        wrapped = phi - _TWO_PI * np.ceil((phi - _PI) / _TWO_PI)
        wrapped = np.where(wrapped <= -_PI, wrapped + _TWO_PI, wrapped)  # rounding at -pi
    return np.where(inside, phi, wrapped)


def wrap_phi32(phi) -> np.ndarray:
    """Azimuth [rad] as stored: float32 in (-float32(pi), float32(pi)] (see the module docstring).

    :func:`wrap_phi`, rounded to float32, with ``-float32(pi)`` mapped to ``+float32(pi)``.
    """
    phi32 = wrap_phi(phi).astype(np.float32)
    return np.where(phi32 <= np.float32(-PI32), np.float32(PI32), phi32)


def delta_phi(phi_a, phi_b) -> np.ndarray:
    """Azimuth difference ``phi_a - phi_b`` [rad] wrapped into (-pi, pi] (float64)."""
    return wrap_phi(np.asarray(phi_a, dtype=np.float64) - np.asarray(phi_b, dtype=np.float64))


@numba.njit(cache=True, nogil=True)
def wrap_phi_jit(phi: float) -> float:
    """Scalar :func:`wrap_phi` for numba kernels (the same arithmetic, the same result)."""
    if -_PI < phi <= PI32:
        return phi
    wrapped = phi - _TWO_PI * np.ceil((phi - _PI) / _TWO_PI)  # np.ceil: a float, NaN for inf
    if wrapped <= -_PI:
        wrapped += _TWO_PI
    return wrapped


@numba.njit(cache=True, nogil=True)
def delta_phi_jit(phi_a: float, phi_b: float) -> float:
    """Scalar :func:`delta_phi` for numba kernels."""
    return wrap_phi_jit(phi_a - phi_b)


# --------------------------------------------------------------------------- rapidities


def pseudorapidity(pt, pz) -> np.ndarray:
    """``eta = asinh(pz / pt)`` (float64); ``+-inf`` for pt = 0, NaN if pz = 0 too."""
    pt = np.asarray(pt, dtype=np.float64)
    pz = np.asarray(pz, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.arcsinh(pz / pt)


def rapidity(px, py, pz, energy) -> np.ndarray:
    """Rapidity of four-momenta [GeV] (float64), FastJet's arithmetic (see the module docstring)."""
    px, py, pz, energy = (np.asarray(x, dtype=np.float64) for x in (px, py, pz, energy))
    pt2 = px * px + py * py
    m2 = np.maximum((energy + pz) * (energy - pz) - pt2, 0.0)
    e_plus_abs_pz = energy + np.abs(pz)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 * np.log((pt2 + m2) / (e_plus_abs_pz * e_plus_abs_pz))
    return np.where(pz > 0, -y, y)


# --------------------------------------------------------------------------- four-momenta


def px_py_pz(pt, eta, phi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cartesian momentum [GeV] from (pt [GeV], pseudorapidity, azimuth [rad]) (float64)."""
    pt, eta, phi = (np.asarray(x, dtype=np.float64) for x in (pt, eta, phi))
    return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)


def pt_eta_phi_m(px, py, pz, energy) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi, m) of four-momenta (px, py, pz, E) [GeV] (float64, same shapes).

    ``pt = hypot(px, py)``, ``eta = asinh(pz / pt)``, ``phi = atan2(py, px)`` in (-pi, pi],
    ``m = sqrt(max(E^2 - px^2 - py^2 - pz^2, 0))``. pt = 0 gives eta = +-inf (NaN if pz = 0).
    """
    px, py, pz, energy = (np.asarray(x, dtype=np.float64) for x in (px, py, pz, energy))
    pt = np.hypot(px, py)
    mass = np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0.0))
    return pt, pseudorapidity(pt, pz), wrap_phi(np.arctan2(py, px)), mass


@numba.njit(cache=True, nogil=True)
def pt_eta_phi_m_jit(px: float, py: float, pz: float, energy: float) -> tuple[float, float, float, float]:
    """Scalar :func:`pt_eta_phi_m` for numba kernels (pt = 0: eta = +-inf, or NaN if pz = 0)."""
    pt = math.hypot(px, py)
    if pt > 0.0:
        eta = math.asinh(pz / pt)
    elif pz > 0.0:
        eta = math.inf
    elif pz < 0.0:
        eta = -math.inf
    else:
        eta = math.nan
    phi = wrap_phi_jit(math.atan2(py, px))
    mass = math.sqrt(max(energy * energy - px * px - py * py - pz * pz, 0.0))
    return pt, eta, phi, mass


def jet_four_momenta(counts, px, py, pz, energy) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Four-momenta (px, py, pz, E) [GeV] of jets: the sum of their constituents.

    ``counts``: int (n_jets,), constituents per jet; ``px, py, pz, energy``: float (c,), the
    constituents of all jets, flat, in jet order (``c = counts.sum()``). Returns four float64
    (n_jets,) arrays; an empty jet gets zeros. Constituents are added in the order given
    (sequentially: the same sum as a loop over them).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_jets = len(counts)
    flat = [np.asarray(x, dtype=np.float64) for x in (px, py, pz, energy)]
    total = int(counts.sum())
    for name, values in zip(("px", "py", "pz", "energy"), flat, strict=True):
        if values.shape != (total,):
            raise ValueError(f"jet_four_momenta: {name} has shape {values.shape}, counts sum to {total}")
    jet_of_const = np.repeat(np.arange(n_jets), counts)
    return tuple(np.bincount(jet_of_const, weights=values, minlength=n_jets) for values in flat)


@numba.njit(cache=True, nogil=True)
def jet_four_momentum_jit(p4: np.ndarray, members: np.ndarray) -> tuple[float, float, float, float]:
    """Scalar :func:`jet_four_momenta` for numba kernels: one jet from an event's particles.

    ``p4``: float64 ``(4, N)``, rows px, py, pz, E [GeV]; ``members``: int ``(n,)``, the jet's
    columns, added in this order. Returns (px, py, pz, E); (0, 0, 0, 0) for no members.
    """
    px = 0.0
    py = 0.0
    pz = 0.0
    energy = 0.0
    for k in range(members.shape[0]):
        i = members[k]
        px += p4[0, i]
        py += p4[1, i]
        pz += p4[2, i]
        energy += p4[3, i]
    return px, py, pz, energy
