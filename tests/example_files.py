"""Small input files in the exact layouts of the example configs (config/examples/), written by the tests.

Jets are toy jets, not physics: a hard jet of 1 prong (``signal=False``, "QCD") or 3 prongs
(``signal=True``, "top") of collimated particles around an axis, pT 560-620 GeV, |eta| < 1.5.
Every writer is vectorised (numpy/awkward) and deterministic given its seed.

* :func:`write_delphes`: a Delphes tree ``Delphes``, one event per entry: the hard jet, a recoil
  jet and soft particles split into ``EFlowTrack`` (``EFlowTrack.PT``, ``.Eta``, ``.Phi``,
  ``.Mass``), ``EFlowPhoton`` and ``EFlowNeutralHadron`` (towers: ``.ET``, ``.Eta``, ``.Phi``,
  ``.E``), each with its ``<name>_size`` counter, as Delphes names its branches;
* :func:`write_nanoaod`: a NanoAOD-like ``Events`` tree (``FatJet_*``, ``PFCands_*``,
  ``FatJetPFCands_jetIdx`` / ``_pFCandsIdx``), config/examples/nanoaod_like.yaml;
* :func:`write_toptagging`: a top-tagging reference HDFStore (key ``table``, ``E_i``, ``PX_i``,
  ``PY_i``, ``PZ_i`` for i < 200, ``truth*``, ``ttv``, ``is_signal_new``);
* :func:`write_jetclass`: a JetClass file (tree ``tree``, ``part_px`` ... ``part_energy``,
  ``jet_pt`` ..., one-hot ``label_*``), config/examples/jetclass.yaml.

``rntuple=True`` writes the same content as an RNTuple (uproot >= 5.7: ``file[name] = {...}``)
instead of a TTree (``mktree`` + ``extend``).
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import uproot

JETCLASS_LABELS = ("label_QCD", "label_Hbb", "label_Hcc", "label_Hgg", "label_H4q", "label_Hqql", "label_Zqq",
                   "label_Wqq", "label_Tbqq", "label_Tbl")


def jet_particles(rng: np.random.Generator, n_jets: int, signal: bool, pt_range=(560.0, 620.0)):
    """Particles of toy jets: (counts (n_jets,), pt, eta, phi flat float64, jet eta, jet phi)."""
    n_prongs = 3 if signal else 1
    jet_pt = rng.uniform(*pt_range, n_jets)
    jet_eta = rng.uniform(-1.5, 1.5, n_jets)
    jet_phi = rng.uniform(-np.pi, np.pi, n_jets)
    # prong axes around the jet axis, each with a share of the jet pT
    share = rng.dirichlet(np.full(n_prongs, 3.0), n_jets).ravel()
    angle = rng.uniform(0, 2 * np.pi, n_jets * n_prongs)
    offset = 0.0 if not signal else 0.25
    prong_eta = np.repeat(jet_eta, n_prongs) + offset * np.cos(angle)
    prong_phi = np.repeat(jet_phi, n_prongs) + offset * np.sin(angle)
    per_prong = rng.poisson(10, n_jets * n_prongs) + 2
    counts = per_prong.reshape(n_jets, n_prongs).sum(axis=1)
    prong_of = np.repeat(np.arange(n_jets * n_prongs), per_prong)
    weight = rng.exponential(1.0, len(prong_of))
    total = np.bincount(prong_of, weights=weight)
    pt = (np.repeat(jet_pt, n_prongs) * share)[prong_of] * weight / total[prong_of]
    eta = prong_eta[prong_of] + rng.normal(0, 0.04, len(prong_of))
    phi = prong_phi[prong_of] + rng.normal(0, 0.04, len(prong_of))
    phi = np.angle(np.exp(1j * phi))
    return counts, pt, eta, phi, jet_eta, jet_phi


def _write(path: Path, name: str, branches: dict, rntuple: bool, record_style: str | None = None) -> Path:
    """Write ``branches`` (numpy arrays, jagged awkward arrays or records) as a TTree or an RNTuple."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as file:
        if rntuple:
            file[name] = branches
        else:
            kwargs = {}
            if record_style == "delphes":
                kwargs = {"counter_name": lambda counted: f"{counted}_size",
                          "field_name": lambda outer, inner: f"{outer}.{inner}"}
            tree = file.mktree(name, {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in branches.items()},
                               **kwargs)
            tree.extend(branches)
    return path


