"""Read a Pythia 8 event record in bulk: the visible final-state particles as arrays, no Python loop.

``pythia8mc`` exposes the event record particle by particle; every access is a call through
pybind11 (about a microsecond, and an event holds ~1000 entries). Its batch interface
(``Pythia.nextBatch``) converts every entry of every field to awkward and costs ~40 % of
``next()``. This module instead reads the record where it lies: ``Pythia8::Event`` keeps its
entries in a ``std::vector<Pythia8::Particle>``, one contiguous array of fixed-size records, so
a numba function can walk it directly.

Nothing about that memory is assumed: :class:`EventRecordReader` *discovers* it from an event and
checks it against pythia8mc's own accessors before it is used, and refuses (``None``) otherwise:

* the address of each object is taken from its pybind11 wrapper (the value pointer that follows
  the Python object header); ``event[i]`` returns a reference into the vector, so the addresses
  of ``event[0]``, ``event[1]`` and ``event[n - 1]`` give the array start and the record size
  (the stride), which must be consistent;
* the ``Event`` object must hold the vector's (begin, end) pair pointing at that array
  (re-read for every event: the vector may grow and move; its length must equal
  ``Event.size()`` before any record is read);
* the byte offsets of ``id``, ``status``, ``mother1``, ``daughter1``, ``daughter2`` (int32) and
  ``px, py, pz, e`` (float64) within a record are the unique offsets at which *every* entry of
  the event equals what the accessors return;
* visibility follows ``ParticleData.isVisible`` per |id| (neutrinos and the other invisible
  species listed in the particle data), final state is ``status > 0``; the selection of the
  whole event must equal ``Particle.isFinal() and Particle.isVisible()`` entry by entry, and the
  top decay partons (:meth:`EventRecordReader.top_partons`) those of
  :func:`hepdl.generation.truth.hadronic_top_partons`.

After that, every event is read through the same layout. ``tests/test_pythia_record.py`` compares
the arrays with the accessors over many events of both processes.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from hepdl.generation.truth import hadronic_top_partons, top_partons_from_record

log = logging.getLogger("hepdl.generation.pythia_record")

#: fields read from each record: name -> numpy dtype
FIELDS = {"id": np.int32, "status": np.int32, "mother1": np.int32, "daughter1": np.int32, "daughter2": np.int32,
          "px": np.float64, "py": np.float64, "pz": np.float64, "e": np.float64}
MAX_EVENT_WORDS = 16  # where in the Event object the vector's (begin, end) pair is searched


@intrinsic
def _pointer(typingctx, address):
    """numba: an integer address as a ``void*``."""
    if not isinstance(address, types.Integer):
        return None
    sig = types.voidptr(address)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


@numba.njit(cache=True, nogil=True)
def _read_final_visible(event_address: int, word: int, stride: int, n_expected: int, o_id: int, o_status: int,
                        o_p: np.ndarray, invisible: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
    """Visible final-state entries of the record whose std::vector (begin, end) is at word ``word``
    of the object at ``event_address``; records of ``stride`` bytes, ``n_expected`` of them.

    ``o_id``, ``o_status``: int32 word offsets; ``o_p``: float64 word offsets of px, py, pz, e;
    ``invisible``: sorted array of the invisible |id|. Returns (whether the vector holds exactly
    ``n_expected`` records, else nothing is read; record indices int64 ``(m,)``; four-momenta
    float64 ``(4, m)``: rows px, py, pz, e [GeV]).
    """
    bounds = numba.carray(_pointer(event_address), (word + 2,), np.int64)
    begin = bounds[word]
    n = n_expected
    if begin == 0 or bounds[word + 1] - begin != n * stride:
        return False, np.empty(0, np.int64), np.empty((4, 0))
    i32 = numba.carray(_pointer(begin), (n, stride // 4), np.int32)
    f64 = numba.carray(_pointer(begin), (n, stride // 8), np.float64)
    index = np.empty(n, np.int64)
    p4 = np.empty((4, n))
    m = 0
    n_inv = invisible.shape[0]
    for i in range(n):
        if i32[i, o_status] <= 0:
            continue
        pid = abs(i32[i, o_id])
        k = np.searchsorted(invisible, pid)
        if k < n_inv and invisible[k] == pid:
            continue
        index[m] = i
        for c in range(4):
            p4[c, m] = f64[i, o_p[c]]
        m += 1
    return True, index[:m], np.ascontiguousarray(p4[:, :m])


@numba.njit(cache=True, nogil=True)
def _read_top_partons(event_address: int, word: int, stride: int, n_expected: int, o_int: np.ndarray,
                      o_p: np.ndarray) -> tuple[bool, np.ndarray]:
    """:func:`hepdl.generation.truth.top_partons_from_record` on the record (see :func:`_read_final_visible`)."""
    bounds = numba.carray(_pointer(event_address), (word + 2,), np.int64)
    begin = bounds[word]
    n = n_expected
    if begin == 0 or bounds[word + 1] - begin != n * stride:
        return False, np.empty((0, 4, 4))
    i32 = numba.carray(_pointer(begin), (n, stride // 4), np.int32)
    f64 = numba.carray(_pointer(begin), (n, stride // 8), np.float64)
    return True, top_partons_from_record(i32, f64, o_int, o_p)


def _address(wrapper: Any) -> int:
    """Address of the C++ object behind a pybind11 wrapper (the pointer after the object header)."""
    return ctypes.c_void_p.from_address(id(wrapper) + object.__basicsize__).value or 0


def invisible_ids(particle_data: Any) -> np.ndarray:
    """Sorted int32 array of every |id| the particle data marks invisible (neutrinos, LSP, ...)."""
    ids = []
    pid = 1
    seen = set()
    while pid and pid not in seen:
        seen.add(pid)
        if not particle_data.isVisible(pid):
            ids.append(pid)
        pid = particle_data.nextId(pid)
    return np.array(sorted(ids), dtype=np.int32)


class EventRecordReader:
    """Bulk reader of one ``pythia8mc.Pythia`` instance's ``event``; see the module docstring.

    Build it with :meth:`discover` on an event already generated; :meth:`final_visible` then
    returns the visible final-state particles of the current event.
    """

    def __init__(self, event: Any, event_address: int, word: int, stride: int, offsets: dict[str, int],
                 invisible: np.ndarray):
        self.event = event
        self._event_address = event_address
        self._word = word
        self._stride = stride
        self._o_id = offsets["id"] // 4
        self._o_status = offsets["status"] // 4
        self._o_p = np.array([offsets[k] // 8 for k in ("px", "py", "pz", "e")], dtype=np.int64)
        self._o_p3 = self._o_p[:3].copy()
        self._o_int = np.array([offsets[k] // 4 for k in ("id", "status", "mother1", "daughter1", "daughter2")],
                               dtype=np.int64)
        self._invisible = invisible
        self.offsets = dict(offsets)

    @classmethod
    def discover(cls, pythia: Any) -> EventRecordReader | None:
        """A reader for ``pythia.event``, or None (with the reason logged) if its layout is not recognised.

        ``pythia.event`` must hold a generated event (at least three entries).
        """
        try:
            return cls._discover(pythia)
        except _LayoutUnknown as exc:
            log.info("bulk event-record reading unavailable (%s); using pythia8mc's accessors", exc)
            return None

    @classmethod
    def _discover(cls, pythia: Any) -> EventRecordReader:
        event = pythia.event
        n = int(event.size())
        if n < 3:
            raise _LayoutUnknown("the event record has fewer than 3 entries")
        first, second, last = (_address(event[i]) for i in (0, 1, n - 1))
        stride = second - first
        if not (first and 32 <= stride <= 4096 and stride % 8 == 0 and last == first + (n - 1) * stride):
            raise _LayoutUnknown("the particles' addresses do not form one array")
        event_address = _address(event)
        if not event_address:
            raise _LayoutUnknown("no address for the event")
        words = (ctypes.c_uint64 * MAX_EVENT_WORDS).from_address(event_address)
        word = next((w for w in range(MAX_EVENT_WORDS - 1)
                     if words[w] == first and words[w + 1] == first + n * stride), None)
        if word is None:
            raise _LayoutUnknown("the event holds no (begin, end) pair of its particle array")
        raw = np.ctypeslib.as_array((ctypes.c_uint8 * (n * stride)).from_address(first)).reshape(n, stride).copy()
        particles = [event[i] for i in range(n)]
        expected = {
            "id": np.array([p.id() for p in particles], dtype=np.int32),
            "status": np.array([p.status() for p in particles], dtype=np.int32),
            "mother1": np.array([p.mother1() for p in particles], dtype=np.int32),
            "daughter1": np.array([p.daughter1() for p in particles], dtype=np.int32),
            "daughter2": np.array([p.daughter2() for p in particles], dtype=np.int32),
            "px": np.array([p.px() for p in particles]),
            "py": np.array([p.py() for p in particles]),
            "pz": np.array([p.pz() for p in particles]),
            "e": np.array([p.e() for p in particles]),
        }
        offsets = {}
        for name, values in expected.items():
            size = np.dtype(FIELDS[name]).itemsize
            columns = raw.view(FIELDS[name])  # (n, stride // size)
            found = [k * size for k in range(stride // size) if np.array_equal(columns[:, k], values)]
            if len(found) != 1:
                raise _LayoutUnknown(f"field '{name}' found at {len(found)} offsets")
            offsets[name] = found[0]
        reader = cls(event, event_address, word, stride, offsets, invisible_ids(pythia.particleData))
        index, p4 = reader.final_visible()
        api = np.array([i for i, p in enumerate(particles) if p.isFinal() and p.isVisible()], dtype=np.int64)
        if not np.array_equal(index, api):
            raise _LayoutUnknown("the visible final state differs from Particle.isFinal/isVisible")
        if not np.array_equal(p4, np.stack([expected[k][api] for k in ("px", "py", "pz", "e")])):
            raise _LayoutUnknown("the four-momenta differ from the accessors")
        if not np.array_equal(reader.top_partons(), hadronic_top_partons(event)):
            raise _LayoutUnknown("the top decay partons differ from the accessors'")
        return reader

    def final_visible(self) -> tuple[np.ndarray, np.ndarray]:
        """The current event's visible final-state particles.

        Returns (record indices, int64 ``(m,)``, increasing; four-momenta, float64 ``(4, m)``:
        rows px, py, pz, E [GeV]). Raises ``RuntimeError`` if the record is not where it was found.
        """
        ok, index, p4 = _read_final_visible(self._event_address, self._word, self._stride, self.event.size(),
                                            self._o_id, self._o_status, self._o_p, self._invisible)
        if not ok:
            raise RuntimeError("Pythia's event record is no longer where it was found at start-up")
        return index, p4


    def top_partons(self) -> np.ndarray:
        """:func:`hepdl.generation.truth.hadronic_top_partons` of the current event, read in bulk: float64
        ``(n_tops, 4, 4)``. Raises ``RuntimeError`` like :meth:`final_visible`."""
        ok, partons = _read_top_partons(self._event_address, self._word, self._stride, self.event.size(),
                                        self._o_int, self._o_p3)
        if not ok:
            raise RuntimeError("Pythia's event record is no longer where it was found at start-up")
        return partons


class _LayoutUnknown(Exception):
    pass
