"""``hepdl train``: the command line of :mod:`hepdl.training.train` (a thin call of its functions)."""

from __future__ import annotations

import argparse

from hepdl.config import load_config
from hepdl.training.train import train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", nargs="+", required=True, metavar="PATH",
                        help="images files (HDF5) of the training dataset")
    parser.add_argument("--output", required=True, metavar="MODEL.pt",
                        help="model file to write (training state goes to MODEL.pt.ckpt)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: built-in defaults)")
    parser.add_argument("--transform", default="plain", help="image transform (config key image_transforms.NAME)")
    parser.add_argument("--epochs", type=int, help="override training.max_epochs")
    parser.add_argument("--seed", type=int, help="override the config seed")
    parser.add_argument("--resume", action="store_true", help="continue from MODEL.pt.ckpt if it exists")
    parser.add_argument("--history", metavar="CSV", help="write the per-epoch history here")


def run(args: argparse.Namespace) -> int:
    summary = train(args.images, args.output, load_config(args.config), transform=args.transform,
                    epochs=args.epochs, seed=args.seed, resume=args.resume, history_path=args.history)
    print(f"best epoch {summary['best_epoch']} of {summary['epochs_trained']} ({summary['stop_reason']}): val_loss "
          f"{summary['best_val_loss']:.6g} = {summary['val_loss_over_average_image']:.3f} of the average-image loss "
          f"({'learnt' if summary['learned'] else 'NOT LEARNT'}) -> {summary['model']}")
    return 0
