"""Speed of the ``event`` layout reader against a bare uproot + fastjet loop over the same events.

Writes a Delphes-layout file (tests/example_files.py: a hard jet, a recoil jet and ``--soft``
soft particles per event, split into EFlowTrack / EFlowPhoton / EFlowNeutralHadron) and reads it,
alternating, ``--repeats`` times each way in this one process (one core, OMP_NUM_THREADS=1):

* hepdl: ``hepdl.io.readers.iter_jets`` with the event layout of config/examples/delphes.yaml,
  every jet above ``--pt-min`` (``jets_per_event: all``): checks, clustering, canonical jets
  (constituents sorted, jet four-momenta, labels, source entry / jet);
* bare: ``uproot.iterate`` of the same branches, (px, py, pz, E) with awkward arithmetic, the
  collections concatenated, ``fastjet.ClusterSequence`` on the awkward array of the chunk's events,
  ``inclusive_jets`` and ``constituents`` above ``--pt-min``: the simplest way to write it.

Both make the same jets (the count is checked). Printed: jets per CPU-second (``time.process_time``,
so other processes on the machine do not enter) and wall-clock jets/s of every repeat, and the
ratio of the medians (hepdl / bare).

    python benchmarks/bench_ingest_event.py --events 4000 --soft 300 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import awkward as ak
import numpy as np
import uproot
from example_files import write_delphes

from hepdl.io.readers import iter_jets

COLLECTIONS = (("EFlowTrack", "PT", "Mass"), ("EFlowPhoton", "ET", "E"), ("EFlowNeutralHadron", "ET", "E"))


def reader(pt_min: float) -> dict:
    particles = []
    for name, pt, last in COLLECTIONS:
        collection = {"pt": f"{name}.{pt}", "eta": f"{name}.Eta", "phi": f"{name}.Phi"}
        if last == "Mass":
            particles.append({"kinematics": "pt_eta_phi_m", **collection, "mass": f"{name}.Mass"})
        else:
            particles.append({"kinematics": "pt_eta_phi_e", **collection, "e": f"{name}.E"})
    return {"tree": "Delphes", "layout": "event", "particles": particles, "label_branch": None,
            "cuts": {"pt_min": pt_min}}


def run_hepdl(path: Path, pt_min: float) -> int:
    return sum(len(chunk) for chunk in iter_jets(path, reader=reader(pt_min), label=0, step_size="50 MB"))


def run_bare(path: Path, pt_min: float) -> int:
    import fastjet

    branches = [f"{name}.{k}" for name, pt, last in COLLECTIONS for k in (pt, "Eta", "Phi", last)]
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.8)
    n_jets = 0
    for arrays in uproot.iterate(f"{path}:Delphes", branches, step_size="50 MB"):
        parts = []
        for name, pt_name, last in COLLECTIONS:
            pt, eta, phi = arrays[f"{name}.{pt_name}"], arrays[f"{name}.Eta"], arrays[f"{name}.Phi"]
            pz = pt * np.sinh(eta)
            if last == "Mass":
                e = np.sqrt((pt * np.cosh(eta)) ** 2 + arrays[f"{name}.Mass"] ** 2)
            else:
                e = arrays[f"{name}.E"]
            parts.append(ak.zip({"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pz, "E": e}))
        events = ak.values_astype(ak.concatenate(parts, axis=1), np.float64)
        sequence = fastjet.ClusterSequence(events, definition)
        jets = sequence.inclusive_jets(min_pt=pt_min)
        sequence.constituents(min_pt=pt_min)
        n_jets += int(ak.sum(ak.num(jets)))
    return n_jets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--soft", type=int, default=300, help="mean soft particles per event")
    parser.add_argument("--pt-min", type=float, default=20.0, help="jets kept above this pT [GeV]")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_delphes(Path(tmp) / "events.root", args.events, 1, signal=True, soft=args.soft)
        n_particles = sum(int(ak.sum(uproot.open(path)["Delphes"][f"{n}_size"].array())) for n, _, _ in COLLECTIONS)
        print(f"{args.events} events, {n_particles / args.events:.0f} particles per event, jets above "
              f"{args.pt_min} GeV, anti-kt R = 0.8")
        run_hepdl(path, args.pt_min), run_bare(path, args.pt_min)  # warm-up: imports, numba, file cache
        results = {"hepdl": [], "bare": []}
        for _ in range(args.repeats):
            for name, function in (("hepdl", run_hepdl), ("bare", run_bare)):
                cpu, wall = time.process_time(), time.perf_counter()
                n_jets = function(path, args.pt_min)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                results[name].append((n_jets, n_jets / cpu, n_jets / wall))
                print(f"{name:6s} {n_jets} jets: {n_jets / cpu:8.0f} jets per CPU-second, "
                      f"{n_jets / wall:8.0f} jets/s wall")
        assert {r[0] for r in results["hepdl"]} == {r[0] for r in results["bare"]}, "different jets"
        cpu_ratio = np.median([r[1] for r in results["hepdl"]]) / np.median([r[1] for r in results["bare"]])
        wall_ratio = np.median([r[2] for r in results["hepdl"]]) / np.median([r[2] for r in results["bare"]])
        print(f"hepdl / bare (medians): {cpu_ratio:.2f} per CPU-second, {wall_ratio:.2f} wall-clock")


if __name__ == "__main__":
    main()
