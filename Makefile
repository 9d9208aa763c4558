# The two commands of the README. Each sets up .venv first (scripts/setup.sh, idempotent).
CORES ?= all
ARGS ?=   # more snakemake arguments, e.g. ARGS="--directory .test" for the tiny CI config

.PHONY: run test setup clean

setup:
	bash scripts/setup.sh

# The rules call the `hepdl` CLI: put the venv first on PATH (no activation needed).
export PATH := $(CURDIR)/.venv/bin:$(PATH)

run: setup  ## the full default workflow on generated data, ending in results/report/index.html
	.venv/bin/snakemake --cores $(CORES) $(ARGS)

test: setup  ## the test suite (fast, offline)
	.venv/bin/python -m pytest

clean:
	rm -rf results .snakemake
