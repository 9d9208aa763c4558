"""The ``event`` layout: an event's particles, from one or more collections, clustered into jets.

Each entry is an event. The reader's ``particles`` list names the collections whose particles are
clustered together (Delphes ``EFlowTrack`` + ``EFlowPhoton`` + ``EFlowNeutralHadron``; stable
generator particles ``Particle`` with a status / pdgId selection; NanoAOD ``PFCands`` without
links). Per chunk of events, vectorised over all of them:

1. each collection's branches are read (jagged, one value per particle), its ``where``
   conditions applied, and its kinematics converted to (px, py, pz, E) [GeV]
   (:func:`hepdl.physics.kinematics.px_py_pz`; ``pt_eta_phi_m``: E = sqrt((pt cosh eta)^2 + m^2),
   the mass a branch or a fixed number); NaN / inf values stop the run naming the branch and
   entry (or, with ``bad_values: drop``, drop the whole event, counted in
   ``ReadStats.dropped_bad_events``);
2. the collections of each event are concatenated (in the order listed) and every event is
   clustered with the ``fastjet`` package (``fastjet.ClusterSequence`` on the awkward array of
   all events of the chunk: the loop over events runs in C++), ``clustering.algorithm``
   (anti-kt by default) with radius ``clustering.r`` and the E-scheme; the inclusive jets are
   kept, only down to ``cuts.pt_min`` (an exact shortcut: a jet below it is cut later anyway,
   and the leading jet of an event is above it whenever any jet is);
3. the jets of each event are sorted by decreasing pT; a jet's ``source_jet`` is its index in
   that order, its ``source_entry`` the event's entry; its constituents are its particles, in
   (px, py, pz, E), and its four-momentum is computed from all of them by
   :func:`hepdl.io.canonical.canonicalise` (the E-scheme sum, as FastJet's).

An event with no particle (after the ``where`` selections) stops the run naming the file, the
collections and the entries (``empty_events: error``), or yields no jet (``skip``).
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from hepdl.io.canonical import RawJets, ReadStats
from hepdl.io.chunk import Chunk
from hepdl.io.reader_config import KINEMATICS_KEYS
from hepdl.physics.kinematics import px_py_pz

#: fastjet's names of the clustering algorithms of ``clustering.algorithm``
ALGORITHMS = {"antikt": "antikt_algorithm", "kt": "kt_algorithm", "cambridge": "cambridge_algorithm"}


def event_branches(settings: dict[str, Any]) -> list[str]:
    """Every branch the particle collections read (kinematics and ``where`` branches), in order."""
    names: list[str] = []
    for collection in settings["particles"]:
        names += [collection[k] for k in KINEMATICS_KEYS[collection["kinematics"]] if isinstance(collection[k], str)]
        names += [condition["branch"] for condition in collection["where"]]
    return list(dict.fromkeys(names))


def _collection_name(collection: dict[str, Any]) -> str:
    """A short name of a collection for messages: its common branch prefix (``EFlowTrack``) or its branches."""
    branches = [collection[k] for k in KINEMATICS_KEYS[collection["kinematics"]] if isinstance(collection[k], str)]
    prefixes = {b.rsplit(".", 1)[0] if "." in b else b.rsplit("_", 1)[0] for b in branches}
    return prefixes.pop() if len(prefixes) == 1 else "+".join(branches)


def _particles(chunk: Chunk, collection: dict[str, Any], bad_values: str,
               bad_events: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-event particle counts (n_entries,) and flat float64 (px, py, pz, E) of one collection.

    Events with NaN / inf values are marked in ``bad_events`` (policy drop) or raise (error).
    """
    keys = KINEMATICS_KEYS[collection["kinematics"]]
    branches = {k: collection[k] for k in keys if isinstance(collection[k], str)}
    values = {k: chunk.get(b, (1,)) for k, b in branches.items()}
    conditions = [(c, chunk.get(c["branch"], (1,))) for c in collection["where"]]
    chunk.same_lengths({**{b: values[k] for k, b in branches.items()}, **{c["branch"]: v for c, v in conditions}},
                       1, "the branches of a particle collection need one value per particle")
    keep = None
    for condition, array in conditions:
        test = np.abs(array) if condition["abs"] else array
        passed = ak.values_astype(test, np.float64)
        flat = ak.to_numpy(ak.flatten(passed))
        mask = np.isin(flat, condition["in"]) if "in" in condition else ~np.isin(flat, condition["not_in"])
        mask = ak.unflatten(mask, ak.num(array, axis=1))
        keep = mask if keep is None else keep & mask
    if keep is not None:
        values = {k: v[keep] for k, v in values.items()}
    counts = ak.to_numpy(ak.num(values[keys[0]], axis=1)).astype(np.int64)
    flat = {k: ak.to_numpy(ak.flatten(v)).astype(np.float64) for k, v in values.items()}
    if "mass" in keys and "mass" not in flat:
        flat["mass"] = np.full(int(counts.sum()), float(collection["mass"]))
    event_of = None
    if not np.isfinite(sum(flat[k] for k in branches)).all():  # one pass; NaN / inf propagate through the sum
        event_of = np.repeat(np.arange(len(counts)), counts)
        for key, branch in branches.items():
            _check_finite(chunk, flat[key], event_of, f"{chunk.word} '{branch}'", bad_values, bad_events)

    kinematics = collection["kinematics"]
    with np.errstate(over="ignore", invalid="ignore"):
        if kinematics == "px_py_pz_e":
            p4 = [flat["px"], flat["py"], flat["pz"], flat["e"]]
        else:
            px, py, pz = px_py_pz(flat["pt"], flat["eta"], flat["phi"])
            if kinematics == "pt_eta_phi_e":
                energy = flat["e"]
            else:
                energy = np.sqrt((flat["pt"] * np.cosh(flat["eta"])) ** 2 + flat["mass"] ** 2)
            p4 = [px, py, pz, energy]
    if not np.isfinite(p4[0] + p4[1] + p4[2] + p4[3]).all():  # e.g. sinh(eta) overflowing for |eta| > 710
        event_of = np.repeat(np.arange(len(counts)), counts) if event_of is None else event_of
        source = ", ".join(branches.values())
        for name, value in zip(("px", "py", "pz", "E"), p4, strict=True):
            _check_finite(chunk, value, event_of, f"{name} computed from {source}", bad_values, bad_events)
    return counts, p4


