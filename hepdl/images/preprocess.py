"""Jet images: centre, rotate, flip, pixelate and normalise jet constituents (pure functions).

Convention (the same in every image hepdl writes, trains on and plots)
=====================================================================

An image is a float32 array of shape ``(npix, npix)``; a batch is ``(n_jets, npix, npix)``.

* **array axis 0 (rows) is eta'**, **array axis 1 (columns) is phi'**: ``image[i_eta, i_phi]``.
  (EnergyFlow >= 1.0's ``pixelate`` fills ``image[i_phi, i_y]``, the transpose.) eta' and phi'
  are the constituent's pseudorapidity and azimuth relative to the image centre, after the
  optional rotation and flips (dimensionless; radians for phi').
* Pixel ``i`` along an axis covers ``[-half_width + i w, -half_width + (i + 1) w)`` with
  ``w = 2 half_width / npix``: index 0 is the most negative coordinate. For an even ``npix`` the
  image centre (0, 0) is the corner shared by the four central pixels
  ``[npix/2 - 1 : npix/2 + 1]``.
* Shown with ``plt.imshow(image, origin="lower", extent=(-hw, hw, -hw, hw))`` eta' runs **up**
  (vertical axis) and phi' runs **right** (horizontal axis). "Vertical" below means along eta'.
* Pixel intensity is the **sum of the pT (GeV) of the constituents in that pixel** (never the last
  one written); constituents outside ``[-half_width, half_width)^2`` are dropped. With
  ``normalise=True`` every non-empty image is divided by its in-window pT and sums to one.

Preprocessing steps (each a switch), applied in this order:

1. **centre** — ``"centroid"``: the pT-weighted centroid of (eta, phi) goes to (0, 0);
   ``"leading"``: the leading (highest-pT) constituent goes to (0, 0). Azimuths are taken
   relative to a reference constituent of the jet (the first one with pT > 0: the leading one
   for pT-sorted jets such as hepdl's) and wrapped into (-pi, pi] (the convention of
   :mod:`hepdl.physics.kinematics`, ``delta_phi``) *before* any averaging, so a
   jet that straddles phi = +-pi is not torn apart (the raw-phi average of such a jet is wrong by
   up to pi; EnergyFlow's ``pixelate`` leaves this to the caller).
2. **rotate** — the principal axis of the pT-weighted (eta, phi) covariance of the constituents
   (about their pT centroid, whatever the centring) is rotated about the image centre onto the
   eta' axis (vertical). A jet with no preferred direction (isotropic moments, e.g. one
   constituent) is not rotated.
3. **flip** — the image is reflected along eta' (rows reversed) if the lower half (eta' < 0) holds
   more in-window pT than the upper half, and along phi' (columns reversed) if the left half
   (phi' < 0) holds more than the right half. After flipping, the upper half and the right half
   each hold at least as much pT as their mirror half: the brightest quadrant tends to be the
   upper right one (``origin="lower"``). Ties are not flipped; for odd ``npix`` the middle row /
   column belongs to neither half.
4. **pixelate** — as above (pT summed per pixel, float64 accumulation).
5. **normalise** — divide by the in-window pT sum.

Constituents with pT <= 0 or a non-finite pT, eta or phi carry no weight and are ignored. A jet
with no remaining constituent inside the window is *empty*: its image is all zeros (never NaN)
and ``return_empty=True`` reports it.

Everything runs in one numba-compiled call over the flattened constituents of all jets (the loop
over jets is inside numba; three passes over each jet's constituents; float64 arithmetic and
accumulation, float32 output); the result is deterministic.
"""

from __future__ import annotations

import math

import awkward as ak
import numba
import numpy as np

from hepdl.physics.kinematics import delta_phi_jit

CENTRES = ("centroid", "leading")


