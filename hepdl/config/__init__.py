"""Configuration: load YAML safely, validate against the JSON Schema, fill defaults, cross-check.

The schema is ``hepdl/config/schema.yaml`` (also reachable as
``workflow/schemas/config.schema.yaml``). Any problem raises :class:`~hepdl.core.errors.ConfigError`
naming the key path, e.g. ``config key 'training.batch_size': -3 is less than the minimum of 1``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hepdl.core.errors import ConfigError

SCHEMA_PATH = Path(str(resources.files("hepdl.config") / "schema.yaml"))


@functools.cache
def _schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_schema() -> dict[str, Any]:
    """The configuration JSON Schema as a dict (a copy: the caller may change it)."""
    return copy.deepcopy(_schema())


def _default_filling_validator():
    """A Draft 2020-12 validator class that also writes ``default`` values into the instance."""
    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError, prefix: str = "") -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return ".".join(p for p in (prefix, path) if p) or "<top level>"


def _message(error: jsonschema.ValidationError, prefix: str = "") -> str:
    key = _key_path(error, prefix)
    if error.validator == "additionalProperties":
        renamed = [k for k in RENAMED_KEYS if isinstance(error.instance, dict) and k in error.instance
                   and k not in error.schema.get("properties", {})]
        if renamed:
            where = ".".join(p for p in (key if key != "<top level>" else "", renamed[0]) if p)
            return f"config key '{where}': {RENAMED_KEYS[renamed[0]]}"
        allowed = sorted(error.schema.get("properties", {}))
        hint = f" (allowed keys: {', '.join(allowed)})" if allowed else ""
        return f"config key '{key}': {error.message}{hint}"
    if (error.validator == "oneOf" and len(error.absolute_path) == 2 and error.absolute_path[0] == "datasets"
            and not prefix):
        return (f"config key '{key}': a dataset needs either `generate` with `n_jets` "
                f"(generated jets) or `files` (your own files), not both and not neither")
    if error.validator == "not" and error.schema.get("description"):  # a key that must not be given here
        return f"config key '{key}': {error.schema['description']}"
    if error.validator in ("anyOf", "oneOf") and error.schema.get("description"):
        return f"config key '{key}': {error.instance!r} is not {error.schema['description']}"
    return f"config key '{key}': {error.message}"


#: keys of earlier hepdl versions, with what replaced them
RENAMED_KEYS = {
    "postprocessing": "postprocessing was split into image_transforms (need their own training) and "
                      "score_corrections (fitted on validation scores, no retraining); see config/README.md",
    "variants": "an experiment's variants are now its transforms (image_transforms) and corrections "
                "(score_corrections); see config/README.md",
    "mass_cut_background_efficiency": "mass sculpting now runs at several working points: write "
                                      "mass_cut_background_efficiencies, a list (default [0.5, 0.1, 0.01]; "
                                      "[0.1] is the old default)",
}


def check_against_schema(instance: Any, schema: dict[str, Any], prefix: str = "") -> None:
    """Validate ``instance`` against a JSON Schema in place, filling defaults; raise ConfigError
    naming the deepest failing key, prefixed with ``prefix`` (e.g. ``model.options``)."""
    validator = _default_filling_validator()(schema)
    errors = sorted(validator.iter_errors(instance),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        # the deepest error is the most specific one
        raise ConfigError(_message(max(errors, key=lambda e: len(e.absolute_path)), prefix))


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) and cross-check it; return it.

    Raises :class:`ConfigError` with the first problem found, naming its key.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"the configuration must be a mapping of keys, got {type(config).__name__}")
    check_against_schema(config, load_schema())
    _cross_check(config)
    return config


def _cross_check(config: dict[str, Any]) -> None:
    datasets = config["datasets"]
    for name, experiment in config["experiments"].items():
        for role in ("train", "background", "signal"):
            if experiment[role] not in datasets:
                raise ConfigError(
                    f"config key 'experiments.{name}.{role}': dataset '{experiment[role]}' is not "
                    f"defined under 'datasets' (defined: {', '.join(sorted(datasets))})")
        for key, section, implicit in (("transforms", "image_transforms", ()),
                                       ("corrections", "score_corrections", ("none",))):
            defined = [*implicit, *config[section]]
            for item in experiment[key]:
                if item not in defined:
                    raise ConfigError(
                        f"config key 'experiments.{name}.{key}': '{item}' is not defined under '{section}' "
                        f"(defined: {', '.join(defined)})")
    split = config["split"]
    total = split["train"] + split["validation"] + split["test"]
    if abs(total - 1.0) > 1e-9:
        raise ConfigError(f"config key 'split': train + validation + test must be 1, got {total:g}")
    generation = config["generation"]
    for name, dataset in datasets.items():
        if isinstance(dataset.get("files"), dict):
            seen: dict[str, str] = {}
            for split_name, patterns in dataset["files"].items():
                for pattern in patterns:
                    if pattern in seen and seen[pattern] != split_name:
                        raise ConfigError(f"config key 'datasets.{name}.files.{split_name}': '{pattern}' is also "
                                          f"listed under files.{seen[pattern]}; a file belongs to one split")
                    seen[pattern] = split_name
        gen = {**generation, **dataset.get("generate", {})}
        if "generate" in dataset:
            if gen["jet_pt_max"] <= gen["jet_pt_min"]:
                raise ConfigError(f"config key 'datasets.{name}.generate.jet_pt_max': must exceed jet_pt_min")
            if "pthat_min" in gen and "pthat_max" in gen and gen["pthat_max"] <= gen["pthat_min"]:
                raise ConfigError(f"config key 'datasets.{name}.generate.pthat_max': must exceed pthat_min")
            if dataset["shards"] > dataset["n_jets"]:
                raise ConfigError(f"config key 'datasets.{name}.shards': {dataset['shards']} shards for "
                                  f"{dataset['n_jets']} jets; need at least one jet per shard")
    from hepdl.models import validate_model_config  # the registry; torch is not imported

    validate_model_config(config["model"])


def variant_name(transform: str, correction: str) -> str:
    """The name of an experiment's variant: the transform, ``+correction`` unless it is none."""
    return transform if correction == "none" else f"{transform}+{correction}"


