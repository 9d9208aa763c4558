"""``hepdl evaluate``: the command line of :mod:`hepdl.evaluation.evaluate` (a thin call of its functions)."""

from __future__ import annotations

import argparse
import logging

import numpy as np

from hepdl.core.errors import HepdlError
from hepdl.evaluation.corrections import CORRECTION_COLUMNS
from hepdl.evaluation.evaluate import BASELINES, collect, evaluate_baselines, evaluate_variant, read_scores, write_json

log = logging.getLogger("hepdl.evaluate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="config YAML (required except with --collect)")
    parser.add_argument("--experiment", help="experiment name (config key experiments.<name>)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--transform", help="image transform of the model whose scores are evaluated")
    mode.add_argument("--baselines", action="store_true", help="evaluate the baselines of evaluation.baselines")
    mode.add_argument("--collect", nargs="+", metavar="JSON", help="gather the rows of these metrics files")
    parser.add_argument("--correction", default="none", help="score correction (config key score_corrections.NAME, "
                                                             "or none)")
    parser.add_argument("--validation", help="scores file (HDF5) of the training dataset's validation jets "
                                             "(fits the score correction)")
    parser.add_argument("--background", help="scores file (HDF5) of the background test jets")
    parser.add_argument("--signal", help="scores file (HDF5) of the signal test jets")
    parser.add_argument("--output", required=True, help="metrics JSON to write")


def run(args: argparse.Namespace) -> int:
    from hepdl.core.provenance import provenance

    if args.collect:
        payload = collect(args.collect)
        write_json(args.output, {"provenance": provenance(inputs=[str(p) for p in args.collect]), **payload})
        log.info("wrote %d rows to %s", len(payload["rows"]), args.output)
        return 0
    from hepdl.config import load_config

    missing = [f"--{k}" for k in ("config", "experiment", "background", "signal") if not getattr(args, k)]
    if not args.transform and not args.baselines:
        missing.append("--transform or --baselines")
    if missing:
        raise HepdlError(f"hepdl evaluate: missing {', '.join(missing)}")
    config = load_config(args.config)
    if args.baselines:
        need = tuple(BASELINES[b] if b != "tau32" else "tau3" for b in config["evaluation"]["baselines"])
        need = tuple(dict.fromkeys(("jet_mass", *need) + (("tau2",) if "tau32" in config["evaluation"]["baselines"]
                                                          else ())))
        background, signal = read_scores(args.background, need), read_scores(args.signal, need)
        payload = evaluate_baselines(config, args.experiment, background, signal)
    else:
        need = CORRECTION_COLUMNS
        background, signal = read_scores(args.background, need), read_scores(args.signal, need)
        validation = read_scores(args.validation, need, split="validation") if args.validation else None
        payload = evaluate_variant(config, args.experiment, args.transform, args.correction, background, signal,
                                   validation)
    record = provenance(config=config, seed=config["seed"], experiment=args.experiment,
                        variant=payload["rows"][0]["variant"] if args.transform else "baselines",
                        inputs={"background": str(args.background), "signal": str(args.signal)},
                        scores_provenance={role: s["attrs"].get("provenance")
                                           for role, s in (("background", background), ("signal", signal))})
    write_json(args.output, {"provenance": record, **payload})
    for row in payload["rows"]:
        learning = ("" if row["kind"] == "baseline" else
                    f", learning ratio {row['val_loss_over_average_image']:.3f}"
                    f"{'' if row['learned'] else ' (NOT LEARNT: not an autoencoder result)'}")
        log.info("%s / %s: AUC %.4f [%.4f, %.4f]%s", row["experiment"], row["variant"], row["auc"],
                 row["auc_low"] if np.isfinite(row["auc_low"]) else float("nan"),
                 row["auc_high"] if np.isfinite(row["auc_high"]) else float("nan"), learning)
    return 0
