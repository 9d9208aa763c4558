# Helper Python for the rules: config validation (once, without torch), dataset/shard bookkeeping,
# input functions. Nothing here writes a file: the resolved config is written by rule
# resolved_config.
import functools
import json
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

import hepdl
from hepdl.config import experiment_variants, validate_config
from hepdl.core.errors import HepdlError
from hepdl.io.paths import expand_files, is_remote

# Validation, once: hepdl's validator first (JSON Schema with defaults, the model's option schema,
# cross-checks: experiments naming datasets, transforms and corrections that exist, split
# fractions), which stops with ONE message naming the key; then Snakemake's own validate against
# the same schema (it passes by then; it keeps the workflow's schema visible to Snakemake tooling).
try:
    validate_config(config)
except HepdlError as err:
    sys.exit(f"hepdl: error: {err}")
validate(config, schema="../schemas/config.schema.yaml")

VERSION = hepdl.__version__
SEED = config["seed"]

# Every CLI call reads the resolved config (defaults filled, command-line overrides applied) from
# this file, written by rule resolved_config. Rules take it as an `ancient` input (its modification
# time never triggers a rerun) and carry the config sections they depend on as params, so editing
# a section reruns exactly the stages it affects.
RESOLVED_CONFIG = "results/config.resolved.yaml"
VARIANTS = experiment_variants(config)


def section(*keys):
    """A config section as a canonical JSON string (a param: a change reruns the rule)."""
    value = config
    for key in keys:
        value = value[key]
    return json.dumps(value, sort_keys=True)


def is_generated(dataset):
    return "generate" in config["datasets"][dataset]


def dataset_file_lists(dataset):
    """{split or None: patterns}: the dataset's files, per split when it names them per split."""
    files = config["datasets"][dataset]["files"]
    return dict(files) if isinstance(files, dict) else {None: files}


def _expand(dataset, key, patterns):
    files = []
    for pattern in patterns:
        try:
            files.extend(expand_files([pattern]))
        except HepdlError as err:
            sys.exit(f"hepdl: error: config key 'datasets.{dataset}.{key}': {err}")
    return files


@functools.cache
def dataset_inputs(dataset):
    """(path, split or None) of each input file of a user dataset (globs expanded, sorted; train,
    validation, test files in that order); one images shard per input file. Paths are local files
    or root:// URLs."""
    return [(path, split) for split, patterns in dataset_file_lists(dataset).items()
            for path in _expand(dataset, "files" if split is None else f"files.{split}", patterns)]


def n_shards(dataset):
    if is_generated(dataset):
        return config["datasets"][dataset]["shards"]
    return len(dataset_inputs(dataset))


def jets_source(wildcards):
    """The jets file an images shard is built from: a generated shard, a local file or a root:// URL."""
    if is_generated(wildcards.dataset):
        return f"results/jets/{wildcards.dataset}/shard{wildcards.shard}.root"
    return dataset_inputs(wildcards.dataset)[int(wildcards.shard)][0]


def jets_input(wildcards):
    """The images shard's jets file as a Snakemake input: none for a root:// URL (Snakemake would
    look for it on the local disk; the URL is passed to `hepdl images` as a parameter instead)."""
    source = jets_source(wildcards)
    return [] if is_remote(source) else [source]


def shard_split(wildcards):
    """`--split NAME` for a shard of a dataset that names its files per split, else nothing."""
    if is_generated(wildcards.dataset):
        return ""
    split = dataset_inputs(wildcards.dataset)[int(wildcards.shard)][1]
    return "" if split is None else f"--split {split}"


def images_of(dataset):
    return [f"results/images/{dataset}/shard{i}.h5" for i in range(n_shards(dataset))]


def experiment(name):
    return config["experiments"][name]


def train_images(wildcards):
    return images_of(wildcards.dataset)


#: scored roles: the test jets of the background and signal datasets, and the validation jets of
#: the training dataset (score corrections are fitted on them)
ROLES = {"background": ("background", "test"), "signal": ("signal", "test"), "validation": ("train", "validation")}


def role_images(wildcards):
    """Images of the dataset a role scores."""
    return images_of(experiment(wildcards.experiment)[ROLES[wildcards.role][0]])


def role_split(wildcards):
    return ROLES[wildcards.role][1]


def trainings():
    """(experiment, transform) pairs: every model an experiment uses."""
    return [(name, transform) for name, exp in config["experiments"].items() for transform in exp["transforms"]]


def model_path(experiment_name, transform, file="model.pt"):
    """The model (or its history.csv) of one experiment and transform. A model is trained once per
    (training dataset, transform): the model and training settings are global, so experiments that
    train on the same dataset (QCD-trained taggers of several signals) share it."""
    return f"results/models/{experiment(experiment_name)['train']}/{transform}/{file}"


def training_jobs():
    """The distinct (training dataset, transform) pairs: one training job each."""
    return sorted({(experiment(name)["train"], transform) for name, transform in trainings()})


def training_threads():
    """Threads per training job: the cores Snakemake was given shared by the training jobs (two
    one-thread trainings on 2 cores train 1.3x the images/s of one two-thread training after
    the other), at least 1, at most 8. Under a cluster executor (no --cores: each job is its own
    allocation) a training asks for 2 threads; --set-threads train=N changes it."""
    try:
        cores = workflow.cores
    except WorkflowError:  # cluster executors define no total number of cores
        return 2
    cores = cores if isinstance(cores, int) and cores > 0 else 2
    return max(1, min(8, cores // max(1, len(training_jobs()))))


def gpus_for_device():
    """GPUs a training or scoring job asks for: 1 when training.device names cuda, else 0."""
    return 1 if str(config["training"]["device"]).startswith("cuda") else 0


def scores_of(experiment_name, transform, roles=("background", "signal")):
    """The scores files of one experiment's model (trained with one image transform)."""
    return {role: f"results/scores/{experiment_name}/{transform}/{role}.h5" for role in roles}


def evaluate_inputs(wildcards):
    roles = ("background", "signal") if wildcards.correction == "none" else ("background", "signal", "validation")
    return scores_of(wildcards.experiment, wildcards.transform, roles)


def report_plot_labels(wildcards):
    """Labels of a plot of hepdl's report in `snakemake --report`: experiment, variant, plot
    (from its path results/report/plots/<experiment>/<variant>/<plot>.png)."""
    from hepdl.report import ALL_EXPERIMENTS, ALL_VARIANTS, PLOT_TITLES

    return {
        "experiment": "all" if wildcards.experiment == ALL_EXPERIMENTS else wildcards.experiment,
        "variant": "all" if wildcards.variant == ALL_VARIANTS else wildcards.variant,
        "plot": PLOT_TITLES.get(wildcards.plot, wildcards.plot),
    }


def report_plot_subcategory(wildcards):
    from hepdl.report import ALL_EXPERIMENTS

    return "all experiments" if wildcards.experiment == ALL_EXPERIMENTS else wildcards.experiment


def all_metrics():
    rows = [f"results/metrics/{v['experiment']}/{v['transform']}/{v['correction']}.json" for v in VARIANTS]
    rows += [f"results/metrics/{name}/baselines.json" for name in config["experiments"]]
    return rows


wildcard_constraints:
    shard=r"\d+",
    role="background|signal|validation",
    dataset="|".join(config["datasets"]),
    experiment="|".join(config["experiments"]),
    transform="|".join(config["image_transforms"]),
    correction="|".join(["none", *config["score_corrections"]]),
