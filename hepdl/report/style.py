"""How the report's plots look: the mplhep style, the experiment and physics labels, readable
tick labels, and saving (PNG and PDF, atomically).

Config ``report`` (hepdl/config/schema.yaml): ``style`` CMS, ATLAS (mplhep's styles, with that
experiment's name in the label) or plain (mplhep's ROOT style, no experiment name); ``text``
the label's text ("Simulation", "Simulation Preliminary", ...); ``label`` the physics label,
every entry of which left null is derived from the datasets (:func:`physics_label`).
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mplhep
from matplotlib.ticker import Formatter

from hepdl.core.atomic import atomic_path

#: config report.style -> mplhep style; "plain" is mplhep's experiment-neutral ROOT style
STYLES = {"CMS": mplhep.style.CMS, "ATLAS": mplhep.style.ATLAS, "plain": mplhep.style.ROOT}
#: the experiment name printed in bold before the label text
EXPERIMENT_NAMES = {"CMS": "CMS", "ATLAS": "ATLAS", "plain": ""}
JET_ALGORITHMS = {"anti-kt": r"anti-$k_{\mathrm{T}}$", "kt": r"$k_{\mathrm{T}}$", "cambridge-aachen": "C/A"}
JET_ALGORITHMS_HTML = {"anti-kt": "anti-k<sub>T</sub>", "kt": "k<sub>T</sub>", "cambridge-aachen": "C/A"}
LABEL_KEYS = ("ecm_gev", "jet_algorithm", "jet_r", "jet_pt_min", "jet_pt_max", "jet_abs_eta_max", "level")
#: generation settings (hepdl.config.generation_settings) behind the physics-label entries
_FROM_GENERATION = {"ecm_gev": "ecm_gev", "jet_r": "jet_r", "jet_pt_min": "jet_pt_min", "jet_pt_max": "jet_pt_max",
                    "jet_abs_eta_max": "jet_abs_eta_max"}
#: reader cuts of file datasets behind the pT and |eta| window
_FROM_READER_CUTS = {"jet_pt_min": "pt_min", "jet_pt_max": "pt_max", "jet_abs_eta_max": "abs_eta_max"}


@dataclass(frozen=True)
class PlotStyle:
    """The look of every plot: mplhep ``style`` (CMS, ATLAS or plain), the label ``text``, and
    the ``physics`` label (mathtext lines, empty when nothing is known)."""

    style: str = "plain"
    text: str = "Simulation"
    physics: tuple[str, ...] = ()


def _datasets_used(config: dict[str, Any]) -> list[str]:
    """The datasets the experiments train on or evaluate, in config order."""
    used = {config["experiments"][e][role] for e in config["experiments"] for role in ("train", "background", "signal")}
    return [name for name in config["datasets"] if name in used]


def physics_label(config: dict[str, Any]) -> dict[str, Any]:
    """The physics label's entries (``LABEL_KEYS`` and ``extra``; None = unknown, left out).

    An entry set in ``report.label`` wins. Otherwise it is derived from the datasets the
    experiments use, when they all agree: generated datasets give sqrt(s), anti-kt with its R,
    the pT window and |eta| acceptance of their generation settings, and the level from their
    ``detector`` setting (none: particle, else detector); file datasets give the pT and |eta| window of their reader
    cuts and nothing else.
    """
    from hepdl.config import generation_settings

    chosen = dict(config["report"]["label"])
    derived: dict[str, list[Any]] = {key: [] for key in LABEL_KEYS}
    for name in _datasets_used(config):
        dataset = config["datasets"][name]
        if "generate" in dataset:
            settings = generation_settings(config, name)
            for key, setting in _FROM_GENERATION.items():
                derived[key].append(settings.get(setting))
            derived["jet_algorithm"].append("anti-kt")
            derived["level"].append("particle" if settings["detector"] == "none" else "detector")
        else:
            cuts = dataset["reader"].get("cuts", {})
            for key in LABEL_KEYS:
                derived[key].append(cuts.get(_FROM_READER_CUTS[key]) if key in _FROM_READER_CUTS else None)
    for key, values in derived.items():
        if chosen.get(key) is None and values and None not in values and len(set(values)) == 1:
            chosen[key] = values[0]
    return {key: chosen.get(key) for key in (*LABEL_KEYS, "extra")}


def _number(value: float) -> str:
    return f"{value:g}"


def physics_label_lines(label: dict[str, Any], for_html: bool = False) -> tuple[str, ...]:
    """The physics label as (at most three) lines: sqrt(s) and the jet algorithm; the pT window,
    |eta| and the level; the extra text. Matplotlib mathtext, or HTML with ``for_html``."""
    def math_or_html(tex: str, markup: str) -> str:
        return markup if for_html else tex

    first, second = [], []
    if label.get("ecm_gev"):
        tev = label["ecm_gev"] / 1000.0
        energy = f"{_number(tev)} TeV" if tev >= 1 else f"{_number(label['ecm_gev'])} GeV"
        first.append(math_or_html("\u221as = ", "&radic;s = ") + energy)
    algorithm = (JET_ALGORITHMS_HTML if for_html else JET_ALGORITHMS).get(label.get("jet_algorithm") or "", "")
    radius = label.get("jet_r")
    if algorithm or radius:
        first.append(" ".join(p for p in (algorithm, math_or_html(f"$R$ = {_number(radius)}", f"R = {_number(radius)}")
                                          if radius else "") if p) + (" jets" if algorithm else ""))
    pt = math_or_html(r"$p_{\mathrm{T}}$", "p<sub>T</sub>")
    low, high = label.get("jet_pt_min"), label.get("jet_pt_max")
    if low is not None and high is not None:
        second.append(f"{_number(low)} < {pt} < {_number(high)} GeV")
    elif low is not None:
        second.append(f"{pt} > {_number(low)} GeV")
    elif high is not None:
        second.append(f"{pt} < {_number(high)} GeV")
    if label.get("jet_abs_eta_max") is not None:
        second.append(math_or_html(r"$|\eta|$", "|&eta;|") + f" < {_number(label['jet_abs_eta_max'])}")
    if label.get("level"):
        second.append(f"{label['level']} level")
    lines = [", ".join(first), ", ".join(second)]
    if label.get("extra"):
        lines.append(html.escape(label["extra"]) if for_html else label["extra"])
    return tuple(line for line in lines if line)


def plot_style(config: dict[str, Any]) -> PlotStyle:
    """The :class:`PlotStyle` of a validated config (``report`` section)."""
    report = config["report"]
    return PlotStyle(style=report["style"], text=report["text"], physics=physics_label_lines(physics_label(config)))


@contextlib.contextmanager
def use(style: PlotStyle) -> Iterator[None]:
    """Plot inside the mplhep style of ``style`` (restored afterwards)."""
    with plt.style.context(STYLES[style.style]):
        yield


def _experiment_box(style: PlotStyle):
    """The experiment label as an offset box: bold experiment name, italic text (as mplhep's
    ``exp_text`` writes it), laid out without a draw."""
    from matplotlib.offsetbox import HPacker, TextArea

    parts = []
    if EXPERIMENT_NAMES[style.style]:
        parts.append(TextArea(EXPERIMENT_NAMES[style.style], textprops={"fontsize": 21, "fontweight": "bold"}))
    if style.text:
        parts.append(TextArea(style.text, textprops={"fontsize": 17, "fontstyle": "italic"}))
    return HPacker(children=parts, align="baseline", pad=0, sep=7) if parts else None


def label_axes(ax: plt.Axes, style: PlotStyle, right: plt.Axes | None = None) -> None:
    """The experiment label above ``ax`` on the left, the physics label above ``right``
    (default ``ax``: the right-most axes of a row) on the right."""
    from matplotlib.offsetbox import AnchoredOffsetbox

    box = _experiment_box(style)
    if box is not None:
        ax.add_artist(AnchoredOffsetbox(loc="lower left", child=box, pad=0, borderpad=0, frameon=False,
                                        bbox_to_anchor=(0.0, 1.012), bbox_transform=ax.transAxes))
    if style.physics:
        (right or ax).text(1.0, 1.012, "\n".join(style.physics), transform=(right or ax).transAxes, ha="right",
                           va="bottom", fontsize=13, linespacing=1.25)


def label_figure(fig: plt.Figure, style: PlotStyle, left: float, right: float, top: float, title: str = "") -> None:
    """The experiment label (left), a ``title`` (centred) and the physics label (right) on one band
    of a multi-panel figure, their bottoms at figure height ``top``, between ``left`` and ``right``."""
    from matplotlib.offsetbox import AnchoredOffsetbox

    box = _experiment_box(style)
    if box is not None:
        fig.add_artist(AnchoredOffsetbox(loc="lower left", child=box, pad=0, borderpad=0, frameon=False,
                                         bbox_to_anchor=(left, top), bbox_transform=fig.transFigure))
    if title:
        fig.text(0.5 * (left + right), top, title, ha="center", va="bottom", fontsize=15, linespacing=1.3)
    if style.physics:
        fig.text(right, top, "\n".join(style.physics), ha="right", va="bottom", fontsize=13, linespacing=1.25)


# ---------------------------------------------------------------------------------------- ticks
class _Hiding(Formatter):
    """A tick formatter that prints nothing at the given tick values and defers to ``inner``
    elsewhere (keeps the offset text and every other behaviour of ``inner``)."""

    def __init__(self, inner: Formatter, hidden: list[float]):
        self.inner, self.hidden = inner, list(hidden)

    def _is_hidden(self, value: float) -> bool:
        return any(math.isclose(value, h, rel_tol=1e-9, abs_tol=1e-300) for h in self.hidden)

    def __call__(self, x, pos=None):
        return "" if self._is_hidden(x) else self.inner(x, pos)

    def format_ticks(self, values):
        labels = self.inner.format_ticks(values)
        return ["" if self._is_hidden(v) else label for v, label in zip(values, labels, strict=True)]

    def set_locs(self, locs):
        self.inner.set_locs(locs)

    def get_offset(self):
        return self.inner.get_offset()

    def set_axis(self, axis):
        super().set_axis(axis)
        self.inner.set_axis(axis)


def _tick_labels(axis: matplotlib.axis.Axis, renderer) -> list[tuple[float, bool, Any]]:
    """(value, major, window extent) of every non-empty tick label shown on ``axis``."""
    lo, hi = sorted(axis.get_view_interval())
    found = []
    for major, ticks in ((True, axis.get_major_ticks()), (False, axis.get_minor_ticks())):
        for tick in ticks:
            value = tick.get_loc()
            if value is None or not (lo - 1e-12 * abs(hi - lo) <= value <= hi + 1e-12 * abs(hi - lo)):
                continue
            for label in (tick.label1, tick.label2):
                if label.get_visible() and label.get_text():
                    found.append((value, major, label.get_window_extent(renderer)))
    return found


def _overlap(a, b, gap: float) -> bool:
    return not (a.x1 + gap <= b.x0 or b.x1 + gap <= a.x0 or a.y1 + gap <= b.y0 or b.y1 + gap <= a.y0)


def overlapping_tick_labels(fig: plt.Figure, gap: float = 2.0) -> list[tuple[str, float, float]]:
    """Pairs of tick labels on one axis of ``fig`` that overlap (or come closer than ``gap``
    pixels): a list of (axis name, value, value); empty when every tick label is readable."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    for index, ax in enumerate(fig.axes):
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = _tick_labels(axis, renderer)
            for i, (v1, _, b1) in enumerate(labels):
                problems += [(f"axes {index} {name}", v1, v2) for v2, _, b2 in labels[i + 1:] if _overlap(b1, b2, gap)]
    return problems


