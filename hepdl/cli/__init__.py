"""The ``hepdl`` command line: one subcommand per stage, each a thin call of a package function.

Each subcommand is a module of this package (``hepdl/cli/<command>.py``) providing
``add_arguments(parser)`` and ``run(args) -> int``, a thin call of the stage's functions. Modules
are imported only when their subcommand runs, so ``hepdl --help`` stays fast.

Errors a user can cause (:class:`hepdl.core.errors.HepdlError`) print one line, ``hepdl: error: ...``,
and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys

from hepdl import __version__
from hepdl.core.errors import HepdlError
from hepdl.core.progress import setup_logging

#: subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("hepdl.cli.generate", "generate jets with Pythia 8 + FastJet into a canonical ROOT file"),
    "images": ("hepdl.cli.images", "build jet images from jets files (ROOT/HDF5) into an images file"),
    "train": ("hepdl.cli.train", "train a model on the train split of images files"),
    "score": ("hepdl.cli.score", "score a split of images files with a trained model"),
    "export": ("hepdl.cli.export", "export a trained model (ONNX)"),
    "evaluate": ("hepdl.cli.evaluate", "tagging metrics (ROC, AUC, rejection) and baselines from scores"),
    "report": ("hepdl.cli.report", "build the HTML report from metrics files and training histories"),
    "check-config": ("hepdl.cli.check_config", "validate a config file and print it with defaults filled"),
}


def build_parser(load_modules: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hepdl",
        description="hepdl: unsupervised anomaly detection on jet images. One subcommand per stage "
                    "of generate -> images -> train -> score -> evaluate -> report.")
    parser.add_argument("--version", action="version", version=f"hepdl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        if load_modules:
            importlib.import_module(module_name).add_arguments(sub_parser)
    return parser


def _output_name(path: str) -> str:
    """The final name of an output for its temporary sibling ``.NAME.XXXXXXXX.tmpSUFFIX``
    (hepdl.core.atomic), so a message names the file the user asked for; other paths unchanged."""
    match = re.match(r"^\.(.+)\.[A-Za-z0-9_]{8}\.tmp", os.path.basename(path))
    return os.path.join(os.path.dirname(path), match.group(1)) if match else path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Import only the module of the subcommand asked for (torch etc. are slow to import).
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(load_modules=False)
    if command in SUBCOMMANDS:
        parser = argparse.ArgumentParser(prog="hepdl")
        parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
        sub = parser.add_subparsers(dest="command", required=True)
        module_name, help_text = SUBCOMMANDS[command]
        sub_parser = sub.add_parser(command, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        module = importlib.import_module(module_name)
        module.add_arguments(sub_parser)
    args = parser.parse_args(argv)
    setup_logging(debug=args.debug)
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except HepdlError as err:
        if args.debug:
            raise
        logging.getLogger("hepdl").debug("error", exc_info=True)
        print(f"hepdl: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        # a file the system would not let us read or write (permissions, missing directory, disk
        # full): the user's to fix, so one line too; an OSError naming no file is a bug: traceback
        if args.debug or err.filename is None:
            raise
        logging.getLogger("hepdl").debug("error", exc_info=True)
        print(f"hepdl: error: cannot access {_output_name(str(err.filename))}: {err.strerror or err}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hepdl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