def experiment_variants(config: dict[str, Any]) -> list[dict[str, str]]:
    """Every (experiment, transform, correction) a validated config runs, in config order, as dicts
    with keys ``experiment``, ``transform``, ``correction`` and ``variant`` (its name)."""
    return [{"experiment": name, "transform": transform, "correction": correction,
             "variant": variant_name(transform, correction)}
            for name, experiment in config["experiments"].items()
            for transform in experiment["transforms"] for correction in experiment["corrections"]]


def correction_options(config: dict[str, Any], correction: str) -> dict[str, Any]:
    """The options of a score correction (``none``: every option at its no-op default)."""
    if correction == "none":
        return section_defaults("score_correction")
    if correction not in config["score_corrections"]:
        raise ConfigError(f"config key 'score_corrections': correction '{correction}' is not defined "
                          f"(defined: none, {', '.join(config['score_corrections'])})")
    return config["score_corrections"][correction]


def transform_options(config: dict[str, Any], transform: str) -> dict[str, Any]:
    """The options of an image transform of a validated config."""
    if transform not in config["image_transforms"]:
        raise ConfigError(f"config key 'image_transforms': transform '{transform}' is not defined "
                          f"(defined: {', '.join(config['image_transforms'])})")
    return config["image_transforms"][transform]


def section_defaults(definition: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``options`` (a partial ``reader``, ``image_transform`` or ``score_correction`` block)
    validated against the schema's ``$defs`` entry, with every default filled (a new dict).
    Errors name the key as ``<definition>.<key>``."""
    filled = copy.deepcopy(options or {})
    schema = load_schema()
    check_against_schema(filled, {**schema["$defs"][definition], "$defs": schema["$defs"]}, definition)
    return filled


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read a YAML config (``yaml.safe_load``), apply ``overrides`` (top-level keys), validate.

    ``path=None`` gives the schema defaults with the default datasets of ``config/config.yaml``
    when that file is found next to the package, else a minimal generated-jets config.
    """
    if path is None:
        config: dict[str, Any] = copy.deepcopy(MINIMAL_CONFIG)
    else:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
        try:
            config = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    if overrides:
        config.update(overrides)
    return validate_config(config)


MINIMAL_CONFIG: dict[str, Any] = {
    "datasets": {
        "qcd": {"generate": {"process": "qcd"}, "n_jets": 1000},
        "top": {"generate": {"process": "top"}, "n_jets": 1000},
    },
    "experiments": {"top_vs_qcd": {"train": "qcd", "background": "qcd", "signal": "top"}},
}

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKMG]i?B)\s*$")
_UNITS = {"kB": 1e3, "KB": 1e3, "KiB": 2**10, "kiB": 2**10, "MB": 1e6, "MiB": 2**20, "GB": 1e9, "GiB": 2**30}


def parse_size(size: str | int) -> int:
    """Bytes in a human size such as ``"50 MB"`` or ``"1 GiB"`` (an int passes through)."""
    if isinstance(size, int):
        return size
    match = _SIZE.match(size)
    if not match or match.group(2) not in _UNITS:
        raise ConfigError(f"size '{size}' is not of the form '50 MB' (units kB, MB, GB, KiB, MiB, GiB)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def derive_seed(master: int, *keys: object) -> int:
    """A 31-bit seed derived from ``master`` and names (dataset, shard, ...), stable across runs.

    Pythia accepts seeds up to 900,000,000; the result is reduced to that range.
    """
    text = "/".join([str(int(master)), *map(str, keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") % 900_000_000 + 1


def generation_settings(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """Generation settings of a generated dataset: global ``generation`` overridden by its own block."""
    entry = config["datasets"][dataset]
    if "generate" not in entry:
        raise ConfigError(f"config key 'datasets.{dataset}': this dataset is read from files, not generated")
    return {**config["generation"], **entry["generate"]}