def declutter_ticks(fig: plt.Figure, gap: float = 6.0):
    """Hide tick labels that would overlap another on the same axis (log axes label their minor
    ticks when they span few decades; at the large fonts of the HEP styles those run into each
    other). Major labels are kept first, left to right (bottom to top), then minor labels that
    fit between them; a hidden label keeps its tick mark. Lays ``fig`` out once (a draw without
    rendering); returns the renderer that measured it."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = _tick_labels(axis, renderer)
            kept, hidden = [], {True: [], False: []}
            for major in (True, False):
                for value, is_major, box in sorted((item for item in labels if item[1] == major), key=lambda t: t[0]):
                    if any(_overlap(box, other, gap) for other in kept):
                        hidden[is_major].append(value)
                    else:
                        kept.append(box)
            if hidden[True]:
                axis.set_major_formatter(_Hiding(axis.get_major_formatter(), hidden[True]))
            if hidden[False]:
                axis.set_minor_formatter(_Hiding(axis.get_minor_formatter(), hidden[False]))
    return renderer


def save(fig: plt.Figure, stem: str | Path, style: PlotStyle) -> list[Path]:
    """Declutter the tick labels, save ``fig`` as ``stem.png`` (100 dpi) and ``stem.pdf``, cropped
    to what is drawn (0.1 inch margin), atomically; close it. Returns the two paths.

    Drawing happens inside ``style`` (the one ``fig`` was made in: mathtext fonts are read from
    the style when drawn). The crop box is measured once on the decluttering draw and given to
    both saves, which then draw once each (``bbox_inches="tight"`` would draw twice per format)."""
    from matplotlib.transforms import Bbox

    with use(style):
        renderer = declutter_ticks(fig)
        tight = fig.get_tightbbox(renderer)
        box = Bbox.from_extents(tight.x0 - 0.1, tight.y0 - 0.1, tight.x1 + 0.1, tight.y1 + 0.1)
        paths = []
        for suffix in (".png", ".pdf"):
            final = Path(str(stem) + suffix)
            with atomic_path(final) as tmp:
                fig.savefig(tmp, dpi=100, bbox_inches=box, format=suffix[1:])
            paths.append(final)
    plt.close(fig)
    return paths
