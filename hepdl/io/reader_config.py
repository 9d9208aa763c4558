"""The reader settings: how a user's files map onto the canonical jets schema.

A dataset's ``reader`` block (see the config schema, ``datasets.<name>.reader``, and the README
section "Your own dataset") is validated here against the same JSON Schema that validates the
config file, with its defaults filled in, so ``iter_jets(files, reader={...})`` in a notebook
accepts exactly what a config file accepts. ``reader={}`` (or ``None``) describes hepdl's own
canonical jets files (TTree ``jets``, branches ``jet_pt`` ..., ``const_pt`` ...).
"""

from __future__ import annotations

import copy
from typing import Any

from hepdl.config import _default_filling_validator, load_schema
from hepdl.core.errors import ConfigError

#: constituent branch keys that each kinematics convention needs, in canonical order
KINEMATICS_KEYS: dict[str, tuple[str, str, str, str]] = {
    "pt_eta_phi_e": ("pt", "eta", "phi", "e"),
    "px_py_pz_e": ("px", "py", "pz", "e"),
    "pt_eta_phi_m": ("pt", "eta", "phi", "mass"),
}


def reader_schema() -> dict[str, Any]:
    """The JSON Schema of one dataset's ``reader`` block (taken from the config schema)."""
    return load_schema()["properties"]["datasets"]["additionalProperties"]["properties"]["reader"]


def reader_settings(reader: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete reader dict: ``reader`` validated, with every default filled in (a new dict).

    Raises :class:`ConfigError` naming the key (``reader.constituents.px`` ...) on a bad value.
    """
    settings = copy.deepcopy(reader) if reader is not None else {}
    if not isinstance(settings, dict):
        raise ConfigError(f"config key 'reader': must be a mapping, got {type(settings).__name__}")
    validator = _default_filling_validator()(reader_schema())
    errors = list(validator.iter_errors(settings))
    if errors:
        error = max(errors, key=lambda e: len(e.absolute_path))
        path = ".".join(["reader", *map(str, error.absolute_path)])
        raise ConfigError(f"config key '{path}': {error.message}")
    if settings["format"] == "root" and settings["layout"] == "linked" and "link" not in settings["constituents"]:
        raise ConfigError("config key 'reader.constituents.link': layout 'linked' needs the index "
                          "branches {jet_index: ..., candidate_index: ...}")
    if settings["format"] == "root" and settings["layout"] != "linked" and "link" in settings["constituents"]:
        raise ConfigError(f"config key 'reader.constituents.link': only used with layout 'linked' "
                          f"(layout is '{settings['layout']}')")
    return settings


def constituent_branches(settings: dict[str, Any]) -> dict[str, str]:
    """Constituent key -> branch name for the chosen kinematics, e.g. ``{"px": "PFCand_px", ...}``."""
    constituents = settings["constituents"]
    return {key: constituents[key] for key in KINEMATICS_KEYS[constituents["kinematics"]]}
