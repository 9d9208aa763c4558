"""The reader settings: how a user's files map onto the canonical jets schema.

A dataset's ``reader`` block (config schema ``$defs/reader``, ``datasets.<name>.reader``; see
docs/your-own-data.md) is validated here against the same JSON Schema that validates the config
file, with its defaults filled in, so ``iter_jets(files, reader={...})`` in a notebook
accepts exactly what a config file accepts. ``reader={}`` (or ``None``) describes hepdl's own
canonical jets files (TTree ``jets``, branches ``jet_pt`` ..., ``const_pt`` ...).
"""

from __future__ import annotations

from typing import Any

from hepdl.config import section_defaults
from hepdl.core.errors import ConfigError

#: constituent branch keys that each kinematics convention needs, in canonical order
KINEMATICS_KEYS: dict[str, tuple[str, str, str, str]] = {
    "pt_eta_phi_e": ("pt", "eta", "phi", "e"),
    "px_py_pz_e": ("px", "py", "pz", "e"),
    "pt_eta_phi_m": ("pt", "eta", "phi", "mass"),
}


def reader_settings(reader: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete reader dict: ``reader`` validated against the config schema's ``reader``
    definition, with every default filled in (a new dict).

    Raises :class:`ConfigError` naming the key (``reader.constituents.px`` ...) on a bad value.
    """
    if reader is not None and not isinstance(reader, dict):
        raise ConfigError(f"config key 'reader': must be a mapping, got {type(reader).__name__}")
    return section_defaults("reader", reader)


def constituent_branches(settings: dict[str, Any]) -> dict[str, str]:
    """Constituent key -> branch name for the chosen kinematics, e.g. ``{"px": "PFCand_px", ...}``."""
    constituents = settings["constituents"]
    return {key: constituents[key] for key in KINEMATICS_KEYS[constituents["kinematics"]]}
