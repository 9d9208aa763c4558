"""The model registry: one module per model, its options schema beside it.

A model ``NAME`` is the module ``hepdl/models/NAME.py`` (a subclass of
:class:`hepdl.models.base.AnomalyModel` exported as ``MODEL``) and its options schema
``hepdl/models/NAME.yaml`` (JSON Schema with defaults). Adding a file pair adds the model: the
registry finds it by its schema file, the config validates ``model.options`` against that schema
(without importing torch), and training, scoring and export use it through the interface.
"""

from __future__ import annotations

import copy
import functools
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # torch is heavy: imported only when a model is built
    from hepdl.models.base import AnomalyModel

_HERE = Path(__file__).resolve().parent


@functools.cache
def model_names() -> tuple[str, ...]:
    """Names of the registered models (those with a ``NAME.yaml`` options schema), sorted."""
    return tuple(sorted(p.stem for p in _HERE.glob("*.yaml")))


@functools.cache
def _options_schema(name: str) -> dict[str, Any]:
    with open(_HERE / f"{name}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def options_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of model ``name``'s options (a copy)."""
    return copy.deepcopy(_options_schema(name))


def validate_model_config(model_config: dict[str, Any]) -> dict[str, Any]:
    """Check a ``model`` block ({name, options, input_scaling}) in place against the config
    schema's ``model`` entry and the model's own options schema, filling every default; return it.

    Raises ConfigError naming ``model.name`` or ``model.options.<key>``. Torch is not imported.
    """
    from hepdl.config import check_against_schema, load_schema
    from hepdl.core.errors import ConfigError

    check_against_schema(model_config, load_schema()["properties"]["model"], "model")
    name = model_config["name"]
    if name not in model_names():
        raise ConfigError(f"config key 'model.name': {name!r} is not one of {', '.join(model_names())}")
    model_config.setdefault("options", {})
    check_against_schema(model_config["options"], _options_schema(name), "model.options")
    return model_config


def model_class(name: str) -> type[AnomalyModel]:
    """The class of model ``name`` (imports its module, and torch)."""
    return importlib.import_module(f"hepdl.models.{name}").MODEL


def build_model(model_config: dict[str, Any], npix: int) -> AnomalyModel:
    """The model of a validated ``model`` block (``config["model"]`` of a validated config, or
    :func:`validate_model_config` of a partial one) for npix x npix images (float32, CPU,
    untrained weights, input scaling not yet fitted)."""
    cls = model_class(model_config["name"])
    return cls(npix=int(npix), input_scaling=model_config["input_scaling"], **model_config["options"])
