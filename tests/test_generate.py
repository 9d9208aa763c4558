"""Jet generation (hepdl.generation.generate) and top truth matching (hepdl.generation.truth).

Most tests read the session fixtures of conftest.py (150 QCD jets, seed 1; 100 top jets, seed 2),
so Pythia runs only a few seconds in all.
"""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot

from hepdl import cli
from hepdl.config import derive_seed
from hepdl.core.errors import ConfigError, HepdlError
from hepdl.generation.generate import (
    CLUSTERINGS,
    SETTING_NAMES,
    JetGenerator,
    generate_jets,
    pythia_commands,
    resolve_settings,
    settings_schema,
    shard_n_jets,
    wrap_phi32,
)
from hepdl.generation.truth import (
    delta_r,
    hadronic_top_partons,
    hadronic_top_partons_from_columns,
    match_top,
    matched_top_index,
)
from hepdl.io.jets_file import BRANCHES, read_provenance

# ----------------------------------------------------------------------------- selection

@pytest.mark.parametrize("process", ["qcd", "top"])
def test_jets_lie_in_the_default_window_with_exactly_n_jets(generated_jets_arrays, process):
    jets = generated_jets_arrays[process]
    assert len(jets) == {"qcd": 150, "top": 100}[process]
    pt = ak.to_numpy(jets.jet_pt)
    assert np.all((pt > 550) & (pt < 650))
    assert np.all(np.abs(ak.to_numpy(jets.jet_eta)) < 2.0)
    assert np.all(ak.to_numpy(jets.label) == {"qcd": 0, "top": 1}[process])


@pytest.mark.parametrize("process", ["qcd", "top"])
def test_constituents_sorted_capped_and_counted(generated_jets_arrays, process):
    jets = generated_jets_arrays[process]
    counts = ak.to_numpy(ak.num(jets.const_pt))
    assert np.array_equal(counts, ak.to_numpy(jets.jet_nconst))
    assert np.all((counts >= 1) & (counts <= 200))
    for name in ("const_eta", "const_phi", "const_e"):
        assert np.array_equal(ak.to_numpy(ak.num(jets[name])), counts)
    flat_pt = ak.flatten(jets.const_pt)
    steps = ak.to_numpy(ak.flatten(jets.const_pt[:, 1:] - jets.const_pt[:, :-1]))
    assert np.all(steps <= 0) and np.all(ak.to_numpy(flat_pt) > 0)
    assert jets.const_pt.type.content.content.primitive == "float32"


@pytest.mark.parametrize("process", ["qcd", "top"])
def test_jet_momentum_is_the_sum_of_its_constituents(generated_jets_arrays, process):
    """No jet reaches 200 constituents here, so the stored ones are all of them."""
    jets = generated_jets_arrays[process]
    assert ak.max(jets.jet_nconst) < 200
    pt, eta, phi, e = (ak.values_astype(jets[f"const_{n}"], np.float64) for n in ("pt", "eta", "phi", "e"))
    px, py, pz = ak.sum(pt * np.cos(phi), axis=1), ak.sum(pt * np.sin(phi), axis=1), ak.sum(pt * np.sinh(eta), axis=1)
    esum = ak.sum(e, axis=1)
    assert np.allclose(np.hypot(px, py), jets.jet_pt, rtol=1e-4)
    assert np.allclose(np.arctan2(py, px), jets.jet_phi, atol=1e-4)
    assert np.allclose(np.arcsinh(pz / np.hypot(px, py)), jets.jet_eta, atol=1e-4)
    mass = np.sqrt(np.maximum(esum**2 - px**2 - py**2 - pz**2, 0))
    assert np.allclose(mass, jets.jet_mass, rtol=1e-3, atol=0.05)


def test_phi_in_half_open_interval(generated_jets_arrays):
    for jets in generated_jets_arrays.values():
        for phi in (ak.to_numpy(jets.jet_phi), ak.to_numpy(ak.flatten(jets.const_phi))):
            assert np.all((phi > -np.float32(np.pi)) & (phi <= np.float32(np.pi)))


def test_wrap_phi32_maps_minus_pi_to_plus_pi():
    phi = wrap_phi32(np.array([-np.pi, np.pi, -np.pi + 1e-9, 3 * np.pi, 0.5]))
    assert phi.dtype == np.float32
    assert np.all(phi[:4] == np.float32(np.pi))
    assert phi[4] == np.float32(0.5)


