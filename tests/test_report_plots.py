"""The report's figures (hepdl.report.plots) on small synthetic data: every tick label readable,
every axis labelled (with units where the quantity has them), the physics label on every plot,
negative reconstructed pixels shown, models that did not learn marked in red."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from hepdl.evaluation.metrics import tagger_evaluation
from hepdl.evaluation.sculpting import mass_sculpting
from hepdl.report import plots
from hepdl.report.html import legend_label
from hepdl.report.plots import NOT_LEARNED_COLOUR, Entry
from hepdl.report.style import PlotStyle, declutter_ticks, overlapping_tick_labels, use

STYLE = PlotStyle(style="CMS", text="Simulation", physics=("\u221as = 14 TeV, anti-$k_T$ $R$ = 0.8 jets",
                                                           "550 < $p_T$ < 650 GeV, particle level"))
RNG = np.random.default_rng(4)
BG, SIG = RNG.lognormal(0.0, 0.5, 400) * 1e-4, RNG.lognormal(0.6, 0.5, 300) * 1e-4
BG_MASS, SIG_MASS = RNG.gamma(3.0, 20.0, 400), RNG.normal(172.0, 15.0, 300)


def _row(auc_row, variant="plain", learned=True):
    return {"experiment": "top_vs_qcd", "variant": variant, "kind": "model", "val_loss_over_average_image":
            0.4 if learned else 1.02, "learned": learned, **auc_row}


def _check(fig, xlabel_has: str = "", every_axes: bool = True) -> None:
    """Readable ticks, labelled axes, the experiment and physics labels somewhere on the figure."""
    with use(STYLE):
        declutter_ticks(fig)
        assert overlapping_tick_labels(fig) == []
    data_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    for ax in data_axes if every_axes else data_axes[:1]:
        assert ax.get_xlabel() and ax.get_ylabel(), ax
        assert xlabel_has in ax.get_xlabel()
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    assert "Simulation" in texts and "14 TeV" in texts and "particle level" in texts
    plt.close(fig)


def test_roc_figure_has_bands_auc_in_the_legend_and_red_not_learnt():
    row, curve = tagger_evaluation(BG, SIG, [0.3], n_bootstrap=20, seed=1, n_points=100)
    entries = [Entry(legend_label(_row(row)), curve),
               Entry(legend_label(_row(row, "smeared", learned=False)), curve, not_learned=True)]
    fig = plots.roc_figure(entries, STYLE, "top_vs_qcd")
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one 68% band per curve
    texts = ax.get_legend().get_texts()
    assert "AUC 0." in texts[0].get_text() and "learning ratio 0.40" in texts[0].get_text()
    assert "NOT LEARNT" in texts[1].get_text() and to_hex(texts[1].get_color()) == NOT_LEARNED_COLOUR
    _check(fig, "Signal efficiency")


@pytest.mark.parametrize("span", [(3e-5, 5e-4), (1e-6, 1e-1), (0.9, 1.3)])
def test_score_distribution_ticks_are_readable(span):
    values = np.geomspace(*span, 700)
    edges = np.geomspace(*span, 51)
    histogram = {"edges": edges.tolist(), "log_x": True, "background": np.histogram(values[:400], edges)[0].tolist(),
                 "signal": np.histogram(values[400:], edges)[0].tolist()}
    fig = plots.score_distribution_figure(histogram, STYLE, "top_vs_qcd / plain", "Reconstruction error",
                                          {"background": "qcd", "signal": "top"})
    assert fig.axes[0].get_xscale() == "log"
    _check(fig, "Reconstruction error")


def test_baseline_histograms_are_in_their_own_units():
    """Regression: baselines inherited log binning and axes said "mass", "nconst" (issue 15)."""
    from hepdl.evaluation.evaluate import BASELINE_AXES, _histogram

    binning, xlabel = BASELINE_AXES["mass"]
    histogram = _histogram(BG_MASS, SIG_MASS, binning=binning, xlabel=xlabel)
    assert not histogram["log_x"] and histogram["edges"][0] == 0.0 and histogram["xlabel"] == "jet mass [GeV]"
    fig = plots.score_distribution_figure(histogram, STYLE, "top_vs_qcd / baseline_mass", histogram["xlabel"])
    assert fig.axes[0].get_xscale() == "linear" and fig.axes[0].get_ylabel().startswith("Fraction of jets / ")
    assert fig.axes[0].get_ylabel().endswith("GeV")
    _check(fig, "[GeV]")
    counts = _histogram(RNG.poisson(40, 400).astype(float), RNG.poisson(60, 300).astype(float), binning="integer")
    widths = np.diff(counts["edges"])
    assert np.allclose(widths, widths[0]) and widths[0] == np.round(widths[0]) and counts["edges"][0] % 1 == 0.5


def test_mean_images_keep_negative_reconstructed_pixels():
    """Regression: linear-output models reconstruct negative pixels, which the log colour scale
    dropped (white speckle). Now one symmetric-log scale keeps them (blue), and residual maps
    (input - reconstruction) stand beside the averages."""
    image = np.outer(np.hanning(12), np.hanning(12))
    image /= image.sum()
    reconstruction = image * 0.9 - 2e-4  # negative in the corners
    images = {f"{role}_{kind}": (image if kind == "mean_input" else reconstruction).tolist()
              for role in ("background", "signal") for kind in ("mean_input", "mean_reconstruction")}
    fig = plots.mean_images_figure(images, STYLE, "top_vs_qcd / plain", 0.8, {"background": "qcd", "signal": "top"},
                                   "model conv_ae, linear output: reconstructed pixels can be negative")
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title().split(": ")[1] for ax in panels[:3]] == ["average input", "average reconstruction",
                                                                     "input $-$ reconstruction"]
    shown = panels[1].images[0]
    array = np.ma.asarray(shown.get_array())
    assert not np.ma.is_masked(array) and array.min() < 0  # nothing dropped
    assert shown.norm(array.min()) < 0.5 < shown.norm(array.max())  # negative below the white middle
    assert panels[0].get_xlabel() == r"$\phi'$ [rad]" and panels[0].get_ylabel() == r"$\eta'$ [rad]"
    assert panels[0].images[0].get_extent() == [-0.8, 0.8, -0.8, 0.8]
    _check(fig, "[rad]")


def test_mass_sculpting_figure_shows_background_and_signal_at_every_working_point():
    sculpting = mass_sculpting(BG + 1e-6 * BG_MASS, BG_MASS, SIG + 1e-6 * SIG_MASS, SIG_MASS, [0.5, 0.1, 0.01], [0.5])
    fig = plots.mass_sculpting_figure(sculpting, STYLE, "top_vs_qcd / plain", {"background": "qcd", "signal": "top"})
    background, signal = (ax.get_legend().get_texts() for ax in fig.axes[:2])
    assert [t.get_text().split(":")[0] for t in background][1:] == [
        r"cut at $\varepsilon_B$ = 50%", r"cut at $\varepsilon_B$ = 10%", r"cut at $\varepsilon_B$ = 1%",
        r"cut at $\varepsilon_S$ = 50%"]
    assert "JSD" in background[1].get_text() and "floor" in background[1].get_text()
    assert len(signal) == 5
    _check(fig, "Jet mass [GeV]")


def test_rejection_vs_jsd_and_other_figures():
    points = [Entry("plain: AUC 0.8", {"rejection": 12.0, "rejection_low": 10.0, "rejection_high": 15.0, "jsd": 0.02}),
              Entry("mass (baseline): AUC 0.9", {"rejection": 30.0, "rejection_low": 25.0, "rejection_high": 36.0,
                                                  "jsd": 0.4}, baseline=True),
              Entry("smeared: AUC 0.5", {"rejection": 2.0, "jsd": None}, not_learned=True)]
    fig = plots.rejection_vs_jsd_figure(points, STYLE, "top_vs_qcd")
    assert fig.axes[0].get_xscale() == fig.axes[0].get_yscale() == "log"
    assert "no JSD" in fig.axes[0].get_legend().get_texts()[2].get_text()
    _check(fig, "JSD")
    history = {"epoch": np.arange(1, 6), "train_loss": np.geomspace(1, 0.3, 5), "val_loss": np.geomspace(1.1, 0.35, 5),
               "average_image_loss": np.full(5, 1.0)}
    _check(plots.training_figure(history, STYLE, "top_vs_qcd/plain: learning ratio 0.35"), "Epoch")
    edges = np.linspace(0, 300, 11)
    profile = {"edges": edges.tolist(), **{role: {"q16": [1e-4] * 10, "median": [2e-4] * 9 + [None],
                                                  "q84": [3e-4] * 10} for role in ("background", "signal")}}
    _check(plots.score_vs_mass_figure(profile, STYLE, "top_vs_qcd / plain", "Reconstruction error"), "Jet mass [GeV]")
