"""One chunk of entries of a TTree or an RNTuple, its branches read and checked on access.

A branch name may name a nested field: ``EFlowTrack.PT`` is a top-level branch of that name in
a TTree (Delphes' split ``TClonesArray`` branches, or a file written with such names), or the
subfield ``PT`` of a collection field ``EFlowTrack`` in an RNTuple; :func:`column` finds either.
Every problem raises :class:`~hepdl.core.errors.InputFileError` naming the file, the TTree or
RNTuple, the branch and the entries.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from hepdl.core.errors import InputFileError
from hepdl.io.canonical import entry_text

_SHAPES = {0: "one number per entry", 1: "a list per entry (jagged)", 2: "a list of lists per entry (doubly jagged)"}


def list_depth(array: ak.Array) -> tuple[int, Any]:
    """Number of list levels of ``array`` and the dtype at the bottom (None if not numeric)."""
    layout = ak.to_layout(array)
    depth = 0
    while isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray, ak.contents.RegularArray)):
        if layout.parameter("__array__") == "string":
            return depth, None
        depth += 1
        layout = layout.content
    if isinstance(layout, (ak.contents.IndexedOptionArray, ak.contents.ByteMaskedArray,
                           ak.contents.BitMaskedArray, ak.contents.UnmaskedArray)):
        layout = layout.content
    return depth, layout.dtype if isinstance(layout, ak.contents.NumpyArray) else None


def column(arrays: ak.Array, name: str) -> ak.Array:
    """The values of branch ``name`` in ``arrays`` (fields as uproot returns them).

    ``name`` is a field of ``arrays``, or a dotted path into a record field (``EFlowTrack.PT``:
    field ``PT`` of the records of field ``EFlowTrack``, as uproot reads an RNTuple collection).
    """
    if name in arrays.fields:
        return arrays[name]
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        if head in arrays.fields:
            return column(arrays[head], ".".join(parts[cut:]))
    raise KeyError(name)


class Chunk:
    """Branches of one chunk of a TTree or RNTuple, checked on access.

    ``container``: ``"tree 'Events'"`` or ``"RNTuple 'Events'"`` (for messages);
    ``entry_start``: the entry number of the chunk's first entry in the file.
    """

    def __init__(self, path: str, container: str, arrays: ak.Array, entry_start: int):
        self.path, self.arrays, self.entry_start = path, arrays, entry_start
        self.where = container if container.startswith(("tree ", "RNTuple ")) else f"tree '{container}'"
        self.word = "field" if self.where.startswith("RNTuple") else "branch"
        self.words = "fields" if self.word == "field" else "branches"

    def __len__(self) -> int:
        return len(self.arrays)

    def get(self, branch: str, depths: tuple[int, ...], integer: bool = False) -> ak.Array:
        """Values of ``branch``, which must have one of ``depths`` list levels of numbers."""
        array = column(self.arrays, branch)
        depth, dtype = list_depth(array)
        if dtype is None or depth not in depths:
            expected = " or ".join(_SHAPES[d] for d in depths)
            raise InputFileError(f"{self.path} ({self.where}): {self.word} '{branch}' has type "
                                 f"{ak.type(array).content}, expected {expected} of numbers")
        if integer and not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.bool_)):
            values = ak.to_numpy(ak.ravel(array))
            if not np.array_equal(values, np.round(values)):
                raise InputFileError(f"{self.path} ({self.where}): {self.word} '{branch}' holds non-integer "
                                     f"values; expected integer labels / indices")
        return array

    def same_lengths(self, arrays: dict[str, ak.Array], axis: int, what: str) -> None:
        """Raise if the lists of these branches differ in length (at ``axis``) in any entry."""
        names = list(arrays)
        first = ak.num(arrays[names[0]], axis=axis)
        for name in names[1:]:
            other = ak.num(arrays[name], axis=axis)
            differ = first != other
            if axis > 1:
                differ = ak.any(differ, axis=-1)
            differ = ak.to_numpy(differ)
            if differ.any():
                entries = self.entry_start + np.flatnonzero(differ)
                raise InputFileError(
                    f"{self.path} ({self.where}): {self.words} '{names[0]}' and '{name}' have lists of "
                    f"different lengths at {entry_text(entries)}; {what}")

    def fail(self, message: str, entries: np.ndarray | None = None) -> InputFileError:
        """An InputFileError ``<file> (<tree>): <message>[ at <entries>]`` (entries: in the chunk)."""
        where = "" if entries is None else f" at {entry_text(self.entry_start + np.asarray(entries))}"
        return InputFileError(f"{self.path} ({self.where}): {message}{where}")