def test_truncation_keeps_jet_kinematics_of_all_constituents(generated_jets_arrays):
    """max_constituents truncates the stored list only; the jet 4-momentum uses every constituent."""
    capped = generate_jets("qcd", 5, 1, {"max_constituents": 10}, progress=False)
    full = generated_jets_arrays["qcd"][:5]  # same seed: the same first five jets
    assert np.all(ak.to_numpy(capped.jet_nconst) == 10)
    for name in ("jet_pt", "jet_eta", "jet_phi", "jet_mass"):
        assert np.array_equal(ak.to_numpy(capped[name]), ak.to_numpy(full[name]))
    assert ak.all(capped.const_pt == full.const_pt[:, :10])


# ----------------------------------------------------------------------------- physics

def test_top_jet_mass_peaks_at_the_top_mass_and_qcd_is_lighter(generated_jets_arrays):
    top = ak.to_numpy(generated_jets_arrays["top"].jet_mass)
    qcd = ak.to_numpy(generated_jets_arrays["qcd"].jet_mass)
    assert 150 < np.median(top) < 200
    counts, edges = np.histogram(top, bins=np.arange(105, 256, 10))
    peak = 0.5 * (edges[:-1] + edges[1:])[np.argmax(counts)]
    assert 165 <= peak <= 185
    assert np.median(qcd) < 120
    assert np.mean(qcd < 140) > 0.75


def test_every_top_jet_is_truth_matched(generated_jets_arrays):
    top = generated_jets_arrays["top"]
    ids = ak.to_numpy(top.truth_id)
    eta, phi = ak.to_numpy(top.truth_eta), ak.to_numpy(top.truth_phi)
    assert np.all(np.abs(ids[:, 0]) == 6)
    assert np.all(np.sign(ids[:, 1]) == np.sign(ids[:, 0]))  # t -> b W+, tbar -> bbar W-
    assert np.mean(np.abs(ids[:, 1]) == 5) > 0.95
    assert np.all((np.abs(ids[:, 1:]) >= 1) & (np.abs(ids[:, 1:]) <= 5))
    # W+ -> u dbar etc.: the two W quarks have opposite-sign ids, one up-type and one down-type
    assert np.all(ids[:, 2] * ids[:, 3] < 0)
    assert np.all((np.abs(ids[:, 2]) % 2) != (np.abs(ids[:, 3]) % 2))
    dr = delta_r(ak.to_numpy(top.jet_eta)[:, None], ak.to_numpy(top.jet_phi)[:, None], eta, phi)
    assert np.all(dr < 0.8)


def test_match_top_on_constructed_cases():
    def partons(eta, phi):
        table = np.zeros((1, 4, 4))
        table[0, :, 0] = [6, 5, 2, -1]
        table[0, :, 2], table[0, :, 3] = eta, phi
        return table

    inside = partons([0.1, -0.3, 0.5, 0.0], [3.0, -3.1, 2.9, 3.1])  # across the phi = pi seam
    assert match_top([0.0], [3.1], inside, 0.8).tolist() == [True]
    one_out = partons([0.1, -0.3, 0.85, 0.0], [3.0, -3.1, 3.1, 3.1])  # q1 at Delta R 0.85
    assert match_top([0.0], [3.1], one_out, 0.8).tolist() == [False]
    assert match_top([0.0], [3.1], one_out, 0.9).tolist() == [True]
    both = np.concatenate([one_out, partons([2.0] * 4, [0.0] * 4)])
    assert match_top([0.0, 2.1, -2.0], [3.1, 0.1, 0.0], both, 0.8).tolist() == [False, True, False]
    assert match_top([0.0], [0.0], np.zeros((0, 4, 4)), 0.8).tolist() == [False]
    # the scalar version used during generation agrees
    assert matched_top_index(0.0, 3.1, inside, 0.8) == 0
    assert matched_top_index(0.0, 3.1, one_out, 0.8) == -1
    assert [matched_top_index(e, p, both, 0.8) for e, p in ((0.0, 3.1), (2.1, 0.1), (-2.0, 0.0))] == [-1, 1, -1]