def _concatenate(parts: list[tuple[np.ndarray, list[np.ndarray]]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-event counts and flat (px, py, pz, E) of the collections' particles together, each
    event's particles in the order of the collections listed (a numpy scatter, no Python loop over events)."""
    if len(parts) == 1:
        return parts[0]
    counts = np.sum([c for c, _ in parts], axis=0).astype(np.int64)
    event_start = np.cumsum(counts) - counts
    before = np.zeros_like(counts)  # particles of the earlier collections in each event
    p4 = [np.empty(int(counts.sum())) for _ in range(4)]
    for part_counts, part_p4 in parts:
        part_start = np.cumsum(part_counts) - part_counts
        target = np.repeat(event_start + before - part_start, part_counts) + np.arange(int(part_counts.sum()))
        for i in range(4):
            p4[i][target] = part_p4[i]
        before += part_counts
    return counts, p4


def _check_finite(chunk: Chunk, values: np.ndarray, event_of: np.ndarray, what: str, bad_values: str,
                  bad_events: np.ndarray) -> None:
    finite = np.isfinite(values)
    if finite.all():
        return
    events = np.unique(event_of[~finite])
    if bad_values == "error":
        raise chunk.fail(f"NaN or inf in {what} ({len(events)} events); fix the file or set bad_values to "
                         f"'drop' to skip such events", events)
    bad_events[events] = True


def _cluster(counts: np.ndarray, p4: list[np.ndarray], algorithm: str, r: float, pt_min: float):
    """Inclusive jets of every event: (jets per event, jet px, jet py, constituent counts per jet,
    constituent indices into the event's particles), jets in fastjet's order."""
    import fastjet  # heavy import (prints the FastJet banner once)

    offsets = np.concatenate([[0], np.cumsum(counts)])
    content = ak.contents.RecordArray([ak.contents.NumpyArray(np.ascontiguousarray(x)) for x in p4],
                                      ["px", "py", "pz", "E"])
    events = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), content))
    definition = fastjet.JetDefinition(getattr(fastjet, ALGORITHMS[algorithm]), float(r), fastjet.E_scheme)
    sequence = fastjet.ClusterSequence(events, definition)
    jets = sequence.inclusive_jets(min_pt=pt_min)
    index = sequence.constituent_index(min_pt=pt_min)
    n_jets = ak.to_numpy(ak.num(jets, axis=1)).astype(np.int64)
    flat_jets = ak.flatten(jets)
    jet_px = ak.to_numpy(flat_jets["px"]).astype(np.float64)
    jet_py = ak.to_numpy(flat_jets["py"]).astype(np.float64)
    const_counts = ak.to_numpy(ak.flatten(ak.num(index, axis=2))).astype(np.int64)
    const_index = ak.to_numpy(ak.flatten(index, axis=None)).astype(np.int64)
    return n_jets, jet_px, jet_py, const_counts, const_index


