# Helper Python for the rules: config validation (once), dataset/shard bookkeeping, input functions.
import glob
import json
import os
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

import hepdl
from hepdl.config import validate_config
from hepdl.core.errors import HepdlError

# Validation, once: hepdl's validator first (JSON Schema with defaults plus cross-checks: experiments
# naming datasets that exist, split fractions, model vs npix), which stops with ONE message naming
# the key; then Snakemake's own validate against the same schema (it passes by then; it keeps the
# workflow's schema visible to Snakemake tooling).
try:
    validate_config(config)
except HepdlError as err:
    sys.exit(f"hepdl: error: {err}")
validate(config, schema="../schemas/config.schema.yaml")

VERSION = hepdl.__version__
SEED = config["seed"]

# Every CLI call reads the resolved config (defaults filled, command-line overrides applied)
# from this file. It is rewritten only when its content changes; rules carry the config sections
# they depend on as params, so editing a section reruns exactly the stages it affects.
RESOLVED_CONFIG = "results/config.resolved.yaml"


def _write_resolved_config(path=RESOLVED_CONFIG):
    text = yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=True)
    target = Path(path)
    if target.exists() and target.read_text() == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, target)


_write_resolved_config()


def section(*keys):
    """A config section as a canonical JSON string (a param: a change reruns the rule)."""
    value = config
    for key in keys:
        value = value[key]
    return json.dumps(value, sort_keys=True)


def is_generated(dataset):
    return "generate" in config["datasets"][dataset]


def dataset_inputs(dataset):
    """Input files of a user dataset (globs expanded, sorted); one images shard per file."""
    files = []
    for pattern in config["datasets"][dataset]["files"]:
        matches = sorted(glob.glob(os.path.expanduser(pattern)))
        if not matches:
            sys.exit(f"hepdl: error: config key 'datasets.{dataset}.files': "
                     f"pattern '{pattern}' matches no file")
        files.extend(matches)
    return files


def n_shards(dataset):
    if is_generated(dataset):
        return config["datasets"][dataset]["shards"]
    return len(dataset_inputs(dataset))


def jets_input(wildcards):
    """The jets file(s) an images shard is built from."""
    if is_generated(wildcards.dataset):
        return f"results/jets/{wildcards.dataset}/shard{wildcards.shard}.root"
    return dataset_inputs(wildcards.dataset)[int(wildcards.shard)]


def images_of(dataset):
    return [f"results/images/{dataset}/shard{i}.h5" for i in range(n_shards(dataset))]


def experiment(name):
    return config["experiments"][name]


def train_images(wildcards):
    return images_of(experiment(wildcards.experiment)["train"])


def role_images(wildcards):
    """Images of the background or signal dataset of an experiment (the test split is scored)."""
    return images_of(experiment(wildcards.experiment)[wildcards.role])


def experiment_variants():
    return [(name, variant) for name, exp in config["experiments"].items() for variant in exp["variants"]]


def training_threads():
    """Threads per training job: the cores Snakemake was given shared by the training jobs (two
    one-thread trainings on 2 cores train 1.3x the images/s of one two-thread training after
    the other), at least 1, at most 8."""
    cores = workflow.cores if isinstance(workflow.cores, int) and workflow.cores > 0 else 2
    return max(1, min(8, cores // max(1, len(experiment_variants()))))


def gpus_for_device():
    """GPUs a training or scoring job asks for: 1 when training.device names cuda, else 0."""
    return 1 if str(config["training"]["device"]).startswith("cuda") else 0


def scores_of(experiment_name, variant):
    """The background and signal scores files of one experiment and variant."""
    return {role: f"results/scores/{experiment_name}/{variant}/{role}.h5" for role in ("background", "signal")}


def all_metrics():
    rows = [f"results/metrics/{name}/{variant}.json" for name, variant in experiment_variants()]
    rows += [f"results/metrics/{name}/baselines.json" for name in config["experiments"]]
    return rows


wildcard_constraints:
    shard=r"\d+",
    role="background|signal",
    dataset="|".join(config["datasets"]),
    experiment="|".join(config["experiments"]),
    variant="|".join(config["postprocessing"]),
