"""Generate QCD or top jets with Pythia 8 and anti-kt (Pythia's ``SlowJet``, FastJet's fjcore) into canonical jets.

Physics (particle level unless a detector is set, see below; no pile-up):

* pp collisions at ``ecm_gev`` (14 TeV). ``qcd``: ``HardQCD:all = on`` (label 0). ``top``:
  ``Top:gg2ttbar`` and ``Top:qqbar2ttbar`` with the W decaying to quarks only (label 1). The
  other processes (W, Z, H -> b bbar, dark shower) and their labels: :mod:`hepdl.generation.processes`.
  The hard-process window is ``PhaseSpace:pTHatMin/Max = pthat_min/pthat_max``; multi-parton
  interactions follow ``mpi`` (off by default, as in the reference dataset); everything else is
  Pythia's default tune, including its default hadron decays.
* Jets: anti-kt with radius ``jet_r`` on all *visible* final-state particles (neutrinos and other
  invisibles removed): E-scheme recombination, rapidity-phi distance, true particle masses.
  Every jet (not only the leading one) with ``jet_pt_min < pT < jet_pt_max`` and
  ``|eta| < jet_abs_eta_max`` is kept; jets of every process but qcd only if truth-matched (see
  :mod:`hepdl.generation.processes` and :mod:`hepdl.generation.truth`).
* Per jet (:mod:`hepdl.generation.jet_record`): the jet four-momentum is the sum of *all* its
  constituents (before the list is truncated, so ``jet_mass`` is the full jet mass);
  constituents are sorted by decreasing pT and at most ``max_constituents`` are stored
  (``jet_nconst`` = number stored). Units GeV; eta is pseudorapidity; phi = atan2(py, px) in
  (-pi, pi] (also after float32 rounding).
* Exactly ``n_jets`` jets: events are generated until that many pass; from the last event the
  first jets in decreasing pT are kept.
* Detector level (setting ``detector: atlas_delphes``; default ``none``, particle level): the
  visible final state of each batch goes through :mod:`hepdl.generation.detector` (a parametric
  detector after Delphes' ATLAS card) and its energy-flow objects, not the particles, are
  clustered and become the constituents; the selection and the truth matching (from the
  generator record) are the same.

Settings: the config schema (``hepdl/config/schema.yaml``: the ``datasets.*.generate`` block, with
the defaults of the ``generation`` block and the per-process pTHat windows) validates them and
fills in their defaults, also for the stand-alone command line; see :func:`resolve_settings`.

How, and how fast: only supported interfaces of pythia8mc and fastjet; no module reads Pythia's
memory by address and hepdl has no clustering code of its own. By default
(:class:`JetGenerator`, ``clustering="fastjet"``) events come in batches from pythia8mc's batch
interface ``Pythia.nextBatch`` (awkward arrays filled in C++), numpy selects each event's visible
final state and the ``fastjet`` package clusters the whole batch in one call; Python then touches
only the few jets whose axis lands in the window (about one event in seven), and the truth
partons come from the batch's mother/daughter columns. The alternative ``clustering="slowjet"``
clusters one ``pythia.next()`` at a time with Pythia's own ``SlowJet`` (fjcore, FastJet's code)
and reads the selected jets' constituents and the truth partons through pythia8mc's accessors.
Both select the same jets, bit for bit (``tests/test_generate.py``); the batch path measured a
few points closer to bare ``next()`` (``benchmarks/bench_generate.py paths``; figures in the
README).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import awkward as ak
import numpy as np

from hepdl.core.errors import ConfigError, HepdlError
from hepdl.generation.detector import make_detector
from hepdl.generation.jet_record import jet_from_constituents
from hepdl.generation.processes import PROCESSES, process_commands
from hepdl.generation.truth import matched_index
from hepdl.physics.kinematics import wrap_phi32

log = logging.getLogger("hepdl.generation.generate")

#: the clustering paths of :class:`JetGenerator` (the first is the default)
CLUSTERINGS = ("fastjet", "slowjet")
FIRST_BATCH = 16  # events of the first Pythia.nextBatch call of a generator; then doubling up to
MAX_BATCH = 256

MAX_SEED = 900_000_000  # Pythia's Random:seed range is 1..900,000,000 (0 would mean "from the clock")
MAX_EVENTS_WITHOUT_JET = 20_000

CONST_FIELDS = ("const_pt", "const_eta", "const_phi", "const_e")
JET_FIELDS = ("jet_pt", "jet_eta", "jet_phi", "jet_mass")


@functools.lru_cache(maxsize=1)
def _settings_schema() -> dict[str, Any]:
    """JSON Schema of one generated dataset's settings, from the config schema: the
    ``datasets.*.generate`` block (process, pTHat window with per-process defaults) with the
    ``generation`` block's definitions and defaults for the settings the two share."""
    from hepdl.config import load_schema

    properties = load_schema()["properties"]
    schema = copy.deepcopy(properties["datasets"]["additionalProperties"]["properties"]["generate"])
    for name, definition in properties["generation"]["properties"].items():
        schema["properties"][name] = copy.deepcopy(definition)
    return schema


