"""Jet-image speed (one core) against EnergyFlow's ``pixelate``, and peak memory of ``build_images``.

    python benchmarks/bench_images.py                       # 100k synthetic jets + 1M-jet memory run
    python benchmarks/bench_images.py --input jets.root     # the first 100k jets of a canonical file
    python benchmarks/bench_images.py --memory-jets 0       # speed only

Speed: ``hepdl.images.preprocess.jet_images`` with the full preprocessing (centroid, rotate, flip,
normalise; 40x40 over +-0.8) in blocks of 4096 jets, as ``build_images`` calls it, best of three
passes, against EnergyFlow's ``pixelate(jet, npix=40, img_width=1.6)`` (centring and pixelation
only) called per jet on the same jets. EnergyFlow needs numpy < 2, so it runs in its own venv
``benchmarks/.venv-energyflow`` (created here on first use: ``pip install energyflow "numpy<2"``)
on the jets saved to a .npz; it is given phi relative to the leading constituent, wrapped, since
it does not wrap phi itself. Both run on one core (NUMBA_NUM_THREADS=OMP_NUM_THREADS=1).

Memory: ``--memory-jets`` synthetic jets are written to a canonical ROOT file
(:func:`hepdl.io.jets_file.write_jets`), then ``build_images`` runs on it in a child process whose
peak RSS is reported; a run on a tenth of the jets shows that the peak does not grow with the
dataset. Outputs go to ``benchmarks/out/`` (git-ignored) and the large files are removed after.
"""

from __future__ import annotations

import os

