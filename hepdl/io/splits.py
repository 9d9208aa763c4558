"""Deterministic train / validation / test assignment of jets.

A jet's split depends only on the name of the file it came from (without directories), its
entry number in that file and its index among the jets of that entry: a 64-bit mixing hash of
these, mapped to [0, 1), is compared with the cumulative fractions. No random state is involved,
so the same jet lands in the same split in every run, on every machine, whatever the chunking or
the order of the files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

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
