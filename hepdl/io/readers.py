"""Read jets from ROOT and HDF5 files into canonical awkward arrays, in bounded chunks.

:func:`iter_jets` streams canonical jets (see :mod:`hepdl.io.jets_file` and
:data:`hepdl.io.canonical.CANONICAL_FIELDS`) from hepdl's own files or from a user's files
mapped by a ``reader`` block (:mod:`hepdl.io.reader_config`; docs/your-own-data.md). Files are
read chunk by chunk with ``iterate(step_size=...)`` (ROOT) or row blocks (HDF5), so memory
follows ``step_size``, not the file size. A ROOT file's ``tree`` may be a TTree or an RNTuple
(ROOT's successor to TTree): the reader takes whichever the file holds, and the same mapping
gives the same jets from either. Paths may be local or ``root://`` URLs (:mod:`hepdl.io.paths`).
Four ROOT layouts are understood:

``jet_per_entry``
    one jet per entry; constituent branches jagged (one list per entry), jet branches flat.
``nested``
    several jets per entry; jet branches jagged (one value per jet), constituent branches
    doubly jagged (one list per jet).
``linked``
    several jets per entry (NanoAOD style): a jet collection (``FatJet_pt[nFatJet]``), a
    candidate collection (``PFCand_pt[nPFCand]``) and a link collection whose elements pair a
    jet index with a candidate index (``FatJetPFCands_jetIdx``, ``FatJetPFCands_pFCandsIdx``).
    The candidates of each jet are gathered with awkward/numpy, without a loop over jets.
``event``
    one event per entry: its particles, from one or more collections, are clustered into jets
    with FastJet (:mod:`hepdl.io.event_layout`).

Every user-caused problem raises :class:`~hepdl.core.errors.InputFileError` naming the file, the
tree and branch (or HDF5 key and column) and, for bad values, the entry range.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.config import parse_size
from hepdl.core.errors import HepdlError, InputFileError
from hepdl.io.canonical import RawJets, ReadStats, Selection, canonicalise, empty_jets, entry_text
from hepdl.io.chunk import Chunk, list_depth
from hepdl.io.event_layout import event_branches, raw_event_chunk
from hepdl.io.paths import configure_xrootd, expand_files, is_remote
from hepdl.io.reader_config import constituent_branches, reader_settings
from hepdl.io.toptagging_h5 import iter_raw_toptagging

log = logging.getLogger("hepdl.io.readers")

ROOT_MAGIC = b"root"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: uproot's class names of the two kinds of ROOT tables hepdl reads, and their names in messages
TABLE_CLASSES = {"TTree": "tree", "ROOT::RNTuple": "RNTuple"}

_Chunk = Chunk  # the name under which tests know it
__all__ = ["expand_files", "iter_jets", "read_jets"]


def _magic(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except OSError as err:
        raise InputFileError(f"cannot read input file {path}: {err.strerror}") from None


def _open_root(path: str):
    """``uproot.open`` of a local file or a ``root://`` URL; one clear message if it fails."""
    import uproot

    if is_remote(path):
        configure_xrootd()
        try:  # uproot's own XRootD source: through fsspec-xrootd 0.5.5 + xrootd 6, reading basket
            # metadata fails (numpy integers as read offsets: "integer argument expected for offset")
            return uproot.open(path, handler=uproot.source.xrootd.XRootDSource)
        except Exception as err:
            raise InputFileError(f"{path}: cannot open the remote file: server unreachable, file missing or "
                                 f"not ROOT? ({type(err).__name__}: {' '.join(str(err).split())})") from None
    head = _magic(path)
    if not head.startswith(ROOT_MAGIC):
        hint = " (it is an HDF5 file: set reader format: toptagging_h5?)" if head == HDF5_MAGIC else ""
        raise InputFileError(f"{path} is not a ROOT file{hint}")
    try:
        return uproot.open(path)
    except Exception as err:
        raise InputFileError(f"{path}: cannot read the ROOT file, truncated or corrupt? "
                             f"({type(err).__name__}: {err})") from None


