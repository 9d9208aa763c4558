# The two commands of the README. Each sets up .venv first (scripts/setup.sh, idempotent).
CORES ?= all
CONFIG ?=  # a config file that replaces config/config.yaml, e.g. CONFIG=config/examples/delphes.yaml
ARGS ?=   # more snakemake arguments, e.g. ARGS="--directory .test" for the tiny CI config

.PHONY: run test setup lint docs clean

setup:
	bash scripts/setup.sh

# The rules call the `hepdl` CLI: put the venv first on PATH (no activation needed).
export PATH := $(CURDIR)/.venv/bin:$(PATH)

run: setup  ## the full default workflow on generated data, ending in results/report/index.html
	.venv/bin/snakemake --cores $(CORES) $(if $(strip $(CONFIG)),--configfile $(CONFIG)) $(ARGS)

test: setup  ## the test suite (fast, offline)
	.venv/bin/python -m pytest

# For developers (CI runs both after `make test`; see .ci/run):
lint: setup  ## ruff, configured in pyproject.toml
	.venv/bin/ruff check .

docs: setup  ## the documentation site (docs/, mkdocs.yml) built strictly, warnings are errors, into site/
	.venv/bin/python scripts/config_reference.py --check
	.venv/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf results .snakemake