def _events(rng: np.random.Generator, n_events: int, signal: bool, soft: int = 20):
    """Particles of toy events: a hard jet, a recoil jet (1 prong) and ``soft`` soft particles (mean)."""
    hard = jet_particles(rng, n_events, signal)
    recoil = jet_particles(rng, n_events, False, pt_range=(400.0, 500.0))
    recoil_phi = np.repeat(hard[5] + np.pi, recoil[0]) + (recoil[3] - np.repeat(recoil[5], recoil[0]))
    n_soft = rng.poisson(soft, n_events) + 1
    soft_particles = (n_soft, rng.exponential(1.0, n_soft.sum()) + 0.3, rng.uniform(-2.5, 2.5, n_soft.sum()),
            rng.uniform(-np.pi, np.pi, n_soft.sum()))
    parts = [(hard[0], hard[1], hard[2], hard[3]), (recoil[0], recoil[1], recoil[2], np.angle(np.exp(1j * recoil_phi))),
             soft_particles]
    counts = [p[0] for p in parts]
    fields = [ak.concatenate([ak.unflatten(p[i], p[0]) for p in parts], axis=1) for i in (1, 2, 3)]
    return np.sum(counts, axis=0), [ak.to_numpy(ak.flatten(f)) for f in fields]


def write_delphes(path: Path, n_events: int, seed: int, signal: bool, rntuple: bool = False,
                  soft: int = 20) -> Path:
    """A Delphes-layout file (tree ``Delphes``): EFlowTrack / EFlowPhoton / EFlowNeutralHadron;
    ``soft``: mean number of soft particles per event besides the two jets."""
    rng = np.random.default_rng(seed)
    counts, (pt, eta, phi) = _events(rng, n_events, signal, soft)
    kind = rng.choice(3, len(pt), p=[0.6, 0.25, 0.15])  # track, photon, neutral hadron
    event_of = np.repeat(np.arange(n_events), counts)
    branches = {}
    for code, name in enumerate(("EFlowTrack", "EFlowPhoton", "EFlowNeutralHadron")):
        here = kind == code
        n = np.bincount(event_of[here], minlength=n_events)
        p, e_, f = pt[here].astype(np.float32), eta[here].astype(np.float32), phi[here].astype(np.float32)
        if code == 0:
            mass = np.full(len(p), 0.13957, dtype=np.float32)
            record = {"PT": p, "Eta": e_, "Phi": f, "Mass": mass,
                      "Charge": rng.choice(np.array([-1, 1], dtype=np.int32), len(p))}
        else:
            energy = (p * np.cosh(e_)).astype(np.float32)
            record = {"ET": p, "Eta": e_, "Phi": f, "E": energy}
        branches[name] = ak.zip({k: ak.unflatten(v, n) for k, v in record.items()})
    return _write(path, "Delphes", branches, rntuple, record_style="delphes")


def write_nanoaod(path: Path, n_events: int, seed: int, signal: bool, rntuple: bool = False) -> Path:
    """A NanoAOD-like file (tree ``Events``): one fat jet per event, its PF candidates linked by index,
    plus unlinked soft candidates (config/examples/nanoaod_like.yaml)."""
    rng = np.random.default_rng(seed)
    counts, pt, eta, phi, jet_eta, jet_phi = jet_particles(rng, n_events, signal)
    n_soft = rng.poisson(5, n_events)
    soft_pt = rng.exponential(1.0, n_soft.sum()) + 0.3
    cand = [ak.concatenate([ak.unflatten(a, counts), ak.unflatten(b, n_soft)], axis=1)
            for a, b in ((pt, soft_pt), (eta, rng.uniform(-2.5, 2.5, n_soft.sum())),
                         (phi, rng.uniform(-np.pi, np.pi, n_soft.sum())))]
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    event_of = np.repeat(np.arange(n_events), counts)
    sums = [np.bincount(event_of, weights=w, minlength=n_events) for w in (px, py, pz, pt * np.cosh(eta))]
    jet_pt = np.hypot(sums[0], sums[1])
    mass = np.sqrt(np.maximum(sums[3] ** 2 - sums[0] ** 2 - sums[1] ** 2 - sums[2] ** 2, 0))
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)

    def f32(array):
        return ak.values_astype(array, np.float32)

    branches = {
        "FatJet_pt": f32(ak.unflatten(jet_pt, 1)), "FatJet_eta": f32(ak.unflatten(jet_eta, 1)),
        "FatJet_phi": f32(ak.unflatten(jet_phi, 1)), "FatJet_msoftdrop": f32(ak.unflatten(mass, 1)),
        "PFCands_pt": f32(cand[0]), "PFCands_eta": f32(cand[1]), "PFCands_phi": f32(cand[2]),
        "PFCands_mass": f32(cand[0] * 0),
        "FatJetPFCands_jetIdx": ak.unflatten(np.zeros(counts.sum(), dtype=np.int32), counts),
        "FatJetPFCands_pFCandsIdx": ak.unflatten(local.astype(np.int32), counts),
    }
    return _write(path, "Events", branches, rntuple)