def test_truth_partons_use_the_last_top_copy_and_the_decay_quarks():
    generator = JetGenerator("top", 5, {}, clustering="slowjet")  # (its event record is the event just made)
    generator.next_event()
    event = generator.event
    tops = hadronic_top_partons(event)
    assert tops.shape == (2, 4, 4)  # W -> quarks only: both tops hadronic
    for hard in (5, 6):
        last = event[event[hard].iBotCopyId()]
        row = tops[tops[:, 0, 0] == event[hard].id()][0]
        assert row[0, 1] == pytest.approx(last.pT())
        b = next(event[d] for d in last.daughterList() if event[d].idAbs() != 24)
        w = next(event[d] for d in last.daughterList() if event[d].idAbs() == 24)
        assert (row[1, 0], row[1, 1]) == (b.id(), pytest.approx(b.pT()))  # before the b's shower
        w_last = event[w.iBotCopyId()]
        quarks = sorted(event[d].pT() for d in w_last.daughterList())
        assert sorted(row[2:, 1]) == pytest.approx(quarks)


def test_slowjet_anti_kt_is_fastjet_anti_kt_exactly():
    """SlowJet (Pythia's fjcore, what generation clusters with) and the fastjet package give the same
    anti-kt R=0.8 jets on the visible final state: the same constituents (record indices) and the
    same four-momenta, bit for bit, down to 20 GeV."""
    fastjet = pytest.importorskip("fastjet")
    import pythia8mc

    generator = JetGenerator("qcd", 9, {}, clustering="slowjet")
    slow_jet = pythia8mc.SlowJet(-1, 0.8, 20.0, 25.0, 2, 2, None, True, True)
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.8)
    n_compared = 0
    for _ in range(4):
        generator.next_event()
        event = generator.event
        slow_jet.analyze(event)
        ours = [(sorted(slow_jet.constituents(i)), [getattr(slow_jet.p(i), c)() for c in ("px", "py", "pz", "e")])
                for i in range(slow_jet.sizeJet())]
        particles = []
        for i in range(event.size()):
            p = event[i]
            if p.isFinal() and p.isVisible():
                particles.append(fastjet.PseudoJet(p.px(), p.py(), p.pz(), p.e()))
                particles[-1].set_user_index(i)
        sequence = fastjet.ClusterSequence(particles, definition)
        theirs = [(sorted(c.user_index() for c in jet.constituents()), [jet.px(), jet.py(), jet.pz(), jet.E()])
                  for jet in fastjet.sorted_by_pt(sequence.inclusive_jets(20.0))]
        assert ours == theirs
        assert len(ours) >= 2
        n_compared += len(ours)
    assert n_compared >= 8


def test_selection_is_pinned():
    """Regression guard for the physics selection: a seeded sample's event and constituent counts and
    kinematic sums, as generated at commit cf3a08a (anti-kt of hepdl's own on the bulk-read record)
    and, identically, by both of today's paths (fastjet on Pythia.nextBatch, the default; SlowJet).
    A change of which jets or constituents are selected moves the integers; the sums are compared
    to 1e-9 (libm may differ in the last bit)."""
    pins = {  # process: (n_jets, n_events, sum nconst, sum i * nconst, sum jet_pt, sum jet_mass, sum const_e)
        "qcd": (40, 303, 2580, 49019, 23842.034790039062, 4150.949697494507, 36998.86761886813),
        "top": (30, 212, 2324, 32682, 17632.281799316406, 5202.626678466797, 26760.31390686147),
    }
    for process, (n_jets, n_events, n_const, weighted, pt, mass, energy) in pins.items():
        stats: dict = {}
        jets = generate_jets(process, n_jets, 5, {}, progress=False, truth=process == "top", stats=stats)
        nconst = ak.to_numpy(jets.jet_nconst).astype(np.int64)
        assert (len(jets), stats["n_events"], stats["n_failed_events"]) == (n_jets, n_events, 0)
        assert (int(nconst.sum()), int(np.sum(np.arange(n_jets) * nconst))) == (n_const, weighted)
        assert float(np.sum(ak.to_numpy(jets.jet_pt).astype(np.float64))) == pytest.approx(pt, rel=1e-9)
        assert float(np.sum(ak.to_numpy(jets.jet_mass).astype(np.float64))) == pytest.approx(mass, rel=1e-9)
        assert float(ak.sum(ak.values_astype(jets.const_e, np.float64))) == pytest.approx(energy, rel=1e-9)
        if process == "top":
            assert np.abs(ak.to_numpy(jets.truth_id)).sum(axis=0).tolist() == [180, 150, 64, 94]


