"""Speed of jet generation, its two supported clustering paths, and the pTHat-window bias check
of docs/generation.md.

``python benchmarks/bench_generate.py speed [--events 3000] [--process qcd top w z hbb svj] [--clustering ...]``
    Per process (default: qcd, top; default settings), events/s of bare ``pythia.next()`` and of the whole
    generation (events, clustering, selection, constituents and truth matching, conversion to
    awkward and writing the ROOT file), jets/s, and their ratio, in wall time and in CPU time of
    this process (the steadier figure on a shared machine). Both run on one core, in alternating
    blocks of events so that load from other processes hits both alike. Start-up (Pythia's
    initialisation and the first event, on the default path its first batch of 16) is timed
    apart: it is paid once per shard. Without ``--clustering`` it runs ``JetGenerator(process,
    seed, settings)`` as it is, so it also times the code of another commit on ``PYTHONPATH``
    (e.g. the bulk path of cf3a08a: the "before" of docs/generation.md).

``python benchmarks/bench_generate.py rate [--jets 200] [--process qcd top w z hbb svj]``
    Generation rate per process, side by side in one run: one generator per process (default
    settings, seed 1, default clustering path) makes ``--jets`` selected jets, the processes taking
    turns in blocks of 25 events on one core so that load on a shared machine hits all alike. Per
    process: start-up (Pythia init + first event), events per selected jet, and jets/s in wall and
    CPU time of this process, after start-up (events, clustering, selection, truth matching and
    the conversion to awkward; no file).

``python benchmarks/bench_generate.py paths [--events 6000] [--process qcd top]``
    The two supported clustering paths of :class:`hepdl.generation.generate.JetGenerator`, end to
    end, interleaved in blocks (rotating order) with bare ``next()``: ``fastjet`` (pythia8mc's batch
    interface ``Pythia.nextBatch`` and the ``fastjet`` package's multi-event clustering) and
    ``slowjet`` (``next()``, Pythia's ``SlowJet``, accessors). Checks that both select the same
    jets, bit for bit, and prints both ratios to bare ``next()`` (wall and CPU time; no file
    writing).

``python benchmarks/bench_generate.py detector [--events 6000] [--process qcd top]``
    Particle vs detector level (``detector: atlas_delphes``, :mod:`hepdl.generation.detector`),
    side by side: bare ``next()``, the default path at particle level and the same at detector
    level, all with the same seed (the same events), interleaved in blocks (rotating order), one
    core, no file writing. Prints per contender microseconds per event, the ratio of its event
    rate to bare ``next()`` (wall and CPU time), jets per second and events per selected jet (the
    detector moves jets across the pT window), and the CPU share of the detector itself
    (``Detector.energy_flow_of_batch``).

``python benchmarks/bench_generate.py cluster [--events 300]``
    The clustering alone, on the same events: Pythia's SlowJet (fjcore) on copies of the events,
    and the fastjet package's multi-event interface on their visible final states (copied out
    first); microseconds per event.

``python benchmarks/bench_generate.py etacut [--events 3000] [--cuts 3.5 4.3 5.3]``
    Evaluates (and documents why hepdl does not use) a particle |pseudorapidity| cut before the
    clustering. Per process, one generator clusters all particles and one per cut (SlowJet's
    ``etaMax``), all with the same seed, so they see the same events. Prints, per cut, how many
    selected jets are not reproduced bit for bit (every float64 field and constituent), how close
    (Delta R in rapidity-phi, the clustering's distance) the nearest dropped particle came to a
    selected jet axis and how many dropped particles lay within 2 R of one, and the mean time per
    event of the whole generation (events are interleaved, so load hits all generators alike).

``python benchmarks/bench_generate.py bias [--events 30000] [--process qcd top w z hbb]``
    Generates each process over a wide pTHat window (qcd > 200 GeV, the others > 150 GeV, no upper
    limit), with Pythia's pTHat^n sampling bias (n = 4 qcd, 3 the others) (``PhaseSpace:bias2Selection``) and event
    weights, so one sample covers all pTHat. It prints which weighted fraction of the jets that
    pass the jet selection (and, for signal processes, the truth match) came from events inside
    each default pTHat window (i.e. would be kept by it), and the mean jet mass of all jets vs the
    kept ones. (svj is a 2 -> 1 process without a pTHat window: nothing to check.)

``python benchmarks/bench_generate.py truth [--events 3000] [--process top w z hbb svj]``
    Truth-match efficiency per signal process (default settings): of the jets that pass the pT
    and |eta| window in the process's events, which fraction is truth-matched (every parton of
    one truth object within ``truth_match_dr``), and which fraction of those whose leading truth
    parton (top, W, Z, H, dark quark) lies within ``truth_match_dr`` of the axis.

``python benchmarks/bench_generate.py zprime [--events 1500] [--masses 1400 1600 2000 2500] [--r-inv 0.3]``
    The dark-shower process (``svj``) has no pTHat window: the Z' mass sets which share of its
    semi-visible jets lands in the jet window. Events per selected (truth-matched) jet and the
    median jet mass, per Z' mass and r_inv (same seed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from hepdl.generation.generate import JetGenerator, jets_to_array, resolve_settings
from hepdl.generation.processes import PROCESSES
from hepdl.generation.truth import delta_r
from hepdl.io.jets_file import write_jets

BLOCK = 250
RATE_BLOCK = 25


class Clock:
    """Wall and process CPU time, accumulated over the blocks of one contender."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu


