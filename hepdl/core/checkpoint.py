"""Safe model and training-state files: tensors plus plain JSON metadata, nothing pickled.

A hepdl file is ``torch.save`` of a dict ``{"format": FORMAT, "kind": str, "metadata_json": str,
"tensors": {...}}`` where ``tensors`` nests only dicts, lists, tensors, ints, floats, bools and
strings (a model ``state_dict``, an optimizer ``state_dict``, RNG state tensors). It is written
atomically and read with ``torch.load(..., weights_only=True)``, which refuses any pickled object
(an arbitrary class instance, a malicious ``__reduce__``). Metadata travels as one JSON string so
it stays readable with any JSON tool and can never carry code.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch

from hepdl.core.atomic import atomic_path
from hepdl.core.errors import CheckpointError

FORMAT = "hepdl-checkpoint-v1"


def save_checkpoint(path: str | os.PathLike, kind: str, tensors: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Write ``tensors`` (nested dicts of tensors/numbers) and JSON-able ``metadata`` atomically.

    ``kind`` says what the file is (``"model"``, ``"training_state"``) so a loader can refuse the
    wrong one.
    """
    payload = {"format": FORMAT, "kind": kind, "metadata_json": json.dumps(metadata, sort_keys=True),
               "tensors": tensors}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike, kind: str | None = None,
                    map_location: str | torch.device = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a file written by :func:`save_checkpoint`; return ``(tensors, metadata)``.

    Raises CheckpointError naming ``path`` when the file is missing, truncated, not a torch file,
    carries pickled objects (refused by ``weights_only=True``), is not a hepdl checkpoint or is of
    another ``kind``.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"model file {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError (zip), EOFError, ... all mean: refuse
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"cannot load {path} safely (weights_only=True): it is truncated, not a torch file, or "
            f"carries pickled objects ({reason[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a hepdl checkpoint (expected format {FORMAT})")
    if kind is not None and payload.get("kind") != kind:
        raise CheckpointError(f"{path} is a hepdl {payload.get('kind')!r} file, expected {kind!r}")
    try:
        metadata = json.loads(payload["metadata_json"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: metadata is not valid JSON ({err})") from None
    return payload.get("tensors", {}), metadata