@pytest.mark.parametrize("process, seed", [("qcd", 21), ("top", 22)])
def test_the_two_clustering_paths_give_the_same_jets_bit_for_bit(process, seed):
    """The default path (Pythia.nextBatch, the fastjet package, truth from the batch's columns) and
    the SlowJet path (next(), Pythia's SlowJet, accessors) select the same jets from the same
    events, every field identical."""
    assert CLUSTERINGS[0] == "fastjet"
    batched = JetGenerator(process, seed, {})
    slow = JetGenerator(process, seed, {}, clustering="slowjet")
    n_jets = 0
    for _ in range(250):
        ours, reference = batched.next_event(), slow.next_event()
        assert len(ours) == len(reference)
        for a, b in zip(ours, reference, strict=True):
            assert a.keys() == b.keys()
            for key in a:
                assert np.array_equal(a[key], b[key]), key
        n_jets += len(ours)
    assert n_jets >= 15
    assert batched.n_events == slow.n_events == slow.n_generated == 250 <= batched.n_generated
    assert batched.clustering.startswith("fastjet") and slow.clustering == "Pythia SlowJet (fjcore)"
    with pytest.raises(ValueError, match="clustering"):
        JetGenerator(process, seed, {}, clustering="antikt")


def test_truth_partons_from_batch_columns_equal_the_accessors():
    """hadronic_top_partons_from_columns on each event of Pythia.nextBatch gives what
    hadronic_top_partons reads through the accessors from the same event (same seed, next()),
    bit for bit."""
    batched = JetGenerator("top", 8, {})
    stepped = JetGenerator("top", 8, {}, clustering="slowjet")
    events = batched.pythia.nextBatch(60, "fail").prt
    n_tops = 0
    for event in events:
        assert stepped.pythia.next()
        columns = [ak.to_list(event[name]) for name in ("id", "status", "daughter1", "daughter2")]
        momenta = [ak.to_list(event.p[c]) for c in ("px", "py", "pz")]
        ours = hadronic_top_partons_from_columns(*columns, *momenta)
        reference = hadronic_top_partons(stepped.event)
        assert ours.shape == reference.shape and np.array_equal(ours, reference)
        n_tops += len(ours)
    assert n_tops == 120  # W -> quarks only: two hadronic tops per event


def test_truth_precheck_on_the_jet_axis_changes_no_top_jet():
    """Top jets are first truth-matched on the clustering's jet axis with a 1e-6 margin (the
    constituent sum differs from it by rounding only), so that unmatched jets are never read.
    Without the pre-check (margin infinite: every jet in the window is read and matched exactly)
    the same seed must give the same jets, bit for bit; and the pre-check must have skipped
    reading some jets."""
    checked = JetGenerator("top", 4, {})
    unchecked = JetGenerator("top", 4, {})
    unchecked._dr_hi = float("inf")
    reads = {"checked": 0, "unchecked": 0}

    def counting(name, generator):
        read = generator._jet

        def _jet(p4):
            reads[name] += 1
            return read(p4)
        return _jet

    checked._jet = counting("checked", checked)
    unchecked._jet = counting("unchecked", unchecked)
    n_jets = 0
    for _ in range(400):
        ours, reference = checked.next_event(), unchecked.next_event()
        assert len(ours) == len(reference)
        for a, b in zip(ours, reference, strict=True):
            assert a.keys() == b.keys() == {"jet_pt", "jet_eta", "jet_phi", "jet_mass", "const", "truth"}
            for key in a:
                assert np.array_equal(a[key], b[key]), key
        n_jets += len(ours)
    assert n_jets >= 40
    assert reads["checked"] >= n_jets and reads["unchecked"] > reads["checked"] + 10


# ----------------------------------------------------------------------------- determinism

def test_same_seed_same_jets_and_other_seed_other_jets(generated_jets_arrays):
    again = generate_jets("qcd", 12, 1, {}, progress=False)
    reference = generated_jets_arrays["qcd"][:12]
    for name in BRANCHES:
        assert ak.all(ak.flatten(again[name], axis=None) == ak.flatten(reference[name], axis=None))
    other = generate_jets("qcd", 12, 3, {}, progress=False)
    assert not np.array_equal(ak.to_numpy(other.jet_pt), ak.to_numpy(reference.jet_pt))


