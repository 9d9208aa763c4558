"""Tagging metrics of one experiment's variant, of its baselines, or of a collection (``hepdl evaluate``).

Three modes::

    hepdl evaluate --config C --experiment E --transform T --correction K --validation VAL.h5 \
                   --background BG.h5 --signal SIG.h5 --output M.json
    hepdl evaluate --config C --experiment E --baselines --background BG.h5 --signal SIG.h5 --output B.json
    hepdl evaluate --collect M1.json B1.json ... --output results/metrics.json

BG.h5 / SIG.h5 are scores files of ``hepdl score`` (test split of the experiment's background and
signal datasets, scored by the model trained on the experiment's ``train`` dataset with image
transform T); VAL.h5 the same model's scores of the validation split of its training dataset, on
which the score correction K is fitted (:mod:`hepdl.evaluation.corrections`) before it is applied
to the test scores. The variant is named T, or T+K unless K is none. The output
JSON holds ``provenance``, ``rows`` (one per variant or baseline, see :data:`ROW_KEYS`), the
correction's fit (``correction_fit``), and the
data the report plots: ``curves`` (ROC down-sampled to 500 eps_S points, with the 68% bootstrap
band of eps_B), ``mass_sculpting`` (:func:`hepdl.evaluation.sculpting.mass_sculpting`: background
and signal mass before and after the cuts at every working point), ``score_histograms`` (with the
axis label and units), and for variants ``score_vs_mass`` and ``images`` (mean input and
reconstruction of background and signal). ``--collect`` writes ``provenance``, all ``rows`` and
the ``model_independence`` summary, without the plot data.

Baselines are supervised single-observable references on the same test jets: jet mass
(``jet_mass``), constituent multiplicity (``jet_nconst``) and tau_32 = tau_3 / tau_2. Each is
oriented with the labels: its score is +x if the signal median of x exceeds the background
median, else -x (recorded as ``orientation``). This uses one bit of label information, which
the unsupervised autoencoder never gets; it answers "how well does one cut on a textbook
observable do when you know which side the signal is on".
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.core.atomic import write_text_atomic
from hepdl.core.errors import HepdlError, InputFileError

log = logging.getLogger("hepdl.evaluation.evaluate")

#: keys every metrics row has (plus one rejection_at_eps_s_<x> per configured eps_S); rows of
#: kind "model" also carry ``transform``, ``correction``, the model name and how it trained
#: (hepdl.models.record.TRAINING_KEYS, among them ``val_loss_over_average_image`` and ``learned``)
ROW_KEYS = ("experiment", "variant", "kind", "trained_on", "background", "signal", "auc", "auc_low", "auc_high",
            "n_background", "n_signal")
#: split codes (hepdl.io.splits)
SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}
BASELINES = {"mass": "jet_mass", "nconst": "jet_nconst", "tau32": "tau32"}
#: per baseline: histogram binning (see :func:`_histogram`) and axis label with units
BASELINE_AXES = {"mass": ("linear", "jet mass [GeV]"), "nconst": ("integer", "number of constituents"),
                 "tau32": ("unit", r"$\tau_{32} = \tau_3 / \tau_2$")}


def read_scores(path: str | Path, need: tuple[str, ...], split: str = "test") -> dict[str, Any]:
    """Read a scores file: ``columns`` (dict of numpy arrays from /jets), ``attrs``, and images if
    present. Every jet must be of ``split`` (test jets only are evaluated; validation jets fit
    score corrections)."""
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except (OSError, ValueError) as err:
        raise InputFileError(f"cannot open scores file {path}: {err}") from None
    with handle:
        if "jets" not in handle:
            raise InputFileError(f"scores file {path}: no group /jets (is it a scores file of `hepdl score`?)")
        group = handle["jets"]
        missing = [c for c in need if c not in group]
        if missing:
            raise InputFileError(f"scores file {path}: missing column(s) /jets/{', /jets/'.join(missing)}")
        columns = {name: group[name][()] for name in group if name != "source_file"}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in handle.attrs.items()}
        for key in ("provenance", "training"):
            if isinstance(attrs.get(key), str):
                try:
                    attrs[key] = json.loads(attrs[key])
                except json.JSONDecodeError:
                    pass
        images = {k: np.asarray(handle[k][()], dtype=np.float32)
                  for k in ("mean_input", "mean_reconstruction") if k in handle}
    lengths = {name: len(col) for name, col in columns.items()}
    if len(set(lengths.values())) > 1:
        raise InputFileError(f"scores file {path}: /jets columns have different lengths {lengths}")
    code = SPLIT_CODES[split]
    if "split" in columns and np.any(columns["split"] != code):
        why = ("only test jets may be evaluated" if split == "test"
               else "score corrections are fitted on validation jets")
        raise InputFileError(f"scores file {path}: {np.count_nonzero(columns['split'] != code)} jets are not "
                             f"from the {split} split; {why}")
    for name in need:
        if not np.all(np.isfinite(columns[name].astype(np.float64))):
            raise InputFileError(f"scores file {path}: /jets/{name} has NaN or infinite values")
    if "tau2" in columns and "tau3" in columns:
        from hepdl.physics.substructure import tau_ratio

        columns["tau32"] = tau_ratio(columns["tau3"], columns["tau2"])
    return {"path": str(path), "columns": columns, "attrs": attrs, "images": images}


def _experiment(config: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in config["experiments"]:
        raise HepdlError(f"experiment '{name}' is not defined under 'experiments' "
                         f"(defined: {', '.join(sorted(config['experiments']))})")
    return config["experiments"][name]


def _row_base(experiment_name: str, experiment: dict[str, Any], variant: str, kind: str) -> dict[str, Any]:
    return {"experiment": experiment_name, "variant": variant, "kind": kind, "trained_on": experiment["train"],
            "background": experiment["background"], "signal": experiment["signal"]}


def _histogram(bg: np.ndarray, sig: np.ndarray, bins: int = 50, binning: str = "auto",
               xlabel: str = "anomaly score") -> dict[str, Any]:
    """Common-binning histograms of two samples, for the score-distribution plots.

    ``binning``: ``auto`` (log10 bins when every value is positive: anomaly scores), ``linear``,
    ``integer`` (unit-width bins centred on integers, merged to at most ``bins``: counts) or
    ``unit`` (linear over [0, 1]: tau_32). The range is the 0.1-99.9% quantiles (``unit``: [0, 1];
    ``linear`` starts at 0 for non-negative values such as the jet mass); values beyond it are put
    in the first or last bin. ``xlabel`` (with units) travels with the histogram.
    """
    both = np.concatenate([bg, sig]).astype(np.float64)
    log_x = binning == "auto" and bool(np.all(both > 0))
    values = np.log10(both) if log_x else both
    low, high = np.quantile(values, [0.001, 0.999])
    if binning == "unit":
        low, high = 0.0, 1.0
    elif binning == "linear" and values.min() >= 0:
        low = 0.0
    if binning == "integer":
        low, high = np.floor(values.min()), np.ceil(values.max())
        step = max(1.0, np.ceil((high - low + 1) / bins))
        edges = np.arange(low - 0.5, high + step, step)
    elif binning == "linear" and low == 0.0 and high > 0:
        from hepdl.evaluation.sculpting import round_edges

        edges = round_edges(high, bins)  # bins of a round width: "jets / 5 GeV"
    else:
        if not high > low:
            low, high = values.min() - 0.5, values.max() + 0.5
        edges = np.linspace(low, high, bins + 1)
    n_bg = len(bg)
    clipped = np.clip(values, edges[0], edges[-1])
    return {"edges": (10.0**edges if log_x else edges).tolist(), "log_x": log_x, "xlabel": xlabel,
            "background": np.histogram(clipped[:n_bg], edges)[0].tolist(),
            "signal": np.histogram(clipped[n_bg:], edges)[0].tolist()}


def _profile(score: np.ndarray, mass: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    """16/50/84% quantiles of the score in mass bins (NaN-free: empty bins give None)."""
    bins = np.digitize(mass, edges) - 1
    quantiles = []
    for b in range(len(edges) - 1):  # loop over ~20 mass bins, not jets
        sel = score[bins == b]
        quantiles.append(np.quantile(sel, [0.16, 0.5, 0.84]).tolist() if sel.size >= 5 else [None] * 3)
    return {"q16": [q[0] for q in quantiles], "median": [q[1] for q in quantiles], "q84": [q[2] for q in quantiles]}


def _score_vs_mass(bg_score, bg_mass, sig_score, sig_mass, mass_edges) -> dict[str, Any]:
    edges = np.asarray(mass_edges)[::2]
    return {"edges": edges.tolist(), "background": _profile(bg_score, bg_mass, edges),
            "signal": _profile(sig_score, sig_mass, edges)}


def _training_record(background: dict[str, Any], signal: dict[str, Any]) -> dict[str, Any]:
    """How the scoring model trained (``training`` attribute of the scores files, written by
    ``hepdl score`` from the model file): learning ratio, learned, epochs, stop reason."""
    from hepdl.models.record import TRAINING_KEYS

    record = background["attrs"].get("training")
    if not isinstance(record, dict) or record.get("val_loss_over_average_image") is None:
        raise InputFileError(f"scores file {background['path']} carries no training record (attribute 'training' "
                             f"with val_loss_over_average_image): rescore it with this version of hepdl, whose "
                             f"model files record whether the model learnt")
    return {key: record.get(key) for key in TRAINING_KEYS}


def evaluate_variant(config: dict[str, Any], experiment_name: str, transform: str, correction: str,
                     background: dict[str, Any], signal: dict[str, Any], validation: dict[str, Any] | None
                     ) -> dict[str, Any]:
    """Metrics of one experiment's variant (transform, correction) from scores read by
    :func:`read_scores`; ``validation`` (the model's validation scores) is needed unless the
    correction is none (see module docstring)."""
    from hepdl.config import correction_options, derive_seed, variant_name
    from hepdl.evaluation.corrections import apply_correction, fit_correction
    from hepdl.evaluation.metrics import tagger_evaluation
    from hepdl.evaluation.sculpting import SUMMARY_EPS_S, mass_correlation, mass_sculpting, sculpting_row

    experiment = _experiment(config, experiment_name)
    for key, value in (("transforms", transform), ("corrections", correction)):
        if value not in experiment[key]:
            raise HepdlError(f"'{value}' is not run by experiment '{experiment_name}' "
                             f"(config key 'experiments.{experiment_name}.{key}': {experiment[key]})")
    variant = variant_name(transform, correction)
    files = [background, signal] + ([validation] if validation is not None else [])
    for scores in files:
        file_transform = scores["attrs"].get("transform")
        if file_transform != transform:
            raise InputFileError(f"scores file {scores['path']} was scored with image transform "
                                 f"'{file_transform}', not '{transform}'")
    models = {scores["attrs"].get("model") for scores in files}
    if None not in models and len(models) > 1:
        raise InputFileError(f"scores files {', '.join(s['path'] for s in files)} come from different models "
                             f"({', '.join(sorted(map(str, models)))})")
    options = correction_options(config, correction)
    if validation is None and correction != "none":
        raise HepdlError(f"correction '{correction}' is fitted on validation scores: give --validation")
    fit = fit_correction(validation["columns"], options) if correction != "none" else {}
    evaluation = config["evaluation"]
    seed = derive_seed(config["seed"], "evaluate", experiment_name, variant)
    bg_score = apply_correction(background["columns"], fit, options).astype(np.float64)
    sig_score = apply_correction(signal["columns"], fit, options).astype(np.float64)
    bg_mass = background["columns"]["jet_mass"].astype(np.float64)
    sig_mass = signal["columns"]["jet_mass"].astype(np.float64)
    row = _row_base(experiment_name, experiment, variant, "model")
    row.update(transform=transform, correction=correction, model=config["model"]["name"])
    row.update(_training_record(background, signal))
    tagger, curve = tagger_evaluation(bg_score, sig_score, _working_points(evaluation), evaluation["bootstrap"], seed)
    row.update(tagger)
    sculpting = mass_sculpting(bg_score, bg_mass, sig_score, sig_mass, evaluation["mass_cut_background_efficiencies"],
                               [SUMMARY_EPS_S], seed=seed)
    row.update(mass_correlation(bg_score, bg_mass, seed=seed))
    row.update(sculpting_row(sculpting))
    images = {}
    for role, scores in (("background", background), ("signal", signal)):
        for key, array in scores["images"].items():
            images[f"{role}_{key}"] = array.tolist()
    return {"rows": [row], "curves": {variant: curve},
            "mass_sculpting": {variant: sculpting},
            "score_histograms": {variant: _histogram(bg_score, sig_score)},
            "score_vs_mass": {variant: _score_vs_mass(bg_score, bg_mass, sig_score, sig_mass, sculpting["edges"])},
            "images": {variant: images}, "correction_fit": {variant: fit}}


def evaluate_baselines(config: dict[str, Any], experiment_name: str, background: dict[str, Any],
                       signal: dict[str, Any]) -> dict[str, Any]:
    """Rows ``baseline_<name>`` for the configured baselines (label-oriented, see module docstring)."""
    from hepdl.config import derive_seed
    from hepdl.evaluation.metrics import tagger_evaluation
    from hepdl.evaluation.sculpting import SUMMARY_EPS_S, mass_sculpting, sculpting_row

    experiment = _experiment(config, experiment_name)
    evaluation = config["evaluation"]
    result: dict[str, Any] = {"rows": [], "curves": {}, "score_histograms": {}, "mass_sculpting": {}}
    bg_mass = background["columns"]["jet_mass"].astype(np.float64)
    sig_mass = signal["columns"]["jet_mass"].astype(np.float64)
    for name in evaluation["baselines"]:
        column = BASELINES[name]
        for scores in (background, signal):
            if column not in scores["columns"]:
                raw = "tau2 and tau3" if column == "tau32" else column
                raise InputFileError(f"scores file {scores['path']}: baseline '{name}' needs /jets/{raw}")
        bg = background["columns"][column].astype(np.float64)
        sig = signal["columns"][column].astype(np.float64)
        difference = np.median(sig) - np.median(bg)
        if difference == 0:
            difference = np.mean(sig) - np.mean(bg)
        sign = 1.0 if difference >= 0 else -1.0
        variant = f"baseline_{name}"
        seed = derive_seed(config["seed"], "evaluate", experiment_name, variant)
        row = _row_base(experiment_name, experiment, variant, "baseline")
        row["observable"] = column
        row["orientation"] = "signal_above" if sign > 0 else "signal_below"
        tagger, curve = tagger_evaluation(sign * bg, sign * sig, _working_points(evaluation), evaluation["bootstrap"],
                                          seed)
        row.update(tagger)
        sculpting = mass_sculpting(sign * bg, bg_mass, sign * sig, sig_mass,
                                   evaluation["mass_cut_background_efficiencies"], [SUMMARY_EPS_S], seed=seed)
        row.update(sculpting_row(sculpting))
        result["rows"].append(row)
        result["curves"][variant] = curve
        result["mass_sculpting"][variant] = sculpting
        binning, xlabel = BASELINE_AXES[name]
        result["score_histograms"][variant] = _histogram(bg, sig, binning=binning, xlabel=xlabel)
    return result


def _working_points(evaluation: dict[str, Any]) -> list[float]:
    """The eps_S of the rejections: ``evaluation.eps_s`` and the decorrelation summary's 0.5."""
    from hepdl.evaluation.sculpting import SUMMARY_EPS_S

    return list(dict.fromkeys([*evaluation["eps_s"], SUMMARY_EPS_S]))


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python ones, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write strict JSON (no NaN) atomically."""
    write_text_atomic(path, json.dumps(_json_safe(payload), indent=1, allow_nan=False) + "\n")


def read_metrics(path: str | Path) -> dict[str, Any]:
    """Read a metrics JSON written by ``hepdl evaluate``."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputFileError(f"cannot read metrics file {path}: {err}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("rows"), list):
        raise InputFileError(f"metrics file {path}: no list 'rows' (is it written by `hepdl evaluate`?)")
    return payload


def collect(paths: list[str | Path]) -> dict[str, Any]:
    """All rows of several metrics JSONs (unique by experiment and variant) and the model-independence summary."""
    from hepdl.evaluation.metrics import model_independence

    rows, seen = [], {}
    for path in paths:
        for row in read_metrics(path)["rows"]:
            key = (row["experiment"], row["variant"])
            if key in seen:
                raise InputFileError(f"metrics files {seen[key]} and {path} both hold experiment '{key[0]}', "
                                     f"variant '{key[1]}'")
            seen[key] = str(path)
            rows.append(row)
    return {"rows": rows, "model_independence": model_independence(rows)}
