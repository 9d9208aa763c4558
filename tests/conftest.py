"""Shared fixtures. Tests are fast and offline; anything slow is marked ``slow``."""

from __future__ import annotations

import os

# Reproducible, single-threaded numerics in tests (as under Snakemake with threads: 1).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