def test_same_seed_same_file(tmp_path):
    """Two runs of ``hepdl generate`` with the same seed write the same jets and the same provenance
    (but for the time stamp)."""
    records, arrays = [], []
    for name in ("a.root", "b.root"):
        out = tmp_path / name
        assert cli.main(["generate", "--process", "top", "--n-jets", "6", "--seed", "31", "--output", str(out)]) == 0
        with uproot.open(out) as file:
            arrays.append(file["jets"].arrays(list(BRANCHES)))
        record = read_provenance(out)
        record.pop("created_utc")
        records.append(record)
    assert records[0] == records[1]
    for name in BRANCHES:
        assert ak.all(ak.flatten(arrays[0][name], axis=None) == ak.flatten(arrays[1][name], axis=None)), name


def test_exactly_n_jets_keeps_the_first_jets_of_the_last_event():
    wide = {"jet_pt_min": 5, "jet_pt_max": 7000, "jet_abs_eta_max": 5}
    stats_one: dict = {}
    stats_three: dict = {}
    one = generate_jets("qcd", 1, 1, wide, progress=False, stats=stats_one)
    three = generate_jets("qcd", 3, 1, wide, progress=False, stats=stats_three)
    assert len(one) == 1 and len(three) == 3
    assert stats_one["n_events"] == stats_three["n_events"] == 1  # all from the first event
    pt = ak.to_numpy(three.jet_pt)
    assert np.all(np.diff(pt) < 0) and one.jet_pt[0] == pt[0]  # leading jets first


def test_pythia_commands_carry_the_physics_settings():
    top = pythia_commands("top", 123, resolve_settings("top", {"mpi": True, "pthat_max": -1}))
    for command in ("Beams:eCM = 14000", "Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off",
                    "24:onIfAny = 1 2 3 4 5", "PhaseSpace:pTHatMin = 400", "PhaseSpace:pTHatMax = -1",
                    "PartonLevel:MPI = on", "Random:setSeed = on", "Random:seed = 123", "Print:quiet = on"):
        assert command in top
    qcd = pythia_commands("qcd", 5, resolve_settings("qcd", {}))
    assert "HardQCD:all = on" in qcd and "PartonLevel:MPI = off" in qcd
    assert "PhaseSpace:pTHatMax = 800" in qcd and not any(c.startswith("Top:") for c in qcd)


# ----------------------------------------------------------------------------- files and CLI

@pytest.mark.parametrize("process", ["qcd", "top"])
def test_write_read_round_trip(generated_jets_files, generated_jets_arrays, process):
    jets = generated_jets_arrays[process]
    with uproot.open(generated_jets_files[process]) as file:
        read = file["jets"].arrays(list(BRANCHES))
    for name in BRANCHES:
        assert ak.all(ak.flatten(read[name], axis=None) == ak.flatten(jets[name], axis=None)), name
    assert read_provenance(generated_jets_files[process])["process"] == process


def test_cli_generate_writes_jets_and_provenance(tmp_path, capfd):
    out = tmp_path / "qcd.root"
    status = cli.main(["generate", "--process", "qcd", "--n-jets", "4", "--seed", "17", "--output", str(out),
                       "--jet-pt-min", "500", "--max-constituents", "30"])
    assert status == 0
    assert capfd.readouterr().out == ""  # quiet: no Pythia or fjcore banner on stdout (fd 1)
    with uproot.open(out) as file:
        jets = file["jets"].arrays(list(BRANCHES))
    assert len(jets) == 4 and ak.all(jets.jet_pt > 500) and ak.max(jets.jet_nconst) <= 30
    record = read_provenance(out)
    assert record["seed"] == 17 and record["process"] == "qcd" and record["n_events"] >= 1
    assert record["generation"]["jet_pt_min"] == 500 and record["generation"]["pthat_min"] == 350
    assert "Random:seed = 17" in record["pythia_commands"]
    assert record["clustering"].startswith("fastjet ") and record["clustering"].endswith("on Pythia.nextBatch")
    assert record["n_generated_events"] >= record["n_events"]
    json.dumps(record)


def test_cli_generate_from_config_shard(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "seed: 77\n"
        "generation: {jet_pt_min: 500}\n"
        "datasets:\n"
        "  top: {generate: {process: top, pthat_min: 400, pthat_max: 800}, n_jets: 7, shards: 2}\n"
        "experiments:\n"
        "  e: {train: top, background: top, signal: top}\n")
    out = tmp_path / "shard1.root"
    assert cli.main(["generate", "--config", str(config), "--dataset", "top", "--shard", "1",
                     "--output", str(out)]) == 0
    record = read_provenance(out)
    assert record["n_jets"] == 3 and record["seed"] == derive_seed(77, "top", 1)
    assert record["generation"]["jet_pt_min"] == 500 and record["dataset"] == "top"
    with uproot.open(out) as file:
        assert file["jets"].num_entries == 3
        assert np.all(file["jets"]["label"].array(library="np") == 1)