def _open_tree(path: str, tree_name: str):
    """(file, table, container) of the TTree or RNTuple ``tree_name``; container names it in messages."""
    file = _open_root(path)
    try:
        classnames = file.classnames(cycle=False)
    except Exception as err:
        file.close()
        raise InputFileError(f"{path}: cannot read the ROOT file, truncated or corrupt? "
                             f"({type(err).__name__}: {err})") from None
    tables = sorted(k for k, c in classnames.items() if c in TABLE_CLASSES)
    if classnames.get(tree_name) not in TABLE_CLASSES:
        file.close()
        what = f"'{tree_name}' is a {classnames[tree_name]}, not a TTree or RNTuple" if tree_name in classnames \
            else f"no tree '{tree_name}'"
        raise InputFileError(f"{path}: {what} (trees in the file: {', '.join(tables) or 'none'}); "
                             f"set the reader's `tree`")
    container = f"{TABLE_CLASSES[classnames[tree_name]]} '{tree_name}'"
    try:
        tree = file[tree_name]
    except Exception as err:
        file.close()
        raise InputFileError(f"{path}: cannot read {container}, truncated or corrupt? "
                             f"({type(err).__name__}: {err})") from None
    return file, tree, container


def _available(tree) -> set[str]:
    """Names a reader may refer to: every branch, by full path and by its own name (TTree), or
    every field path (RNTuple)."""
    names = set(tree.keys())
    if hasattr(tree, "branches"):  # a TTree: nested branches (Delphes' EFlowTrack.PT) also by their own name
        names |= set(tree.keys(full_paths=False))
    return names


def _check_branches(path: str, container: str, tree, names: list[str]) -> None:
    available = _available(tree)
    word = "field" if container.startswith("RNTuple") else "branch"
    for name in names:
        if name not in available:
            by_lower: dict[str, list[str]] = {}
            for branch in sorted(available):
                by_lower.setdefault(branch.lower(), []).append(branch)
            close = [b for low in difflib.get_close_matches(name.lower(), list(by_lower), n=5, cutoff=0.6)
                     for b in by_lower[low]]
            hint = f"; close matches: {', '.join(close)}" if close else "; no close match"
            collections = sorted({b.split("/")[-1].split(".")[0] for b in available if "." in b.split("/")[-1]})
            if not close and "." in name and collections:  # Delphes-style names: say which collections exist
                hint += f" (collections in the file: {', '.join(collections)})"
            raise InputFileError(f"{path} ({container}): no {word} '{name}'{hint}")


def _flat(array: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.ravel(array)).astype(np.float64)


def label_branch_names(settings: dict[str, Any]) -> list[str]:
    """The branches labels are read from: ``label_one_hot``'s, else ``label_branch``."""
    one_hot = settings["label_one_hot"]
    return list(one_hot) if one_hot is not None else [settings["label_branch"]]


def _label_values(chunk: Chunk, settings: dict[str, Any], depths: tuple[int, ...]) -> ak.Array:
    """Labels as read (one per entry, or a list per entry): the ``label_branch`` values, or for
    ``label_one_hot`` the label of the one listed branch that is set (-1 where none is)."""
    one_hot = settings["label_one_hot"]
    if one_hot is None:
        return ak.Array(chunk.get(settings["label_branch"], depths, integer=True))
    arrays = {branch: chunk.get(branch, depths) for branch in one_hot}
    first = next(iter(arrays.values()))
    depth = list_depth(first)[0]
    if depth:
        chunk.same_lengths(arrays, 1, "one-hot label branches need one value per jet")
    is_set = {branch: ak.to_numpy(ak.ravel(array)) != 0 for branch, array in arrays.items()}
    n_set = np.sum(list(is_set.values()), axis=0)
    if (n_set > 1).any():
        entry_of = np.repeat(np.arange(len(first)), ak.to_numpy(ak.num(first, axis=1))) if depth \
            else np.arange(len(first))
        raise chunk.fail(f"more than one of the one-hot label {chunk.words} {', '.join(one_hot)} is set",
                         np.unique(entry_of[n_set > 1]))
    label = np.full(len(n_set), -1, dtype=np.int64)
    for branch, flags in is_set.items():
        label[flags] = one_hot[branch]
    return ak.unflatten(label, ak.num(first, axis=1)) if depth else ak.Array(label)


