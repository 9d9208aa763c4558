#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv with everything hepdl needs.
# Idempotent: a second call only checks. On a CPU machine it installs the CPU build of PyTorch
# first (torch==2.13.0); set HEPDL_TORCH to another pip requirement (e.g. a CUDA build) to override.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.hepdl-installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet "${HEPDL_TORCH:-torch==2.13.0}"
fi
# --prefer-binary: take the newest release that has a wheel for this Python over a newer one
# that is source only. pythia8mc 8.318.0, for one, is on PyPI as source only and compiles Pythia
# for a very long time, while 8.317.x has cp311 wheels (pip download pythia8mc --prefer-binary
# --no-deps resolves to pythia8mc-8.317.2-cp311-...manylinux...whl).
.venv/bin/python -m pip install --quiet --prefer-binary -e ".[dev]"  # test, slurm, docs (mkdocs), lint (ruff)
touch "$stamp"