def settings_schema() -> dict[str, Any]:
    """A copy of the JSON Schema that :func:`resolve_settings` validates with (see :func:`_settings_schema`)."""
    return copy.deepcopy(_settings_schema())


#: the generation settings (keys of the schema's ``datasets.*.generate`` block other than ``process``)
SETTING_NAMES: tuple[str, ...] = tuple(name for name in _settings_schema()["properties"] if name != "process")

#: setting -> command-line option (for error messages)
OPTION_NAMES = {name: "--" + name.replace("_", "-") for name in SETTING_NAMES}
OPTION_NAMES["mpi"] = "--mpi/--no-mpi"

_SCHEMA_MESSAGE = re.compile(r"^config key '([^']*)': (.*)$", re.DOTALL)


def _bad(name: str, message: str) -> ConfigError:
    return ConfigError(f"generation setting '{name}' ({OPTION_NAMES.get(name, name)}): {message}")


def _schema_error(err: ConfigError) -> ConfigError:
    """The schema's message for a settings block, naming the setting and its option."""
    match = _SCHEMA_MESSAGE.match(str(err))
    if match is None:
        return err
    key, message = match.groups()
    if key in OPTION_NAMES:
        return _bad(key, message)
    return ConfigError(f"generation settings: {message}")


def resolve_settings(process: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate the generation settings of ``process`` against the config schema; return them complete.

    ``settings`` holds any of :data:`SETTING_NAMES` (the keys of the config's ``generation`` and
    ``datasets.*.generate`` blocks); a value of None counts as not given. The schema (see
    :func:`settings_schema`) checks every value and fills in the missing ones: the ``generation``
    block's defaults and the process's own ones (pTHat window; the dark shower's ``r_inv`` and
    ``zprime_mass_gev``). ``pthat_max`` None or negative (the command line's ``--pthat-max -1``,
    Pythia's convention) means no upper limit and resolves to None. A setting that the process
    does not use (the pTHat window of the 2 -> 1 process ``svj``, the dark-shower settings of
    the others) must not be given and resolves to None. A ``process`` key in ``settings`` must
    agree with ``process``. Numbers come back as float, ``max_constituents`` as int. What the
    schema cannot say (finite numbers, pT and masses below sqrt(s)/2 or sqrt(s), each window's
    upper edge above its lower one) is checked here. Raises :class:`ConfigError` naming the
    setting and its command-line option.
    """
    if process not in PROCESSES:
        raise ConfigError(f"unknown process '{process}' (--process / generate.process): "
                          f"expected one of {', '.join(PROCESSES)}")
    given = dict(settings or {})
    if given.pop("process", process) != process:
        raise ConfigError(f"generation setting 'process' ({settings['process']}) disagrees with "
                          f"--process {process}")
    pthat_max = given.get("pthat_max")
    no_upper = "pthat_max" in given and (pthat_max is None or (
        isinstance(pthat_max, (int, float)) and not isinstance(pthat_max, bool) and pthat_max < 0))
    out = {"process": process, **{k: v for k, v in given.items() if v is not None}}
    if no_upper:
        out.pop("pthat_max", None)
    from hepdl.config import check_against_schema

    schema = _settings_schema()
    try:
        check_against_schema(out, schema)  # validates and fills in the defaults
    except ConfigError as err:
        raise _schema_error(err) from None
    del out["process"]
    if no_upper:
        out["pthat_max"] = None
    for name in SETTING_NAMES:
        kind = schema["properties"][name].get("type")
        if out.get(name) is None or kind not in ("number", "integer"):
            continue
        if not math.isfinite(out[name]):
            raise _bad(name, f"expected a finite number, got {out[name]!r}")
        out[name] = float(out[name]) if kind == "number" else int(out[name])
    half = out["ecm_gev"] / 2
    if out["jet_pt_max"] <= out["jet_pt_min"]:
        raise _bad("jet_pt_max", f"{out['jet_pt_max']:g} GeV must exceed jet_pt_min = {out['jet_pt_min']:g} GeV")
    if out["jet_pt_min"] >= half:
        raise _bad("jet_pt_min", f"{out['jet_pt_min']:g} GeV is not below sqrt(s)/2 = {half:g} GeV")
    if out.get("pthat_min") is not None:
        if out["pthat_min"] >= half:
            raise _bad("pthat_min", f"{out['pthat_min']:g} GeV is not below sqrt(s)/2 = {half:g} GeV")
        if out.get("pthat_max") is not None and out["pthat_max"] <= out["pthat_min"]:
            raise _bad("pthat_max", f"{out['pthat_max']:g} GeV must exceed pthat_min = {out['pthat_min']:g} GeV")
    if out.get("zprime_mass_gev") is not None and out["zprime_mass_gev"] >= out["ecm_gev"]:
        raise _bad("zprime_mass_gev", f"{out['zprime_mass_gev']:g} GeV is not below sqrt(s) = {out['ecm_gev']:g} GeV")
    return {name: out.get(name) for name in SETTING_NAMES}


def check_seed(seed: int) -> int:
    """``seed`` as an int in Pythia's range 1..900,000,000, else :class:`HepdlError` naming --seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 1 <= int(seed) <= MAX_SEED:
        raise HepdlError(f"--seed: expected an integer in 1..{MAX_SEED} (Pythia's Random:seed range), got {seed!r}")
    return int(seed)


def pythia_commands(process: str, seed: int, settings: dict[str, Any]) -> list[str]:
    """The Pythia ``readString`` commands for ``process`` with resolved ``settings`` (the process's
    own from :mod:`hepdl.generation.processes`; no pTHat window for a process that has none)."""
    window = [] if settings.get("pthat_min") is None else [
        f"PhaseSpace:pTHatMin = {settings['pthat_min']:.10g}",
        f"PhaseSpace:pTHatMax = {-1 if settings['pthat_max'] is None else settings['pthat_max']:.10g}"]
    return [
        f"Beams:eCM = {settings['ecm_gev']:.10g}",
        *process_commands(process, settings),
        *window,
        f"PartonLevel:MPI = {'on' if settings['mpi'] else 'off'}",
        "Random:setSeed = on",
        f"Random:seed = {check_seed(seed)}",
        "Print:quiet = on",
        "Next:numberCount = 0",
    ]


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """Silence C++ output on file descriptor 1 (FastJet and fjcore print a banner at their first clustering)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable stdout: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class JetGenerator:
    """One Pythia 8 instance and anti-kt clustering; :meth:`next_event` yields the selected jets.

    Two clustering paths, both through supported interfaces only, give the same jets bit for bit
    (``tests/test_generate.py``):

    * ``clustering="fastjet"`` (default, the faster one; see the README's benchmark): events come
      in batches from pythia8mc's batch interface ``Pythia.nextBatch`` (awkward arrays filled in
      C++); numpy selects the visible final state (status > 0, ``ParticleData.isVisible`` of the
      id) and the ``fastjet`` package's multi-event interface clusters the whole batch with
      anti-kt; the truth partons come from the batch's columns
      (the process's ``partons_from_columns``, e.g.
      :func:`hepdl.generation.truth.hadronic_top_partons_from_columns`). A batch is
      :data:`FIRST_BATCH` events, doubling up to :data:`MAX_BATCH`, and no larger than
      ``events_expected`` when the caller sets it, so that few events (at most ``FIRST_BATCH - 1``
      when the estimate holds) are generated beyond the last one used.
    * ``clustering="slowjet"``: one ``pythia.next()`` at a time; Pythia's ``SlowJet`` clusters it
      (anti-kt through fjcore, FastJet's code, in C++) and the constituents and truth partons of
      the few jets that need them are read through pythia8mc's accessors. ``event`` is then
      Pythia's record of the event just returned (on the batch path, of the batch's last event).

    Either way, only jets whose axis passes the pT and |eta| window (and, for a truth-matched
    process, the truth match) with a margin of 1e-6 are built
    (:func:`hepdl.generation.jet_record.jet_from_constituents`, constituents in increasing record
    index) and cut exactly.

    With a ``detector`` (setting; batch path only), each batch's visible final state is replaced
    by the detector's energy-flow objects before the clustering (``self.detector``, see
    :mod:`hepdl.generation.detector`; its random numbers depend on the seed and the events'
    numbers, not on the batch sizes).

    ``clustering`` (an attribute) describes the path in use. ``n_events`` counts the events used
    (handed to the selection), ``n_generated`` the events Pythia generated, ``n_failed`` the
    failed ``next()`` calls (skipped).
    """

    def __init__(self, process: str, seed: int, settings: dict[str, Any] | None = None,
                 extra_commands: tuple[str, ...] = (), clustering: str = "fastjet"):
        import pythia8mc

        if clustering not in CLUSTERINGS:
            raise ValueError(f"clustering {clustering!r}: expected one of {', '.join(CLUSTERINGS)}")
        self.process = process
        self.settings = resolve_settings(process, settings)
        self.seed = check_seed(seed)
        self.definition = PROCESSES[process]
        self.label = self.definition.label
        self.commands = pythia_commands(process, self.seed, self.settings) + list(extra_commands)
        self.pythia = pythia8mc.Pythia("", False)
        for command in self.commands:
            if not self.pythia.readString(command):
                raise HepdlError(f"Pythia rejected the setting '{command}'")
        if not self.pythia.init():
            raise HepdlError(f"Pythia failed to initialise with: {'; '.join(self.commands)}")
        s = self.settings
        # pT, |eta| and the truth match are first checked on the clustering's jet axis (the
        # E-scheme sum of the same constituents, equal to _jet's sum up to rounding, ~1e-13) with a
        # margin of 1e-6; only jets that pass are read and get the exact cuts on their constituent sum.
        self._pt_lo = s["jet_pt_min"] * (1 - 1e-6)
        self._pt_hi = s["jet_pt_max"] * (1 + 1e-6)
        self._eta_hi = s["jet_abs_eta_max"] + 1e-6
        self._dr_hi = s["truth_match_dr"] + 1e-6
        self._cluster_pt_min = max(self._pt_lo, 1e-3)
        self.event = self.pythia.event
        self.n_events = 0
        self.n_generated = 0
        self.n_failed = 0
        #: how many more events the caller expects to use, if it knows (:func:`generate_jets` estimates
        #: it from the jets still missing): no batch is made larger than that (but at least FIRST_BATCH)
        self.events_expected: int | None = None
        self._banner_silenced = False
        if clustering == "fastjet" and not hasattr(self.pythia, "nextBatch"):
            log.warning("this pythia8mc has no batch interface (Pythia.nextBatch): clustering with SlowJet")
            clustering = "slowjet"
        self._batched = clustering == "fastjet"
        if self._batched:
            import fastjet

            self._fastjet = fastjet
            self._definition = fastjet.JetDefinition(fastjet.antikt_algorithm, s["jet_r"])
            self._visible_ids = _visible_ids(self.pythia.particleData)
            self._batch_size = FIRST_BATCH
            self._pending: list[Any] = []  # per event of the current batch, last first: None or its candidates
            self.clustering = f"fastjet {fastjet.__version__} anti-kt on Pythia.nextBatch"
        else:
            # SlowJet(power=-1: anti-kt, R, pTjetMin, etaMax (particles; 25 = no cut), select=2:
            # visible final state, massSet=2: true masses, no hook, useFJcore=True, useStandardR=True).
            self.slow_jet = pythia8mc.SlowJet(-1, s["jet_r"], self._cluster_pt_min, 25.0, 2, 2, None, True, True)
            self.clustering = "Pythia SlowJet (fjcore)"
        #: the detector whose energy-flow objects are clustered instead of the particles
        #: (:mod:`hepdl.generation.detector`; setting ``detector``); None: particle level
        self.detector = make_detector(s["detector"], self.seed, self.pythia.particleData)
        if self.detector is not None and not self._batched:
            raise HepdlError(f"detector {s['detector']}: runs on the batch path only (clustering='fastjet', "
                             "pythia8mc with Pythia.nextBatch)")
        # load the compiled code now (from numba's cache, or compile it once): start-up, not per event
        jet_from_constituents(np.array([[10.0], [0.0], [0.0], [10.0]]), np.zeros(1, dtype=np.int64), 1)

    # ------------------------------------------------------------------------- both paths

    def next_event(self) -> list[dict[str, Any]]:
        """Generate (or take from the current batch) one event; return its selected jets in
        decreasing pT (often an empty list).

        Each jet is a dict: ``jet_pt, jet_eta, jet_phi, jet_mass`` (float), ``const`` (float64
        array of shape ``(n, 4)``: pt, eta, phi, e sorted by decreasing pt, n <= max_constituents)
        and, for a process with truth matching (all but qcd), ``truth``: the matched object's partons,
        shape ``(n_partons, 4)`` (see :class:`hepdl.generation.processes.Process`).
        """
        if self._batched:
            while not self._pending:
                self._next_batch()
            self.n_events += 1
            candidates = self._pending.pop()
            if candidates is None:
                return []
            first, end, jets = candidates
            return self._select(jets, lambda: self._partons_from_batch(first, end), self._p4_from_batch)
        while not self.pythia.next():
            self._count_failures(1)
        self.n_events += 1
        self.n_generated += 1
        return self._select(self._candidates_slowjet(), lambda: self.definition.partons_from_event(self.event),
                            self._p4_from_slowjet)

    def _count_failures(self, n: int) -> None:
        self.n_failed += n
        if self.n_failed > 1000 + self.n_events:
            raise HepdlError(f"Pythia failed on {self.n_failed} events (settings: {'; '.join(self.commands)})")

    def _select(self, candidates: list[tuple[float, float, Any]], truth_partons: Callable[[], np.ndarray],
                p4_of: Callable[[Any], np.ndarray]) -> list[dict[str, Any]]:
        """The selected jets among ``candidates``: (eta, phi, handle) of jets whose axis passed the
        pT and |eta| window, in decreasing pT; ``p4_of(handle)`` gives a jet's constituents
        ``(4, n)`` (px, py, pz, E in increasing record index), ``truth_partons()`` the event's
        truth objects (processes with truth matching only)."""
        jets = []
        partons = None
        matching = bool(self.definition.truth_partons)
        for eta, phi, handle in candidates:
            if matching:
                if partons is None:
                    partons = truth_partons()
                if matched_index(eta, phi, partons, self._dr_hi) < 0:  # cannot match: skip reading it
                    continue
            jet = self._jet(p4_of(handle))
            if jet is None:
                continue
            if matching:
                k = matched_index(jet["jet_eta"], jet["jet_phi"], partons, self.settings["truth_match_dr"])
                if k < 0:
                    continue
                jet["truth"] = partons[k]
            jets.append(jet)
        return jets

    def _jet(self, p4: np.ndarray) -> dict[str, Any] | None:
        """Kinematics of one jet from its constituents' four-momenta ``p4`` (shape ``(4, n)``: px,
        py, pz, E [GeV], in increasing event-record index); None if cut."""
        s = self.settings
        jet, const = jet_from_constituents(p4, np.arange(p4.shape[1], dtype=np.int64), s["max_constituents"])
        jet_pt, jet_eta, jet_phi, jet_mass = jet.tolist()
        if not s["jet_pt_min"] < jet_pt < s["jet_pt_max"]:
            return None
        if not abs(jet_eta) < s["jet_abs_eta_max"]:
            return None
        return {"jet_pt": jet_pt, "jet_eta": jet_eta, "jet_phi": jet_phi, "jet_mass": jet_mass, "const": const}

    def sigma_gen_mb(self) -> float:
        """Pythia's estimate of the generated cross section [mb] so far."""
        return float(self.pythia.infoPython().sigmaGen())

    # ------------------------------------------------------------------------- fastjet on batches

    def _next_batch(self) -> None:
        """Generate the next batch, cluster it, and queue each event's candidate jets."""
        size = self._batch_size
        self._batch_size = min(2 * size, MAX_BATCH)
        if self.events_expected is not None:
            size = max(FIRST_BATCH, min(size, self.events_expected))
        events = self.pythia.nextBatch(size, "skip")  # failed events are left out
        n_events = len(events)
        self.n_generated += n_events
        self._count_failures(size - n_events)
        prt = events.prt
        counts = ak.to_numpy(ak.num(prt.id, axis=1))
        columns = {name: ak.to_numpy(ak.flatten(prt[name])) for name in ("id", "status", "daughter1", "daughter2")}
        p4 = [ak.to_numpy(ak.flatten(prt.p[c])) for c in ("px", "py", "pz", "e")]
        abs_id = np.abs(columns["id"])
        k = np.minimum(np.searchsorted(self._visible_ids, abs_id), len(self._visible_ids) - 1)
        rows = np.flatnonzero((columns["status"] > 0) & (self._visible_ids[k] == abs_id))  # visible final state
        offsets = np.zeros(n_events + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # what is clustered: the visible final state, or at detector level the detector's energy-flow objects
        inputs, input_counts = [c[rows] for c in p4], np.diff(np.searchsorted(rows, offsets))
        if self.detector is not None:
            inputs, input_counts = self.detector.energy_flow_of_batch(prt, columns["id"], p4, rows, offsets,
                                                                      self.n_generated - n_events)
        starts = np.zeros(n_events + 1, dtype=np.int64)  # per event: its first entry in `inputs`
        np.cumsum(input_counts, out=starts[1:])
        particles = ak.unflatten(ak.zip(dict(zip(("px", "py", "pz", "E"), inputs, strict=True))), input_counts)
        if self._banner_silenced:
            sequence = self._fastjet.ClusterSequence(particles, self._definition)
        else:  # FastJet prints a banner on stdout at its first clustering
            with _stdout_to_devnull():
                sequence = self._fastjet.ClusterSequence(particles, self._definition)
            self._banner_silenced = True
        jets = sequence.inclusive_jets(self._cluster_pt_min)
        jet_counts = ak.to_numpy(ak.num(jets, axis=1))
        jpx, jpy, jpz = (ak.to_numpy(ak.flatten(jets[c])) for c in ("px", "py", "pz"))
        jet_pt = np.hypot(jpx, jpy)
        with np.errstate(divide="ignore", invalid="ignore"):
            jet_eta = np.arcsinh(jpz / jet_pt)
        jet_phi = np.arctan2(jpy, jpx)
        passing = np.flatnonzero((jet_pt > self._pt_lo) & (jet_pt < self._pt_hi) & (np.abs(jet_eta) < self._eta_hi))
        pending: list[Any] = [None] * n_events
        if len(passing):
            members = sequence.constituent_index(self._cluster_pt_min)  # per event, per jet: index into its particles
            member_counts = ak.to_numpy(ak.flatten(ak.num(members, axis=2)))
            member_index = ak.to_numpy(ak.flatten(members, axis=None))
            member_offsets = np.zeros(len(member_counts) + 1, dtype=np.int64)
            np.cumsum(member_counts, out=member_offsets[1:])
            jet_event = np.repeat(np.arange(n_events), jet_counts)
            for event in np.unique(jet_event[passing]).tolist():
                chosen = sorted(passing[jet_event[passing] == event].tolist(), key=lambda j: -jet_pt[j])
                pending[event] = (offsets[event], offsets[event + 1], [
                    (float(jet_eta[j]), float(jet_phi[j]),
                     starts[event] + np.sort(member_index[member_offsets[j]:member_offsets[j + 1]]))
                    for j in chosen])
        self._columns, self._p4, self._inputs = columns, p4, inputs
        pending.reverse()
        self._pending = pending

    def _p4_from_batch(self, entries: np.ndarray) -> np.ndarray:
        return np.stack([c[entries] for c in self._inputs])

    def _partons_from_batch(self, first: int, end: int) -> np.ndarray:
        c = self._columns
        return self.definition.partons_from_columns(
            *(c[name][first:end].tolist() for name in ("id", "status", "daughter1", "daughter2")),
            *(v[first:end].tolist() for v in self._p4[:3]))

    # ------------------------------------------------------------------------- SlowJet, one event at a time

    def _candidates_slowjet(self) -> list[tuple[float, float, int]]:
        """``SlowJet.analyze`` of the current event; (eta, phi, jet index) of the jets whose axis
        passes the window, in decreasing pT."""
        slow_jet = self.slow_jet
        if self._banner_silenced:
            slow_jet.analyze(self.event)
        else:  # fjcore prints a banner on stdout the first time
            with _stdout_to_devnull():
                slow_jet.analyze(self.event)
            self._banner_silenced = True
        candidates = []
        for i in range(slow_jet.sizeJet()):
            if not self._pt_lo < slow_jet.pT(i) < self._pt_hi:
                continue
            axis = slow_jet.p(i)
            eta = axis.eta()
            if abs(eta) < self._eta_hi:
                candidates.append((eta, axis.phi(), i))
        return candidates

    def _p4_from_slowjet(self, i: int) -> np.ndarray:
        """Four-momenta ``(4, n)`` of SlowJet's jet ``i`` through the accessors, in increasing record index."""
        event = self.event
        p4 = np.array([(p.px(), p.py(), p.pz(), p.e()) for p in map(event.__getitem__, self.slow_jet.constituents(i))],
                      dtype=np.float64).reshape(-1, 4).T
        return np.ascontiguousarray(p4)


def _visible_ids(particle_data: Any) -> np.ndarray:
    """Sorted int array of every |id| that Pythia's particle data marks visible (``isVisible``):
    what ``Particle.isVisible()`` of a particle with that id returns (unknown ids: not visible)."""
    ids = []
    pid = 1
    seen = set()
    while pid > 0 and pid not in seen:  # nextId walks all ids in increasing order, then returns 0
        seen.add(pid)
        if particle_data.isVisible(pid):
            ids.append(pid)
        pid = particle_data.nextId(pid)
    return np.array(sorted(ids), dtype=np.int64)


def jets_to_array(jets: list[dict[str, Any]], label: int, truth: bool = False, n_partons: int = 4) -> ak.Array:
    """Canonical record array (see :mod:`hepdl.io.jets_file`) from :meth:`JetGenerator.next_event` jets.

    With ``truth=True`` (truth-matched processes only) adds regular fields ``truth_id, truth_pt,
    truth_eta, truth_phi`` of shape ``(n_jets, n_partons)`` for the partons of the matched object
    (top: top, b, q1, q2; see :data:`hepdl.generation.processes.PROCESSES`).
    """
    n = len(jets)
    counts = np.fromiter((len(j["const"]) for j in jets), dtype=np.int64, count=n)
    const = np.concatenate([j["const"] for j in jets]) if n else np.zeros((0, 4))
    fields: dict[str, Any] = {
        "jet_pt": np.fromiter((j["jet_pt"] for j in jets), dtype=np.float64, count=n).astype(np.float32),
        "jet_eta": np.fromiter((j["jet_eta"] for j in jets), dtype=np.float64, count=n).astype(np.float32),
        "jet_phi": wrap_phi32(np.fromiter((j["jet_phi"] for j in jets), dtype=np.float64, count=n)),
        "jet_mass": np.fromiter((j["jet_mass"] for j in jets), dtype=np.float64, count=n).astype(np.float32),
        "jet_nconst": counts.astype(np.int32),
        "label": np.full(n, label, dtype=np.int32),
    }
    columns = (const[:, 0].astype(np.float32), const[:, 1].astype(np.float32), wrap_phi32(const[:, 2]),
               const[:, 3].astype(np.float32))
    for name, column in zip(CONST_FIELDS, columns, strict=True):
        fields[name] = ak.unflatten(column, counts)
    if truth:
        table = np.stack([j["truth"] for j in jets]) if n else np.zeros((0, n_partons, 4))
        for k, name in enumerate(("truth_id", "truth_pt", "truth_eta", "truth_phi")):
            fields[name] = table[:, :, k].astype(np.int32 if k == 0 else np.float64)
    return ak.zip(fields, depth_limit=1)


def generate_jets(process: str, n_jets: int, seed: int, settings: dict[str, Any] | None = None,
                  progress: bool = True, truth: bool = False, stats: dict[str, Any] | None = None) -> ak.Array:
    """Generate exactly ``n_jets`` jets of ``process`` (a key of :data:`PROCESSES`) with Pythia ``seed``.

    ``settings``: generation settings (keys of :data:`SETTING_NAMES`; see :func:`resolve_settings`).
    Returns an awkward Array of ``n_jets`` canonical records (``jet_pt, jet_eta, jet_phi,
    jet_mass`` float32, ``jet_nconst, label`` int32, jagged float32 ``const_pt, const_eta,
    const_phi, const_e``; GeV, rad). ``truth=True`` (processes with truth matching: all but
    ``qcd``) adds the matched truth partons (see :func:`jets_to_array`).
    ``stats``, if given, receives ``n_events`` (events used), ``n_generated_events`` (with the
    rest of the last batch), ``n_failed_events``, ``sigma_gen_mb`` (over all generated), the
    ``clustering`` path (see :class:`JetGenerator`), the ``detector`` ("none" or its settings,
    :meth:`hepdl.generation.detector.Detector.describe`) and the resolved ``settings`` and
    ``pythia_commands``. Same arguments -> identical output.
    """
    if isinstance(n_jets, bool) or not isinstance(n_jets, (int, np.integer)) or n_jets < 1:
        raise HepdlError(f"--n-jets: expected an integer >= 1, got {n_jets!r}")
    if truth and process in PROCESSES and not PROCESSES[process].truth_partons:
        raise HepdlError(f"process '{process}' has no truth partons")
    generator = JetGenerator(process, seed, settings)
    jets: list[dict[str, Any]] = []
    bar = _progress(int(n_jets), process) if progress else contextlib.nullcontext()
    with bar as counter:
        while len(jets) < n_jets:
            if jets:  # events still needed, at the rate so far (sizes the batches; does not change the jets)
                generator.events_expected = math.ceil((n_jets - len(jets)) * generator.n_events / len(jets))
            new = generator.next_event()
            if new:
                new = new[: n_jets - len(jets)]
                jets.extend(new)
                if counter is not None:
                    counter.update(len(new))
            elif not jets and generator.n_events >= MAX_EVENTS_WITHOUT_JET:
                s = generator.settings
                raise HepdlError(
                    f"no {process} jet passed the selection in {generator.n_events} events: check the "
                    f"jet window (--jet-pt-min {s['jet_pt_min']:g}, --jet-pt-max {s['jet_pt_max']:g}, "
                    f"--jet-abs-eta-max {s['jet_abs_eta_max']:g}) against the pTHat window "
                    f"(--pthat-min {s['pthat_min']:g}, --pthat-max {s['pthat_max']})")
    if stats is not None:
        stats.update(n_events=generator.n_events, n_generated_events=generator.n_generated,
                     n_failed_events=generator.n_failed,
                     sigma_gen_mb=generator.sigma_gen_mb(), clustering=generator.clustering,
                     detector=generator.detector.describe() if generator.detector is not None else "none",
                     settings=dict(generator.settings), pythia_commands=list(generator.commands))
    log.debug("%s: %d jets from %d events", process, len(jets), generator.n_events)
    return jets_to_array(jets, generator.label, truth=truth, n_partons=len(generator.definition.truth_partons))


def _progress(total: int, process: str):
    from hepdl.core.progress import Progress

    return Progress(total, desc=f"generate {process}", unit="jets")


def shard_n_jets(n_jets: int, shards: int, shard: int) -> int:
    """Jets of shard ``shard`` (0-based) when ``n_jets`` are split evenly over ``shards``.

    The first ``n_jets % shards`` shards take one jet more.
    """
    if not 0 <= shard < shards:
        raise ConfigError(f"--shard {shard}: expected 0..{shards - 1} (the dataset has {shards} shards)")
    return n_jets // shards + (1 if shard < n_jets % shards else 0)


# ----------------------------------------------------------------------------- command line