def _raw_root_chunk(chunk: Chunk, settings: dict[str, Any], need_label: bool, bad_values: str = "error",
                    stats: ReadStats | None = None) -> RawJets:
    layout = settings["layout"]
    n_entries = len(chunk.arrays)
    entries = chunk.entry_start + np.arange(n_entries, dtype=np.int64)
    if layout == "event":
        label = ak.to_numpy(_label_values(chunk, settings, (0,))).astype(np.int64) if need_label else None
        return raw_event_chunk(chunk, settings, label, bad_values, ReadStats() if stats is None else stats)
    const_names = constituent_branches(settings)
    jet_names = settings["jet"]
    names = {f"const.{k}": b for k, b in const_names.items()}
    if jet_names is not None:
        names.update({f"jet.{k}": b for k, b in jet_names.items()})
    if need_label:
        names["label"] = "/".join(label_branch_names(settings))

    if layout == "jet_per_entry":
        const = {k: chunk.get(b, (1,)) for k, b in const_names.items()}
        chunk.same_lengths({const_names[k]: v for k, v in const.items()}, 1,
                           "constituent branches need one value per constituent")
        counts = ak.to_numpy(ak.num(const[next(iter(const))], axis=1)).astype(np.int64)
        jet = None if jet_names is None else {k: _flat(chunk.get(b, (0,))) for k, b in jet_names.items()}
        label = None if not need_label else ak.to_numpy(_label_values(chunk, settings, (0,)))
        source_entry, source_jet = entries, np.zeros(n_entries, dtype=np.int32)
    else:
        jet_arrays = None if jet_names is None else {k: chunk.get(b, (1,)) for k, b in jet_names.items()}
        if jet_arrays is not None:
            chunk.same_lengths({jet_names[k]: v for k, v in jet_arrays.items()}, 1,
                               "jet branches need one value per jet")
        if layout == "nested":
            nested = {k: chunk.get(b, (2,)) for k, b in const_names.items()}
            by_branch = {const_names[k]: v for k, v in nested.items()}
            chunk.same_lengths(by_branch, 1, "constituent branches need one list per jet")
            chunk.same_lengths(by_branch, 2, "constituent branches need one value per constituent")
            if jet_arrays is not None:
                first = next(iter(jet_names))
                chunk.same_lengths({jet_names[first]: jet_arrays[first],
                                    next(iter(by_branch)): nested[next(iter(nested))]}, 1,
                                   "jet and constituent branches need one entry per jet")
            n_jets = ak.to_numpy(ak.num(nested[next(iter(nested))], axis=1)).astype(np.int64)
            const = {k: ak.flatten(v, axis=1) for k, v in nested.items()}
            counts = ak.to_numpy(ak.num(const[next(iter(const))], axis=1)).astype(np.int64)
        else:
            n_jets_known, jet_branch = None, None
            if jet_arrays is not None:
                jet_branch = jet_names[next(iter(jet_names))]
                n_jets_known = ak.to_numpy(ak.num(jet_arrays[next(iter(jet_arrays))], axis=1)).astype(np.int64)
            const, counts, n_jets = _gather_linked(chunk, settings, const_names, n_jets_known, jet_branch)
        jet = None if jet_arrays is None else {k: _flat(v) for k, v in jet_arrays.items()}
        label = None
        if need_label:
            label_array = _label_values(chunk, settings, (0, 1))
            if list_depth(label_array)[0] == 0:
                label = np.repeat(ak.to_numpy(label_array), n_jets)
            else:
                n = ak.to_numpy(ak.num(label_array, axis=1))
                if (n != n_jets).any():
                    raise InputFileError(
                        f"{chunk.path} ({chunk.where}): label {chunk.word} '{names['label']}' has a "
                        f"different number of values than jets at "
                        f"{entry_text(chunk.entry_start + np.flatnonzero(n != n_jets))}")
                label = ak.to_numpy(ak.flatten(label_array))
        source_entry = np.repeat(entries, n_jets)
        starts = np.cumsum(n_jets) - n_jets
        source_jet = (np.arange(int(n_jets.sum())) - np.repeat(starts, n_jets)).astype(np.int32)

    const_flat = {k: _flat(v) for k, v in const.items()}
    return RawJets(file=chunk.path, container=chunk.where, kinematics=settings["constituents"]["kinematics"],
                   counts=counts, const=const_flat, jet=jet,
                   label=None if label is None else np.asarray(label).astype(np.int64),
                   source_entry=source_entry, source_jet=source_jet, names=names)


