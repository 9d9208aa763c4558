"""The generated processes beyond QCD and top (hepdl.generation.processes): W, Z, H -> b bbar and the
dark shower; their labels, Pythia settings, truth matching (hepdl.generation.truth) and jets.

Each process generates 60 jets once per module (a few seconds in all).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepdl import cli
from hepdl.config import load_schema
from hepdl.core.errors import ConfigError
from hepdl.generation.generate import JetGenerator, generate_jets, pythia_commands, resolve_settings
from hepdl.generation.processes import (
    PROCESSES,
    PSEUDOSCALAR_QUARK_SHARES,
    dark_alpha_at_1_tev,
    dark_lambda_gev,
)
from hepdl.generation.truth import (
    delta_r,
    match_partons,
    matched_index,
    resonance_decay_partons,
    resonance_decay_partons_from_columns,
)
from hepdl.io.jets_file import read_provenance

NEW = ("w", "z", "hbb", "svj")
N_JETS = 60
SEEDS = {"w": 11, "z": 12, "hbb": 13, "svj": 14}


@pytest.fixture(scope="module")
def jets():
    """{process: 60 truth-matched jets with their truth partons} for the new processes."""
    out = {}
    for process in NEW:
        stats: dict = {}
        out[process] = (generate_jets(process, N_JETS, SEEDS[process], {}, progress=False, truth=True, stats=stats),
                        stats)
    return out


# ----------------------------------------------------------------------------- the process table

def test_processes_are_the_schema_enum_with_distinct_labels():
    generate = load_schema()["properties"]["datasets"]["additionalProperties"]["properties"]["generate"]
    assert list(PROCESSES) == generate["properties"]["process"]["enum"]
    labels = {name: p.label for name, p in PROCESSES.items()}
    assert labels == {"qcd": 0, "top": 1, "w": 2, "z": 3, "hbb": 4, "svj": 5}
    assert not PROCESSES["qcd"].truth_partons
    assert all(PROCESSES[name].truth_partons for name in PROCESSES if name != "qcd")


def test_labels_are_documented():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "generation.md").read_text()
    for name, process in PROCESSES.items():
        assert f"| `{name}` | {process.label} |" in text, name


def test_pythia_commands_per_process():
    w = pythia_commands("w", 3, resolve_settings("w", {}))
    assert {"WeakDoubleBoson:ffbar2WW = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"} <= set(w)
    z = pythia_commands("z", 3, resolve_settings("z", {}))
    assert {"WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2", "23:onIfAny = 1 2 3 4 5"} <= set(z)
    hbb = pythia_commands("hbb", 3, resolve_settings("hbb", {}))
    assert {"HiggsSM:ffbar2HZ = on", "25:onIfMatch = 5 -5", "23:onIfAny = 12 14 16"} <= set(hbb)
    for commands in (w, z, hbb):
        assert any(c.startswith("PhaseSpace:pTHatMin = ") for c in commands)
    svj = pythia_commands("svj", 3, resolve_settings("svj", {"r_inv": 0.25, "zprime_mass_gev": 1800}))
    assert not any(c.startswith("PhaseSpace:pTHat") for c in svj)  # a 2 -> 1 process
    for command in ("HiddenValley:ffbar2Zv = on", "4900023:m0 = 1800", "HiddenValley:Ngauge = 2",
                    "HiddenValley:nFlav = 2", "HiddenValley:setLambda = on", "4900111:m0 = 20",
                    "4900101:m0 = 10", "4900111:oneChannel = 1 0.25 0 51 -51", "4900213:oneChannel = 1 0.25 0 53 -53",
                    "4900113:addChannel = 1 0.15 91 3 -3", "4900211:addChannel = 1 0.7071 91 5 -5"):
        assert command in svj, command
    assert sum(share for _, share in PSEUDOSCALAR_QUARK_SHARES) == pytest.approx(1)
    assert dark_lambda_gev() == pytest.approx(35.154, abs=1e-3)
    assert dark_alpha_at_1_tev() == pytest.approx(0.3128, abs=1e-4)


def test_process_settings_are_checked_by_the_schema():
    assert resolve_settings("svj", {})["r_inv"] == 0.3 and resolve_settings("svj", {})["zprime_mass_gev"] == 2000
    assert resolve_settings("svj", {})["pthat_min"] is None and resolve_settings("w", {})["r_inv"] is None
    for process in ("w", "z", "hbb"):
        assert resolve_settings(process, {})["pthat_min"] is not None
    with pytest.raises(ConfigError, match=r"'pthat_min' \(--pthat-min\): not used by process svj"):
        resolve_settings("svj", {"pthat_min": 300})
    with pytest.raises(ConfigError, match=r"'r_inv' \(--r-inv\): only used by process svj"):
        resolve_settings("hbb", {"r_inv": 0.3})
    with pytest.raises(ConfigError, match="r_inv"):
        resolve_settings("svj", {"r_inv": 1.0})
    with pytest.raises(ConfigError, match="zprime_mass_gev"):
        resolve_settings("svj", {"zprime_mass_gev": 15000})


# ----------------------------------------------------------------------------- jets

@pytest.mark.parametrize("process", NEW)
def test_jets_lie_in_the_window_with_the_process_label(jets, process):
    array, stats = jets[process]
    assert len(array) == N_JETS and stats["n_failed_events"] == 0
    pt = ak.to_numpy(array.jet_pt)
    assert np.all((pt > 550) & (pt < 650)) and np.all(np.abs(ak.to_numpy(array.jet_eta)) < 2)
    assert np.all(ak.to_numpy(array.label) == PROCESSES[process].label)
    assert np.array_equal(ak.to_numpy(ak.num(array.const_pt)), ak.to_numpy(array.jet_nconst))


@pytest.mark.parametrize("process, low, high", [("w", 72, 88), ("z", 82, 98), ("hbb", 105, 130)])
def test_jet_mass_peaks_at_the_boson_mass(jets, process, low, high):
    """W ~80, Z ~91 GeV; H -> b bbar a little below 125 GeV (neutrinos of semileptonic b decays)."""
    mass = ak.to_numpy(jets[process][0].jet_mass)
    counts, edges = np.histogram(mass, bins=np.arange(40, 201, 5))
    peak = 0.5 * (edges[:-1] + edges[1:])[np.argmax(counts)]
    assert low <= peak <= high
    assert low - 8 <= np.median(mass) <= high + 8


def test_dark_shower_jets_are_wide_and_busy(jets):
    """Semi-visible jets: no mass peak, many constituents (dark hadrons decay to quark pairs)."""
    svj = jets["svj"][0]
    w = jets["w"][0]
    assert np.median(ak.to_numpy(svj.jet_nconst)) > 1.5 * np.median(ak.to_numpy(w.jet_nconst))
    assert np.median(ak.to_numpy(svj.jet_mass)) > 100


@pytest.mark.parametrize("process", NEW)
def test_every_jet_is_truth_matched(jets, process):
    array = jets[process][0]
    ids = ak.to_numpy(array.truth_id)
    n_partons = len(PROCESSES[process].truth_partons)
    assert ids.shape == (N_JETS, n_partons)
    dr = delta_r(ak.to_numpy(array.jet_eta)[:, None], ak.to_numpy(array.jet_phi)[:, None],
                 ak.to_numpy(array.truth_eta), ak.to_numpy(array.truth_phi))
    assert np.all(dr < 0.8)
    if process == "svj":
        assert np.all(np.abs(ids[:, 0]) == 4900101)
        return
    boson = {"w": 24, "z": 23, "hbb": 25}[process]
    assert np.all(np.abs(ids[:, 0]) == boson)
    quarks = ids[:, 1:]
    assert np.all(quarks[:, 0] * quarks[:, 1] < 0)  # a quark and an antiquark
    if process == "w":  # one up-type and one down-type quark, total charge that of the W
        assert np.all((np.abs(quarks[:, 0]) % 2) != (np.abs(quarks[:, 1]) % 2))
        up = np.where(np.abs(quarks[:, 0]) % 2 == 0, quarks[:, 0], quarks[:, 1])
        assert np.all(np.sign(up) == np.sign(ids[:, 0]))
    else:
        assert np.all(quarks[:, 0] == -quarks[:, 1])
        if process == "hbb":
            assert np.all(np.abs(quarks) == 5)


def test_match_partons_on_constructed_cases():
    def objects(etas, phis):
        table = np.zeros((len(etas), len(etas[0]), 4))
        table[:, :, 2], table[:, :, 3] = etas, phis
        return table

    w = objects([[0.1, 0.3, -0.2]], [[3.1, -3.0, 2.9]])  # (W, q1, q2) across the phi = pi seam
    assert match_partons(np.array([0.0]), np.array([3.1]), w, 0.8).tolist() == [True]
    assert matched_index(0.0, 3.1, w, 0.8) == 0
    w_out = objects([[0.1, 0.9, -0.2]], [[3.1, 3.1, 3.1]])  # q1 at Delta R 0.9
    assert match_partons(np.array([0.0]), np.array([3.1]), w_out, 0.8).tolist() == [False]
    assert matched_index(0.0, 3.1, w_out, 0.8) == -1 and matched_index(0.0, 3.1, w_out, 1.0) == 0
    dark_quarks = objects([[1.0], [-1.0]], [[0.0], [3.0]])  # one parton per object
    assert match_partons(np.array([-1.2, 0.0]), np.array([3.1, 0.0]), dark_quarks, 0.8).tolist() == [True, False]
    assert matched_index(-1.2, 3.1, dark_quarks, 0.8) == 1
    assert match_partons(np.array([0.0]), np.array([0.0]), np.zeros((0, 3, 4)), 0.8).tolist() == [False]


# ----------------------------------------------------------------------------- truth readers

@pytest.mark.parametrize("process, per_event", [("w", 2), ("z", 2), ("hbb", 1), ("svj", 2)])
def test_truth_partons_from_batch_columns_equal_the_accessors(process, per_event):
    """The process's partons_from_columns on each event of Pythia.nextBatch gives what
    partons_from_event reads through the accessors from the same event (same seed), bit for bit."""
    definition = PROCESSES[process]
    batched = JetGenerator(process, 8, {})
    stepped = JetGenerator(process, 8, {}, clustering="slowjet")
    n_objects = []
    for event in batched.pythia.nextBatch(25, "fail").prt:
        assert stepped.pythia.next()
        columns = [ak.to_list(event[name]) for name in ("id", "status", "daughter1", "daughter2")]
        momenta = [ak.to_list(event.p[c]) for c in ("px", "py", "pz")]
        ours = definition.partons_from_columns(*columns, *momenta)
        reference = definition.partons_from_event(stepped.event)
        assert ours.shape == reference.shape and np.array_equal(ours, reference)
        assert ours.shape[1:] == (len(definition.truth_partons), 4)
        n_objects.append(len(ours))
    # every W, Z, H decays to quarks; the Z' reaches the dark quarks in 98.2% of events
    assert np.mean(n_objects) >= 0.9 * per_event and max(n_objects) == per_event


@pytest.mark.parametrize("process, resonance, daughters", [("w", 24, (1, 2, 3, 4, 5)), ("svj", 4900023, (4900101,))])
def test_truth_uses_the_last_resonance_copy_and_its_decay_products(process, resonance, daughters):
    generator = JetGenerator(process, 5, {}, clustering="slowjet")
    for _ in range(3):
        generator.next_event()
        event = generator.event
        rows = resonance_decay_partons(event, resonance, daughters)
        hard = [i for i in range(3, 12) if event[i].idAbs() == resonance and abs(event[i].status()) == 22]
        assert len(rows) <= len(hard) >= 1
        for row in rows:
            i = next(i for i in hard if event[i].id() == row[0, 0])
            last = event[event[i].iBotCopyId()]
            assert row[0, 1] == pytest.approx(last.pT())  # the copy that decays, after every recoil
            kids = sorted(event[d].pT() for d in last.daughterList())
            assert sorted(row[1:, 1]) == pytest.approx(kids)  # as produced by the decay, before their shower
        columns = resonance_decay_partons_from_columns(
            *[[getattr(event[i], name)() for i in range(event.size())]
              for name in ("id", "status", "daughter1", "daughter2", "px", "py", "pz")],
            resonance_id=resonance, daughter_ids=daughters)
        assert np.array_equal(columns, rows)


def test_dark_mesons_decay_invisibly_with_probability_r_inv():
    """r_inv is the fraction of dark-meson decays to the invisible stand-ins (51, 53)."""
    for r_inv in (0.0, 0.6):
        generator = JetGenerator("svj", 3, {"r_inv": r_inv})
        prt = generator.pythia.nextBatch(20, "fail").prt
        ids = ak.to_numpy(ak.flatten(prt.id))
        first = ak.to_numpy(ak.flatten(prt.daughter1))
        offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(prt.id)))[:-1]])
        rows = np.flatnonzero(np.isin(np.abs(ids), (4900111, 4900113, 4900211, 4900213)) & (first > 0))
        event_of = np.searchsorted(offsets, rows, side="right") - 1
        daughter_ids = np.abs(ids[offsets[event_of] + first[rows]])
        invisible = np.isin(daughter_ids, (51, 53))
        assert len(rows) > 250
        assert abs(invisible.mean() - r_inv) < 5 * np.sqrt(r_inv * (1 - r_inv) / len(rows)) + 1e-12
        assert np.all(np.isin(daughter_ids[~invisible], (1, 2, 3, 4, 5)))
        assert not generator.pythia.particleData.isVisible(51) and not generator.pythia.particleData.isVisible(53)


# ----------------------------------------------------------------------------- paths, determinism, CLI

@pytest.mark.parametrize("process", NEW)
def test_the_two_clustering_paths_give_the_same_jets_bit_for_bit(process):
    batched = JetGenerator(process, 21, {})
    slow = JetGenerator(process, 21, {}, clustering="slowjet")
    n_jets = 0
    for _ in range(60):
        ours, reference = batched.next_event(), slow.next_event()
        assert len(ours) == len(reference)
        for a, b in zip(ours, reference, strict=True):
            assert a.keys() == b.keys() and "truth" in a
            for key in a:
                assert np.array_equal(a[key], b[key]), key
        n_jets += len(ours)
    assert n_jets >= 5


def test_same_seed_same_jets(jets):
    again = generate_jets("svj", 10, SEEDS["svj"], {}, progress=False, truth=True)
    reference = jets["svj"][0][:10]
    for name in ("jet_pt", "jet_mass", "const_pt", "const_e", "truth_eta"):
        assert ak.all(ak.flatten(again[name], axis=None) == ak.flatten(reference[name], axis=None)), name
    other = generate_jets("svj", 10, SEEDS["svj"] + 1, {}, progress=False)
    assert not np.array_equal(ak.to_numpy(other.jet_pt), ak.to_numpy(reference.jet_pt))


def test_cli_generates_a_dark_shower_with_its_settings(tmp_path):
    out = tmp_path / "svj.root"
    assert cli.main(["generate", "--process", "svj", "--n-jets", "3", "--seed", "5", "--r-inv", "0.5",
                     "--zprime-mass-gev", "2200", "--output", str(out)]) == 0
    record = read_provenance(out)
    assert record["generation"]["r_inv"] == 0.5 and record["generation"]["zprime_mass_gev"] == 2200
    assert record["generation"]["pthat_min"] is None
    assert "4900111:oneChannel = 1 0.5 0 51 -51" in record["pythia_commands"]
    with uproot.open(out) as file:
        assert np.all(file["jets"]["label"].array(library="np") == 5)
    status = cli.main(["generate", "--process", "w", "--n-jets", "3", "--seed", "5", "--r-inv", "0.5",
                       "--output", str(tmp_path / "w.root")])
    assert status == 2 and not (tmp_path / "w.root").exists()


def test_anomalies_config_has_every_pair_in_both_directions():
    """config/anomalies.yaml: a dataset per process, all in the same jet window, and for each
    signal a QCD-trained experiment tagging it and a signal-trained one tagging QCD."""
    from pathlib import Path

    from hepdl.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "config" / "anomalies.yaml")
    datasets = config["datasets"]
    assert {d["generate"]["process"] for d in datasets.values()} == set(PROCESSES)
    assert all(not ({"jet_pt_min", "jet_pt_max", "jet_abs_eta_max", "jet_r"} & set(d["generate"]))
               for d in datasets.values())  # the common window of the `generation` block
    pairs = {(e["train"], e["background"], e["signal"]) for e in config["experiments"].values()}
    signals = [name for name in datasets if datasets[name]["generate"]["process"] != "qcd"]
    expected = {("qcd", "qcd", s) for s in signals} | {(s, s, "qcd") for s in signals}
    assert pairs == expected and len(config["experiments"]) == 2 * len(signals)
