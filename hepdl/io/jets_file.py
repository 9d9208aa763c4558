"""The canonical jets file: one ROOT TTree ``jets``, one entry per jet.

Branches (units GeV, angles in rad, phi in (-pi, pi]):

=================  ============  ===============================================================
branch             type          meaning
=================  ============  ===============================================================
``jet_pt``         float32       jet transverse momentum
``jet_eta``        float32       jet pseudorapidity
``jet_phi``        float32       jet azimuth
``jet_mass``       float32       jet invariant mass
``jet_nconst``     int32         number of constituents stored (counter of the ``const_*``)
``label``          int32         class label (generated jets: 0 = QCD, 1 = top)
``const_pt``       float32[]     constituent pT, sorted by decreasing pT
``const_eta``      float32[]     constituent pseudorapidity
``const_phi``      float32[]     constituent azimuth
``const_e``        float32[]     constituent energy
=================  ============  ===============================================================

A JSON provenance record (config, seed, versions, commit) is stored next to the tree as the
string object ``provenance``. The file is written through :func:`hepdl.core.atomic.atomic_path`.

In memory a chunk of jets is an :class:`awkward.Array` of records with the fields above
(readers add ``source_file`` and ``source_entry`` so every jet can be traced back).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import awkward as ak
import numpy as np
import uproot

from hepdl.core.atomic import atomic_path

TREE = "jets"
JET_FIELDS = ("jet_pt", "jet_eta", "jet_phi", "jet_mass")
CONST_FIELDS = ("const_pt", "const_eta", "const_phi", "const_e")
BRANCHES = (*JET_FIELDS, "jet_nconst", "label", *CONST_FIELDS)


def _branch_types() -> dict[str, Any]:
    # a typed empty list (ak.Array([[]]) is `var * unknown`, which uproot writes as double[])
    empty = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(np.zeros(1, dtype=np.int64)),
                                                 ak.contents.NumpyArray(np.zeros(0, dtype=np.float32))))
    const = ak.zip({name.removeprefix("const_"): empty for name in CONST_FIELDS})
    types: dict[str, Any] = {name: "float32" for name in JET_FIELDS}
    types["label"] = "int32"
    types["const"] = const.type
    return types


def _as_tree_chunk(jets: ak.Array) -> dict[str, Any]:
    """Map a canonical record array onto the branch dict that ``TTree.extend`` takes."""
    missing = [name for name in (*JET_FIELDS, "label", *CONST_FIELDS) if name not in jets.fields]
    if missing:
        raise ValueError(f"jets chunk lacks fields {missing}")
    chunk: dict[str, Any] = {name: ak.to_numpy(jets[name]).astype(np.float32) for name in JET_FIELDS}
    chunk["label"] = ak.to_numpy(jets["label"]).astype(np.int32)
    chunk["const"] = ak.zip(
        {name.removeprefix("const_"): ak.values_astype(jets[name], np.float32) for name in CONST_FIELDS}
    )
    return chunk


def write_jets(path: str | os.PathLike, chunks: ak.Array | Iterable[ak.Array],
               provenance: dict[str, Any] | None = None) -> int:
    """Write canonical jets (one array or an iterable of chunks) to a ROOT TTree; return the count.

    ``jet_nconst`` is written as the counter of the jagged ``const_*`` branches, so it always
    equals their lengths. The file appears under ``path`` only once complete.
    """
    if isinstance(chunks, ak.Array):
        chunks = [chunks]
    n_written = 0
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as file:
            tree = file.mktree(
                TREE, _branch_types(), title="hepdl canonical jets",
                counter_name=lambda counted: "jet_nconst",
                field_name=lambda outer, inner: f"{outer}_{inner}",
            )
            for chunk in chunks:
                if len(chunk):
                    tree.extend(_as_tree_chunk(chunk))
                    n_written += len(chunk)
            file["provenance"] = json.dumps(provenance or {}, sort_keys=True, default=str)
    return n_written


def read_provenance(path: str | os.PathLike) -> dict[str, Any]:
    """The provenance record stored in a canonical jets file (empty if there is none)."""
    with uproot.open(path) as file:
        if "provenance" not in file:
            return {}
        return json.loads(str(file["provenance"]))