def _gather_linked(chunk: Chunk, settings: dict[str, Any], const_names: dict[str, str],
                   n_jets: np.ndarray | None, jet_branch: str | None):
    """Constituents per jet from a candidate collection and a (jet index, candidate index) link.

    ``n_jets``: jets per entry (n_entries,) from the jet collection (branch ``jet_branch``), or
    None (then max(jet index) + 1). Returns (key -> jagged per-jet array, counts (n_jets_total,), n_jets).
    """
    link = settings["constituents"]["link"]
    candidates = {k: chunk.get(b, (1,)) for k, b in const_names.items()}
    chunk.same_lengths({const_names[k]: v for k, v in candidates.items()}, 1,
                       "candidate branches need one value per candidate")
    jet_index = chunk.get(link["jet_index"], (1,), integer=True)
    cand_index = chunk.get(link["candidate_index"], (1,), integer=True)
    chunk.same_lengths({link["jet_index"]: jet_index, link["candidate_index"]: cand_index}, 1,
                       "link branches need one value per (jet, candidate) pair")
    jet_index = ak.values_astype(jet_index, np.int64)
    cand_index = ak.values_astype(cand_index, np.int64)
    n_cand = ak.num(candidates[next(iter(candidates))], axis=1)
    bad = ak.to_numpy(ak.any((cand_index < 0) | (cand_index >= n_cand), axis=1))
    if bad.any():
        raise InputFileError(
            f"{chunk.path} ({chunk.where}): link branch '{link['candidate_index']}' points past the end "
            f"of the candidate collection ('{const_names[next(iter(const_names))]}') at "
            f"{entry_text(chunk.entry_start + np.flatnonzero(bad))}")
    bad = ak.to_numpy(ak.any(jet_index < 0, axis=1))
    if n_jets is not None:
        bad |= ak.to_numpy(ak.any(jet_index >= n_jets, axis=1))
    if bad.any():
        of = f" of the jet collection ('{jet_branch}')" if n_jets is not None else ""
        raise InputFileError(f"{chunk.path} ({chunk.where}): link branch '{link['jet_index']}' points "
                             f"past the end{of} or is negative at "
                             f"{entry_text(chunk.entry_start + np.flatnonzero(bad))}")
    # sort the links of each entry by jet index (stable: candidate order kept within a jet)
    order = ak.argsort(jet_index, axis=1, stable=True)
    jet_index, cand_index = jet_index[order], cand_index[order]
    n_links = ak.to_numpy(ak.num(jet_index, axis=1))
    if n_jets is None:
        n_jets = ak.to_numpy(ak.fill_none(ak.max(jet_index, axis=1), -1)).astype(np.int64) + 1
    jet_offsets = np.cumsum(n_jets) - n_jets
    global_jet = np.repeat(jet_offsets, n_links) + ak.to_numpy(ak.flatten(jet_index))
    counts = np.bincount(global_jet, minlength=int(n_jets.sum())).astype(np.int64)
    const = {k: ak.unflatten(ak.flatten(v[cand_index]), counts) for k, v in candidates.items()}
    return const, counts, n_jets