def bench_speed(process: str, n_events: int, seed: int = 1, clustering: str | None = None) -> dict[str, float]:
    """Bare ``next()`` vs the whole generation, after start-up (see the module docstring)."""
    path = {} if clustering is None else {"clustering": clustering}  # (none: also runs the code of cf3a08a)
    t0 = time.perf_counter()
    bare = JetGenerator(process, seed, {})
    bare.pythia.next()
    t_bare_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = JetGenerator(process, seed, {}, **path)
    jets: list = list(full.next_event())  # first event (first batch): also loads compiled code
    t_start = time.perf_counter() - t0
    first_events = full.n_events
    clock_bare, clock_full = Clock(), Clock()
    done = 0
    while done < n_events:
        n = min(BLOCK, n_events - done)
        with clock_bare:
            for _ in range(n):
                bare.pythia.next()
        with clock_full:
            for k in range(n):
                full.events_expected = n_events - done - k  # (batch path: no events made in vain; else unused)
                jets.extend(full.next_event())
        done += n
    with tempfile.TemporaryDirectory() as tmp, clock_full:
        array = jets_to_array(jets, full.label)
        write_jets(Path(tmp) / "jets.root", array, {"benchmark": True})
    n_full = full.n_events - first_events
    return {"init_s": t_bare_start, "start_s": t_start, "bare_ev_s": n_events / clock_bare.wall,
            "full_ev_s": n_full / clock_full.wall, "jets_s": len(jets) / clock_full.wall,
            "events_per_jet": full.n_events / max(len(jets), 1),
            "ratio": (n_full / clock_full.wall) / (n_events / clock_bare.wall),
            "cpu_ratio": (n_full / clock_full.cpu) / (n_events / clock_bare.cpu),
            "n_jets": len(jets), "clustering": full.clustering}


def speed(args: argparse.Namespace) -> None:
    print(f"# {args.events} events per process, default settings, one core, blocks of {BLOCK}; "
          f"start-up (Pythia init + first event) timed apart")
    print(f"{'process':8} {'start s':>7} {'bare ev/s':>10} {'full ev/s':>10} {'jets/s':>8} "
          f"{'ev/jet':>7} {'full/bare':>9} {'(cpu)':>7}  clustering")
    for process in args.process:
        r = bench_speed(process, args.events, clustering=args.clustering)
        print(f"{process:8} {r['start_s']:7.2f} {r['bare_ev_s']:10.1f} {r['full_ev_s']:10.1f} "
              f"{r['jets_s']:8.1f} {r['events_per_jet']:7.2f} {r['ratio']:9.1%} {r['cpu_ratio']:7.1%}  "
              f"{r['clustering']}", flush=True)


