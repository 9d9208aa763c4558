"""``hepdl report``: a self-contained offline HTML page of the tagging results.

    hepdl report --config C --metrics M1.json B1.json ... --histories [LABEL=]H1.csv ... \\
                 --output results/report/index.html

``--metrics`` takes the per-experiment JSONs of ``hepdl evaluate`` (variants and baselines; they
carry the ROC curves, score histograms, mass-sculpting histograms and mean images, so no scores
file is needed; which experiment/variant each belongs to is read from its rows). ``--histories``
takes training-history CSVs of ``hepdl train``; ``LABEL=PATH`` names a curve (e.g.
``qcd/plain=results/models/qcd/plain/history.csv``), a bare path is labelled by its path.
Plots (PNG shown, PDF linked) are written next to the HTML file; links are relative; no
JavaScript, no external resources. Every file is written atomically.

Sections (HTML ids): ``how-to-read``, ``metrics``, ``model-independence``, ``roc``,
``score-distributions``, ``images``, ``training``, ``mass-sculpting``, ``provenance``.
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

log = logging.getLogger("hepdl.report.html")

SECTIONS = {
    "how-to-read": "How to read this report",
    "metrics": "Metrics of all experiments, variants and baselines",
    "model-independence": "Model independence: both directions side by side",
    "roc": "ROC curves",
    "score-distributions": "Score distributions",
    "images": "Average inputs and reconstructions",
    "training": "Training curves",
    "mass-sculpting": "Mass sculpting",
    "provenance": "Provenance",
}

HOW_TO_READ = """
<p>Each <em>experiment</em> trains an autoencoder on one dataset (the background hypothesis) and
tags the jets of another as anomalous by their reconstruction error: a cut <code>score &gt; t</code>
keeps a fraction &epsilon;<sub>S</sub> of signal and &epsilon;<sub>B</sub> of background test jets.
The ROC plots show the background rejection 1/&epsilon;<sub>B</sub> (log axis, larger is better)
against &epsilon;<sub>S</sub>; the AUC (0.5 = random, 1 = perfect, below 0.5 = the tagger prefers the
background) carries a 68% bootstrap interval. Baselines (dashed) are single textbook observables
(jet mass, number of constituents, &tau;<sub>32</sub>) oriented with the labels: they are
<em>supervised</em> references, not unsupervised taggers.</p>
<p>The <em>learning ratio</em> next to each model's numbers is its best validation loss divided by
the loss of reconstructing every validation jet as the average training image. A model that has
learnt sits well below 1; at or above 0.9 (marked in red) it has learnt little more than the
average jet, and its AUC is not an autoencoder result.</p>
<p>The lesson of the reference study (Finke et al., JHEP 06 (2021) 161, arXiv:2104.09051): an
autoencoder trained on QCD tags top jets well, but the same architecture trained on top jets can
fail to tag QCD jets (AUC near or below 0.5), because the reconstruction error grows with image
complexity whatever the training sample. <strong>One AUC is not a measure of a model-independent
tagger</strong>: judge each variant (image transform, and score correction if any) by the <em>worse</em>
of its two directions
(table "Model independence"). Mass sculpting shows whether a cut on the score reshapes the
background jet-mass distribution (a bump-hunt would then see a fake peak).</p>
"""

CSS = """
body { font-family: sans-serif; max-width: 1300px; margin: auto; padding: 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: right; }
th { background: #eee; } td.name { text-align: left; }
tr.baseline td { color: #555; font-style: italic; }
td.worst { background: #ffd9d9; font-weight: bold; }
tr.not-learned td, td.not-learned, span.not-learned { color: #c00000; }
tr.not-learned td { background: #fff0f0; }
p.not-learned { color: #c00000; font-weight: bold; }
img { max-width: 100%; } figure { display: inline-block; margin: 0.5em; vertical-align: top; width: 45%; }
figure.wide { width: 95%; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 1em; }
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:.0f}"
        return f"{value:.{digits}f}"
    return html.escape(str(value))


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
            f'alt="{html.escape(caption)}"></a><figcaption>{html.escape(caption)} '
            f'(<a href="{html.escape(str(pdf))}">PDF</a>)</figcaption></figure>')


def _metrics_table(rows: list[dict[str, Any]], eps_s: list[float]) -> str:
    from hepdl.evaluation.metrics import rejection_key

    keys = [rejection_key(e) for e in eps_s]
    head = ("<tr><th>experiment</th><th>variant</th><th>trained on</th><th>background</th><th>signal</th>"
            "<th>AUC</th><th>68% interval</th><th>learning ratio</th>" +
            "".join(f"<th>1/&epsilon;<sub>B</sub> at &epsilon;<sub>S</sub>={e:g}</th>" for e in eps_s) +
            "<th>corr(score, mass)</th><th>n bg</th><th>n sig</th></tr>")
    body = []
    for row in rows:
        lower = set(row.get("rejection_lower_bounds") or [])
        cls = (' class="baseline"' if row.get("kind") == "baseline" else
               ' class="not-learned"' if row.get("learned") is False else "")
        cells = [f'<td class="name">{_fmt(row.get(k))}</td>' for k in
                 ("experiment", "variant", "trained_on", "background", "signal")]
        cells.append(f"<td>{_fmt(row.get('auc'), 4)}</td>")
        cells.append(f"<td>[{_fmt(row.get('auc_low'), 4)}, {_fmt(row.get('auc_high'), 4)}]</td>")
        cells.append(f"<td>{_learning_cell(row)}</td>")
        cells += [f"<td>{'&gt; ' if k in lower else ''}{_fmt(row.get(k), 1)}</td>" for k in keys]
        cells.append(f"<td>{_fmt(row.get('pearson_score_mass'))}</td>")
        cells += [f"<td>{_fmt(row.get(k))}</td>" for k in ("n_background", "n_signal")]
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


NOT_LEARNED_SENTENCE = (
    "A model marked in red did not learn: its best validation loss is above 0.9 of the loss of "
    "reconstructing every jet as the average training image, so its AUC measures how far each jet "
    "lies from the average jet, not what an autoencoder learnt, and it is no result.")


def _learning_cell(row: dict[str, Any]) -> str:
    """The learning ratio of a model row (best validation loss / average-image loss), red with
    'not learnt' when the model did not learn; a dash for baselines."""
    ratio = row.get("val_loss_over_average_image")
    if row.get("kind") == "baseline" or ratio is None:
        return "&ndash;"
    if row.get("learned") is False:
        return f'<span class="not-learned">{_fmt(float(ratio))} (not learnt)</span>'
    return _fmt(float(ratio))


def _independence_table(summary: list[dict[str, Any]], eps_s: list[float]) -> str:
    from hepdl.evaluation.metrics import rejection_key

    experiments = list(dict.fromkeys(e for s in summary for e in s["experiments"]))
    key = rejection_key(eps_s[len(eps_s) // 2]) if eps_s else None
    head = ("<tr><th>variant</th>" + "".join(f"<th>{html.escape(e)}: AUC</th>" for e in experiments) +
            "<th>worse direction</th><th>worse AUC</th>" +
            (f"<th>worse 1/&epsilon;<sub>B</sub> at &epsilon;<sub>S</sub>={eps_s[len(eps_s) // 2]:g}</th>"
             if key else "")
            + "</tr>")
    body = []
    for entry in summary:
        cells = [f'<td class="name">{html.escape(entry["variant"])}</td>']
        for experiment in experiments:
            values = entry["experiments"].get(experiment)
            worst = experiment == entry["worst_experiment"] and len(entry["experiments"]) > 1
            text = "&ndash;" if values is None else (
                f"{_fmt(values['auc'], 4)} [{_fmt(values.get('auc_low'), 3)}, {_fmt(values.get('auc_high'), 3)}]")
            if values is not None and values.get("val_loss_over_average_image") is not None:
                text += f" (learning ratio {_learning_cell({**values, 'kind': 'model'})})"
            cls = (' class="not-learned"' if values is not None and values.get("learned") is False else
                   ' class="worst"' if worst else "")
            cells.append(f"<td{cls}>{text}</td>")
        if entry.get("result", True):
            cells.append(f'<td class="name">{html.escape(entry["worst_experiment"])}</td>')
            cells.append(f'<td class="worst">{_fmt(entry["worst_auc"], 4)}</td>')
            if key:
                cells.append(f"<td>{_fmt(entry.get('worst_' + key), 1)}</td>")
        else:
            span = 3 if key else 2
            cells.append(f'<td class="not-learned" colspan="{span}">no result: the model of '
                         f'{html.escape(", ".join(entry.get("not_learned", [])))} did not learn</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def build_report(config: dict[str, Any], metrics: list[dict[str, Any]],
                 histories: list[tuple[str, dict[str, np.ndarray]]],
                 output: str | Path) -> Path:
    """Write the HTML report and its plots; return the HTML path.

    ``metrics`` are payloads of ``hepdl evaluate`` (dicts with ``rows`` and optional plot data),
    ``histories`` (label, columns) pairs of :func:`read_history`.
    """
    import yaml

    from hepdl.core.provenance import provenance
    from hepdl.evaluation.metrics import model_independence
    from hepdl.report import plots

    output = Path(output)
    out_dir = output.parent
    plot_dir = out_dir / "plots"
    eps_s = config["evaluation"]["eps_s"]

    rows, by_experiment, seen = [], {}, set()
    for payload in metrics:
        for row in payload["rows"]:
            key = (row["experiment"], row["variant"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
        experiments = {row["experiment"] for row in payload["rows"]}
        for experiment in experiments:
            entry = by_experiment.setdefault(experiment, {k: {} for k in (
                "curves", "score_histograms", "images", "mass_sculpting", "score_vs_mass")})
            for k in entry:
                entry[k].update(payload.get(k, {}))
    rows.sort(key=lambda r: (r["experiment"], r.get("kind") == "baseline", r["variant"]))
    transforms = {(r["experiment"], r["variant"]): r["transform"] for r in rows if "transform" in r}
    model_rows = [r for r in rows if r.get("kind") != "baseline"]
    summary = model_independence(model_rows, eps_s) + model_independence(
        [r for r in rows if r.get("kind") == "baseline"], eps_s)

    parts = {sid: [] for sid in SECTIONS}
    parts["how-to-read"].append(HOW_TO_READ)
    if any(r.get("learned") is False for r in rows):
        parts["metrics"].append(f'<p class="not-learned">{NOT_LEARNED_SENTENCE}</p>')
    parts["metrics"].append(_metrics_table(rows, eps_s))
    parts["metrics"].append("<p>&gt; marks a rejection where no background test jet passed: the value is "
                            "its lower bound, the number of background test jets.</p>")
    if any(not entry.get("result", True) for entry in summary):
        parts["model-independence"].append(f'<p class="not-learned">{NOT_LEARNED_SENTENCE}</p>')
    parts["model-independence"].append(_independence_table(summary, eps_s))
    for experiment, data in sorted(by_experiment.items()):
        slug = _slug(experiment)
        if data["curves"]:
            stem = plot_dir / f"roc_{slug}"
            plots.plot_roc(data["curves"], experiment, stem)
            parts["roc"].append(_figure(stem, out_dir, f"{experiment}: rejection vs signal efficiency"))
        for variant, histogram in data["score_histograms"].items():
            stem = plot_dir / f"scores_{slug}_{_slug(variant)}"
            xlabel = variant.removeprefix("baseline_") if variant.startswith("baseline_") else "anomaly score"
            plots.plot_score_distributions(histogram, f"{experiment} / {variant}", stem, xlabel=xlabel)
            parts["score-distributions"].append(_figure(stem, out_dir, f"{experiment} / {variant}"))
        shown = set()
        for variant, images in data["images"].items():
            # the images depend on the model (experiment, transform) only, not on the score correction
            transform = transforms.get((experiment, variant), variant)
            if images and transform not in shown:
                shown.add(transform)
                stem = plot_dir / f"images_{slug}_{_slug(transform)}"
                plots.plot_mean_images(images, f"{experiment} / {transform}", stem)
                parts["images"].append(_figure(stem, out_dir, f"{experiment} / image transform {transform}",
                                               wide=True))
        for variant, sculpting in data["mass_sculpting"].items():
            stem = plot_dir / f"mass_{slug}_{_slug(variant)}"
            plots.plot_mass_sculpting(sculpting, f"{experiment} / {variant}", stem)
            parts["mass-sculpting"].append(_figure(stem, out_dir, f"{experiment} / {variant}: background mass"))
            if variant in data["score_vs_mass"]:
                stem = plot_dir / f"score_vs_mass_{slug}_{_slug(variant)}"
                plots.plot_score_vs_mass(data["score_vs_mass"][variant], f"{experiment} / {variant}", stem)
                parts["mass-sculpting"].append(_figure(stem, out_dir, f"{experiment} / {variant}: score vs mass"))
    for label, history in histories:
        stem = plot_dir / f"training_{_slug(label)}"
        plots.plot_training_curves(history, label, stem)
        parts["training"].append(_figure(stem, out_dir, label))

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

    nav = "".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title in SECTIONS.items())
    sections = "".join(
        f'<section id="{sid}"><h2>{html.escape(title)}</h2>' +
        ("".join(parts[sid]) or "<p>Nothing to show (no input for this section).</p>") + "</section>"
        for sid, title in SECTIONS.items())
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>hepdl report</title>'
            f"<style>{CSS}</style></head><body><h1>hepdl: anomaly tagging report</h1><nav>{nav}</nav>"
            f"{sections}</body></html>\n")
    write_text_atomic(output, page)
    return output
