"""``hepdl report``: the command line of :mod:`hepdl.report.html` (a thin call of its functions)."""

from __future__ import annotations

import argparse
import logging

from hepdl.report.html import build_report, read_history

log = logging.getLogger("hepdl.report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="config YAML of the run")
    parser.add_argument("--metrics", nargs="+", required=True, metavar="JSON",
                        help="metrics JSONs of `hepdl evaluate` (variants and baselines)")
    parser.add_argument("--histories", nargs="*", default=[], metavar="[LABEL=]CSV",
                        help="training-history CSVs of `hepdl train`, optionally labelled")
    parser.add_argument("--output", required=True, help="HTML file to write (plots go next to it, in plots/)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="draw the plots in N processes (default 1; the workflow passes the rule's threads)")


def run(args: argparse.Namespace) -> int:
    from hepdl.config import load_config
    from hepdl.evaluation.evaluate import read_metrics

    config = load_config(args.config)
    metrics = [read_metrics(path) for path in args.metrics]
    histories = [read_history(spec) for spec in args.histories]
    path = build_report(config, metrics, histories, args.output, workers=max(1, args.jobs))
    log.info("wrote %s", path)
    return 0