def rate(args: argparse.Namespace) -> None:
    print(f"# {args.jets} jets per process, default settings, seed 1, one core, processes in turn "
          f"(blocks of {RATE_BLOCK} events); start-up timed apart")
    generators, jets, clocks, start, first = {}, {}, {}, {}, {}
    for process in args.process:
        t0 = time.perf_counter()
        generators[process] = JetGenerator(process, 1, {})
        jets[process] = list(generators[process].next_event())  # first event (first batch): start-up
        start[process], clocks[process] = time.perf_counter() - t0, Clock()
        first[process] = (generators[process].n_events, len(jets[process]))
    pending = list(args.process)
    while pending:
        for process in list(pending):
            generator, out = generators[process], jets[process]
            with clocks[process]:
                for _ in range(RATE_BLOCK):
                    if len(out) >= args.jets:
                        break
                    out.extend(generator.next_event())
                if len(out) >= args.jets:
                    jets_to_array(out[:args.jets], generator.label)
                    pending.remove(process)
    print(f"{'process':8} {'start s':>7} {'events':>7} {'ev/jet':>7} {'jets/s':>7} {'(cpu)':>7}  clustering")
    for process, generator in generators.items():
        n_jets = len(jets[process]) - first[process][1]  # after start-up
        clock = clocks[process]
        print(f"{process:8} {start[process]:7.2f} {generator.n_events:7d} "
              f"{generator.n_events / len(jets[process]):7.2f} {n_jets / clock.wall:7.1f} "
              f"{n_jets / clock.cpu:7.1f}  {generator.clustering}", flush=True)


