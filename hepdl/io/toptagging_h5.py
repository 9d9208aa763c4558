"""Reader of the public top-tagging reference dataset (Kasieczka et al., Zenodo 2603256).

Each file (``train.h5``, ``val.h5``, ``test.h5``) is a pandas HDFStore with key ``table``: one
row per jet, columns ``E_0 ... E_199``, ``PX_0 ... PX_199``, ``PY_0 ...``, ``PZ_0 ...`` (GeV; the
leading 200 constituents, pT-ordered, zero-padded), ``is_signal_new`` (1 top, 0 QCD) and
truth columns (``truthE``, ``truthPX``, ..., ``ttv``) that hepdl ignores. Both pandas layouts
are read: ``format="table"`` (only the needed columns are read) and ``format="fixed"`` (whole
rows). Either way rows are read in blocks whose size follows ``step_size``, so memory is
bounded by the block, not the file. Padding (constituents with E = 0) is dropped.

Untrusted files: PyTables unpickles every string attribute that looks like a pickle and every
"object" array it reads, so a crafted HDF5 file could run code when pandas opens it. Before pandas
sees a file, :func:`refuse_pickled_objects` scans it with h5py (which never unpickles) and refuses
object arrays and any pickled attribute that is more than plain lists / tuples / dicts / strings /
numbers (what pandas itself writes).
"""

from __future__ import annotations

import pickletools
import re
from collections.abc import Iterator

import numpy as np

from hepdl.core.errors import InputFileError
from hepdl.io.canonical import RawJets

KEY = "table"
LABEL_COLUMN = "is_signal_new"
FAMILIES = {"e": "E", "px": "PX", "py": "PY", "pz": "PZ"}
_COLUMN = re.compile(r"^(E|PX|PY|PZ)_([0-9]+)$")


def _constituent_columns(path: str, columns: list[str]) -> dict[str, list[str]]:
    """Family key -> columns ``E_0 ... E_{n-1}`` etc.; raises if any family lacks a column."""
    present = set(columns)
    indices = [int(m.group(2)) for m in map(_COLUMN.match, columns) if m]
    if not indices:
        raise InputFileError(f"{path} (key '{KEY}'): no constituent columns E_0, PX_0, PY_0, PZ_0 "
                             f"found; is this the top-tagging reference format? Columns: "
                             f"{', '.join(columns[:10])}{' ...' if len(columns) > 10 else ''}")
    n = max(indices) + 1
    wanted = {key: [f"{prefix}_{i}" for i in range(n)] for key, prefix in FAMILIES.items()}
    missing = [c for cols in wanted.values() for c in cols if c not in present]
    if missing:
        raise InputFileError(f"{path} (key '{KEY}'): missing columns {', '.join(missing[:8])}"
                             f"{' ...' if len(missing) > 8 else ''} ({len(missing)} in all); expected "
                             f"E_i, PX_i, PY_i, PZ_i for i = 0..{n - 1}")
    return wanted


#: pickle opcodes that build only plain data (no import, no call): what pandas writes
_PLAIN_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP", "PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET",
    "LONG_BINGET", "MEMOIZE", "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG",
    "LONG1", "LONG4", "FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES",
    "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
    "EMPTY_LIST", "APPEND", "APPENDS", "LIST", "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS", "EMPTY_SET", "ADDITEMS", "FROZENSET",
})


def refuse_pickled_objects(path: str) -> None:
    """Raise InputFileError if PyTables would unpickle anything but plain data from ``path``.

    Checks with h5py every node's attributes (PyTables unpickles a string attribute ending in
    ``.``) and every dataset marked ``PSEUDOATOM = object`` (a pickled-object array).
    """
    import h5py

    problems: list[str] = []

    def check(name: str, node) -> None:
        for key in node.attrs:
            try:
                value = node.attrs[key]
            except (OSError, TypeError, ValueError):
                continue  # unreadable by h5py: PyTables will fail on it too, without running anything
            if isinstance(value, (bytes, np.bytes_)) and bytes(value).endswith(b"."):
                try:
                    opcodes = {op.name for op, _, _ in pickletools.genops(bytes(value))}
                except Exception:
                    continue
                if not opcodes <= _PLAIN_OPCODES:
                    problems.append(f"attribute '{key}' of /{name}")
        if isinstance(node, h5py.Dataset) and node.attrs.get("PSEUDOATOM") == b"object":
            problems.append(f"dataset /{name} (pickled Python objects)")

    try:
        with h5py.File(path, "r") as h5:
            check("", h5)
            h5.visititems(check)
    except OSError as err:
        raise InputFileError(f"{path}: cannot open as an HDF5 file ({err})") from None
    if problems:
        raise InputFileError(f"{path}: refused: it holds pickled Python objects, which could run code when "
                             f"read ({'; '.join(problems[:3])}); rewrite the file with numeric columns only")


