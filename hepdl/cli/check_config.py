"""``hepdl check-config``: validate a config file and print it with every default filled in."""

from __future__ import annotations

import argparse
import sys

import yaml

from hepdl.config import load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config file")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    yaml.safe_dump(config, sys.stdout, sort_keys=False)
    return 0