def _root_branches(settings: dict[str, Any], need_label: bool) -> list[str]:
    """Every branch a ROOT reader mapping reads, in order, without repeats."""
    if settings["layout"] == "event":
        branches = event_branches(settings)
    else:
        branches = list(constituent_branches(settings).values())
        if settings["jet"] is not None:
            branches += list(settings["jet"].values())
        if settings["layout"] == "linked":
            branches += list(settings["constituents"]["link"].values())
    if need_label:
        branches += label_branch_names(settings)
    return list(dict.fromkeys(branches))


def _iter_raw_root(path: str, settings: dict[str, Any], step_size: int, need_label: bool,
                   stats: ReadStats, bad_values: str = "error") -> Iterator[RawJets]:
    file, tree, container = _open_tree(path, settings["tree"])
    with file:
        branches = _root_branches(settings, need_label)
        _check_branches(path, container, tree, branches)
        try:  # uproot takes an int step_size as entries: turn the byte budget into entries
            entries_per_step = max(1, int(tree.num_entries_for(step_size, filter_name=branches)))
        except Exception as err:
            raise InputFileError(f"{path} ({container}): cannot read the metadata of {', '.join(branches)}, "
                                 f"truncated or corrupt? ({type(err).__name__}: {err})") from None
        iterator = tree.iterate(filter_name=branches, step_size=entries_per_step, library="ak", report=True)
        while True:
            try:
                arrays, report = next(iterator)
            except StopIteration:
                return
            except HepdlError:
                raise
            except Exception as err:
                raise InputFileError(f"{path} ({container}): cannot read {', '.join(branches)}, truncated "
                                     f"or corrupt? ({type(err).__name__}: {err})") from None
            stats.entries += len(arrays)
            if len(arrays):
                raw = _raw_root_chunk(Chunk(path, container, arrays, int(report.tree_entry_start)),
                                      settings, need_label, bad_values, stats)
                del arrays  # not held while the consumer works and the next chunk is read
                yield raw
                del raw


def _iter_raw_h5(path: str, step_bytes: int, need_label: bool, stats: ReadStats) -> Iterator[RawJets]:
    if is_remote(path):
        raise InputFileError(f"{path}: format toptagging_h5 reads local files only; copy the file first "
                             f"(xrdcp {path} .)")
    if _magic(path) != HDF5_MAGIC:
        raise InputFileError(f"{path} is not an HDF5 file (the reader format is toptagging_h5)")
    for raw, n_rows in iter_raw_toptagging(path, step_bytes, need_label):
        stats.entries += n_rows
        yield raw


