"""Deterministic train / validation / test assignment of jets.

A dataset may name its train / validation / test files itself (``files: {train: [...],
validation: [...], test: [...]}``, as the top-tagging reference dataset ships them): every jet
of a file is then in the split that lists the file (:func:`split_of_files`). Otherwise a jet's
split depends only on the name of the file it came from (without directories), its entry number
in that file and its index among the jets of that entry: a 64-bit mixing hash of
these, mapped to [0, 1), is compared with the cumulative fractions. No random state is involved,
so the same jet lands in the same split in every run, on every machine, whatever the chunking or
the order of the files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hepdl.core.errors import HepdlError

TRAIN, VALIDATION, TEST = 0, 1, 2
NAMES = {TRAIN: "train", VALIDATION: "validation", TEST: "test"}
CODES = {name: code for code, name in NAMES.items()}


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x += np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def assign_split(source_file: str, entry: np.ndarray, train: float, validation: float, test: float,
                 jet: np.ndarray | None = None) -> np.ndarray:
    """Split codes (0 train, 1 validation, 2 test) of jets of one source file.

    ``entry``: entry (event) numbers in the file, int array of shape (n,); ``jet``: index of the
    jet within its entry, shape (n,), or None for one jet per entry. Fractions must sum to one.
    Returns a uint8 array of shape (n,).
    """
    total = train + validation + test
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1, got {total}")
    salt = int.from_bytes(hashlib.sha256(Path(source_file).name.encode()).digest()[:8], "little")
    with np.errstate(over="ignore"):
        mixed = _splitmix64(np.asarray(entry, dtype=np.uint64) ^ np.uint64(salt))
        if jet is not None:
            mixed = _splitmix64(mixed ^ np.asarray(jet, dtype=np.uint64))
    u = (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    codes = np.full(u.shape, TEST, dtype=np.uint8)
    codes[u < train + validation] = VALIDATION
    codes[u < train] = TRAIN
    return codes


def _same_file(path: str) -> str:
    return path if "://" in path else os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def split_of_files(split_files: dict[str, Sequence[str]], inputs: Sequence[str], dataset: str = "") -> str:
    """The split (``"train"``, ``"validation"`` or ``"test"``) whose file list (globs expanded)
    holds every one of ``inputs``; :class:`HepdlError` naming the file if one is in none, or if
    the inputs belong to different splits."""
    from hepdl.io.paths import expand_files

    listed = {name: {_same_file(p) for p in expand_files(list(patterns))} for name, patterns in split_files.items()}
    found = {}
    for path in inputs:
        where = [name for name, paths in listed.items() if _same_file(str(path)) in paths]
        if not where:
            raise HepdlError(f"{path} is not among the files of dataset '{dataset}' (files.train / validation / "
                             f"test); pass the split of these files with --split")
        found[str(path)] = where[0]
    if len(set(found.values())) > 1:
        listing = ", ".join(f"{k}: {v}" for k, v in found.items())
        raise HepdlError(f"the input files are in different splits ({listing}); make one images file per split")
    return next(iter(found.values()))
