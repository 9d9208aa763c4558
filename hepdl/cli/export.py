"""``hepdl export``: the command line of :mod:`hepdl.training.export` (a thin call of its functions)."""

from __future__ import annotations

import argparse

from hepdl.core.errors import HepdlError
from hepdl.training.export import export_onnx


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL.pt", help="model file written by `hepdl train`")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="export format (onnx)")
    parser.add_argument("--output", required=True, metavar="model.onnx", help="file to write")


def run(args: argparse.Namespace) -> int:
    if args.format != "onnx":  # argparse already refuses; kept for callers building args by hand
        raise HepdlError(f"unknown export format {args.format!r} (onnx)")
    summary = export_onnx(args.model, args.output)
    print(f"exported {args.model} -> {summary['output']} (ONNX opset {summary['opset']}, images n x 1 x "
          f"{summary['npix']} x {summary['npix']})")
    return 0
