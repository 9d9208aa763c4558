"""``hepdl generate``: the command line of :mod:`hepdl.generation.generate` (a thin call of its functions)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from hepdl.core.errors import ConfigError, HepdlError
from hepdl.generation.detector import DETECTORS
from hepdl.generation.generate import (
    SETTING_NAMES,
    check_seed,
    generate_jets,
    resolve_settings,
    settings_schema,
    shard_n_jets,
)

log = logging.getLogger("hepdl.generate")

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hepdl generate``."""
    parser.add_argument("--output", "-o", required=True, type=Path, help="output jets file (.root)")
    parser.add_argument("--config", type=Path, help="config file; settings of --dataset come from it")
    parser.add_argument("--dataset", help="generated dataset of --config (e.g. qcd)")
    parser.add_argument("--shard", type=int, default=0,
                        help="shard index 0..shards-1 of --dataset (jets and seed depend on it; default 0)")
    parser.add_argument("--process", choices=None,
                        help="qcd (HardQCD:all), top (hadronic ttbar), w (WW, W -> qq'), z (ZZ, Z -> qq), "
                             "hbb (ZH, H -> bb, Z -> nunu) or svj (dark shower, semi-visible jets); "
                             "docs/generation.md")
    parser.add_argument("--n-jets", type=int,
                        help="number of jets to write (with --config: overrides the shard's share)")
    parser.add_argument("--seed", type=int, help="Pythia seed 1..900000000 (with --config: overrides the derived seed)")
    g = parser.add_argument_group("generation settings (override --config; defaults from the config schema)")
    defaults = _schema_defaults()
    g.add_argument("--ecm-gev", type=float, help=f"collision energy sqrt(s) [GeV] (default {defaults['ecm_gev']:g})")
    g.add_argument("--pthat-min", type=float, help="PhaseSpace:pTHatMin [GeV] (default " + defaults["pthat_min"] + ")")
    g.add_argument("--pthat-max", type=float,
                   help="PhaseSpace:pTHatMax [GeV], -1 for none (default " + defaults["pthat_max"] + ")")
    g.add_argument("--jet-pt-min", type=float,
                   help=f"keep jets with pT above [GeV] (default {defaults['jet_pt_min']:g})")
    g.add_argument("--jet-pt-max", type=float,
                   help=f"keep jets with pT below [GeV] (default {defaults['jet_pt_max']:g})")
    g.add_argument("--jet-abs-eta-max", type=float,
                   help=f"keep jets with |eta| below (default {defaults['jet_abs_eta_max']:g})")
    g.add_argument("--jet-r", type=float, help=f"anti-kt radius (default {defaults['jet_r']:g})")
    g.add_argument("--max-constituents", type=int,
                   help=f"constituents stored per jet (default {defaults['max_constituents']})")
    g.add_argument("--truth-match-dr", type=float,
                   help=f"truth-match Delta R of signal jets (default {defaults['truth_match_dr']:g})")
    g.add_argument("--mpi", action=argparse.BooleanOptionalAction, default=None,
                   help=f"multi-parton interactions (default {'on' if defaults['mpi'] else 'off'})")
    g.add_argument("--r-inv", type=float,
                   help="svj only: invisible fraction of the dark mesons' decays (default " + defaults["r_inv"] + ")")
    g.add_argument("--zprime-mass-gev", type=float,
                   help="svj only: Z' mass [GeV] (default " + defaults["zprime_mass_gev"] + ")")
    g.add_argument("--detector", choices=DETECTORS,
                   help="atlas_delphes: jets from the energy-flow objects of a parametric detector after "
                        f"Delphes' ATLAS card; none: particle level (default {defaults['detector']})")


def _schema_defaults() -> dict[str, Any]:
    """Defaults of the generation settings as the config schema gives them (for --help); those that
    depend on the process (pTHat window, dark-shower settings) as text per process."""
    schema = settings_schema()
    defaults: dict[str, Any] = {name: schema["properties"][name].get("default") for name in SETTING_NAMES}
    for name in ("pthat_min", "pthat_max", "r_inv", "zprime_mass_gev"):
        per_process = [(rule["if"]["properties"]["process"]["const"], rule["then"]["properties"][name]["default"])
                       for rule in schema.get("allOf", []) if "default" in rule["then"]["properties"].get(name, {})]
        defaults[name] = ", ".join(f"{process} {value:g}" for process, value in per_process)
    return defaults


def _settings_from_args(args: argparse.Namespace) -> tuple[str, int, int, dict[str, Any], dict[str, Any]]:
    """(process, n_jets, seed, settings, provenance extras) from the parsed options."""
    overrides = {name: getattr(args, name) for name in SETTING_NAMES if getattr(args, name, None) is not None}
    if args.config is not None:
        from hepdl.config import derive_seed, generation_settings, load_config

        if not args.dataset:
            raise ConfigError("--dataset is required with --config")
        config = load_config(args.config)
        if args.dataset not in config["datasets"]:
            raise ConfigError(f"--dataset {args.dataset}: not defined under 'datasets' of {args.config} "
                              f"(defined: {', '.join(sorted(config['datasets']))})")
        settings = generation_settings(config, args.dataset)
        process = settings.pop("process")
        if args.process is not None and args.process != process:
            raise ConfigError(f"--process {args.process} disagrees with "
                              f"datasets.{args.dataset}.generate.process = {process}")
        entry = config["datasets"][args.dataset]
        shards = entry.get("shards", 1)
        n_jets = shard_n_jets(entry["n_jets"], shards, args.shard)
        seed = derive_seed(config["seed"], args.dataset, args.shard)
        extras = {"config": config, "dataset": args.dataset, "shard": args.shard, "shards": shards}
    else:
        if args.process is None:
            raise ConfigError("--process is required (or --config with --dataset)")
        for option, value in (("--n-jets", args.n_jets), ("--seed", args.seed)):
            if value is None:
                raise ConfigError(f"{option} is required without --config")
        process, settings, n_jets, seed, extras = args.process, {}, args.n_jets, args.seed, {}
    settings.update(overrides)
    if args.n_jets is not None:
        n_jets = args.n_jets
    if args.seed is not None:
        seed = args.seed
    return process, n_jets, seed, settings, extras


def run(args: argparse.Namespace) -> int:
    """``hepdl generate``: generate jets and write them with :func:`hepdl.io.jets_file.write_jets`."""
    from hepdl.core.provenance import provenance
    from hepdl.io.jets_file import write_jets

    process, n_jets, seed, settings, extras = _settings_from_args(args)
    resolve_settings(process, settings)  # fail before Pythia starts
    check_seed(seed)
    if args.output.suffix != ".root":
        raise HepdlError(f"--output {args.output}: expected a .root file")
    stats: dict[str, Any] = {}
    jets = generate_jets(process, n_jets, seed, settings, progress=True, stats=stats)
    record = provenance(config=extras.pop("config", None), seed=seed, stage="generate", process=process,
                        n_jets=int(n_jets), generation=stats.pop("settings"), **stats, **extras)
    written = write_jets(args.output, jets, record)
    log.info("wrote %d %s jets (%d events) to %s", written, process, stats["n_events"], args.output)
    return 0
