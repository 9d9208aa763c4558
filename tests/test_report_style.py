"""The look of the report's plots (hepdl.report.style): physics label from the config, styles,
readable tick labels."""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import pytest

from hepdl.config import load_config
from hepdl.core.errors import ConfigError
from hepdl.report.style import (
    PlotStyle,
    declutter_ticks,
    label_axes,
    overlapping_tick_labels,
    physics_label,
    physics_label_lines,
    plot_style,
    use,
)

GENERATED = {
    "datasets": {"qcd": {"generate": {"process": "qcd"}, "n_jets": 100},
                 "top": {"generate": {"process": "top"}, "n_jets": 100}},
    "experiments": {"top_vs_qcd": {"train": "qcd", "background": "qcd", "signal": "top"}},
}


def _config(extra=None, base=GENERATED):
    config = copy.deepcopy(base)
    config.update(extra or {})
    return load_config(None, overrides=config)


def test_physics_label_of_generated_datasets():
    """Generated datasets: sqrt(s), anti-kt R, the pT window, |eta| and particle level from the
    generation settings (a dataset's own block overrides the global one)."""
    label = physics_label(_config())
    assert label == {"ecm_gev": 14000, "jet_algorithm": "anti-kt", "jet_r": 0.8, "jet_pt_min": 550, "jet_pt_max": 650,
                     "jet_abs_eta_max": 2.0, "level": "particle", "extra": ""}
    lines = physics_label_lines(label)
    assert lines[0] == "\u221as = 14 TeV, anti-$k_{\\mathrm{T}}$ $R$ = 0.8 jets"
    assert lines[1] == "550 < $p_{\\mathrm{T}}$ < 650 GeV, $|\\eta|$ < 2, particle level"
    html_lines = physics_label_lines(label, for_html=True)
    assert "&radic;s = 14 TeV" in html_lines[0] and "p<sub>T</sub>" in html_lines[1]
    # datasets that disagree on a setting leave it out
    config = copy.deepcopy(GENERATED)
    config["datasets"]["top"]["generate"]["jet_pt_min"] = 500
    label = physics_label(_config(base=config))
    assert label["jet_pt_min"] is None and label["jet_pt_max"] == 650
    assert physics_label_lines(label)[1].startswith("$p_{\\mathrm{T}}$ < 650 GeV")


def test_physics_label_of_file_datasets_and_overrides(tmp_path):
    """File datasets: only the reader cuts are known; the config's report.label fills the rest,
    and a set entry wins over a derived one."""
    files = {
        "datasets": {"bg": {"files": [str(tmp_path / "a.root")], "reader": {"cuts": {"pt_min": 500, "pt_max": 700}}},
                     "sig": {"files": [str(tmp_path / "b.root")], "reader": {"cuts": {"pt_min": 500, "pt_max": 700}}}},
        "experiments": {"e": {"train": "bg", "background": "bg", "signal": "sig"}},
    }
    label = physics_label(_config(base=files))
    assert label["jet_pt_min"] == 500 and label["jet_pt_max"] == 700
    assert label["ecm_gev"] is None and label["level"] is None and label["jet_algorithm"] is None
    assert physics_label_lines(label) == ("500 < $p_{\\mathrm{T}}$ < 700 GeV",)
    chosen = physics_label(_config({"report": {"label": {"ecm_gev": 13600, "jet_algorithm": "anti-kt", "jet_r": 0.4,
                                                         "level": "detector", "jet_pt_min": 450,
                                                         "extra": "Delphes CMS card"}}}, base=files))
    lines = physics_label_lines(chosen)
    assert lines[0] == "\u221as = 13.6 TeV, anti-$k_{\\mathrm{T}}$ $R$ = 0.4 jets"
    assert lines[1] == "450 < $p_{\\mathrm{T}}$ < 700 GeV, detector level" and lines[2] == "Delphes CMS card"


def test_report_config_is_validated():
    assert _config()["report"] == {"style": "plain", "text": "Simulation", "label": {
        "ecm_gev": None, "jet_algorithm": None, "jet_r": None, "jet_pt_min": None, "jet_pt_max": None,
        "jet_abs_eta_max": None, "level": None, "extra": ""}}
    with pytest.raises(ConfigError, match="report.style"):
        _config({"report": {"style": "LHCb"}})
    with pytest.raises(ConfigError, match="report.label.level"):
        _config({"report": {"label": {"level": "parton"}}})


@pytest.mark.parametrize("name", ["CMS", "ATLAS", "plain"])
def test_every_style_labels_the_plot(name):
    style = plot_style(_config({"report": {"style": name, "text": "Simulation Preliminary"}}))
    assert style.style == name and style.physics
    with use(style):
        fig, ax = plt.subplots()
        ax.plot([1, 2], [1, 2])
        label_axes(ax, style)
        fig.draw_without_rendering()
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "Simulation Preliminary" in texts and any("14 TeV" in t for t in texts)
    assert (name in texts) == (name != "plain")  # the experiment's name only in its own style
    plt.close(fig)


def test_declutter_removes_overlapping_log_tick_labels():
    """Regression: a log x axis spanning about one decade labels its minor ticks, and at the
    HEP styles' 26 pt font "3x10^-5 4x10^-5 6x10^-5" ran into each other (issue 15)."""
    with use(PlotStyle(style="CMS")):
        fig, ax = plt.subplots(figsize=(9, 7))
        x = np.geomspace(3e-5, 5e-4, 50)
        ax.plot(x, x)
        ax.set_xscale("log")
        ax.set_yscale("log")
        assert overlapping_tick_labels(fig)  # the problem is there
        declutter_ticks(fig)
        assert overlapping_tick_labels(fig) == []
        fig.canvas.draw()
        shown = [t.get_text() for t in ax.get_xticklabels(minor=True) + ax.get_xticklabels() if t.get_text()]
        assert len(shown) >= 3  # still labelled
    plt.close(fig)
