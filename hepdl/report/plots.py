"""Plots of the report (mplhep CMS style), each saved as PNG and PDF through atomic writes.

Every function takes plain data (lists/arrays/dicts as stored in the metrics JSON of
``hepdl evaluate`` or a training-history CSV) and an output ``stem`` (path without suffix), and
returns the written paths ``[stem.png, stem.pdf]``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.colors import LogNorm

from hepdl.core.atomic import atomic_path


@contextlib.contextmanager
def _style():
    with plt.style.context(mplhep.style.CMS):
        yield


def save(fig: plt.Figure, stem: str | Path) -> list[Path]:
    """Save ``fig`` as ``stem.png`` (100 dpi) and ``stem.pdf``, atomically; close it."""
    paths = []
    for suffix in (".png", ".pdf"):
        final = Path(str(stem) + suffix)
        with atomic_path(final) as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight", format=suffix[1:])
        paths.append(final)
    plt.close(fig)
    return paths


def plot_roc(curves: dict[str, dict[str, list[float]]], title: str, stem: str | Path) -> list[Path]:
    """Background rejection 1/eps_B (log) vs eps_S; curves whose name starts with ``baseline_`` dashed."""
    with _style():
        fig, ax = plt.subplots(figsize=(9, 8))
        for name, curve in curves.items():
            eps_s, eps_b = np.asarray(curve["eps_s"], float), np.asarray(curve["eps_b"], float)
            keep = eps_b > 0
            style = "--" if name.startswith("baseline_") else "-"
            ax.plot(eps_s[keep], 1.0 / eps_b[keep], style, label=name.removeprefix("baseline_") +
                    (" (baseline)" if name.startswith("baseline_") else ""))
        random_eps_s = np.linspace(0.01, 1.0, 200)
        ax.plot(random_eps_s, 1.0 / random_eps_s, ":", color="grey", label="random")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
        ax.set_title(title, fontsize=18)
        ax.legend(fontsize=14)
        return save(fig, stem)


def plot_score_distributions(histograms: dict[str, Any], title: str, stem: str | Path,
                             xlabel: str = "anomaly score") -> list[Path]:
    """Normalised background and signal score histograms (log y; log x when the bins are)."""
    with _style():
        fig, ax = plt.subplots(figsize=(9, 7))
        edges = np.asarray(histograms["edges"], float)
        for role in ("background", "signal"):
            counts = np.asarray(histograms[role], float)
            density = counts / max(counts.sum(), 1) / np.diff(edges)
            mplhep.histplot(density, edges, ax=ax, label=role)
        if histograms.get("log_x"):
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("normalised density")
        ax.set_title(title, fontsize=18)
        ax.legend(fontsize=14)
        return save(fig, stem)


def plot_mean_images(images: dict[str, Any], title: str, stem: str | Path) -> list[Path]:
    """Average input and reconstruction images of background and signal (log colour scale)."""
    panels = [(f"{role}_{kind}", f"{role}: {kind.replace('mean_', 'average ')}")
              for role in ("background", "signal") for kind in ("mean_input", "mean_reconstruction")]
    panels = [(key, label) for key, label in panels if key in images]
    with _style():
        fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(5.5 * max(len(panels), 1), 5.5), squeeze=False)
        arrays = [np.asarray(images[key], float) for key, _ in panels]
        positive = np.concatenate([a[a > 0] for a in arrays]) if arrays else np.array([1.0])
        vmax = float(positive.max()) if positive.size else 1.0
        norm = LogNorm(vmin=max(vmax * 1e-5, 1e-12), vmax=vmax)
        for ax, (_, label), array in zip(axes[0], panels, arrays, strict=True):
            shown = ax.imshow(np.where(array > 0, array, np.nan), origin="lower", norm=norm, cmap="viridis")
            ax.set_title(label, fontsize=14)
            # hepdl.images.preprocess convention: array axis 0 = eta' (vertical), axis 1 = phi' (horizontal)
            ax.set_xlabel(r"$\phi'$ pixel", fontsize=14)
            ax.set_ylabel(r"$\eta'$ pixel", fontsize=14)
        if arrays:
            fig.colorbar(shown, ax=axes[0].tolist(), fraction=0.02)
        fig.suptitle(title, fontsize=18)
        return save(fig, stem)


def _finish(fig: plt.Figure, ax: plt.Axes, xlabel: str, ylabel: str, title: str, stem: str | Path) -> list[Path]:
    """Label the axes, title and legend of a one-panel plot and save it (PNG and PDF)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=18)
    ax.legend(fontsize=14)
    return save(fig, stem)


def plot_training_curves(history: dict[str, np.ndarray], title: str, stem: str | Path) -> list[Path]:
    """Train and validation loss vs epoch (log y), with the average-image loss as a line if present."""
    with _style():
        fig, ax = plt.subplots(figsize=(9, 7))
        epoch = np.asarray(history["epoch"])
        for key, label in (("train_loss", "train"), ("val_loss", "validation")):
            if key in history:
                ax.plot(epoch, history[key], "o-", label=label)
        if "average_image_loss" in history:
            reference = np.asarray(history["average_image_loss"], float)
            reference = reference[np.isfinite(reference)]
            if reference.size:
                ax.axhline(reference[-1], color="grey", ls="--", label="average image")
                ax.axhline(0.9 * reference[-1], color="#c00000", ls=":", label="learnt below (0.9 x average image)")
        ax.set_yscale("log")
        return _finish(fig, ax, "epoch", "loss", title, stem)


def plot_mass_sculpting(sculpting: dict[str, Any], title: str, stem: str | Path) -> list[Path]:
    """Normalised background jet-mass distribution before and after the score cut."""
    with _style():
        fig, ax = plt.subplots(figsize=(9, 7))
        edges = np.asarray(sculpting["edges"], float)
        for key, label in (("counts_before", "background, all"),
                           ("counts_after", f"background, score cut ({sculpting['background_efficiency']:.0%} kept)")):
            counts = np.asarray(sculpting[key], float)
            mplhep.histplot(counts / max(counts.sum(), 1) / np.diff(edges), edges, ax=ax, label=label)
        return _finish(fig, ax, "jet mass [GeV]", "normalised density",
                       f"{title}  (JSD {sculpting['jsd']:.3f})", stem)


def plot_score_vs_mass(profile: dict[str, Any], title: str, stem: str | Path) -> list[Path]:
    """Median score (band: 16-84% quantiles) in bins of jet mass, background and signal."""
    with _style():
        fig, ax = plt.subplots(figsize=(9, 7))
        edges = np.asarray(profile["edges"], float)
        centres = 0.5 * (edges[1:] + edges[:-1])
        for role in ("background", "signal"):
            p = profile[role]
            median = np.array([np.nan if v is None else v for v in p["median"]], float)
            low = np.array([np.nan if v is None else v for v in p["q16"]], float)
            high = np.array([np.nan if v is None else v for v in p["q84"]], float)
            line = ax.plot(centres, median, "o-", label=f"{role} median")[0]
            ax.fill_between(centres, low, high, color=line.get_color(), alpha=0.25)
        all_medians = [v for role in ("background", "signal") for v in profile[role]["q16"] if v is not None]
        if all_medians and min(all_medians) > 0:
            ax.set_yscale("log")
        return _finish(fig, ax, "jet mass [GeV]", "anomaly score", title, stem)
