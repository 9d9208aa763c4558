"""``hepdl score``: the command line of :mod:`hepdl.evaluation.score` (a thin call of its functions)."""

from __future__ import annotations

import argparse

from hepdl.evaluation.score import DEFAULT_BATCH, default_device, score


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL.pt", help="model file written by `hepdl train`")
    parser.add_argument("--images", nargs="+", required=True, metavar="PATH", help="images files (HDF5)")
    parser.add_argument("--output", required=True, metavar="SCORES.h5", help="scores file to write")
    parser.add_argument("--split", default="test", choices=["train", "validation", "test", "all"],
                        help="which split to score (default: test)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="jets per forward pass")
    parser.add_argument("--device", default=None,
                        help="torch device (default: the training.device the model was trained with, "
                             "falling back to cpu where that device is absent)")


def run(args: argparse.Namespace) -> int:
    device = args.device or default_device(args.model)
    summary = score(args.model, args.images, args.output, split=None if args.split == "all" else args.split,
                    batch_size=args.batch_size, device=device)
    print(f"scored {summary['n_jets']} jets -> {summary['output']}")
    return 0
