"""Provenance recorded with every output: package versions, git commit, seed and config."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import hepdl

_PACKAGES = (
    "numpy", "awkward", "uproot", "h5py", "numba", "pythia8mc", "fastjet", "torch",
    "scikit-learn", "onnxruntime", "snakemake",
)


def package_versions() -> dict[str, str]:
    """Versions of hepdl and of the libraries that shape its numbers (``"missing"`` if absent)."""
    versions = {"hepdl": hepdl.__version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def git_commit() -> str:
    """The git commit of the hepdl source tree (``+dirty`` if modified), or ``"unknown"``."""
    src = Path(hepdl.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def provenance(config: dict[str, Any] | None = None, seed: int | None = None, **extra: Any) -> dict[str, Any]:
    """A JSON-serialisable record of what made an output."""
    record: dict[str, Any] = {
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "hepdl_version": hepdl.__version__,
        "git_commit": git_commit(),
        "versions": package_versions(),
        "host": platform.node(),
    }
    if os.environ.get("SLURM_JOB_ID"):
        # proof of where a job ran when the workflow uses the SLURM executor
        record["slurm_job_id"] = os.environ["SLURM_JOB_ID"]
    if seed is not None:
        record["seed"] = int(seed)
    if config is not None:
        record["config"] = config
    record.update(extra)
    return record
