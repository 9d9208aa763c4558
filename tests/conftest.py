"""Shared fixtures. Tests are fast and offline; anything slow is marked ``slow``."""

from __future__ import annotations

import os

import pytest

# Reproducible, single-threaded numerics in tests (as under Snakemake with threads: 1).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(items):
    """The workflow tests (snakemake end to end, the longest) first, the SLURM one ahead of them,
    the order otherwise kept: with pytest-xdist (`make test` runs one worker per core) they start
    at once, next to the short tests, instead of last and alone, and the SLURM run (mostly
    waiting on the scheduler) overlaps the local run of the same workflow on the other worker."""
    items.sort(key=lambda item: (item.get_closest_marker("slurm") is None, item.get_closest_marker("workflow") is None))


@pytest.fixture
def without_torch(tmp_path):
    """Environment variables (a copy of os.environ) under which `import torch` fails: a fake
    `torch` that raises ImportError is first on PYTHONPATH. For subprocesses that must not pay
    torch's start-up (parsing the workflow, `hepdl evaluate`)."""
    fake = tmp_path / "no_torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('torch imported where it must not be')\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")]))


# --------------------------------------------------------------------------- generated jets
# Small canonical jets files for every engineer's tests, generated once per test session
# (Pythia 8, default physics settings, fixed seeds; a few seconds in all).
GENERATED_N_JETS = {"qcd": 150, "top": 100}
GENERATED_SEEDS = {"qcd": 1, "top": 2}


@pytest.fixture(scope="session")
def generated_jets_arrays():
    """{"qcd": ak.Array, "top": ak.Array} of canonical jets (150 QCD, 100 top; seeds 1 and 2).

    The top array also carries the truth fields of ``generate_jets(..., truth=True)``.
    """
    from hepdl.generation.generate import generate_jets

    return {process: generate_jets(process, n, GENERATED_SEEDS[process], {}, progress=False,
                                   truth=process == "top")
            for process, n in GENERATED_N_JETS.items()}


@pytest.fixture(scope="session")
def generated_jets_files(tmp_path_factory, generated_jets_arrays):
    """{"qcd": Path, "top": Path} of small canonical jets ROOT files (see ``generated_jets_arrays``)."""
    from hepdl.core.provenance import provenance
    from hepdl.io.jets_file import write_jets

    directory = tmp_path_factory.mktemp("generated_jets")
    paths = {}
    for process, jets in generated_jets_arrays.items():
        paths[process] = directory / f"{process}.root"
        write_jets(paths[process], jets, provenance(seed=GENERATED_SEEDS[process], process=process))
    return paths
