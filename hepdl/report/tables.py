"""The report's HTML tables: metrics of every experiment and variant, model independence (both
directions side by side), and mass sculpting at every working point. Numbers carry their 68%
bootstrap intervals; models that did not learn are marked in red with their learning ratio.
"""

from __future__ import annotations

import html
from typing import Any

from hepdl.evaluation.metrics import rejection_key

NOT_LEARNED_SENTENCE = (
    "A model marked in red did not learn: its best validation loss is above 0.9 of the loss of "
    "reconstructing every jet as the average training image, so its AUC measures how far each jet "
    "lies from the average jet, not what an autoencoder learnt, and it is no result.")


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table cell (a dash when missing; no decimals from 100 on)."""
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        if value != value:  # NaN
            return "&ndash;"
        if abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _rejection(row: dict[str, Any], key: str, lower_bounds: list[str], digits: int = 1) -> str:
    """A rejection, "&gt; N" when it is a lower bound (no background jet passed)."""
    return f"{'&gt; ' if key in lower_bounds else ''}{fmt(row.get(key), digits)}"


def rejection_cell(row: dict[str, Any], key: str, lower_bounds_key: str = "rejection_lower_bounds") -> str:
    """A rejection with its 68% interval in brackets (when the row has one)."""
    bounds = row.get(lower_bounds_key) or []
    text = _rejection(row, key, bounds)
    if row.get(f"{key}_low") is not None and row.get(f"{key}_high") is not None:
        text += (f' <span class="interval">[{_rejection(row, f"{key}_low", bounds)}, '
                 f'{_rejection(row, f"{key}_high", bounds)}]</span>')
    return text


def learning_cell(row: dict[str, Any]) -> str:
    """The learning ratio of a model row (best validation loss / average-image loss), red with
    'not learnt' when the model did not learn; a dash for baselines."""
    ratio = row.get("val_loss_over_average_image")
    if row.get("kind") == "baseline" or ratio is None:
        return "&ndash;"
    if row.get("learned") is False:
        return f'<span class="not-learned">{fmt(float(ratio))} (not learnt)</span>'
    return fmt(float(ratio))


def _row_class(row: dict[str, Any]) -> str:
    return (' class="baseline"' if row.get("kind") == "baseline" else
            ' class="not-learned"' if row.get("learned") is False else "")


def metrics_table(rows: list[dict[str, Any]], eps_s: list[float]) -> str:
    """Every row: names, AUC with its interval, learning ratio, rejections with intervals,
    score-mass correlation, JSD of the background mass at eps_S = 0.5, sample sizes."""
    keys = [rejection_key(e) for e in eps_s]
    head = ("<tr><th>experiment</th><th>variant</th><th>trained on</th><th>background</th><th>signal</th>"
            "<th>AUC [68% interval]</th><th>learning ratio</th>" +
            "".join(f"<th>1/&epsilon;<sub>B</sub> at &epsilon;<sub>S</sub>={e:g} [68%]</th>" for e in eps_s) +
            "<th>corr(score, mass)</th><th>JSD(mass) at &epsilon;<sub>S</sub>=0.5</th><th>n bg</th>"
            "<th>n sig</th></tr>")
    body = []
    for row in rows:
        cells = [f'<td class="name">{fmt(row.get(k))}</td>' for k in
                 ("experiment", "variant", "trained_on", "background", "signal")]
        cells.append(f'<td>{fmt(row.get("auc"), 4)} <span class="interval">[{fmt(row.get("auc_low"), 4)}, '
                     f'{fmt(row.get("auc_high"), 4)}]</span></td>')
        cells.append(f"<td>{learning_cell(row)}</td>")
        cells += [f"<td>{rejection_cell(row, k)}</td>" for k in keys]
        cells.append(f"<td>{fmt(row.get('pearson_score_mass'))}</td>")
        cells.append(f"<td>{fmt(row.get('mass_jsd_at_eps_s_0.5'), 4)}</td>")
        cells += [f"<td>{fmt(row.get(k))}</td>" for k in ("n_background", "n_signal")]
        body.append(f"<tr{_row_class(row)}>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def independence_table(summary: list[dict[str, Any]], eps_s: list[float]) -> str:
    """Per variant, the AUC (interval, learning ratio) of every experiment side by side; the
    worse direction, its AUC and the smaller rejection (with interval) at the middle eps_S."""
    experiments = list(dict.fromkeys(e for s in summary for e in s["experiments"]))
    middle = eps_s[len(eps_s) // 2] if eps_s else None
    key = rejection_key(middle) if middle is not None else None
    head = ("<tr><th>variant</th>" + "".join(f"<th>{html.escape(e)}: AUC</th>" for e in experiments) +
            "<th>worse direction</th><th>worse AUC</th>" +
            (f"<th>worse 1/&epsilon;<sub>B</sub> at &epsilon;<sub>S</sub>={middle:g} [68%]</th>" if key else "")
            + "</tr>")
    body = []
    for entry in summary:
        cells = [f'<td class="name">{html.escape(entry["variant"])}</td>']
        for experiment in experiments:
            values = entry["experiments"].get(experiment)
            worst = experiment == entry["worst_experiment"] and len(entry["experiments"]) > 1
            text = "&ndash;" if values is None else (
                f"{fmt(values['auc'], 4)} [{fmt(values.get('auc_low'), 3)}, {fmt(values.get('auc_high'), 3)}]")
            if values is not None and values.get("val_loss_over_average_image") is not None:
                text += f" (learning ratio {learning_cell({**values, 'kind': 'model'})})"
            cls = (' class="not-learned"' if values is not None and values.get("learned") is False else
                   ' class="worst"' if worst else "")
            cells.append(f"<td{cls}>{text}</td>")
        if entry.get("result", True):
            cells.append(f'<td class="name">{html.escape(entry["worst_experiment"])}</td>')
            cells.append(f'<td class="worst">{fmt(entry["worst_auc"], 4)}</td>')
            if key:
                cells.append(f"<td>{rejection_cell(entry, 'worst_' + key, 'worst_rejection_lower_bounds')}</td>")
        else:
            span = 3 if key else 2
            cells.append(f'<td class="not-learned" colspan="{span}">no result: the model of '
                         f'{html.escape(", ".join(entry.get("not_learned", [])))} did not learn</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def sculpting_table(rows: list[dict[str, Any]], sculpting: dict[tuple[str, str], dict[str, Any]]) -> str:
    """Per experiment and score: at every working point the JSD of the background mass before
    and after the cut (with its statistical floor) and the other efficiency of the cut."""
    points = [p for s in sculpting.values() for p in s["working_points"]]
    names = list(dict.fromkeys(p["name"] for p in points))
    if not names:
        return ""
    kinds = {p["name"]: (p["kind"], p["target"]) for p in points}

    def title(name: str) -> str:
        kind, target = kinds[name]
        symbol = "B" if kind == "background" else "S"
        return f"&epsilon;<sub>{symbol}</sub> = {100 * target:g}%"

    head = ("<tr><th rowspan=2>experiment</th><th rowspan=2>variant</th><th rowspan=2>learning ratio</th>" +
            "".join(f"<th colspan=2>cut at {title(n)}</th>" for n in names) + "</tr><tr>" +
            "".join("<th>JSD [floor]</th><th>" + ("&epsilon;<sub>S</sub>" if kinds[n][0] == "background"
                                                  else "&epsilon;<sub>B</sub>") + "</th>" for n in names) + "</tr>")
    body = []
    for row in rows:
        data = sculpting.get((row["experiment"], row["variant"]))
        if not data:
            continue
        by_name = {p["name"]: p for p in data["working_points"]}
        cells = [f'<td class="name">{fmt(row["experiment"])}</td>', f'<td class="name">{fmt(row["variant"])}</td>',
                 f"<td>{learning_cell(row)}</td>"]
        for name in names:
            point = by_name.get(name)
            if point is None:
                cells += ["<td>&ndash;</td>"] * 2
                continue
            other = point["signal_efficiency"] if point["kind"] == "background" else point["background_efficiency"]
            cells.append(f'<td>{fmt(point["jsd"], 4)} <span class="interval">[{fmt(point.get("jsd_random"), 4)}]'
                         f"</span></td>")
            cells.append(f"<td>{fmt(100 * other, 1)}%</td>")
        body.append(f"<tr{_row_class(row)}>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"