def _race(contenders: dict, events: int, on_start=None) -> tuple[dict[str, list], dict[str, Clock]]:
    """Time ``contenders`` ("bare next()" first: only ``pythia.next()``; the others whole
    generation) over ``events`` events each, in blocks of ``BLOCK`` in rotating order, one core.
    The first event of each (start-up, its first batch) is not timed; ``on_start`` runs after it.
    Returns the jets and the clock of each contender."""
    contenders["bare next()"].pythia.next()
    jets: dict[str, list] = {name: [] for name in contenders}
    for name, generator in list(contenders.items())[1:]:
        jets[name].extend(generator.next_event())  # start-up: first event (its batch of 16) not timed
    if on_start is not None:
        on_start()
    clocks = {name: Clock() for name in contenders}
    total = 1 + events // BLOCK * BLOCK  # events each path uses
    names = list(contenders)
    for block in range(events // BLOCK):
        for name in names[block % len(names):] + names[:block % len(names)]:
            generator, out = contenders[name], jets[name]
            with clocks[name]:
                if name == "bare next()":
                    for _ in range(BLOCK):
                        generator.pythia.next()
                else:
                    for _ in range(BLOCK):
                        generator.events_expected = total - generator.n_events
                        out.extend(generator.next_event())
    return jets, clocks


def paths(args: argparse.Namespace) -> None:
    print(f"# {args.events} events per process, default settings, one core, blocks of {BLOCK} in rotating order; "
          f"ratio = events/s of the whole generation (no file writing) / events/s of bare next()")
    for process in args.process:
        contenders = {"bare next()": JetGenerator(process, args.seed, {}, clustering="slowjet"),
                      "SlowJet + accessors": JetGenerator(process, args.seed, {}, clustering="slowjet"),
                      "fastjet + nextBatch": JetGenerator(process, args.seed, {}, clustering="fastjet")}
        jets, clocks = _race(contenders, args.events)
        names = list(contenders)
        same = _same_jets(jets["SlowJet + accessors"], jets["fastjet + nextBatch"])
        bare = clocks["bare next()"]
        print(f"{process}: {len(jets['SlowJet + accessors'])} jets, the two paths select the same jets bit for bit: "
              f"{same}; fastjet path generated {contenders['fastjet + nextBatch'].n_generated} events for "
              f"{contenders['fastjet + nextBatch'].n_events} used")
        for name in names[1:]:
            clock = clocks[name]
            print(f"  {name:20} {1e6 * clock.wall / (args.events // BLOCK * BLOCK):7.0f} us/event  "
                  f"ratio {bare.wall / clock.wall:6.1%} (wall)  {bare.cpu / clock.cpu:6.1%} (cpu)", flush=True)


def detector(args: argparse.Namespace) -> None:
    from hepdl.generation.detector import Detector

    spent = Clock()
    energy_flow_of_batch = Detector.energy_flow_of_batch

    def timed(self, *a, **k):  # the detector's own share of the detector-level contender
        with spent:
            return energy_flow_of_batch(self, *a, **k)

    Detector.energy_flow_of_batch = timed
    print(f"# {args.events} events per process, default settings, one core, blocks of {BLOCK} in rotating order; "
          f"ratio = events/s of the whole generation (no file writing) / events/s of bare next()")
    for process in args.process:
        contenders = {"bare next()": JetGenerator(process, args.seed, {}, clustering="slowjet"),
                      "particle level": JetGenerator(process, args.seed, {"detector": "none"}),
                      "detector level": JetGenerator(process, args.seed, {"detector": "atlas_delphes"})}
        jets, clocks = _race(contenders, args.events, on_start=spent.reset)
        names = list(contenders)
        n = args.events // BLOCK * BLOCK
        bare = clocks["bare next()"]
        print(f"{process}: the same {n} events (seed {args.seed}) at both levels")
        for name in names:
            clock = clocks[name]
            line = f"  {name:15} {1e6 * clock.wall / n:7.0f} us/event  ratio {bare.wall / clock.wall:6.1%} (wall)  " \
                   f"{bare.cpu / clock.cpu:6.1%} (cpu)"
            if name != "bare next()":
                line += (f"  {len(jets[name]) / clock.cpu:6.1f} jets/cpu-s  "
                         f"{n / max(len(jets[name]), 1):5.2f} events/jet")
            if name == "detector level":
                line += f"  detector {spent.cpu / clock.cpu:5.1%} of its cpu"
            print(line, flush=True)


def cluster(args: argparse.Namespace) -> None:
    import awkward as ak
    import fastjet
    import pythia8mc

    print(f"# clustering alone, anti-kt R = 0.8, {args.events} events per process, one core; us per event")
    print(f"{'process':8} {'particles':>9} {'SlowJet':>8} {'fastjet':>8}")
    for process in ("qcd", "top"):
        generator = JetGenerator(process, 1, {}, clustering="slowjet")
        generator.next_event()  # (silences fjcore's banner once)
        threshold = generator._cluster_pt_min
        events, arrays = [], []
        for _ in range(args.events):
            generator.pythia.next()
            events.append(pythia8mc.Event(generator.event))
            visible = [p for p in generator.event if p.isFinal() and p.isVisible()]
            arrays.append(np.array([[p.px(), p.py(), p.pz(), p.e()] for p in visible]).T)
        timings = {}
        slow_jet = generator.slow_jet
        t0 = time.perf_counter()
        for event in events:
            slow_jet.analyze(event)
        timings["slowjet"] = time.perf_counter() - t0
        jagged = ak.zip({k: ak.Array([p4[i] for p4 in arrays]) for i, k in enumerate(("px", "py", "pz", "E"))})
        definition = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.8)
        t0 = time.perf_counter()
        fastjet.ClusterSequence(jagged, definition).inclusive_jets(threshold)
        timings["fastjet"] = time.perf_counter() - t0
        per = {k: v / args.events * 1e6 for k, v in timings.items()}
        print(f"{process:8} {np.mean([a.shape[1] for a in arrays]):9.0f} {per['slowjet']:8.0f} {per['fastjet']:8.0f}")


