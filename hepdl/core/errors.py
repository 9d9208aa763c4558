"""The one exception type users see.

Every expected failure (bad file, missing branch, bad config key, NaN in a kinematic branch, ...)
raises :class:`HepdlError` with a message that names the file / tree / branch / entry range /
config key and says what was expected. The CLI prints that message alone (no traceback unless
``--debug``) and exits with status 2.
"""

from __future__ import annotations


class HepdlError(Exception):
    """An error caused by the user's input or configuration, with a message meant for them."""


class ConfigError(HepdlError):
    """A configuration key or value is invalid. The message names the key path (``a.b.c``)."""


class InputFileError(HepdlError):
    """An input file is missing, unreadable, truncated or lacks the tree/branch/column asked for."""


class CheckpointError(HepdlError):
    """A model checkpoint cannot be loaded safely (corrupt, foreign or carrying pickled objects)."""
