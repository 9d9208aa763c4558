"""``hepdl report``: a self-contained offline HTML page of the tagging results.

    hepdl report --config C --metrics M1.json B1.json ... --histories [LABEL=]H1.csv ... \\
                 --output results/report/index.html

``--metrics`` takes the per-experiment JSONs of ``hepdl evaluate`` (variants and baselines; they
carry the ROC curves with their bootstrap bands, score histograms, mass-sculpting histograms and
mean images, so no scores file is needed; which experiment/variant each belongs to is read from
its rows). ``--histories`` takes training-history CSVs of ``hepdl train``; ``LABEL=PATH`` names a
curve (``EXPERIMENT/TRANSFORM=results/models/DATASET/TRANSFORM/history.csv``, DATASET the experiment's
training dataset, is matched to that model's learning ratio), a bare path is labelled by its path.

Plots (PNG shown, PDF linked) are written next to the HTML file as
``plots/<experiment>/<variant>/<plot>.png`` and ``.pdf`` (plot stems and their meaning:
:data:`hepdl.report.PLOT_TITLES`; ``all_experiments`` / ``all_variants`` for plots across
experiments / variants); links are relative; no JavaScript, no external resources. Every file
is written atomically. Each plot carries the experiment label and the physics label of the
config's ``report`` section (:mod:`hepdl.report.style`).

Sections (HTML ids): see :data:`SECTIONS`.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.core.atomic import write_text_atomic
from hepdl.core.errors import InputFileError
from hepdl.report import ALL_EXPERIMENTS, ALL_VARIANTS

log = logging.getLogger("hepdl.report.html")

SECTIONS = {
    "how-to-read": "How to read this report",
    "metrics": "Metrics of all experiments, variants and baselines",
    "model-independence": "Model independence: both directions side by side",
    "roc": "ROC curves per experiment",
    "both-directions": "Both directions of each variant on one canvas",
    "score-distributions": "Score distributions",
    "images": "Average inputs, reconstructions and residuals",
    "training": "Training curves",
    "mass-sculpting": "Mass sculpting",
    "decorrelation": "Rejection against mass sculpting",
    "provenance": "Provenance",
}

HOW_TO_READ = """
<p>Each <em>experiment</em> trains an autoencoder on one dataset (the background hypothesis) and
tags the jets of another as anomalous by their reconstruction error: a cut <code>score &gt; t</code>
keeps a fraction &epsilon;<sub>S</sub> of signal and &epsilon;<sub>B</sub> of background test jets.
The ROC plots show the background rejection 1/&epsilon;<sub>B</sub> (log axis, larger is better)
against &epsilon;<sub>S</sub>; the AUC (0.5 = random, 1 = perfect, below 0.5 = the tagger prefers the
background) is given in every legend. Every number in brackets, and every shaded band around a ROC
curve, is a 68% bootstrap interval (16th to 84th percentile of the resampled test jets, background
and signal resampled separately). Baselines (dashed) are single textbook observables (jet mass,
number of constituents, &tau;<sub>32</sub>) oriented with the labels: they are <em>supervised</em>
references, not unsupervised taggers.</p>
<p>The <em>learning ratio</em> next to each model's numbers and in each legend is its best
validation loss divided by the loss of reconstructing every validation jet as the average training
image. A model that has learnt sits well below 1; at or above 0.9 (marked in red, "not learnt") it
has learnt little more than the average jet, and its AUC is not an autoencoder result.</p>
<p>The lesson of the reference study (Finke et al., JHEP 06 (2021) 161, arXiv:2104.09051): an
autoencoder trained on QCD tags top jets well, but the same architecture trained on top jets can
fail to tag QCD jets (AUC near or below 0.5), because the reconstruction error grows with image
complexity whatever the training sample. <strong>One AUC is not a measure of a model-independent
tagger</strong>: judge each variant (image transform, and score correction if any) by the <em>worse</em>
of its directions (table "Model independence", and one canvas per variant with every direction).</p>
<p>Mass sculpting shows whether a cut on the score reshapes the jet-mass distribution (a bump hunt
would then see a fake peak): background and signal mass after cuts keeping 50%, 10% and 1% of the
background, with the Jensen-Shannon divergence (JSD, 0 = same shape) of the background mass before
and after each cut and its statistical floor (the JSD of a random subset of the same size: below it
a JSD means nothing). The decorrelation summary plots the rejection at &epsilon;<sub>S</sub> = 0.5
against 1/JSD at that cut: the best taggers for a bump hunt sit top right.</p>
"""

CSS = """
body { font-family: sans-serif; max-width: 1300px; margin: auto; padding: 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: right; }
th { background: #eee; } td.name { text-align: left; }
span.interval { color: #555; font-size: 0.9em; white-space: nowrap; }
tr.baseline td { color: #555; font-style: italic; }
td.worst { background: #ffd9d9; font-weight: bold; }
tr.not-learned td, td.not-learned, span.not-learned { color: #c00000; }
tr.not-learned td { background: #fff0f0; }
p.not-learned { color: #c00000; font-weight: bold; }
p.physics { font-size: 1.05em; }
img { max-width: 100%; } figure { display: inline-block; margin: 0.5em; vertical-align: top; width: 45%; }
figure.wide { width: 95%; }
figcaption { font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 1em; }
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text)


def read_history(spec: str) -> tuple[str, dict[str, np.ndarray]]:
    """Parse ``LABEL=PATH`` or ``PATH`` and read the history CSV into numpy columns."""
    import pandas as pd

    label, _, path = spec.partition("=") if "=" in spec and not Path(spec).exists() else ("", "", spec)
    label = label or path
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise InputFileError(f"cannot read training history {path}: {err}") from None
    missing = {"epoch", "train_loss", "val_loss"} - set(frame.columns)
    if missing:
        raise InputFileError(f"training history {path}: missing column(s) {', '.join(sorted(missing))}")
    return label, {c: frame[c].to_numpy() for c in frame.columns}



def _figure(stem: Path, out_dir: Path, caption: str, wide: bool = False) -> str:
    png, pdf = stem.with_suffix(".png").relative_to(out_dir), stem.with_suffix(".pdf").relative_to(out_dir)
    cls = ' class="wide"' if wide else ""
    return (f'<figure{cls}><a href="{html.escape(str(pdf))}"><img src="{html.escape(str(png))}" '
            f'alt="{html.escape(caption)}"></a><figcaption>{caption} '
            f'(<a href="{html.escape(str(pdf))}">PDF</a>)</figcaption></figure>')


def legend_label(row: dict[str, Any], name: str | None = None, separator: str = ": ") -> str:
    """Legend text of a row: its name, the AUC with its 68% interval and, for a model, the
    learning ratio ("NOT LEARNT" when it did not learn). ``separator`` follows the name ("\n":
    two lines, for a legend title)."""
    baseline = row.get("kind") == "baseline"
    if name is None:
        name = row["variant"].removeprefix("baseline_") + " (baseline)" if baseline else row["variant"]
    text = f"{name}{separator}AUC {row['auc']:.3f}"
    if row.get("auc_low") is not None and row.get("auc_high") is not None:
        text += f" [{row['auc_low']:.3f}, {row['auc_high']:.3f}]"
    ratio = row.get("val_loss_over_average_image")
    if not baseline and ratio is not None:
        text += (f", NOT LEARNT (learning ratio {ratio:.2f})" if row.get("learned") is False
                 else f", learning ratio {ratio:.2f}")
    return text


def score_axis_label(config: dict[str, Any], row: dict[str, Any]) -> str:
    """What the score of a model variant is, for an axis label (scores are dimensionless)."""
    from hepdl.config import correction_options
    from hepdl.core.errors import ConfigError

    correction = row.get("correction") or "none"
    try:
        options = correction_options(config, correction)
    except ConfigError:  # a metrics file from another config: say no more than the name
        return f"Anomaly score ({html.escape(correction)})"
    if options.get("mass_decorrelation"):
        return "Anomaly score: background CDF in its mass bin"
    normalisation = options.get("score_normalisation", "none")
    if normalisation == "trivial":
        return "Reconstruction error / average-image error"
    if normalisation == "active_pixels":
        return "Reconstruction error x (pixels / active pixels)"
    return "Reconstruction error (MSE per pixel)"


def _reconstruction_note(config: dict[str, Any]) -> str:
    """Whether the model's reconstructions can be negative (from its output activation)."""
    model = config["model"]
    activation = (model.get("options") or {}).get("output_activation", "linear")
    if activation == "linear":
        return (f"model {model['name']}, linear output: reconstructed pixels can be negative "
                "(blue), shown, not dropped")
    return f"model {model['name']}, {activation} output: reconstructions cannot be negative"


def _gather(metrics: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    """Rows (unique by experiment and variant; models first, then baselines) and the plot data
    per experiment: {experiment: {kind: {variant: data}}}."""
    rows, by_experiment, seen = [], {}, set()
    for payload in metrics:
        for row in payload["rows"]:
            key = (row["experiment"], row["variant"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
        for experiment in {row["experiment"] for row in payload["rows"]}:
            entry = by_experiment.setdefault(experiment, {k: {} for k in (
                "curves", "score_histograms", "images", "mass_sculpting", "score_vs_mass")})
            for k in entry:
                entry[k].update(payload.get(k, {}))
    rows.sort(key=lambda r: (r["experiment"], r.get("kind") == "baseline", r["variant"]))
    return rows, by_experiment


class _Later:
    """``later.roc_figure(...)`` records a call of a figure builder of :mod:`hepdl.report.plots`
    as (name, args, kwargs), for :func:`_render` to run."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: (name, args, kwargs)


def _render_one(job: tuple) -> list[Path]:
    """Build one figure (a recorded call, its stem and style) and save it as PNG and PDF."""
    from hepdl.report import plots
    from hepdl.report.style import save

    name, args, kwargs, stem, style = job
    return save(getattr(plots, name)(*args, **kwargs), stem, style)


def _render(jobs: list[tuple], workers: int = 1) -> list[Path]:
    """Run the plot jobs, in ``workers`` processes when more than one (spawned: each a fresh
    interpreter, no state shared); return the written files."""
    if workers <= 1 or len(jobs) <= 1:
        return [path for job in jobs for path in _render_one(job)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return [path for paths in pool.map(_render_one, jobs) for path in paths]


def build_report(config: dict[str, Any], metrics: list[dict[str, Any]],
                 histories: list[tuple[str, dict[str, np.ndarray]]],
                 output: str | Path, workers: int = 1) -> Path:
    """Write the HTML report and its plots; return the HTML path.

    ``metrics`` are payloads of ``hepdl evaluate`` (dicts with ``rows`` and optional plot data),
    ``histories`` (label, columns) pairs of :func:`read_history`; the plots are drawn in
    ``workers`` processes (the same files whatever their number).
    """
    import yaml

    from hepdl.core.provenance import provenance
    from hepdl.evaluation.evaluate import BASELINE_AXES
    from hepdl.evaluation.metrics import model_independence
    from hepdl.evaluation.sculpting import SUMMARY_EPS_S
    from hepdl.report import tables
    from hepdl.report.plots import Entry
    from hepdl.report.style import physics_label, physics_label_lines, plot_style

    output = Path(output)
    out_dir = output.parent
    plot_dir = out_dir / "plots"
    eps_s = config["evaluation"]["eps_s"]
    style = plot_style(config)
    rows, by_experiment = _gather(metrics)
    by_key = {(r["experiment"], r["variant"]): r for r in rows}
    model_rows = [r for r in rows if r.get("kind") != "baseline"]
    model_summary = model_independence(model_rows, eps_s)
    summary = model_summary + model_independence([r for r in rows if r.get("kind") == "baseline"], eps_s)
    parts: dict[str, list[str]] = {sid: [] for sid in SECTIONS}

    later, jobs = _Later(), []

    def emit(section: str, job: tuple, experiment: str, variant: str, plot: str, caption: str,
             wide: bool = False) -> None:
        """Queue the plot ``job`` (a call recorded by ``later``) and put its figure in ``section``."""
        stem = plot_dir / _slug(experiment) / _slug(variant) / plot
        jobs.append((*job, stem, style))
        parts[section].append(_figure(stem, out_dir, caption, wide))

    def roles(row: dict[str, Any]) -> dict[str, str]:
        return {"background": row["background"], "signal": row["signal"]}

    def entry(row: dict[str, Any], data: dict[str, Any], name: str | None = None) -> Entry:
        return Entry(legend_label(row, name), data, baseline=row.get("kind") == "baseline",
                     not_learned=row.get("learned") is False)

    parts["how-to-read"].append(HOW_TO_READ)
    if any(r.get("learned") is False for r in rows):
        parts["metrics"].append(f'<p class="not-learned">{tables.NOT_LEARNED_SENTENCE}</p>')
    parts["metrics"].append(tables.metrics_table(rows, eps_s))
    parts["metrics"].append("<p>&gt; marks a rejection where no background test jet passed: the value is "
                            "its lower bound, the number of background test jets. Brackets: 68% bootstrap "
                            f"intervals ({config['evaluation']['bootstrap']} resamples).</p>")
    if any(not e.get("result", True) for e in summary):
        parts["model-independence"].append(f'<p class="not-learned">{tables.NOT_LEARNED_SENTENCE}</p>')
    parts["model-independence"].append(tables.independence_table(summary, eps_s))

    for experiment, data in sorted(by_experiment.items()):
        chosen = [r for r in rows if r["experiment"] == experiment]
        first = chosen[0] if chosen else {}
        where = f"{experiment} (trained on {first.get('trained_on')}, signal {first.get('signal')})"
        # ROC curves of every variant and baseline
        entries = [entry(r, {**data["curves"][r["variant"]], "n_background": r.get("n_background")}) for r in chosen
                   if r["variant"] in data["curves"]]
        if entries:
            emit("roc", later.roc_figure(entries, style, where), experiment, ALL_VARIANTS, "roc",
                 f"{html.escape(experiment)}: rejection vs signal efficiency, 68% bootstrap bands")
        # score distributions
        for row in chosen:
            variant = row["variant"]
            histogram = data["score_histograms"].get(variant)
            if not histogram:
                continue
            if row.get("kind") == "baseline":
                xlabel = histogram.get("xlabel") or BASELINE_AXES.get(variant.removeprefix("baseline_"),
                                                                       (None, variant))[1]
            else:
                xlabel = score_axis_label(config, row)
            title = legend_label(row, f"{experiment} / {variant}", "\n")
            fig = later.score_distribution_figure(histogram, style, title, xlabel, roles(row),
                                                  not_learned=row.get("learned") is False)
            emit("score-distributions", fig, experiment, variant, "scores", html.escape(f"{experiment} / {variant}"))
        # average images, once per model (experiment, transform): they do not depend on the correction
        shown = set()
        for row in chosen:
            images = data["images"].get(row["variant"])
            transform = row.get("transform", row["variant"])
            if images and transform not in shown:
                shown.add(transform)
                fig = later.mean_images_figure(images, style, f"{experiment} / image transform {transform}",
                                               config["images"]["half_width"], roles(row), _reconstruction_note(config))
                emit("images", fig, experiment, transform, "images",
                     html.escape(f"{experiment} / image transform {transform}: {_reconstruction_note(config)}"),
                     wide=True)
        # mass sculpting and score vs mass
        sculpted = {}
        for row in chosen:
            variant = row["variant"]
            sculpting = data["mass_sculpting"].get(variant)
            if sculpting and "working_points" in sculpting:
                sculpted[(experiment, variant)] = sculpting
                fig = later.mass_sculpting_figure(sculpting, style, f"{experiment} / {variant}", roles(row),
                                                  not_learned=row.get("learned") is False)
                emit("mass-sculpting", fig, experiment, variant, "mass_sculpting",
                     html.escape(f"{experiment} / {variant}: jet mass after the cuts"), wide=True)
            if variant in data["score_vs_mass"]:
                fig = later.score_vs_mass_figure(data["score_vs_mass"][variant], style, f"{experiment} / {variant}",
                                                 score_axis_label(config, row), roles(row))
                emit("mass-sculpting", fig, experiment, variant, "score_vs_mass",
                     html.escape(f"{experiment} / {variant}: score vs jet mass"))
        if sculpted:
            parts["mass-sculpting"].insert(0, f"<h3>{html.escape(experiment)}</h3>" +
                                           tables.sculpting_table(chosen, sculpted))
        # decorrelation summary
        key, jsd_key = f"rejection_at_eps_s_{SUMMARY_EPS_S:g}", f"mass_jsd_at_eps_s_{SUMMARY_EPS_S:g}"
        points = [entry(r, {"rejection": r.get(key), "rejection_low": r.get(f"{key}_low"),
                            "rejection_high": r.get(f"{key}_high"), "jsd": r.get(jsd_key)})
                  for r in chosen if r.get(key) is not None]
        if any(p.data["jsd"] is not None for p in points):
            emit("decorrelation", later.rejection_vs_jsd_figure(points, style, where, SUMMARY_EPS_S),
                 experiment, ALL_VARIANTS, "rejection_vs_jsd",
                 f"{html.escape(experiment)}: rejection at &epsilon;<sub>S</sub> = {SUMMARY_EPS_S:g} vs 1/JSD "
                 "of the background mass at that cut, 68% bootstrap intervals", wide=True)

    # every direction of a model variant on one canvas (a baseline is the same cut in every direction)
    single = [e["variant"] for e in model_summary if len(e["experiments"]) == 1]
    if single:
        parts["both-directions"].append(
            "<p>Run in one experiment only (no second direction to compare): " +
            ", ".join(f"<code>{html.escape(v)}</code>" for v in single) + ".</p>")
    for entry_summary in model_summary:
        variant = entry_summary["variant"]
        if variant in single:
            continue
        entries = []
        for experiment in entry_summary["experiments"]:
            row = by_key[(experiment, variant)]
            curve = by_experiment.get(experiment, {}).get("curves", {}).get(variant)
            if curve:
                entries.append(entry(row, {**curve, "n_background": row.get("n_background")}, name=experiment))
        if not entries:
            continue
        if entry_summary.get("result", True):
            verdict = f"worse: {entry_summary['worst_experiment']} (AUC {entry_summary['worst_auc']:.3f})"
        else:
            verdict = f"no result: {', '.join(entry_summary['not_learned'])} did not learn"
        directions = ", ".join(f"{e}: trained on {by_key[(e, variant)]['trained_on']}, signal "
                               f"{by_key[(e, variant)]['signal']}" for e in entry_summary["experiments"])
        emit("both-directions", later.roc_figure(entries, style, f"{variant}; {verdict}"), ALL_EXPERIMENTS,
             variant, "both_directions", html.escape(f"{variant}: every direction ({directions}); {verdict}"))

    for label, history in histories:
        experiment, _, transform = label.partition("/")
        model = next((r for r in model_rows if r["experiment"] == experiment and r.get("transform") == transform), None)
        title = label
        if model is not None and model.get("val_loss_over_average_image") is not None:
            ratio = model["val_loss_over_average_image"]
            title += (f": NOT LEARNT (learning ratio {ratio:.2f})" if model.get("learned") is False
                      else f": learning ratio {ratio:.2f}")
        not_learned = model is not None and model.get("learned") is False
        fig = later.training_figure(history, style, title, not_learned=not_learned)
        emit("training", fig, experiment if transform else "histories", transform or _slug(label), "training",
             html.escape(title))

    written = _render(jobs, workers)
    record = provenance(config=config, seed=config["seed"])
    parts["provenance"].append(
        f"<p>hepdl {html.escape(record['hepdl_version'])}, "
        f"git commit <code>{html.escape(record['git_commit'])}</code>, "
        f"seed {config['seed']}, built {html.escape(record['created_utc'])} on {html.escape(record['host'])}.</p>")
    parts["provenance"].append("<table>" + "".join(
        f'<tr><td class="name">{html.escape(k)}</td><td class="name">{html.escape(v)}</td></tr>'
        for k, v in record["versions"].items()) + "</table>")
    commits = sorted({str(p.get("provenance", {}).get("git_commit")) for p in metrics if p.get("provenance")})
    if commits:
        parts["provenance"].append("<p>Metrics computed at git commit(s): " +
                                   ", ".join(f"<code>{html.escape(c)}</code>" for c in commits) + "</p>")
    parts["provenance"].append("<h3>Configuration</h3><pre>" +
                               html.escape(yaml.safe_dump(config, sort_keys=False)) + "</pre>")

    physics = "<br>".join(physics_label_lines(physics_label(config), for_html=True))
    header = (f'<p class="physics">{physics or "No physics label: set report.label in the config."}<br>'
              f'Plots in the {html.escape(config["report"]["style"])} style of mplhep, labelled '
              f'&ldquo;{html.escape(config["report"]["text"])}&rdquo; (config <code>report</code>).</p>')
    nav = "".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title in SECTIONS.items())
    sections = "".join(
        f'<section id="{sid}"><h2>{html.escape(title)}</h2>' +
        ("".join(parts[sid]) or "<p>Nothing to show (no input for this section).</p>") + "</section>"
        for sid, title in SECTIONS.items())
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>hepdl report</title>'
            f"<style>{CSS}</style></head><body><h1>hepdl: anomaly tagging report</h1>{header}<nav>{nav}</nav>"
            f"{sections}</body></html>\n")
    write_text_atomic(output, page)
    log.info("wrote %s and %d plots (PNG and PDF)", output, len(written) // 2)
    return output
