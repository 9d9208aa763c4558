"""``hepdl images``: the command line of :mod:`hepdl.images.store` (a thin call of its functions)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepdl.images.store import build_images, read_images

log = logging.getLogger("hepdl.images")

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", nargs="+", required=True, metavar="JETS",
                        help="jets files (canonical ROOT, or a dataset's own files with --dataset; local "
                             "paths or root:// URLs)")
    parser.add_argument("--output", required=True, metavar="PATH.h5", help="images file to write")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="config file (default: built-in defaults)")
    parser.add_argument("--dataset", default=None, metavar="NAME",
                        help="dataset of the config whose reader mapping and label apply")
    parser.add_argument("--split", default=None, choices=["train", "validation", "test"],
                        help="put every jet of these files in this split (default: the split that lists them "
                             "in the dataset's files, else the hash split of config section `split`)")
    parser.add_argument("--plots", default=None, metavar="DIR",
                        help="also write the average image and a gallery of jets (PNG) into DIR")


def run(args: argparse.Namespace) -> int:
    from hepdl.config import load_config

    config = load_config(args.config)
    info = build_images(args.input, args.output, config, dataset=args.dataset, split=args.split)
    log.info("%s: %d images (%s), %d empty and %d bad jets dropped", args.output, info["n_images"],
             ", ".join(f"{k} {v}" for k, v in info["n_per_split"].items()), info["n_dropped_empty"],
             info["n_dropped_bad"])
    if args.plots:
        from hepdl.images.plots import plot_average_image, plot_jet_gallery

        images, _ = read_images(args.output, max_jets=100_000)
        stem = Path(args.output).stem
        name = f"{args.dataset} {stem}" if args.dataset else stem
        half_width = info["half_width"]
        plot_average_image(images, Path(args.plots) / f"{stem}_average.png",
                           title=f"{name}: average of {len(images)} images", half_width=half_width)
        plot_jet_gallery(images, Path(args.plots) / f"{stem}_gallery.png", half_width=half_width)
    return 0
