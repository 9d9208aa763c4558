"""Image transforms: applied identically to training, validation and test images.

A transform is a validated ``image_transforms.<name>`` block of the config, e.g.
``{intensity: {kind: power, k: 0.5, c: 1000}, smear_sigma_px: 1.0}`` (the schema fills every
key; :func:`hepdl.config.section_defaults` fills a partial block). :func:`transform_images`
applies, in this order:

1. intensity rescaling of every pixel I (images are non-negative), then renormalisation of each
   image to unit sum: ``power`` I -> I^k, ``log`` I -> log(1 + c I), ``occupancy`` I -> (I > 0);
   ``none`` leaves the image untouched (no renormalisation either);
2. Gaussian smearing with ``smear_sigma_px`` (pixels, both axes) by
   ``scipy.ndimage.gaussian_filter`` over the pixel axes of the whole stack at once (sigma 0 on
   the jet axis), ``mode="constant"`` (nothing enters from outside the window), truncated at
   4 sigma; each image is then rescaled to its sum before smearing (the part smeared out of the
   window is given back), so smearing conserves each image's sum.

An empty (all-zero) image stays all-zero; no step produces NaN. A transform changes what a model
learns: each needs its own training.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _normalise_to(images: np.ndarray, target_sum: np.ndarray) -> np.ndarray:
    """Rescale each image (n, npix, npix) to ``target_sum`` (n,); images summing to 0 stay 0."""
    total = images.sum(axis=(1, 2), dtype=np.float64)
    factor = np.divide(target_sum, total, out=np.zeros_like(total), where=total > 0)
    return (images * factor[:, None, None]).astype(np.float32)


def transform_images(images: np.ndarray, transform: dict[str, Any]) -> np.ndarray:
    """Apply a transform's intensity rescaling then smearing to images (n, npix, npix) -> float32 same shape.

    See the module docstring for the definitions. The input is not modified.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"transform_images: expected images of shape (n, npix, npix), got {images.shape}")
    if np.any(images < 0):
        raise ValueError("transform_images: pixel intensities must be non-negative")
    intensity = transform["intensity"]
    kind = intensity["kind"]
    out = images
    if kind == "power":
        out = _normalise_to(np.power(images, np.float32(intensity["k"])), np.ones(len(images)))
    elif kind == "log":
        out = _normalise_to(np.log1p(np.float32(intensity["c"]) * images), np.ones(len(images)))
    elif kind == "occupancy":
        out = _normalise_to((images > 0).astype(np.float32), np.ones(len(images)))
    elif kind != "none":
        raise ValueError(f"transform_images: unknown intensity kind {kind!r} (none, power, log, occupancy)")
    sigma = float(transform["smear_sigma_px"])
    if sigma > 0:
        from scipy.ndimage import gaussian_filter  # scipy comes with scikit-learn

        before = out.sum(axis=(1, 2), dtype=np.float64)
        smeared = gaussian_filter(out, sigma=(0.0, sigma, sigma), mode="constant", cval=0.0, truncate=4.0)
        out = _normalise_to(np.clip(smeared, 0.0, None), before)
    return out.copy() if out is images else out