os.environ["NUMBA_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np

HERE = Path(__file__).resolve().parent
EF_VENV = HERE / ".venv-energyflow"
OUT = HERE / "out"
BLOCK = 4096

EF_SCRIPT = r"""
import json, sys, time
import numpy as np
from energyflow.utils import pixelate
data = np.load(sys.argv[1])
pt, eta, phi, offsets = data["pt"], data["eta"], data["phi"], data["offsets"]
jets = [np.stack([pt[a:b], eta[a:b], phi[a:b]], axis=1) for a, b in zip(offsets[:-1], offsets[1:])]
t0 = time.perf_counter()
for jet in jets:
    pixelate(jet, npix=40, img_width=1.6, nb_chan=1, norm=True)
dt = time.perf_counter() - t0
import energyflow
print(json.dumps({"n_jets": len(jets), "seconds": dt, "energyflow": energyflow.__version__,
                  "numpy": np.__version__}))
"""


def synthetic_jets(n_jets: int, seed: int = 1) -> ak.Array:
    """Canonical jets: ~50 constituents (Poisson), pT falling (exponential, sorted), spread 0.3 in
    eta and phi around a jet axis with |eta| < 2, 550-650 GeV in all."""
    rng = np.random.default_rng(seed)
    counts = np.maximum(rng.poisson(50, n_jets), 1)
    n = int(counts.sum())
    jet_index = np.repeat(np.arange(n_jets), counts)
    raw = rng.exponential(1.0, n)
    order = np.lexsort((-raw, jet_index))
    raw = raw[order]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    jet_pt = rng.uniform(550, 650, n_jets)
    pt = raw / np.add.reduceat(raw, starts)[jet_index] * jet_pt[jet_index]
    jet_eta = rng.uniform(-2, 2, n_jets)
    jet_phi = rng.uniform(-np.pi, np.pi, n_jets)
    eta = jet_eta[jet_index] + rng.normal(0, 0.3, n)
    phi = np.angle(np.exp(1j * (jet_phi[jet_index] + rng.normal(0, 0.3, n))))
    unflat = lambda a: ak.unflatten(a.astype(np.float32), counts)  # noqa: E731
    return ak.zip({
        "jet_pt": jet_pt.astype(np.float32), "jet_eta": jet_eta.astype(np.float32),
        "jet_phi": jet_phi.astype(np.float32), "jet_mass": rng.uniform(20, 250, n_jets).astype(np.float32),
        "label": np.zeros(n_jets, dtype=np.int32), "const_pt": unflat(pt), "const_eta": unflat(eta),
        "const_phi": unflat(phi), "const_e": unflat(pt * np.cosh(eta)),
    }, depth_limit=1)


def hepdl_rate(jets: ak.Array) -> float:
    from hepdl.images.preprocess import jet_images

    jet_images(jets.const_pt[:100], jets.const_eta[:100], jets.const_phi[:100])  # compile / load cache
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for start in range(0, len(jets), BLOCK):
            block = jets[start:start + BLOCK]
            jet_images(block.const_pt, block.const_eta, block.const_phi)
        best = min(best, time.perf_counter() - t0)
    return len(jets) / best


def energyflow_rate(jets: ak.Array, n_jets: int) -> dict:
    if not (EF_VENV / "bin" / "python").exists():
        print(f"creating {EF_VENV} (energyflow needs numpy<2) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EF_VENV)], check=True)
        subprocess.run([str(EF_VENV / "bin" / "pip"), "install", "-q", "energyflow", "numpy<2"], check=True)
    jets = jets[:n_jets]
    pt = ak.to_numpy(ak.flatten(jets.const_pt)).astype(np.float64)
    eta = ak.to_numpy(ak.flatten(jets.const_eta)).astype(np.float64)
    phi = ak.to_numpy(ak.flatten(jets.const_phi)).astype(np.float64)
    counts = ak.to_numpy(ak.num(jets.const_pt))
    offsets = np.r_[0, np.cumsum(counts)]
    lead = offsets[:-1][np.repeat(np.arange(len(counts)), counts)]  # constituents are pT-sorted
    phi = np.angle(np.exp(1j * (phi - phi[lead])))
    OUT.mkdir(exist_ok=True)
    npz = OUT / "bench_images_jets.npz"
    np.savez(npz, pt=pt, eta=eta, phi=phi, offsets=offsets)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([str(EF_VENV / "bin" / "python"), "-c", EF_SCRIPT, str(npz)], check=True,
                            capture_output=True, text=True, env=env)
    npz.unlink()
    return json.loads(result.stdout.strip().splitlines()[-1])


def peak_memory(n_jets: int) -> dict:
    """Peak RSS (MiB) of build_images on n_jets synthetic jets, in a fresh child process."""
    from hepdl.io.jets_file import write_jets

    OUT.mkdir(exist_ok=True)
    jets_path, images_path = OUT / f"mem_jets_{n_jets}.root", OUT / f"mem_images_{n_jets}.h5"
    t0 = time.perf_counter()
    chunk = 50_000
    write_jets(jets_path, (synthetic_jets(min(chunk, n_jets - s), seed=s) for s in range(0, n_jets, chunk)), {})
    t_write = time.perf_counter() - t0
    # VmHWM (Linux) is the peak RSS of this process image; ru_maxrss would include the parent's
    # peak from before exec
    child = ("import resource, sys, time, json\n"
             "def peak():\n"
             "    for line in open('/proc/self/status'):\n"
             "        if line.startswith('VmHWM:'):\n"
             "            return int(line.split()[1]) / 1024\n"
             "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
             "from hepdl.config import load_config\nfrom hepdl.images.store import build_images\n"
             "import hepdl.io.readers, hepdl.physics.substructure, fastjet\n"
             "config = load_config(None)\n"
             "imports = peak()\n"
             "t0 = time.perf_counter()\n"
             "info = build_images([sys.argv[1]], sys.argv[2], config)\n"
             "print(json.dumps({'seconds': time.perf_counter() - t0, 'n_images': info['n_images'],"
             " 'imports_rss_mib': imports, 'peak_rss_mib': peak()}))\n")
    result = subprocess.run([sys.executable, "-c", child, str(jets_path), str(images_path)], check=True,
                            capture_output=True, text=True)
    record = json.loads(result.stdout.strip().splitlines()[-1])
    record.update(n_jets=n_jets, write_jets_seconds=t_write, jets_file_mib=jets_path.stat().st_size / 2**20,
                  images_file_mib=images_path.stat().st_size / 2**20)
    jets_path.unlink()
    images_path.unlink()
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=None, help="canonical jets file to take the jets from")
    parser.add_argument("--n-jets", type=int, default=100_000, help="jets for the speed test (0: skip)")
    parser.add_argument("--n-energyflow", type=int, default=20_000,
                        help="jets for energyflow's per-jet loop (a rate, so fewer suffice)")
    parser.add_argument("--memory-jets", type=int, default=1_000_000, help="jets for the memory run (0: skip)")
    args = parser.parse_args()

    if args.n_jets:
        speed(args)
    if args.memory_jets:
        for n in (args.memory_jets // 10, args.memory_jets):
            rec = peak_memory(n)
            print(f"build_images {rec['n_jets']:,} jets (images.chunk_size 50 MB): peak RSS "
                  f"{rec['peak_rss_mib']:.0f} MiB ({rec['imports_rss_mib']:.0f} MiB after imports), "
                  f"{rec['seconds']:.0f} s ({rec['n_images'] / rec['seconds']:,.0f} jets/s incl. reading, "
                  f"N-subjettiness, HDF5); jets file {rec['jets_file_mib']:.0f} MiB written in "
                  f"{rec['write_jets_seconds']:.0f} s, images file {rec['images_file_mib']:.0f} MiB", flush=True)
    print(f"(own peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


def speed(args: argparse.Namespace) -> None:
    if args.input:
        from hepdl.io.readers import iter_jets

        parts, n = [], 0
        for chunk in iter_jets([args.input]):
            parts.append(chunk)
            n += len(chunk)
            if n >= args.n_jets:
                break
        jets = ak.concatenate(parts)[:args.n_jets]
        source = f"the first {len(jets)} jets of {args.input}"
    else:
        jets = synthetic_jets(args.n_jets)
        source = f"{len(jets)} synthetic jets (~50 constituents, exponential pT, spread 0.3)"
    print(f"jets: {source}; mean constituents {ak.mean(ak.num(jets.const_pt)):.1f}", flush=True)
    rate = hepdl_rate(jets)
    print(f"hepdl jet_images (centroid+rotate+flip+normalise, 40x40, blocks of {BLOCK}, 1 core): "
          f"{rate:,.0f} images/s", flush=True)
    ef = energyflow_rate(jets, args.n_energyflow)
    ef_rate = ef["n_jets"] / ef["seconds"]
    print(f"energyflow {ef['energyflow']} pixelate per-jet loop (numpy {ef['numpy']}, {ef['n_jets']} jets): "
          f"{ef_rate:,.0f} images/s", flush=True)
    print(f"ratio hepdl / energyflow: {rate / ef_rate:.1f}x", flush=True)


if __name__ == "__main__":
    main()
