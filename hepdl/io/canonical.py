"""From jets as read from a file (any format) to canonical jets: checks, kinematics, selection.

Readers (:mod:`hepdl.io.readers` for ROOT, :mod:`hepdl.io.toptagging_h5` for the public top-tagging
HDF5 files) hand over a :class:`RawJets`: per-jet arrays plus the constituents of all jets as
flat arrays with per-jet counts, in the kinematics convention of the file. :func:`canonicalise`
then, vectorised over all jets of the chunk:

1. keeps only jets whose label read from the file is in ``keep_labels`` (if set), then applies
   the fixed dataset label (which overrides the label read from the file);
2. checks every kinematic value for NaN / inf (``bad_values``: ``"error"`` raises naming file,
   branch and entry; ``"drop"`` drops the jet and counts it);
3. converts constituents to (pt, eta, phi, E) and, when the file has no jet branches, computes
   the jet four-momentum from ALL constituents (before any cap);
4. with ``leading``, keeps the highest-pT jet of each entry; then applies the jet cuts;
5. sorts constituents by decreasing pT (stable) and keeps the first ``max_constituents``.

Conventions (those of :mod:`hepdl.physics.kinematics`): GeV; eta = asinh(pz / pt); phi =
atan2(py, px) in (-pi, pi] (phi from a file is wrapped into that range), stored as float32 in
(-float32(pi), float32(pi)] (:func:`~hepdl.physics.kinematics.wrap_phi32`: a float64 phi that
rounds to -float32(pi) is stored as +float32(pi)); mass = sqrt(max(E^2 - |p|^2, 0)). A jet with
no constituents and no jet branches gets pt = eta = phi = mass = 0; such jets are passed through
and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import awkward as ak
import numba
import numpy as np

from hepdl.core.errors import InputFileError
from hepdl.physics.kinematics import (
    jet_four_momenta,
    pt_eta_phi_m,
    px_py_pz,
    wrap_phi,
    wrap_phi32,
)

CANONICAL_FIELDS = ("jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_nconst", "label",
                    "const_pt", "const_eta", "const_phi", "const_e",
                    "source_file", "source_entry", "source_jet")


@dataclass
class RawJets:
    """The jets of one chunk as read. ``n`` jets, ``c`` constituents of all of them together.

    ``counts``: int64 (n,) constituents per jet. ``const``: key -> float64 (c,) flat constituent
    values in jet order, keys from the file's convention (``pt, eta, phi, e`` / ``px, py, pz, e``
    / ``pt, eta, phi, mass``). ``jet``: ``pt, eta, phi, mass`` -> float64 (n,) or None (compute
    from constituents). ``label``: int64 (n,) read from the file, or None. ``names`` maps each
    key (``const.px``, ``jet.pt``, ``label``) to its branch / column name for messages.
    """

    file: str
    container: str
    kinematics: str
    counts: np.ndarray
    const: dict[str, np.ndarray]
    jet: dict[str, np.ndarray] | None
    label: np.ndarray | None
    source_entry: np.ndarray
    source_jet: np.ndarray
    names: dict[str, str]

    def __len__(self) -> int:
        return len(self.counts)

    def subset(self, keep: np.ndarray) -> RawJets:
        """The jets where the boolean (n,) mask ``keep`` is true."""
        if keep.all():
            return self
        const_keep = np.repeat(keep, self.counts)
        return replace(
            self, counts=self.counts[keep],
            const={k: v[const_keep] for k, v in self.const.items()},
            jet=None if self.jet is None else {k: v[keep] for k, v in self.jet.items()},
            label=None if self.label is None else self.label[keep],
            source_entry=self.source_entry[keep], source_jet=self.source_jet[keep])


@dataclass
class Selection:
    """What to keep and how (from the reader settings and the dataset)."""

    label: int | None = None
    keep_labels: list[int] | None = None
    leading: bool = False
    pt_min: float | None = None
    pt_max: float | None = None
    abs_eta_max: float | None = None
    max_constituents: int | None = None
    bad_values: str = "error"
    #: drop jets whose label read from the file is negative (no class: reader label_one_hot)
    drop_unlabelled: bool = False


@dataclass
class ReadStats:
    """Counts over a whole read, logged at its end."""

    entries: int = 0
    jets_read: int = 0
    jets_yielded: int = 0
    dropped_label: int = 0
    dropped_bad: int = 0
    dropped_not_leading: int = 0
    dropped_cuts: int = 0
    empty: int = 0
    #: layout event: events dropped for NaN / inf particles (bad_values drop), events without particles skipped
    dropped_bad_events: int = 0
    empty_events: int = 0
    bad_examples: list[str] = field(default_factory=list)


def entry_text(entries: np.ndarray) -> str:
    """``entry 7`` or ``entries 3-9 (4 entries)`` for the sorted unique values of ``entries``."""
    unique = np.unique(entries)
    if len(unique) == 1:
        return f"entry {unique[0]}"
    return f"entries {unique[0]}-{unique[-1]} ({len(unique)} entries)"


def _to_pt_eta_phi_e(raw: RawJets) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    c = raw.const
    if raw.kinematics == "pt_eta_phi_e":
        return c["pt"], c["eta"], wrap_phi(c["phi"]), c["e"]
    if raw.kinematics == "pt_eta_phi_m":
        e = np.sqrt((c["pt"] * np.cosh(c["eta"])) ** 2 + c["mass"] ** 2)
        return c["pt"], c["eta"], wrap_phi(c["phi"]), e
    pt, eta, phi, _ = pt_eta_phi_m(c["px"], c["py"], c["pz"], c["e"])
    return pt, eta, phi, c["e"]


def _jet_from_constituents(raw: RawJets, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray,
                           e: np.ndarray) -> dict[str, np.ndarray]:
    """Jet four-momentum summed over constituents; shapes (n,). Empty jets get zeros.

    Sums (px, py, pz, E) as given by the file when it gives them, else from (pt, eta, phi).
    """
    if raw.kinematics == "px_py_pz_e":
        cx, cy, cz = raw.const["px"], raw.const["py"], raw.const["pz"]
    else:
        cx, cy, cz = px_py_pz(pt, eta, phi)
    jet_pt, jet_eta, jet_phi, mass = pt_eta_phi_m(*jet_four_momenta(raw.counts, cx, cy, cz, e))
    jet_eta = np.where(raw.counts == 0, 0.0, jet_eta)
    return {"pt": jet_pt, "eta": jet_eta, "phi": jet_phi, "mass": mass}


def _check_finite(raw: RawJets, arrays: dict[str, np.ndarray], jet_id: np.ndarray,
                  what: dict[str, str], selection: Selection, stats: ReadStats) -> np.ndarray:
    """Boolean (n,) mask of jets whose ``arrays`` are all finite; raise if policy is error.

    ``arrays``: key -> per-jet (n,) or per-constituent (c,) values; ``what`` names each key.
    """
    n = len(raw)
    good = np.ones(n, dtype=bool)
    for key, values in arrays.items():
        finite = np.isfinite(values)
        if finite.all():
            continue
        if len(values) == n and not key.startswith("const"):
            bad_jets = ~finite
        else:
            bad_jets = np.bincount(jet_id[~finite], minlength=n) > 0
        entries = raw.source_entry[bad_jets]
        message = (f"{raw.file} ({raw.container}): NaN or inf in {what[key]} at "
                   f"{entry_text(entries)} ({int(bad_jets.sum())} jets)")
        if selection.bad_values == "error":
            raise InputFileError(message + "; fix the file or set bad_values to 'drop' to skip such jets")
        if len(stats.bad_examples) < 5:
            stats.bad_examples.append(message)
        good &= ~bad_jets
    return good


def canonicalise(raw: RawJets, selection: Selection, stats: ReadStats) -> ak.Array:
    """Canonical jets (record array, fields :data:`CANONICAL_FIELDS`) of one raw chunk."""
    # NaN / inf are looked for explicitly (bad_values); numpy need not warn about them
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return _canonicalise(raw, selection, stats)


def _canonicalise(raw: RawJets, selection: Selection, stats: ReadStats) -> ak.Array:
    stats.jets_read += len(raw)
    if selection.keep_labels is not None or (selection.drop_unlabelled and raw.label is not None):
        keep = raw.label >= 0 if selection.keep_labels is None else np.isin(raw.label, selection.keep_labels)
        stats.dropped_label += int((~keep).sum())
        raw = raw.subset(keep)

    jet_id = np.repeat(np.arange(len(raw)), raw.counts)
    inputs = {f"const.{k}": v for k, v in raw.const.items()}
    if raw.jet is not None:
        inputs.update({f"jet.{k}": v for k, v in raw.jet.items()})
    word = {"tree": "branch", "RNTuple": "field"}.get(raw.container.split(" ")[0], "column")
    what = {key: f"{word} '{raw.names[key]}'" for key in inputs}
    good = _check_finite(raw, inputs, jet_id, what, selection, stats)

    pt, eta, phi, e = _to_pt_eta_phi_e(raw)
    source = ", ".join(raw.names[f"const.{k}"] for k in raw.const)
    derived = {"const.pt": pt, "const.eta": eta, "const.phi": phi, "const.e": e}
    if raw.jet is None:
        jet = _jet_from_constituents(raw, pt, eta, phi, e)
        derived.update({f"jet.{k}": v for k, v in jet.items()})
    else:
        jet = {**raw.jet, "phi": wrap_phi(raw.jet["phi"])}
    derived_what = {key: f"{key.replace('.', ' ')} computed from {source}" for key in derived}
    good &= _check_finite(raw, derived, jet_id, derived_what, selection, stats)
    stats.dropped_bad += int((~good).sum())

    keep = good.copy()
    if selection.leading:
        # highest-pT good jet of each entry (ties: the first); entries are contiguous
        idx = np.flatnonzero(good)
        order = idx[np.lexsort((-jet["pt"][idx], raw.source_entry[idx]))]
        first = np.ones(len(order), dtype=bool)
        first[1:] = raw.source_entry[order][1:] != raw.source_entry[order][:-1]
        keep = np.zeros(len(raw), dtype=bool)
        keep[order[first]] = True
        stats.dropped_not_leading += int(good.sum() - keep.sum())
    passed = keep.copy()
    if selection.pt_min is not None:
        passed &= jet["pt"] >= selection.pt_min
    if selection.pt_max is not None:
        passed &= jet["pt"] < selection.pt_max
    if selection.abs_eta_max is not None:
        passed &= np.abs(jet["eta"]) < selection.abs_eta_max
    stats.dropped_cuts += int(keep.sum() - passed.sum())

    const_keep = np.repeat(passed, raw.counts)
    counts = raw.counts[passed]
    pt, eta, phi, e = pt[const_keep], eta[const_keep], phi[const_keep], e[const_keep]
    jet = {k: v[passed] for k, v in jet.items()}
    n = len(counts)

    # sort constituents by decreasing pT within each jet (stable), then cap
    jet_id = np.repeat(np.arange(n), counts)
    order = order_within_jets(counts, pt)
    if selection.max_constituents is not None:
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        rank = np.arange(len(order)) - offsets[jet_id]
        order = order[rank < selection.max_constituents]
        counts = np.minimum(counts, selection.max_constituents)
    stats.empty += int((counts == 0).sum())

    if selection.label is not None:
        label = np.full(n, selection.label, dtype=np.int32)
    else:
        label = raw.label[passed].astype(np.int32)
    stats.jets_yielded += n
    return build_jets(raw.file, jet, label, counts, pt[order], eta[order], phi[order], e[order],
                      raw.source_entry[passed], raw.source_jet[passed])


@numba.njit(cache=True, nogil=True)
def _order_within_jets(offsets: np.ndarray, pt: np.ndarray) -> np.ndarray:
    order = np.empty(len(pt), dtype=np.int64)
    for jet in range(len(offsets) - 1):
        start, stop = offsets[jet], offsets[jet + 1]
        order[start:stop] = start + np.argsort(-pt[start:stop], kind="mergesort")
    return order


def order_within_jets(counts: np.ndarray, pt: np.ndarray) -> np.ndarray:
    """Indices (int64, (c,)) that sort the constituents of each jet by decreasing ``pt``, stably
    (equal pT keep their order), jets kept in order: ``np.lexsort((-pt, jet_id))`` for constituents
    stored jet after jet (``counts`` (n,) per jet), computed jet by jet in compiled code (numba),
    ~10x faster than the global two-key sort."""
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return _order_within_jets(offsets, np.ascontiguousarray(pt, dtype=np.float64))


def _string_array(text: str, n: int) -> ak.Array:
    """An awkward array of ``n`` copies of ``text`` (built without a Python loop)."""
    data = text.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    content = np.frombuffer(data * n, dtype=np.uint8) if n and data else np.zeros(0, np.uint8)
    layout = ak.contents.ListOffsetArray(
        ak.index.Index64(offsets),
        ak.contents.NumpyArray(content, parameters={"__array__": "char"}),
        parameters={"__array__": "string"})
    return ak.Array(layout)


def build_jets(file: str, jet: dict[str, np.ndarray], label: np.ndarray, counts: np.ndarray,
               pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, e: np.ndarray,
               source_entry: np.ndarray, source_jet: np.ndarray) -> ak.Array:
    """Assemble the canonical record array (float32 kinematics, int32 counts and labels).

    Azimuths are stored with :func:`~hepdl.physics.kinematics.wrap_phi32`, in
    (-float32(pi), float32(pi)] whatever their range on input.
    """
    counts = np.asarray(counts, dtype=np.int64)

    def jagged(values: np.ndarray) -> ak.Array:
        return ak.unflatten(np.asarray(values, dtype=np.float32), counts)

    return ak.zip({
        "jet_pt": np.asarray(jet["pt"], dtype=np.float32),
        "jet_eta": np.asarray(jet["eta"], dtype=np.float32),
        "jet_phi": wrap_phi32(jet["phi"]),
        "jet_mass": np.asarray(jet["mass"], dtype=np.float32),
        "jet_nconst": counts.astype(np.int32),
        "label": np.asarray(label, dtype=np.int32),
        "const_pt": jagged(pt), "const_eta": jagged(eta), "const_phi": jagged(wrap_phi32(phi)), "const_e": jagged(e),
        "source_file": _string_array(file, len(counts)),
        "source_entry": np.asarray(source_entry, dtype=np.int64),
        "source_jet": np.asarray(source_jet, dtype=np.int32),
    }, depth_limit=1)


def empty_jets() -> ak.Array:
    """A canonical record array with no jets (right fields and types)."""
    zero = np.zeros(0)
    return build_jets("", {"pt": zero, "eta": zero, "phi": zero, "mass": zero}, zero, zero,
                      zero, zero, zero, zero, zero, zero)
