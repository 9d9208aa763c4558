"""Plots of jet images (PNG, mplhep style): the average image and a gallery of single jets.

Drawn in the convention of :mod:`hepdl.images.preprocess`: array axis 0 (eta') runs up, axis 1 (phi') runs
right (``imshow(..., origin="lower")``), axes in the image coordinates eta' and phi' (rad).
"""

from __future__ import annotations

import logging
import os

import numpy as np

from hepdl.core.atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import mplhep

    # the CMS style's font lacks the prime of eta' and phi': mathtext substitutes it, logging each time
    logging.getLogger("matplotlib.mathtext").setLevel(logging.WARNING)

    mplhep.style.use("CMS")
    return plt


def _log_norm(values: np.ndarray):
    from matplotlib.colors import LogNorm

    positive = values[values > 0]
    if positive.size == 0:
        return LogNorm(vmin=1e-6, vmax=1.0)
    return LogNorm(vmin=float(positive.min()), vmax=float(positive.max()))


def _draw(ax, image: np.ndarray, half_width: float, norm, cmap: str = "viridis"):
    masked = np.ma.masked_less_equal(image, 0.0)
    extent = (-half_width, half_width, -half_width, half_width)
    return ax.imshow(masked, origin="lower", extent=extent, norm=norm, cmap=cmap,
                     interpolation="nearest", aspect="equal")


def plot_average_image(images: np.ndarray, path: str | os.PathLike, title: str = "",
                       half_width: float = 0.8) -> None:
    """Average of ``images`` (float32 ``(n, npix, npix)``) on a log colour scale, written to ``path``.

    ``half_width``: the image half-width in eta' and phi' (the images file attribute of that name).
    Pixels with zero average are left blank.
    """
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"need images of shape (n >= 1, npix, npix), got {images.shape}")
    average = images.mean(axis=0, dtype=np.float64)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 8))
    try:
        artist = _draw(ax, average, half_width, _log_norm(average))
        fig.colorbar(artist, ax=ax, label="average pixel intensity")
        ax.set_xlabel(r"$\phi'$")
        ax.set_ylabel(r"$\eta'$")
        ax.set_title(title or f"average of {len(images)} jet images", fontsize=16)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)


def plot_jet_gallery(images: np.ndarray, path: str | os.PathLike, n: int = 8,
                     half_width: float = 0.8) -> None:
    """The first ``n`` images of ``images`` side by side (two rows), log colour scale, to ``path``."""
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"need images of shape (n >= 1, npix, npix), got {images.shape}")
    shown = images[:n]
    n_cols = int(np.ceil(len(shown) / 2)) if len(shown) > 1 else 1
    n_rows = 2 if len(shown) > 1 else 1
    plt = _pyplot()
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols + 1, 3.2 * n_rows), squeeze=False)
    try:
        norm = _log_norm(shown)
        artist = None
        for k, ax in enumerate(axes.flat):
            if k >= len(shown):
                ax.axis("off")
                continue
            artist = _draw(ax, shown[k], half_width, norm)
            ax.set_title(f"jet {k}", fontsize=12)
            ax.minorticks_off()  # thumbnails: major ticks only (about half the drawing time)
            ax.tick_params(labelsize=9)
            if k % n_cols == 0:
                ax.set_ylabel(r"$\eta'$", fontsize=12)
            if k >= (n_rows - 1) * n_cols:
                ax.set_xlabel(r"$\phi'$", fontsize=12)
        fig.colorbar(artist, ax=axes, label="pixel intensity", fraction=0.03)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=80, bbox_inches="tight")
    finally:
        plt.close(fig)