def iter_jets(files: str | os.PathLike | Sequence[str | os.PathLike], reader: dict[str, Any] | None = None,
              label: int | None = None, step_size: str | int = "50 MB", max_constituents: int | None = None,
              bad_values: str = "error", stats: ReadStats | None = None) -> Iterator[ak.Array]:
    """Stream canonical jets from ROOT / HDF5 files, one bounded chunk at a time.

    ``files``: a path, a list of paths, or glob patterns (each expanded and sorted).
    ``reader``: the mapping (:mod:`hepdl.io.reader_config`); None reads hepdl's canonical files.
    ``label``: fixed class label of every jet (overrides a label branch). ``step_size``: input
    read per chunk (``"50 MB"``, or bytes). ``max_constituents``: keep at most this many
    constituents per jet (the highest-pT ones; jet kinematics computed from constituents use all
    of them). ``bad_values``: ``"error"`` or ``"drop"`` for jets with NaN / inf kinematics.

    Yields awkward record arrays of n jets with fields jet_pt, jet_eta, jet_phi, jet_mass
    (float32, GeV), jet_nconst, label (int32), const_pt, const_eta, const_phi, const_e (float32,
    n * var, sorted by decreasing pT), source_file (str), source_entry (int64), source_jet (int32).
    Chunks empty after selection are skipped. A summary (jets read, dropped, empty) is logged;
    pass ``stats`` (a :class:`~hepdl.io.canonical.ReadStats`) to get the counts themselves.
    """
    if bad_values not in ("error", "drop"):
        raise HepdlError(f"bad_values must be 'error' or 'drop', got '{bad_values}'")
    if max_constituents is not None and max_constituents < 1:
        raise HepdlError(f"max_constituents must be at least 1, got {max_constituents}")
    settings = reader_settings(reader)
    step_bytes = parse_size(step_size)
    paths = expand_files(files)
    if label is None and settings["format"] == "root" and settings["label_branch"] is None \
            and settings["label_one_hot"] is None:
        raise HepdlError("no label for these jets: set the dataset's `label` or the reader's `label_branch` "
                         "(or `label_one_hot`)")
    need_label = label is None or settings["keep_labels"] is not None
    labels_from_branches = settings["label_branch"] is not None or settings["label_one_hot"] is not None
    if settings["format"] == "root" and need_label and not labels_from_branches:
        raise HepdlError("reader keep_labels needs a label_branch (or label_one_hot) to read labels from")
    cuts = settings["cuts"]
    selection = Selection(label=label, keep_labels=settings["keep_labels"],
                          leading=settings["format"] == "root" and settings["layout"] != "jet_per_entry"
                          and settings["jets_per_event"] == "leading",
                          pt_min=cuts["pt_min"], pt_max=cuts["pt_max"], abs_eta_max=cuts["abs_eta_max"],
                          max_constituents=max_constituents, bad_values=bad_values,
                          drop_unlabelled=settings["format"] == "root" and settings["label_one_hot"] is not None)
    stats = ReadStats() if stats is None else stats
    for path in paths:
        if settings["format"] == "toptagging_h5":
            raws = _iter_raw_h5(path, step_bytes, need_label, stats)
        else:
            raws = _iter_raw_root(path, settings, step_bytes, need_label, stats, bad_values)
        for raw in raws:
            jets = canonicalise(raw, selection, stats)
            del raw  # memory: hold one chunk at a time, never this one while the next is read
            if len(jets):
                yield jets
            del jets
    _log_summary(paths, stats, bad_values)


def _log_summary(paths: list[str], stats: ReadStats, bad_values: str) -> None:
    log.info("read %d jets from %d entries of %d file(s); yielded %d (dropped: %d by keep_labels, "
             "%d with NaN/inf, %d not leading, %d by cuts); %d jets with zero constituents passed through",
             stats.jets_read, stats.entries, len(paths), stats.jets_yielded, stats.dropped_label,
             stats.dropped_bad, stats.dropped_not_leading, stats.dropped_cuts, stats.empty)
    if stats.dropped_bad_events or stats.empty_events:
        log.info("layout event: dropped %d events with NaN/inf particles, skipped %d events without particles",
                 stats.dropped_bad_events, stats.empty_events)
    if stats.dropped_bad:
        log.warning("dropped %d jets with NaN/inf kinematics (bad_values=%s), e.g. %s",
                    stats.dropped_bad, bad_values, "; ".join(stats.bad_examples))


def read_jets(files: str | os.PathLike | Sequence[str | os.PathLike], reader: dict[str, Any] | None = None,
              label: int | None = None, step_size: str | int = "50 MB", max_constituents: int | None = None,
              bad_values: str = "error") -> ak.Array:
    """All jets of :func:`iter_jets` concatenated into one canonical array (for notebooks, tests)."""
    chunks = list(iter_jets(files, reader=reader, label=label, step_size=step_size,
                            max_constituents=max_constituents, bad_values=bad_values))
    return ak.concatenate(chunks) if chunks else empty_jets()
