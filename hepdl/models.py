"""Autoencoder models (placeholder until the model issue lands)."""

from __future__ import annotations

from typing import Any


def check_model_config(model_config: dict[str, Any], npix: int) -> None:
    """Raise ConfigError if the model described by ``model_config`` cannot take npix x npix images."""