def iter_raw_toptagging(path: str, step_bytes: int, need_label: bool) -> Iterator[tuple[RawJets, int]]:
    """Yield (raw jets, rows read) blocks of one top-tagging HDF5 file."""
    import pandas as pd
    import tables

    refuse_pickled_objects(path)
    try:
        store = pd.HDFStore(path, mode="r")
    except (OSError, tables.HDF5ExtError, ValueError) as err:
        raise InputFileError(f"{path}: cannot open as an HDF5 file ({type(err).__name__}: {err})") from None
    with store:
        keys = [k.lstrip("/") for k in store.keys()]
        if KEY not in keys:
            raise InputFileError(f"{path}: no key '{KEY}' in this HDF5 file (keys: {', '.join(keys) or 'none'}); "
                                 f"expected the top-tagging reference format")
        try:
            storer = store.get_storer(KEY)
            is_table = storer.is_table
            n_rows = int(storer.nrows if is_table else storer.shape[0])
            columns = [str(c) for c in store.select(KEY, start=0, stop=0).columns]
        except Exception as err:
            raise InputFileError(f"{path} (key '{KEY}'): cannot read ({type(err).__name__}: {err})") from None
        wanted = _constituent_columns(path, columns)
        if need_label and LABEL_COLUMN not in columns:
            raise InputFileError(f"{path} (key '{KEY}'): missing column '{LABEL_COLUMN}' (the label); "
                                 f"set the dataset's `label` to give a fixed one")
        needed = [c for cols in wanted.values() for c in cols] + ([LABEL_COLUMN] if need_label else [])
        width = len(needed) if is_table else len(columns)
        rows = max(1, step_bytes // (8 * width))
        for start in range(0, n_rows, rows):
            stop = min(start + rows, n_rows)
            try:
                if is_table:
                    frame = store.select(KEY, columns=needed, start=start, stop=stop)
                else:
                    frame = store.select(KEY, start=start, stop=stop)[needed]
            except Exception as err:
                raise InputFileError(f"{path} (key '{KEY}'): cannot read rows {start}-{stop - 1} "
                                     f"({type(err).__name__}: {err})") from None
            yield _raw_block(path, frame, wanted, need_label, start), stop - start


def _raw_block(path: str, frame, wanted: dict[str, list[str]], need_label: bool, start: int) -> RawJets:
    blocks = {key: frame[cols].to_numpy(dtype=np.float64) for key, cols in wanted.items()}
    padding = blocks["e"] == 0
    real = ~padding
    counts = real.sum(axis=1).astype(np.int64)
    const = {key: block[real] for key, block in blocks.items()}  # row-major: jet order kept
    label = None
    if need_label:
        values = frame[LABEL_COLUMN].to_numpy()
        label = values.astype(np.int64)
        if not np.array_equal(label, values):
            raise InputFileError(f"{path} (key '{KEY}'): column '{LABEL_COLUMN}' holds non-integer "
                                 f"values; expected 0 (QCD) or 1 (top)")
    n = len(counts)
    names = {f"const.{k}": f"{FAMILIES[k]}_*" for k in FAMILIES} | {"label": LABEL_COLUMN}
    return RawJets(file=path, container=f"key '{KEY}'", kinematics="px_py_pz_e", counts=counts,
                   const=const, jet=None, label=label,
                   source_entry=np.arange(start, start + n, dtype=np.int64),
                   source_jet=np.zeros(n, dtype=np.int32), names=names)
