# hepdl: unsupervised anomaly detection on jet images (Finke et al., JHEP 06 (2021) 161).
# Run: `make run` (or `snakemake --cores all` inside .venv). Config: config/config.yaml, or the
# file given with --configfile, which then replaces it whole (`make run CONFIG=config/study.yaml`).
from snakemake.utils import min_version

min_version("9.0")


# Snakemake would merge a --configfile into config/config.yaml (so a dataset read from files
# would also keep the default's `generate`): load the default only when no --configfile is given.
# Jobs (SLURM, --jobs) get the same --configfile, so they see the same config.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/config.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        "results/report",
        "results/metrics.json",