def test_shard_split_gives_the_remainder_to_the_first_shards():
    assert [shard_n_jets(10, 4, s) for s in range(4)] == [3, 3, 2, 2]
    assert sum(shard_n_jets(24000, 4, s) for s in range(4)) == 24000
    with pytest.raises(ConfigError, match="--shard 4"):
        shard_n_jets(10, 4, 4)


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("settings, option", [
    ({"pthat_min": 800, "pthat_max": 400}, "pthat_max"),
    ({"jet_pt_min": 650, "jet_pt_max": 550}, "jet_pt_max"),
    ({"jet_pt_min": 7500}, "jet_pt_min"),
    ({"jet_abs_eta_max": 0}, "jet_abs_eta_max"),
    ({"jet_r": -0.4}, "jet_r"),
    ({"max_constituents": 0}, "max_constituents"),
    ({"mpi": "yes"}, "mpi"),
    ({"jet_radius": 0.4}, "jet_radius"),
])
def test_impossible_settings_name_the_option(settings, option):
    with pytest.raises(ConfigError, match=option):
        resolve_settings("qcd", settings)


def test_unknown_process_and_bad_seed_are_user_errors(tmp_path, capsys):
    with pytest.raises(ConfigError, match="unknown process 'wprime'"):
        generate_jets("wprime", 10, 1, {})
    with pytest.raises(HepdlError, match="--seed"):
        generate_jets("qcd", 10, 0, {})
    status = cli.main(["generate", "--process", "qcd", "--n-jets", "3", "--seed", "1",
                       "--pthat-min", "900", "--output", str(tmp_path / "x.root")])
    assert status == 2
    assert "hepdl: error: generation setting 'pthat_max' (--pthat-max)" in capsys.readouterr().err
    assert not (tmp_path / "x.root").exists()


def test_settings_come_from_the_config_schema():
    """Defaults and checks live in hepdl/config/schema.yaml: the stand-alone form and a config give
    the same settings, and every default is the schema's."""
    from hepdl.config import generation_settings, load_schema, validate_config

    schema = load_schema()["properties"]
    generate_block = schema["datasets"]["additionalProperties"]["properties"]["generate"]["properties"]
    assert set(schema["generation"]["properties"]) <= set(generate_block)
    assert set(SETTING_NAMES) == set(generate_block) - {"process"}
    for process in ("qcd", "top"):
        config = validate_config({"datasets": {"d": {"generate": {"process": process}, "n_jets": 10}},
                                  "experiments": {"e": {"train": "d", "background": "d", "signal": "d"}}})
        from_config = resolve_settings(process, generation_settings(config, "d"))
        assert from_config == resolve_settings(process, {}) == resolve_settings(process, {"jet_r": None})
        for name, definition in schema["generation"]["properties"].items():
            assert from_config[name] == definition["default"], name
    assert set(resolve_settings("qcd", {})) == set(SETTING_NAMES)
    assert settings_schema()["properties"]["jet_r"]["default"] == 0.8


@pytest.mark.parametrize("settings, message", [
    ({"jet_r": "wide"}, r"generation setting 'jet_r' \(--jet-r\): 'wide' is not of type 'number'"),
    ({"max_constituents": 2.5}, r"'max_constituents' \(--max-constituents\)"),
    ({"ecm_gev": float("inf")}, r"'ecm_gev' \(--ecm-gev\): expected a finite number"),
    ({"process": "top"}, "disagrees with --process qcd"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(ConfigError, match=message):
        resolve_settings("qcd", settings)


def test_defaults_follow_the_process():
    assert resolve_settings("top", {})["pthat_min"] == 400
    assert resolve_settings("qcd", {})["pthat_min"] == 350
    assert resolve_settings("qcd", {"pthat_max": -1})["pthat_max"] is None
    assert resolve_settings("qcd", {"pthat_max": None})["pthat_max"] is None  # None: no upper limit too
    assert resolve_settings("qcd", {"pthat_min": None})["pthat_min"] == 350  # elsewhere None: the default