def raw_event_chunk(chunk: Chunk, settings: dict[str, Any], label: np.ndarray | None, bad_values: str,
                    stats: ReadStats) -> RawJets:
    """The clustered jets of one chunk of events. ``label``: int64 per event (n_entries,) or None."""
    n_entries = len(chunk)
    bad_events = np.zeros(n_entries, dtype=bool)
    parts = [_particles(chunk, collection, bad_values, bad_events) for collection in settings["particles"]]
    counts, p4 = _concatenate(parts)
    if bad_events.any():  # policy drop: those events' particles are removed, the events counted
        stats.dropped_bad_events += int(bad_events.sum())
        keep_particle = np.repeat(~bad_events, counts)
        p4 = [x[keep_particle] for x in p4]
        counts = np.where(bad_events, 0, counts)
    empty = (counts == 0) & ~bad_events
    if empty.any():
        names = ", ".join(_collection_name(c) for c in settings["particles"])
        if settings["empty_events"] == "error":
            raise chunk.fail(f"no particles in the collections {names} (after their `where` selections) "
                             f"in {int(empty.sum())} events; an event needs at least one particle "
                             f"(check the collection names and selections, or set the reader's empty_events: skip)",
                             np.flatnonzero(empty))
        stats.empty_events += int(empty.sum())

    cuts_pt_min = settings["cuts"]["pt_min"]
    pt_min = 0.0 if cuts_pt_min is None else float(cuts_pt_min) * (1.0 - 1e-9)
    clustering = settings["clustering"]
    n_jets, jet_px, jet_py, const_counts, const_index = _cluster(counts, p4, clustering["algorithm"],
                                                                  clustering["r"], pt_min)
    # jets of each event by decreasing pT (stable), as source_jet numbers them
    event_of_jet = np.repeat(np.arange(n_entries), n_jets)
    order = np.lexsort((-np.hypot(jet_px, jet_py), event_of_jet))
    jet_starts = np.concatenate([[0], np.cumsum(const_counts)[:-1]]).astype(np.int64)
    new_counts = const_counts[order]
    new_starts = np.concatenate([[0], np.cumsum(new_counts)[:-1]]).astype(np.int64)
    gather = np.repeat(jet_starts[order] - new_starts, new_counts) + np.arange(int(new_counts.sum()))
    particle_offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    global_index = (const_index + np.repeat(particle_offsets[event_of_jet], const_counts))[gather]
    event_of_jet = event_of_jet[order]
    jet_offsets = np.cumsum(n_jets) - n_jets
    source_jet = (np.arange(len(order)) - np.repeat(jet_offsets, n_jets)).astype(np.int32)

    names = ", ".join(_collection_name(c) for c in settings["particles"])
    return RawJets(
        file=chunk.path, container=chunk.where, kinematics="px_py_pz_e", counts=new_counts,
        const={k: x[global_index] for k, x in zip(("px", "py", "pz", "e"), p4, strict=True)}, jet=None,
        label=None if label is None else label[event_of_jet],
        source_entry=chunk.entry_start + event_of_jet, source_jet=source_jet,
        names={f"const.{k}": f"{k} of the particles of {names}" for k in ("px", "py", "pz", "e")}
        | {"label": settings["label_branch"] or "label"})
