"""Plots of the report (mplhep styles, :mod:`hepdl.report.style`), each saved as PNG and PDF.

Every ``*_figure`` function takes plain data (as stored in the metrics JSONs of ``hepdl
evaluate`` or a training-history CSV), a :class:`~hepdl.report.style.PlotStyle` and its titles,
and returns the finished :class:`matplotlib.figure.Figure`; :func:`hepdl.report.style.save`
writes it (tick labels decluttered, PNG + PDF, atomically). Every plot carries the experiment
label and the physics label of the style.

Curves and points are described by :class:`Entry`: its legend text (the AUC and, for models,
the learning ratio are put there by the caller), whether it is a baseline (dashed, open
markers) and whether its model did not learn (legend text in red, dotted line).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepdl.report.style import PlotStyle, label_axes, label_figure, use

NOT_LEARNED_COLOUR = "#c00000"
#: ten distinguishable colours (the Petroff sequence adopted by CMS), given to the curves in turn
PALETTE = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6", "#a96b59", "#e76300", "#b9ac70", "#717581",
           "#92dadd")
LEGEND_FONTSIZE = 11


@dataclass
class Entry:
    """One curve or point of a plot: its ``label`` (legend text), ``data`` (a ROC curve dict,
    a point dict, ...), whether it is a ``baseline`` and whether its model did ``not_learned``."""

    label: str
    data: dict[str, Any] = field(default_factory=dict)
    baseline: bool = False
    not_learned: bool = False


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _headroom(ax, lines: int, fontsize: float = LEGEND_FONTSIZE) -> None:
    """Raise the top of the y axis (linear or log) so that the data stay below a legend of
    ``lines`` lines (plus its title) in the upper part of the axes."""
    height = ax.get_window_extent().height or 1.0  # pixels, from the figure size: no draw
    fraction = min(0.6, (lines + 1.8) * 1.55 * fontsize * ax.figure.dpi / 72.0 / height)
    low, high = ax.get_ylim()
    if ax.get_yscale() == "log":
        low_log, high_log = math.log10(low), math.log10(high)
        ax.set_ylim(low, 10.0 ** (low_log + (high_log - low_log) / (1.0 - fraction)))
    else:
        ax.set_ylim(low, low + (high - low) / (1.0 - fraction))


def _legend(ax, entries: list[Entry] | None = None, title: str = "", **kwargs) -> None:
    """A legend whose lines of models that did not learn are written in red."""
    legend = ax.legend(title=title or None, fontsize=LEGEND_FONTSIZE, title_fontsize=12, **kwargs)
    if legend is None or entries is None:
        return
    flags = {entry.label: entry.not_learned for entry in entries}
    for text in legend.get_texts():
        if flags.get(text.get_text()):
            text.set_color(NOT_LEARNED_COLOUR)


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _per_bin_label(edges: np.ndarray, xlabel: str, log_x: bool) -> str:
    """y label of a normalised histogram: 'Fraction of jets / <bin width> <unit>'."""
    widths = np.diff(edges)
    if log_x or not np.allclose(widths, widths[0], rtol=1e-6):
        return "Fraction of jets / bin"
    unit = re.search(r"\[(.+)\]", xlabel)
    width = f"{widths[0]:.3g}"
    if "constituents" in xlabel:
        return f"Fraction of jets / {width} constituent{'s' if widths[0] != 1 else ''}"
    return f"Fraction of jets / {width}{' ' + unit.group(1) if unit else ''}"


# -------------------------------------------------------------------------------------------- ROC
def roc_figure(entries: list[Entry], style: PlotStyle, title: str):
    """Background rejection 1/eps_B (log) against eps_S, one curve per entry (``data``: the
    ``curves`` entry of the metrics: eps_s, eps_b and, with a bootstrap, the band eps_b_low /
    eps_b_high drawn as a shaded 68% band; with ``n_background``, rejections above it, which
    fewer than one background jet would measure, are not drawn); baselines dashed, models that
    did not learn dotted; the random tagger dotted grey. The y axis leaves room for the legend
    above the curves."""
    plt = _plt()
    with use(style):
        fig, ax = plt.subplots(figsize=(9, 8))
        for i, entry in enumerate(entries):
            curve = entry.data
            colour = PALETTE[i % len(PALETTE)]
            eps_s, eps_b = np.asarray(curve["eps_s"], float), _floats(curve["eps_b"])
            # a rejection above the number of background jets is not measured: not drawn
            floor = 1.0 / curve["n_background"] if curve.get("n_background") else 0.0
            keep = (eps_b > 0) & (eps_b >= floor * (1 - 1e-9))
            ax.plot(eps_s[keep], 1.0 / eps_b[keep], "--" if entry.baseline else (":" if entry.not_learned else "-"),
                    lw=2.2, color=colour, label=entry.label)
            if "eps_b_low" in curve and "eps_b_high" in curve:
                low, high = _floats(curve["eps_b_low"]), _floats(curve["eps_b_high"])
                with np.errstate(divide="ignore", invalid="ignore"):
                    upper = np.where(low > 0, 1.0 / np.maximum(low, floor), np.nan)
                    lower = np.where(high > 0, 1.0 / np.maximum(high, floor), np.nan)
                ax.fill_between(eps_s, np.where(keep, lower, np.nan), np.where(keep, upper, np.nan), color=colour,
                                alpha=0.2, lw=0)
        random_eps_s = np.linspace(0.01, 1.0, 200)
        ax.plot(random_eps_s, 1.0 / random_eps_s, ":", color="grey", label=r"random ($1/\varepsilon_S$)")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_ylim(0.8, None)
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
        _headroom(ax, len(entries) + 1)
        _legend(ax, entries, title, loc="upper right")
        label_axes(ax, style)
    return fig


# ---------------------------------------------------------------------------- score distributions
def score_distribution_figure(histogram: dict[str, Any], style: PlotStyle, title: str, xlabel: str,
                              roles: dict[str, str] | None = None, not_learned: bool = False):
    """Background and signal histograms (common bins, each normalised to unit sum; log y, log x
    when the bins are). ``roles`` names the datasets in the legend ({"background": "qcd", ...});
    ``title`` (the legend's: variant, AUC, learning ratio) is red when the model did not learn."""
    import mplhep

    plt = _plt()
    roles = roles or {}
    with use(style):
        fig, ax = plt.subplots(figsize=(9, 7))
        edges = np.asarray(histogram["edges"], float)
        log_x = bool(histogram.get("log_x"))
        smallest = []
        for role, colour in zip(("background", "signal"), PALETTE, strict=False):
            counts = np.asarray(histogram[role], float)
            fractions = counts / max(counts.sum(), 1)
            label = f"{role} ({roles[role]})" if role in roles else role
            mplhep.histplot(fractions, edges, ax=ax, label=label, lw=2, color=colour)
            smallest += [fractions[fractions > 0].min()] if np.any(fractions > 0) else []
        if log_x:
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(edges[0], edges[-1])
        if smallest:
            ax.set_ylim(0.5 * min(smallest), None)
        _headroom(ax, 2 + title.count("\n"))
        ax.set_xlabel(xlabel[:1].upper() + xlabel[1:])
        ax.set_ylabel(_per_bin_label(edges, xlabel, log_x))
        _legend(ax, title=title, loc="upper right")
        if not_learned:
            ax.get_legend().get_title().set_color(NOT_LEARNED_COLOUR)
        label_axes(ax, style)
    return fig


# ------------------------------------------------------------------------------------- jet images
def _diverging_norm(arrays: list[np.ndarray], decades: int = 5):
    """One symmetric-log colour scale for jet images and their residuals: linear within
    max|pixel| x 10^-decades of zero, logarithmic beyond, negative values kept (blue). Returns
    the norm and its ticks (0 and every decade on both sides)."""
    from matplotlib.colors import SymLogNorm

    vmax = max((float(np.nanmax(np.abs(a))) for a in arrays if a.size), default=1.0) or 1.0
    top = math.floor(math.log10(vmax))
    decades_shown = [10.0**k for k in range(top - decades + 1, top + 1)]
    ticks = [-d for d in reversed(decades_shown)] + [0.0] + decades_shown
    return SymLogNorm(linthresh=vmax * 10.0**-decades, linscale=0.3, vmin=-vmax, vmax=vmax, base=10), ticks


def mean_images_figure(images: dict[str, Any], style: PlotStyle, title: str, half_width: float,
                       roles: dict[str, str] | None = None, reconstruction_note: str = ""):
    """Average input, average reconstruction and the residual (input - reconstruction) of the
    background and signal test jets: rows background and signal, one symmetric-log colour scale
    (:func:`_diverging_norm`: white = 0, red > 0, blue < 0) shared by every panel, so negative
    reconstructed pixels (models with a linear output) are shown, not dropped. Axes eta' and
    phi' in rad over [-half_width, half_width] (hepdl.images convention: eta' up, phi' right)."""
    plt = _plt()
    roles = roles or {}
    rows = [role for role in ("background", "signal") if f"{role}_mean_input" in images]
    has_reconstruction = all(f"{role}_mean_reconstruction" in images for role in rows)
    columns = ["input", "reconstruction", "residual"] if has_reconstruction else ["input"]
    panels = {}
    for role in rows:
        panels[(role, "input")] = np.asarray(images[f"{role}_mean_input"], float)
        if has_reconstruction:
            panels[(role, "reconstruction")] = np.asarray(images[f"{role}_mean_reconstruction"], float)
            panels[(role, "residual")] = panels[(role, "input")] - panels[(role, "reconstruction")]
    norm, ticks = _diverging_norm(list(panels.values()))
    extent = (-half_width, half_width, -half_width, half_width)
    names = {"input": "average input", "reconstruction": "average reconstruction",
             "residual": "input $-$ reconstruction"}
    n_rows, n_columns = max(len(rows), 1), len(columns)
    with use(style):
        height = 5.0 * n_rows + 2.2  # inches: panels, and a band of titles and labels on top
        fig, axes = plt.subplots(n_rows, n_columns, figsize=(5.4 * n_columns + 1.8, height), squeeze=False)
        left, right, top = 0.07, 0.88, 1.0 - 2.2 / height
        fig.subplots_adjust(left=left, right=right, bottom=0.06, top=top, wspace=0.38, hspace=0.42)
        shown = None
        for i, role in enumerate(rows):
            for j, column in enumerate(columns):
                ax = axes[i][j]
                shown = ax.imshow(panels[(role, column)], origin="lower", extent=extent, norm=norm, cmap="RdBu_r",
                                  interpolation="nearest")
                where = f" ({roles[role]})" if role in roles else ""
                ax.set_title(f"{role}{where}: {names[column]}", fontsize=15, pad=8)
                ax.set_xlabel(r"$\phi'$ [rad]", fontsize=17)
                ax.set_ylabel(r"$\eta'$ [rad]", fontsize=17)
                ax.tick_params(labelsize=14)
        if shown is not None:
            bar_axes = fig.add_axes((right + 0.02, 0.06, 0.015, top - 0.06), label="<colorbar>")
            bar = fig.colorbar(shown, cax=bar_axes, ticks=ticks)
            bar.ax.minorticks_off()
            bar.set_label("Pixel intensity (transformed image)", fontsize=16)
            bar.ax.tick_params(labelsize=13)
        note = f"\n{reconstruction_note}" if reconstruction_note else ""
        fig.text(0.5, 1.0 - 0.08 / height, title + note, ha="center", va="top", fontsize=16, linespacing=1.4)
        label_figure(fig, style, left, right, top + 0.5 / height)
    return fig


# ------------------------------------------------------------------------------------- training
def training_figure(history: dict[str, np.ndarray], style: PlotStyle, title: str, not_learned: bool = False):
    """Train and validation loss per epoch (log y), the average-image loss and the learnt-below
    line (0.9 x average image) when the history has them. ``title`` (with the learning ratio) is
    the legend title, red when the model did not learn."""
    plt = _plt()
    with use(style):
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
                ax.axhline(0.9 * reference[-1], color=NOT_LEARNED_COLOUR, ls=":", label="learnt below (0.9 x average)")
        ax.set_yscale("log")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Loss (model's scaled units)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        _headroom(ax, 4)
        _legend(ax, title=title, loc="upper right")
        if not_learned:
            ax.get_legend().get_title().set_color(NOT_LEARNED_COLOUR)
        label_axes(ax, style)
    return fig


# --------------------------------------------------------------------------------- mass sculpting
def _percent(value: float) -> str:
    return f"{100 * value:.3g}%"


def mass_sculpting_figure(sculpting: dict[str, Any], style: PlotStyle, title: str,
                          roles: dict[str, str] | None = None, not_learned: bool = False):
    """Jet mass of background (left) and signal (right) test jets before and after the cut at
    every working point of :func:`hepdl.evaluation.sculpting.mass_sculpting` (each histogram
    normalised to unit sum). Background legend: the JSD to the distribution before the cut and
    its statistical floor; signal legend: the signal efficiency of each cut."""
    import mplhep

    plt = _plt()
    roles = roles or {}
    edges = np.asarray(sculpting["edges"], float)
    with use(style):
        fig, axes = plt.subplots(1, 2, figsize=(17, 7), sharex=True)
        for ax, role in zip(axes, ("background", "signal"), strict=True):
            before = np.asarray(sculpting[role], float)
            mplhep.histplot(before / max(before.sum(), 1), edges, ax=ax, histtype="fill", color="#d0d0d0",
                            label=f"all {role} jets")
            for i, point in enumerate(sculpting["working_points"]):
                after = np.asarray(point[role], float)
                where = (r"$\varepsilon_B$ = " + _percent(point["target"]) if point["kind"] == "background"
                         else r"$\varepsilon_S$ = " + _percent(point["target"]))
                if after.sum() <= 0:
                    ax.plot([], [], " ", label=f"cut at {where}: no {role} jet passes")
                    continue
                if role == "background":
                    floor = "" if point.get("jsd_random") is None else f" (floor {point['jsd_random']:.3f})"
                    label = f"cut at {where}: JSD {point['jsd']:.3f}{floor}"
                elif point["kind"] == "background":
                    label = f"cut at {where}: " + r"$\varepsilon_S$ = " + _percent(point["signal_efficiency"])
                else:
                    label = f"cut at {where}: " + r"$\varepsilon_B$ = " + _percent(point["background_efficiency"])
                mplhep.histplot(after / after.sum(), edges, ax=ax, lw=2, ls="--" if point["kind"] == "signal" else "-",
                                color=PALETTE[i % len(PALETTE)], label=label)
            ax.set_xlim(edges[0], edges[-1])
            ax.set_xlabel("Jet mass [GeV]")
            ax.set_ylabel(_per_bin_label(edges, "[GeV]", False))
            ax.set_ylim(0, None)
            _headroom(ax, len(sculpting["working_points"]) + 1)
            name = f"{role} ({roles[role]})" if role in roles else role
            _legend(ax, title=f"{title}: {name}", loc="upper right")
            if not_learned:
                ax.get_legend().get_title().set_color(NOT_LEARNED_COLOUR)
        label_axes(axes[0], style, right=axes[1])
        fig.subplots_adjust(wspace=0.25)
    return fig


def score_vs_mass_figure(profile: dict[str, Any], style: PlotStyle, title: str, ylabel: str,
                         roles: dict[str, str] | None = None):
    """Median score (band: 16-84% quantiles) in bins of jet mass, background and signal."""
    plt = _plt()
    roles = roles or {}
    with use(style):
        fig, ax = plt.subplots(figsize=(9, 7))
        edges = np.asarray(profile["edges"], float)
        centres = 0.5 * (edges[1:] + edges[:-1])
        lows, handles, labels = [], [], []
        for role, colour in zip(("background", "signal"), PALETTE, strict=False):
            p = profile[role]
            median, low, high = _floats(p["median"]), _floats(p["q16"]), _floats(p["q84"])
            name = f"{role} ({roles[role]})" if role in roles else role
            line = ax.plot(centres, median, "o-", color=colour)[0]
            band = ax.fill_between(centres, low, high, color=colour, alpha=0.25, lw=0)
            handles.append((band, line))
            labels.append(f"{name}: median, 16-84% quantiles")
            lows += [v for v in low if np.isfinite(v)]
        if lows and min(lows) > 0:
            ax.set_yscale("log")
        ax.set_xlabel("Jet mass [GeV]")
        ax.set_ylabel(ylabel)
        _headroom(ax, 2)
        ax.legend(handles, labels, title=title, fontsize=LEGEND_FONTSIZE, title_fontsize=12, loc="upper left")
        label_axes(ax, style)
    return fig


# -------------------------------------------------------------------- decorrelation summary plot
def rejection_vs_jsd_figure(entries: list[Entry], style: PlotStyle, title: str, eps_s: float = 0.5):
    """The decorrelation summary: background rejection at ``eps_s`` (log, with its 68% bootstrap
    interval) against 1/JSD of the background mass before and after that cut (log), one point
    per score. ``data`` of an entry: ``rejection``, ``rejection_low``, ``rejection_high``,
    ``jsd``; an entry without a positive JSD is left out (its legend says so)."""
    plt = _plt()
    markers = ["o", "s", "D", "^", "v", "P", "X", "*", "<", ">"]
    with use(style):
        fig, ax = plt.subplots(figsize=(10, 8))
        handles, labels = [], []
        for i, entry in enumerate(entries):
            point = entry.data
            rejection, jsd = point.get("rejection"), point.get("jsd")
            if rejection is None or jsd is None or not jsd > 0:
                handles.append(ax.plot([], [], " ")[0])
                labels.append(f"{entry.label} (no background jet passes: no JSD)")
                continue
            low = point.get("rejection_low") if point.get("rejection_low") is not None else rejection
            high = point.get("rejection_high") if point.get("rejection_high") is not None else rejection
            marker = markers[i % len(markers)]
            handles.append(ax.errorbar([1.0 / jsd], [rejection], yerr=[[max(rejection - low, 0)],
                                                                      [max(high - rejection, 0)]],
                                       fmt=marker, ms=11, capsize=4, lw=1.5, mfc="none" if entry.baseline else None,
                                       mew=2, color=PALETTE[i % len(PALETTE)],
                                       mec=NOT_LEARNED_COLOUR if entry.not_learned else None))
            labels.append(entry.label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"1/JSD (background jet mass) at $\varepsilon_S$ = " + f"{eps_s:g}", fontsize=20)
        ax.set_ylabel(r"Rejection $1/\varepsilon_B$ at $\varepsilon_S$ = " + f"{eps_s:g}", fontsize=20)
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = limits
            if high / low < 10:  # at least one decade shown, so the log axis carries labels
                centre = math.sqrt(low * high)
                (ax.set_xlim if axis is ax.xaxis else ax.set_ylim)(centre / 3.5, centre * 3.5)
        ax.text(0.98, 0.02, r"more decorrelated $\rightarrow$", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=13, color="grey")
        ax.text(0.02, 0.98, r"better tagger $\uparrow$", transform=ax.transAxes, ha="left", va="top",
                fontsize=13, color="grey")
        legend = ax.legend(handles, labels, title=title, fontsize=LEGEND_FONTSIZE, title_fontsize=12, loc="upper left",
                           bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        for text, entry in zip(legend.get_texts(), entries, strict=True):
            if entry.not_learned:
                text.set_color(NOT_LEARNED_COLOUR)
        label_axes(ax, style)
    return fig