def jet_images(const_pt: ak.Array, const_eta: ak.Array, const_phi: ak.Array, *, npix: int = 40,
               half_width: float = 0.8, centre: str = "centroid", rotate: bool = True,
               flip: bool = True, normalise: bool = True,
               return_empty: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Jet images of a batch of jets.

    Parameters
    ----------
    const_pt, const_eta, const_phi
        Jagged arrays (awkward, one list of constituents per jet; or a list of 1-D numpy arrays)
        of constituent pT (GeV), pseudorapidity and azimuth (rad, any range: differences are
        wrapped). Shapes ``(n_jets, var)``, identical list lengths. Order within a jet does not
        matter.
    npix
        Pixels per side.
    half_width
        The image covers ``[-half_width, half_width)`` in eta' and in phi' (0.8: 0.04 per pixel at
        ``npix=40``).
    centre, rotate, flip, normalise
        Preprocessing switches, see the module docstring.
    return_empty
        Also return the boolean mask of empty jets (no constituent with pT > 0 in the window).

    Returns
    -------
    images : np.ndarray, float32, shape ``(n_jets, npix, npix)``
        ``images[j, i_eta, i_phi]``: pT (GeV) in the pixel, or the pT fraction when normalised.
    empty : np.ndarray, bool, shape ``(n_jets,)``, only with ``return_empty=True``
        True where the image is empty (all zeros).
    """
    if centre not in CENTRES:
        raise ValueError(f"centre must be one of {CENTRES}, got {centre!r}")
    if int(npix) < 1 or not half_width > 0:
        raise ValueError(f"need npix >= 1 and half_width > 0, got npix={npix}, half_width={half_width}")
    pt, offsets = _flat(const_pt)
    eta, offsets_eta = _flat(const_eta)
    phi, offsets_phi = _flat(const_phi)
    if not (np.array_equal(offsets, offsets_eta) and np.array_equal(offsets, offsets_phi)):
        raise ValueError("const_pt, const_eta and const_phi must have the same number of constituents per jet")
    n_jets = len(offsets) - 1
    images = np.zeros((n_jets, int(npix), int(npix)), dtype=np.float32)
    window_pt = np.zeros(n_jets, dtype=np.float64)
    if n_jets:
        max_nconst = int(np.max(np.diff(offsets)))
        _images_kernel(pt, eta, phi, offsets, int(npix), float(half_width), centre == "leading",
                       bool(rotate), bool(flip), bool(normalise), max_nconst, images, window_pt)
    if return_empty:
        return images, window_pt <= 0.0
    return images


def pixelate(const_pt: ak.Array, const_eta: ak.Array, const_phi: ak.Array, *, npix: int = 40,
             half_width: float = 0.8, normalise: bool = False) -> np.ndarray:
    """Pixelate coordinates as given (no centring, rotation or flip): the EnergyFlow-like core.

    ``const_eta`` and ``const_phi`` are taken as eta' and phi' already (relative to the image
    centre; phi is *not* wrapped here). Same axes, units and shapes as :func:`jet_images`.
    """
    pt, offsets = _flat(const_pt)
    eta, _ = _flat(const_eta)
    phi, _ = _flat(const_phi)
    n_jets = len(offsets) - 1
    images = np.zeros((n_jets, int(npix), int(npix)), dtype=np.float32)
    window_pt = np.zeros(n_jets, dtype=np.float64)
    if n_jets:
        _pixelate_kernel(pt, eta, phi, offsets, int(npix), float(half_width), bool(normalise),
                         images, window_pt)
    return images


def image_options(config_images: dict) -> dict:
    """The keyword arguments of :func:`jet_images` taken from the config's ``images`` block."""
    keys = ("npix", "half_width", "centre", "rotate", "flip", "normalise")
    return {key: config_images[key] for key in keys if key in config_images}


def _flat(jagged) -> tuple[np.ndarray, np.ndarray]:
    """Flat numpy values and int64 offsets (length n_jets + 1) of a jagged array (no copy if possible)."""
    if not isinstance(jagged, ak.Array):
        jagged = ak.Array(jagged)
    if jagged.ndim != 2:
        raise ValueError(f"expected a jagged array of shape (n_jets, var), got type {jagged.type}")
    counts = ak.to_numpy(ak.num(jagged, axis=1)).astype(np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    values = np.asarray(ak.to_numpy(ak.flatten(jagged, axis=1)))
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    return np.ascontiguousarray(values), offsets


@numba.njit(cache=True, nogil=True)
def _images_kernel(pt, eta, phi, offsets, npix, half_width, leading, rotate, flip, normalise,
                   max_nconst, images, window_pt):
    """Three passes per jet: moments; rotate + pixelate into a float64 scratch; flip + copy out."""
    inv_w = npix / (2.0 * half_width)
    half = npix // 2
    upper = npix - half  # first row / column of the upper (right) half
    x_eta = np.empty(max_nconst, dtype=np.float64)
    x_phi = np.empty(max_nconst, dtype=np.float64)
    weight = np.empty(max_nconst, dtype=np.float64)
    pixel = np.empty(max_nconst, dtype=np.int64)
    scratch = np.zeros(npix * npix, dtype=np.float64)
    flat_images = images.reshape(images.shape[0], npix * npix)
    for j in range(len(offsets) - 1):
        start, stop = offsets[j], offsets[j + 1]
        # reference for the phi wrap-around: the first constituent with pt > 0 (the leading one of
        # pT-sorted jets); any constituent of the jet gives the same centroid
        ref = -1
        for k in range(start, stop):
            p = float(pt[k])
            if p > 0.0 and math.isfinite(p) and math.isfinite(eta[k]) and math.isfinite(phi[k]):
                ref = k
                break
        if ref < 0:
            continue
        eta_ref = float(eta[ref])
        phi_ref = float(phi[ref])
        # pass 1: coordinates relative to the reference, pT sums, first and second moments
        m = 0
        lead = 0
        sum_w = 0.0
        s_e = 0.0
        s_p = 0.0
        s_ee = 0.0
        s_pp = 0.0
        s_ep = 0.0
        for k in range(ref, stop):
            p = float(pt[k])
            if not (p > 0.0 and math.isfinite(p) and math.isfinite(eta[k]) and math.isfinite(phi[k])):
                continue
            e = float(eta[k]) - eta_ref
            f = delta_phi_jit(float(phi[k]), phi_ref)
            x_eta[m] = e
            x_phi[m] = f
            weight[m] = p
            if p > weight[lead]:
                lead = m
            sum_w += p
            s_e += p * e
            s_p += p * f
            s_ee += p * e * e
            s_pp += p * f * f
            s_ep += p * e * f
            m += 1
        mean_eta = s_e / sum_w
        mean_phi = s_p / sum_w
        if leading:
            shift_eta = x_eta[lead]
            shift_phi = x_phi[lead]
        else:
            shift_eta = mean_eta
            shift_phi = mean_phi
        cos_t = 1.0
        sin_t = 0.0
        if rotate and m > 1:
            # pT-weighted covariance (times sum_w) about the centroid
            c_ee = s_ee - s_e * mean_eta
            c_pp = s_pp - s_p * mean_phi
            c_ep = s_ep - s_e * mean_phi
            if c_ep != 0.0 or c_ee != c_pp:
                theta = 0.5 * math.atan2(2.0 * c_ep, c_ee - c_pp)
                cos_t = math.cos(theta)
                sin_t = math.sin(theta)
        # pass 2: centre, rotate, pixelate into the scratch image, half sums
        lower_pt = 0.0
        upper_pt = 0.0
        left_pt = 0.0
        right_pt = 0.0
        total = 0.0
        for q in range(m):
            e = x_eta[q] - shift_eta
            f = x_phi[q] - shift_phi
            t_eta = (cos_t * e + sin_t * f + half_width) * inv_w
            t_phi = (-sin_t * e + cos_t * f + half_width) * inv_w
            if not (0.0 <= t_eta < npix and 0.0 <= t_phi < npix):
                pixel[q] = -1
                continue
            a = int(t_eta)  # floor, t >= 0
            b = int(t_phi)
            p = weight[q]
            pixel[q] = a * npix + b
            scratch[a * npix + b] += p
            total += p
            if a < half:
                lower_pt += p
            elif a >= upper:
                upper_pt += p
            if b < half:
                left_pt += p
            elif b >= upper:
                right_pt += p
        if not (total > 0.0 and math.isfinite(total) and math.isfinite(sum_w)):
            for q in range(m):  # empty (or an overflowing pt sum): a zero image, reported empty
                if pixel[q] >= 0:
                    scratch[pixel[q]] = 0.0
            continue
        window_pt[j] = total
        flip_eta = flip and lower_pt > upper_pt
        flip_phi = flip and left_pt > right_pt
        norm = total if normalise else 1.0
        image = flat_images[j]
        # pass 3: copy the touched pixels out (reflected where flipped) and reset the scratch
        for q in range(m):
            flat = pixel[q]
            if flat < 0:
                continue
            value = scratch[flat]
            if value != 0.0:
                scratch[flat] = 0.0
                a = flat // npix
                b = flat - a * npix
                if flip_eta:
                    a = npix - 1 - a
                if flip_phi:
                    b = npix - 1 - b
                image[a * npix + b] = value / norm


@numba.njit(cache=True, nogil=True)
def _pixelate_kernel(pt, eta, phi, offsets, npix, half_width, normalise, images, window_pt):
    inv_w = npix / (2.0 * half_width)
    scratch = np.zeros((npix, npix), dtype=np.float64)
    for j in range(len(offsets) - 1):
        total = 0.0
        for k in range(offsets[j], offsets[j + 1]):
            p = float(pt[k])
            t_eta = (float(eta[k]) + half_width) * inv_w
            t_phi = (float(phi[k]) + half_width) * inv_w
            if p > 0.0 and math.isfinite(p) and 0.0 <= t_eta < npix and 0.0 <= t_phi < npix:
                scratch[int(t_eta), int(t_phi)] += p
                total += p
        window_pt[j] = total
        norm = total if (normalise and total > 0.0) else 1.0
        for k in range(offsets[j], offsets[j + 1]):
            p = float(pt[k])
            t_eta = (float(eta[k]) + half_width) * inv_w
            t_phi = (float(phi[k]) + half_width) * inv_w
            if p > 0.0 and math.isfinite(p) and 0.0 <= t_eta < npix and 0.0 <= t_phi < npix:
                a, b = int(t_eta), int(t_phi)
                if scratch[a, b] != 0.0:
                    images[j, a, b] = scratch[a, b] / norm
                    scratch[a, b] = 0.0