WIDE = {"qcd": (200.0, None), "top": (150.0, None), "w": (150.0, None), "z": (150.0, None), "hbb": (150.0, None)}
_BOSON_WINDOWS = [(500.0, 700.0), (450.0, 800.0), (350.0, 800.0), (300.0, 800.0), (300.0, 900.0)]
CHECK_WINDOWS = {"qcd": [(500.0, 700.0), (300.0, 900.0)], "top": [(500.0, 700.0), (300.0, 800.0), (350.0, 900.0)],
                 "w": _BOSON_WINDOWS, "z": _BOSON_WINDOWS, "hbb": _BOSON_WINDOWS}
BIAS_POW = {"qcd": 4, "top": 3, "w": 3, "z": 3, "hbb": 3}  # sampling ~ pTHat^pow: oversample high pTHat


def bias(args: argparse.Namespace) -> None:
    for process in args.process:
        if process not in WIDE:
            print(f"{process}: no pTHat window (a 2 -> 1 process): nothing to check")
            continue
        lo, hi = WIDE[process]
        gen = JetGenerator(process, 11, {"pthat_min": lo, "pthat_max": hi}, clustering="slowjet", extra_commands=(
            "PhaseSpace:bias2Selection = on", f"PhaseSpace:bias2SelectionPow = {BIAS_POW[process]}",
            f"PhaseSpace:bias2SelectionRef = {lo:g}"))
        info = gen.pythia.infoPython()  # info.pTHat() reads 0 in pythia8mc 8.317: use the process record
        pthat, weight, mass = [], [], []
        for _ in range(args.events):
            for jet in gen.next_event():
                pthat.append(gen.pythia.process[5].pT())  # pTHat of the 2 -> 2 process
                weight.append(info.weight())
                mass.append(jet["jet_mass"])
        pthat, weight, mass = map(np.asarray, (pthat, weight, mass))
        total = weight.sum()
        n_eff = total**2 / np.sum(weight**2)
        print(f"{process}: wide window pTHat > {lo:g} GeV, {args.events} events, {len(mass)} jets "
              f"(effective {n_eff:.0f}); mean mass all {np.average(mass, weights=weight):.1f} GeV")
        default = resolve_settings(process, {})
        for wlo, whi in [(default["pthat_min"], default["pthat_max"]), *CHECK_WINDOWS[process]]:
            kept = (pthat >= wlo) & (pthat <= whi)
            frac = weight[kept].sum() / total
            err = np.sqrt(frac * (1 - frac) / n_eff)
            below = weight[pthat < wlo].sum() / total
            print(f"  window {wlo:g}-{whi:g}: keeps {frac:.1%} +- {err:.1%} of the jets (lost below "
                  f"{below:.1%}, above {1 - frac - below:.1%}); mean mass kept "
                  f"{np.average(mass[kept], weights=weight[kept]):.1f} GeV, lost "
                  f"{np.average(mass[~kept], weights=weight[~kept]) if (~kept).any() else float('nan'):.1f} GeV")