def write_toptagging(path: Path, n_jets: int, seed: int, n_const: int = 200) -> Path:
    """A top-tagging reference file: half QCD, half top jets, 200 zero-padded constituents."""
    rng = np.random.default_rng(seed)
    signal = np.arange(n_jets) % 2 == 1
    blocks = {k: np.zeros((n_jets, n_const), dtype=np.float32) for k in ("E", "PX", "PY", "PZ")}
    for flag in (False, True):
        rows = np.flatnonzero(signal == flag)
        counts, pt, eta, phi, _, _ = jet_particles(rng, len(rows), flag)
        order = np.lexsort((-pt, np.repeat(np.arange(len(rows)), counts)))
        pt, eta, phi = pt[order], eta[order], phi[order]
        rank = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        keep = rank < n_const
        row = np.repeat(rows, counts)[keep]
        for key, values in (("E", pt * np.cosh(eta)), ("PX", pt * np.cos(phi)), ("PY", pt * np.sin(phi)),
                            ("PZ", pt * np.sinh(eta))):
            blocks[key][row, rank[keep]] = values[keep]
    columns = {f"{k}_{i}": blocks[k][:, i] for k in ("E", "PX", "PY", "PZ") for i in range(n_const)}
    frame = pd.DataFrame(columns)
    for name in ("truthE", "truthPX", "truthPY", "truthPZ"):
        frame[name] = np.float32(0.0)
    frame["ttv"] = 0
    frame["is_signal_new"] = signal.astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_hdf(path, key="table", format="fixed")
    return path


def write_jetclass(path: Path, n_jets: int, seed: int, label: str, rntuple: bool = False) -> Path:
    """A JetClass file of one class (``label``: ``label_QCD``, ``label_Tbqq``, ...): tree ``tree``."""
    rng = np.random.default_rng(seed)
    counts, pt, eta, phi, jet_eta, jet_phi = jet_particles(rng, n_jets, label == "label_Tbqq")
    px, py, pz, energy = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)
    jet_of = np.repeat(np.arange(n_jets), counts)
    sums = [np.bincount(jet_of, weights=w, minlength=n_jets) for w in (px, py, pz, energy)]
    branches = {f"part_{k}": ak.values_astype(ak.unflatten(v, counts), np.float32)
                for k, v in (("px", px), ("py", py), ("pz", pz), ("energy", energy),
                             ("deta", eta - np.repeat(jet_eta, counts)),
                             ("dphi", np.angle(np.exp(1j * (phi - np.repeat(jet_phi, counts))))))}
    branches |= {"jet_pt": np.hypot(sums[0], sums[1]).astype(np.float32), "jet_eta": jet_eta.astype(np.float32),
                 "jet_phi": jet_phi.astype(np.float32), "jet_energy": sums[3].astype(np.float32),
                 "jet_nparticles": counts.astype(np.float32),
                 "jet_sdmass": rng.uniform(20, 200, n_jets).astype(np.float32)}
    for i in range(1, 5):
        branches[f"jet_tau{i}"] = rng.uniform(0, 1, n_jets).astype(np.float32)
    for name in JETCLASS_LABELS:
        branches[name] = np.full(n_jets, name == label, dtype=np.bool_)
    return _write(path, "tree", branches, rntuple)
