"""Particle vs detector level (``detector: atlas_delphes``) on the same events (docs/generation.md).

``python benchmarks/compare_levels.py [--n-jets 3000] [--seed 5] [--figure docs/img/detector-levels.png]``
``python benchmarks/compare_levels.py response [--events 3000] [--process qcd top] [--keep-late-decays]``

Generates ``--n-jets`` QCD and top jets at particle level and at detector level with the same
seed (the same Pythia events; default settings otherwise), writes them to
``benchmarks/out/levels/{process}_{level}.root`` (reused when present) and prints, per process and
level: jet mass (mean, median, the top window 135-210 GeV), number of constituents, the default
40 x 40 images (active pixels per image, share of the brightest pixel, the difference of the
average images), the supervised baselines' AUCs (jet mass, number of constituents, tau_32 from
:mod:`hepdl.physics.substructure`) and the jet-level response on the jets both levels share.
``--figure`` draws the average images and the mass and constituent distributions.

``response`` runs one generator per level on the same events (seed 11, jets above 300 GeV at
both levels), matches each particle-level jet of 550-650 GeV to a detector-level jet within
Delta R < 0.4 and prints the distribution of pT(detector) / pT(particle) and of the mass
difference. ``--keep-late-decays`` is a what-if, not the card: particles produced outside the
ParticlePropagator's cylinder (decay products of K0S, Lambda, ... that decay beyond 1.15 m) are
kept and deposit at their production point (what Delphes' ``RadiusMax`` / ``HalfLengthMax``,
not set in the card, would do), to show how much of the response tail they make.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import awkward as ak
import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from hepdl.core.provenance import provenance
from hepdl.evaluation.metrics import auc_with_interval
from hepdl.generation.generate import generate_jets
from hepdl.images.preprocess import jet_images
from hepdl.io.jets_file import write_jets
from hepdl.io.readers import read_jets
from hepdl.physics.substructure import nsubjettiness, tau_ratio

LEVELS = ("none", "atlas_delphes")
NAMES = {"none": "particle", "atlas_delphes": "detector"}


def load(process: str, level: str, n_jets: int, seed: int, directory: Path) -> ak.Array:
    path = directory / f"{process}_{level}_{n_jets}_{seed}.root"
    if not path.exists():
        stats: dict = {}
        jets = generate_jets(process, n_jets, seed, {"detector": level}, progress=False, stats=stats)
        write_jets(path, jets, provenance(seed=seed, process=process, generation=stats.pop("settings"), **stats))
    return read_jets(path)


def summary(jets: ak.Array) -> dict:
    mass = ak.to_numpy(jets.jet_mass).astype(np.float64)
    nconst = ak.to_numpy(jets.jet_nconst)
    images = jet_images(jets.const_pt, jets.const_eta, jets.const_phi)
    active = (images > 0).sum(axis=(1, 2))
    tau = nsubjettiness(jets.const_pt, jets.const_eta, jets.const_phi, jets.const_e, n_max=3)
    return {"mass": mass, "nconst": nconst, "active": active, "brightest": images.max(axis=(1, 2)),
            "average": images.mean(axis=0), "tau32": tau_ratio(tau[:, 2], tau[:, 1])}


def response(args: argparse.Namespace) -> None:
    from hepdl.generation import detector
    from hepdl.generation.generate import JetGenerator

    if args.keep_late_decays:
        propagate = detector.propagate

        def keep_late_decays(particles):
            kept, x, y, z = propagate(particles)
            x0, y0, z0 = particles.x * 1e-3, particles.y * 1e-3, particles.z * 1e-3
            late = (np.hypot(x0, y0) > detector.RADIUS_M) | (np.abs(z0) > detector.HALF_LENGTH_M)
            return kept | late, np.where(late, x0, x), np.where(late, y0, y), np.where(late, z0, z)

        detector.propagate = keep_late_decays
    window = {"jet_pt_min": 300, "jet_pt_max": 2000}
    for process in args.process:
        particle = JetGenerator(process, 11, window)
        detected = JetGenerator(process, 11, {**window, "detector": "atlas_delphes"})
        pairs = []
        for _ in range(args.events):
            ours, theirs = particle.next_event(), detected.next_event()
            for jet in ours:
                if not 550 < jet["jet_pt"] < 650:
                    continue
                for other in theirs:
                    dphi = (jet["jet_phi"] - other["jet_phi"] + np.pi) % (2 * np.pi) - np.pi
                    if np.hypot(jet["jet_eta"] - other["jet_eta"], dphi) < 0.4:
                        pairs.append((jet["jet_pt"], other["jet_pt"], jet["jet_mass"], other["jet_mass"]))
        pairs = np.array(pairs)
        r = pairs[:, 1] / pairs[:, 0]
        q = np.percentile(r, [5, 10, 25, 50, 75, 90, 95])
        dm = pairs[:, 3] - pairs[:, 2]
        print(f"{process}: {len(r)} matched jets of 550-650 GeV from {args.events} events"
              f"{' (what-if: late decays kept)' if args.keep_late_decays else ''}: response mean {r.mean():.3f}, "
              f"median {q[3]:.3f}, (q75 - q25) / 1.349 = {(q[4] - q[2]) / 1.349:.3f}, std {r.std():.3f}; "
              f"quantiles 5/10/25/75/90/95 %: {', '.join(f'{v:.3f}' for v in q[[0, 1, 2, 4, 5, 6]])}; "
              f"below 0.9: {np.mean(r < 0.9):.1%}; mass(detector) - mass(particle): median {np.median(dm):.1f} GeV, "
              f"mean {dm.mean():.1f}, (q75 - q25) / 1.349 = {np.subtract(*np.percentile(dm, [75, 25])) / 1.349:.1f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["levels", "response"], default="levels")
    parser.add_argument("--n-jets", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/levels"))
    parser.add_argument("--figure", type=Path)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--process", nargs="+", choices=["qcd", "top"], default=["qcd", "top"])
    parser.add_argument("--keep-late-decays", action="store_true")
    args = parser.parse_args()
    if args.mode == "response":
        response(args)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    jets = {(p, lv): load(p, lv, args.n_jets, args.seed, args.out) for p in ("qcd", "top") for lv in LEVELS}
    s = {key: summary(value) for key, value in jets.items()}
    print(f"# {args.n_jets} jets per process and level, seed {args.seed} (the same events at both levels)")
    print("| process | level | mean mass [GeV] | median mass | in 135-210 GeV | mean n const | median n const "
          "| active pixels | brightest pixel |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (process, level), x in s.items():
        print(f"| {process} | {NAMES[level]} | {x['mass'].mean():.1f} | {np.median(x['mass']):.1f} | "
              f"{np.mean((x['mass'] > 135) & (x['mass'] < 210)):.1%} | {x['nconst'].mean():.1f} | "
              f"{np.median(x['nconst']):.0f} | {x['active'].mean():.1f} | {x['brightest'].mean():.3f} |")
    for process in ("qcd", "top"):
        a, b = s[(process, "none")]["average"], s[(process, "atlas_delphes")]["average"]
        print(f"{process}: average images differ by sum|detector - particle| = {np.abs(b - a).sum():.3f} "
              f"(each sums to 1); central 2x2 pixels {a[19:21, 19:21].sum():.3f} vs {b[19:21, 19:21].sum():.3f}")
    print("\n| level | jet mass AUC | n const AUC | tau32 AUC |  (top vs QCD, 68% bootstrap)")
    print("|---|---|---|---|")
    for level in LEVELS:
        cells = []
        for name, sign in (("mass", 1), ("nconst", 1), ("tau32", -1)):
            auc, lo, hi = auc_with_interval(sign * s[("qcd", level)][name], sign * s[("top", level)][name],
                                            n_bootstrap=200)
            cells.append(f"{auc:.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"| {NAMES[level]} | " + " | ".join(cells) + " |")
    if args.figure:
        draw(s, args.figure, args.n_jets)


def draw(s: dict, path: Path, n_jets: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, axes = plt.subplots(2, 4, figsize=(15, 7), constrained_layout=True)
    for row, process in enumerate(("qcd", "top")):
        for col, level in enumerate(LEVELS):
            ax = axes[row, col]
            average = s[(process, level)]["average"]
            shown = ax.imshow(np.where(average > 0, average, np.nan), origin="lower", extent=(-0.8, 0.8, -0.8, 0.8),
                              norm=LogNorm(vmin=1e-6, vmax=0.2), cmap="viridis")
            ax.set_title(f"{process.upper()}, {NAMES[level]} level: average image")
            ax.set_xlabel("phi'")
            ax.set_ylabel("eta'")
        fig.colorbar(shown, ax=axes[row, 1], label="pT fraction")
        ax = axes[row, 2]
        for level, style in zip(LEVELS, ("-", "--"), strict=True):
            ax.hist(s[(process, level)]["mass"], bins=np.arange(0, 301, 10), histtype="step", linestyle=style,
                    label=f"{NAMES[level]} level", density=True)
        ax.set_xlabel("jet mass [GeV]")
        ax.set_ylabel("density")
        ax.legend()
        ax = axes[row, 3]
        for level, style in zip(LEVELS, ("-", "--"), strict=True):
            ax.hist(s[(process, level)]["nconst"], bins=np.arange(0, 161, 4), histtype="step", linestyle=style,
                    label=f"{NAMES[level]} level", density=True)
        ax.set_xlabel("number of constituents")
        ax.set_title(f"{process.upper()}, {n_jets} jets, same events")
        ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=70)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