class _WindowJets(JetGenerator):
    """A generator that keeps no jet but records, for every jet in the pT and |eta| window, the
    largest Delta R of a truth parton of the best object and the Delta R of its leading parton."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[tuple[float, float]] = []

    def _select(self, candidates, truth_partons, p4_of):
        partons = None
        for _, _, handle in candidates:
            jet = self._jet(p4_of(handle))
            if jet is None:
                continue
            if partons is None:
                partons = truth_partons()
            if not len(partons):
                self.records.append((np.inf, np.inf))
                continue
            dr = delta_r(jet["jet_eta"], jet["jet_phi"], partons[:, :, 2], partons[:, :, 3])  # (objects, partons)
            self.records.append((float(dr.max(axis=1).min()), float(dr[:, 0].min())))
        return []


def truth(args: argparse.Namespace) -> None:
    print(f"# {args.events} events per process, default settings; jets in the pT and |eta| window")
    for process in args.process:
        generator = _WindowJets(process, args.seed, {})
        for _ in range(args.events):
            generator.next_event()
        dr = generator.settings["truth_match_dr"]
        worst, lead = (np.array(c) for c in zip(*generator.records, strict=True)) if generator.records else (
            np.zeros(0), np.zeros(0))
        matched, near = worst < dr, lead < dr
        names = ", ".join(PROCESSES[process].truth_partons)
        print(f"{process}: {len(worst)} window jets in {args.events} events; matched ({names} within {dr:g}): "
              f"{matched.mean():.1%} of all, {matched[near].mean():.1%} of the {near.sum()} with "
              f"{PROCESSES[process].truth_partons[0]} within {dr:g}", flush=True)


def zprime(args: argparse.Namespace) -> None:
    print(f"# svj, {args.events} events per point, seed {args.seed}; events per selected jet")
    for r_inv in args.r_inv:
        for mass in args.masses:
            generator = JetGenerator("svj", args.seed, {"r_inv": r_inv, "zprime_mass_gev": mass})
            jets = [jet for _ in range(args.events) for jet in generator.next_event()]
            median = np.median([jet["jet_mass"] for jet in jets]) if jets else float("nan")
            print(f"  r_inv {r_inv:g}, m(Z') {mass:g} GeV: {len(jets)} jets, "
                  f"{generator.n_events / max(len(jets), 1):.2f} events per jet, median jet mass {median:.0f} GeV",
                  flush=True)


def _same_jets(a: list, b: list) -> bool:
    """Whether two ``JetGenerator.next_event`` jet lists are identical (every field, bit for bit)."""
    return len(a) == len(b) and all(
        x.keys() == y.keys() and all(np.array_equal(np.asarray(x[k]), np.asarray(y[k])) for k in x)
        for x, y in zip(a, b, strict=True))


def _jet_rapidity(jet: dict) -> float:
    pz = jet["jet_pt"] * np.sinh(jet["jet_eta"])
    e = np.sqrt(jet["jet_pt"] ** 2 + pz**2 + jet["jet_mass"] ** 2)
    return float(0.5 * np.log((e + pz) / (e - pz)))


def etacut(args: argparse.Namespace) -> None:
    for process in args.process:
        cuts = sorted(set(args.cuts), reverse=True)
        gens = [JetGenerator(process, args.seed, {}, clustering="slowjet") for _ in range(len(cuts) + 1)]
        for gen, cut in zip(gens[1:], cuts, strict=True):
            gen.slow_jet.etaMax, gen.slow_jet.cutInEta = cut, True  # SlowJet's particle |eta| cut
        r = gens[0].settings["jet_r"]
        seconds = [0.0] * len(gens)
        n_jets = 0
        n_differ = [0] * len(cuts)  # selected jets of the full clustering not reproduced exactly
        nearest = [np.inf] * len(cuts)  # min Delta R(y, phi) of a dropped particle to a selected jet axis
        near = [0] * len(cuts)  # dropped particles within 2 R of a selected jet axis
        for i_event in range(args.events):
            outs: list = [None] * len(gens)
            for j in range(len(gens)):  # rotate the order: no generator always runs first
                k = (i_event + j) % len(gens)
                t0 = time.perf_counter()
                outs[k] = gens[k].next_event()
                seconds[k] += time.perf_counter() - t0
            ref = outs[0]
            n_jets += len(ref)
            for k, out in enumerate(outs[1:]):
                if not _same_jets(ref, out):
                    n_differ[k] += max(len(ref), len(out))  # counted generously: every jet of the event
            if not ref:
                continue
            event = gens[0].event
            visible = [event[i] for i in range(event.size()) if event[i].isFinal() and event[i].isVisible()]
            abs_eta = np.abs([p.eta() for p in visible])
            y = np.array([p.y() for p in visible])
            phi = np.array([p.phi() for p in visible])
            for jet in ref:
                dphi = np.remainder(phi - jet["jet_phi"] + np.pi, 2 * np.pi) - np.pi
                dr = np.hypot(y - _jet_rapidity(jet), dphi)
                for k, cut in enumerate(cuts):
                    dropped = dr[abs_eta > cut]
                    if dropped.size:
                        nearest[k] = min(nearest[k], float(dropped.min()))
                        near[k] += int(np.sum(dropped < 2 * r))
        ms = [1e3 * t / args.events for t in seconds]
        print(f"{process}: {args.events} events, {n_jets} selected jets (seed {args.seed}); "
              f"all particles: {ms[0]:.3f} ms/event")
        for k, cut in enumerate(cuts):
            print(f"  particle |eta| <= {cut:g}: {n_differ[k]} selected jets differ; nearest dropped particle "
                  f"at Delta R(y, phi) = {nearest[k]:.2f}; {near[k]} dropped within 2R; "
                  f"{ms[k + 1]:.3f} ms/event ({ms[k + 1] / ms[0] - 1:+.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--events", type=int, default=3000)
    s.add_argument("--process", nargs="+", choices=list(PROCESSES), default=["qcd", "top"])
    s.add_argument("--clustering", choices=["fastjet", "slowjet"],
                   help="clustering path of JetGenerator (default: its default)")
    r = sub.add_parser("rate")
    r.add_argument("--jets", type=int, default=200)
    r.add_argument("--process", nargs="+", choices=list(PROCESSES), default=list(PROCESSES))
    p = sub.add_parser("paths")
    p.add_argument("--events", type=int, default=6000)
    p.add_argument("--process", nargs="+", choices=["qcd", "top"], default=["qcd", "top"])
    p.add_argument("--seed", type=int, default=1)
    d = sub.add_parser("detector")
    d.add_argument("--events", type=int, default=6000)
    d.add_argument("--process", nargs="+", choices=["qcd", "top"], default=["qcd", "top"])
    d.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("cluster")
    c.add_argument("--events", type=int, default=300)
    e = sub.add_parser("etacut")
    e.add_argument("--events", type=int, default=3000)
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--cuts", type=float, nargs="+", default=[3.5, 4.3, 5.3])
    e.add_argument("--process", nargs="+", choices=["qcd", "top"], default=["qcd", "top"])
    b = sub.add_parser("bias")
    b.add_argument("--events", type=int, default=30000)
    b.add_argument("--process", nargs="+", choices=list(PROCESSES), default=["qcd", "top"])
    t = sub.add_parser("truth")
    t.add_argument("--events", type=int, default=3000)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--process", nargs="+", choices=[p for p in PROCESSES if PROCESSES[p].truth_partons],
                   default=["top", "w", "z", "hbb", "svj"])
    z = sub.add_parser("zprime")
    z.add_argument("--events", type=int, default=1500)
    z.add_argument("--seed", type=int, default=3)
    z.add_argument("--masses", type=float, nargs="+", default=[1400.0, 1600.0, 2000.0, 2500.0])
    z.add_argument("--r-inv", type=float, nargs="+", default=[0.3])
    args = parser.parse_args()
    modes = {"rate": rate, "speed": speed, "paths": paths, "detector": detector, "cluster": cluster, "bias": bias,
             "etacut": etacut, "truth": truth, "zprime": zprime}
    modes[args.mode](args)


if __name__ == "__main__":
    main()
