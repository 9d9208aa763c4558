"""Tests of the event layout (hepdl.io.event_layout): particle collections clustered into jets with fastjet.

Files are Delphes-layout files written by tests/example_files.py (TTree and RNTuple). The jets are
checked against fastjet run directly on the same particles, read back with uproot.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot
from example_files import write_delphes

from hepdl.core.errors import ConfigError, InputFileError
from hepdl.io.canonical import ReadStats
from hepdl.io.reader_config import reader_settings
from hepdl.io.readers import iter_jets, read_jets

TRACKS = {"kinematics": "pt_eta_phi_m", "pt": "EFlowTrack.PT", "eta": "EFlowTrack.Eta", "phi": "EFlowTrack.Phi",
          "mass": "EFlowTrack.Mass"}
PHOTONS = {"pt": "EFlowPhoton.ET", "eta": "EFlowPhoton.Eta", "phi": "EFlowPhoton.Phi", "e": "EFlowPhoton.E"}
NEUTRALS = {"pt": "EFlowNeutralHadron.ET", "eta": "EFlowNeutralHadron.Eta", "phi": "EFlowNeutralHadron.Phi",
            "e": "EFlowNeutralHadron.E"}


def delphes_reader(**extra) -> dict:
    reader = {"tree": "Delphes", "layout": "event", "label_branch": None, "particles": [TRACKS, PHOTONS, NEUTRALS]}
    reader.update(extra)
    return reader


def fastjet_reference(path, r: float = 0.8, pt_min: float = 0.0) -> list[list[dict]]:
    """Per event, the inclusive jets (pt, eta, phi, m, n) of all EFlow objects, by direct fastjet calls."""
    import fastjet

    events = uproot.open(path)["Delphes"].arrays()
    parts = []
    for name, pt, mass_or_e in (("EFlowTrack", "PT", "Mass"), ("EFlowPhoton", "ET", "E"),
                                ("EFlowNeutralHadron", "ET", "E")):
        p, eta, phi = (ak.values_astype(events[f"{name}.{k}"], np.float64) for k in (pt, "Eta", "Phi"))
        px, py, pz = p * np.cos(phi), p * np.sin(phi), p * np.sinh(eta)
        if mass_or_e == "Mass":
            e = np.sqrt((p * np.cosh(eta)) ** 2 + ak.values_astype(events[f"{name}.Mass"], np.float64) ** 2)
        else:
            e = ak.values_astype(events[f"{name}.E"], np.float64)
        parts.append(ak.zip({"px": px, "py": py, "pz": pz, "E": e}))
    particles = ak.concatenate(parts, axis=1)
    sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, r))
    jets = sequence.inclusive_jets(min_pt=pt_min)
    n_const = ak.num(sequence.constituents(min_pt=pt_min), axis=2)
    out = []
    for event_jets, event_n in zip(jets.tolist(), n_const.tolist(), strict=True):
        rows = []
        for jet, n in zip(event_jets, event_n, strict=True):
            pt = np.hypot(jet["px"], jet["py"])
            m2 = jet["E"] ** 2 - pt**2 - jet["pz"] ** 2
            rows.append({"pt": pt, "eta": np.arcsinh(jet["pz"] / pt), "phi": np.arctan2(jet["py"], jet["px"]),
                         "m": np.sqrt(max(m2, 0.0)), "n": n})
        out.append(sorted(rows, key=lambda row: -row["pt"]))
    return out


def test_event_layout_jets_equal_direct_fastjet_clustering(tmp_path):
    path = write_delphes(tmp_path / "events.root", 30, 1, signal=True)
    out = read_jets(path, reader=delphes_reader(cuts={"pt_min": 20.0}), label=1)
    reference = fastjet_reference(path, pt_min=20.0)
    expected = [(e, j, row) for e, rows in enumerate(reference) for j, row in enumerate(rows)]
    assert out.source_entry.tolist() == [e for e, _, _ in expected]
    assert out.source_jet.tolist() == [j for _, j, _ in expected]  # index in the event's jets by decreasing pT
    np.testing.assert_allclose(out.jet_pt.to_numpy(), [r["pt"] for _, _, r in expected], rtol=1e-6)
    np.testing.assert_allclose(out.jet_eta.to_numpy(), [r["eta"] for _, _, r in expected], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.jet_mass.to_numpy(), [r["m"] for _, _, r in expected], rtol=1e-4, atol=1e-3)
    assert out.jet_nconst.tolist() == [r["n"] for _, _, r in expected]
    assert set(out.label.tolist()) == {1}
    # constituents sorted by decreasing pT and summing to the jet
    assert ak.all(out.const_pt[:, :-1] >= out.const_pt[:, 1:])
    np.testing.assert_allclose(ak.sum(out.const_pt * np.cos(out.const_phi), axis=1).to_numpy(),
                               (out.jet_pt * np.cos(out.jet_phi)).to_numpy(), rtol=1e-4, atol=1e-3)


def test_leading_jet_cuts_and_radius(tmp_path):
    path = write_delphes(tmp_path / "events.root", 40, 2, signal=False)
    leading = read_jets(path, reader=delphes_reader(jets_per_event="leading", cuts={"pt_min": 550, "pt_max": 650}),
                        label=0)
    reference = fastjet_reference(path)
    first = {e: rows[0] for e, rows in enumerate(reference) if rows and 550 <= rows[0]["pt"] < 650}
    assert leading.source_entry.tolist() == sorted(first) and set(leading.source_jet.tolist()) == {0}
    np.testing.assert_allclose(leading.jet_pt.to_numpy(), [first[e]["pt"] for e in sorted(first)], rtol=1e-6)
    wide = read_jets(path, reader=delphes_reader(jets_per_event="leading", clustering={"r": 1.5}), label=0)
    assert ak.mean(wide.jet_nconst) > ak.mean(read_jets(path, reader=delphes_reader(jets_per_event="leading"),
                                                        label=0).jet_nconst)


def test_chunks_give_the_same_jets_as_one_read(tmp_path):
    path = write_delphes(tmp_path / "events.root", 60, 3, signal=True)
    reader = delphes_reader(cuts={"pt_min": 100})
    chunks = list(iter_jets(path, reader=reader, label=1, step_size="20 kB"))
    assert len(chunks) > 2
    assert ak.to_list(ak.concatenate(chunks)) == ak.to_list(read_jets(path, reader=reader, label=1))


def test_where_selection_and_fixed_mass(tmp_path):
    path = write_delphes(tmp_path / "events.root", 20, 4, signal=False)
    positive = {**TRACKS, "mass": 0.0, "where": [{"branch": "EFlowTrack.Charge", "in": [1]}]}
    out = read_jets(path, reader=delphes_reader(particles=[positive]), label=0)
    charges = uproot.open(path)["Delphes"]["EFlowTrack.Charge"].array()
    assert ak.sum(out.jet_nconst) == ak.sum(charges == 1)
    # massless tracks: E = p
    p = out.const_pt * np.cosh(out.const_eta)
    np.testing.assert_allclose(ak.flatten(out.const_e).to_numpy(), ak.flatten(p).to_numpy(), rtol=1e-5)
    negative = {**TRACKS, "where": [{"branch": "EFlowTrack.Charge", "abs": True, "not_in": [1]}]}
    with pytest.raises(InputFileError, match=r"events.root \(tree 'Delphes'\): no particles in the collections "
                                             r"EFlowTrack .* at entries 0-19 \(20 entries\)"):
        read_jets(path, reader=delphes_reader(particles=[negative]), label=0)
    stats = ReadStats()
    assert not list(iter_jets(path, reader=delphes_reader(particles=[negative], empty_events="skip"), label=0,
                              stats=stats))
    assert stats.empty_events == 20


def test_rntuple_copy_gives_identical_jets(tmp_path):
    tree = write_delphes(tmp_path / "tree.root", 30, 5, signal=True)
    rntuple = write_delphes(tmp_path / "rntuple.root", 30, 5, signal=True, rntuple=True)
    assert uproot.open(rntuple).classnames(cycle=False)["Delphes"] == "ROOT::RNTuple"
    a = read_jets(tree, reader=delphes_reader(), label=1)
    b = read_jets(rntuple, reader=delphes_reader(), label=1)
    for name in a.fields:
        if name != "source_file":
            assert ak.to_list(a[name]) == ak.to_list(b[name]), name


def test_nan_particle_names_branch_and_entry_or_drops_the_event(tmp_path):
    path = write_delphes(tmp_path / "events.root", 10, 6, signal=False)
    arrays = uproot.open(path)["Delphes"].arrays()
    eta = ak.to_numpy(ak.flatten(arrays["EFlowPhoton.Eta"])).copy()
    eta[ak.sum(ak.num(arrays["EFlowPhoton.Eta"])[:7])] = np.nan  # first photon of event 7
    counts = ak.num(arrays["EFlowPhoton.Eta"])
    arrays["EFlowPhoton.Eta"] = ak.unflatten(eta, counts)
    records = {name: ak.zip({k: arrays[f"{name}.{k}"] for k in fields})
               for name, fields in (("EFlowTrack", ("PT", "Eta", "Phi", "Mass", "Charge")),
                                    ("EFlowPhoton", ("ET", "Eta", "Phi", "E")),
                                    ("EFlowNeutralHadron", ("ET", "Eta", "Phi", "E")))}
    with uproot.recreate(tmp_path / "nan.root") as file:
        file.mktree("Delphes", {k: v.type for k, v in records.items()}, counter_name=lambda c: f"{c}_size",
                    field_name=lambda outer, inner: f"{outer}.{inner}").extend(records)
    with pytest.raises(InputFileError, match=r"nan.root \(tree 'Delphes'\): NaN or inf in branch 'EFlowPhoton.Eta' "
                                             r"\(1 events\); .* at entry 7"):
        read_jets(tmp_path / "nan.root", reader=delphes_reader(), label=0)
    stats = ReadStats()
    out = ak.concatenate(list(iter_jets(tmp_path / "nan.root", reader=delphes_reader(jets_per_event="leading"),
                                        label=0, bad_values="drop", stats=stats)))
    assert 7 not in out.source_entry.tolist() and len(out) == 9 and stats.dropped_bad_events == 1


def test_missing_collection_lists_close_matches(tmp_path):
    path = write_delphes(tmp_path / "events.root", 5, 7, signal=False)
    wrong = {**PHOTONS, "pt": "EFlowPhotons.ET"}
    with pytest.raises(InputFileError, match=r"events.root \(tree 'Delphes'\): no branch 'EFlowPhotons.ET'; "
                                             r"close matches: EFlowPhoton.ET"):
        read_jets(path, reader=delphes_reader(particles=[TRACKS, wrong]), label=0)


def test_event_reader_settings_are_checked():
    with pytest.raises(ConfigError, match=r"config key 'reader': 'particles' is a required property"):
        reader_settings({"layout": "event"})
    with pytest.raises(ConfigError, match=r"config key 'reader.particles.0': 'e' is a required property"):
        reader_settings({"layout": "event", "particles": [{"pt": "a", "eta": "b", "phi": "c"}]})
    with pytest.raises(ConfigError, match=r"config key 'reader.particles'"):
        reader_settings({"particles": [PHOTONS]})  # only with layout event
    settings = reader_settings(delphes_reader())
    assert settings["clustering"] == {"algorithm": "antikt", "r": 0.8} and settings["empty_events"] == "error"
