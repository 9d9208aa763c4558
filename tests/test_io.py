"""Tests of hepdl.io.readers: every reader mapping, chunking, globs and every user-facing error.

Each test writes a small file with known content (uproot ``mktree`` + ``extend`` for TTrees,
pandas ``to_hdf`` for the top-tagging format) and checks the canonical jets read back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import uproot

from hepdl.config import load_config
from hepdl.core.errors import ConfigError, HepdlError, InputFileError
from hepdl.io.canonical import ReadStats
from hepdl.io.jets_file import write_jets
from hepdl.io.reader_config import reader_settings
from hepdl.io.readers import _Chunk, _raw_root_chunk, expand_files, iter_jets, read_jets

EXAMPLES = Path(__file__).resolve().parent.parent / "config" / "examples"


def write_tree(path: Path, branches: dict, tree: str = "Events", chunks: int = 1) -> Path:
    """Write ``branches`` (numpy / singly jagged awkward arrays) as a TTree, in ``chunks`` baskets."""
    types = {name: (value.type if isinstance(value, ak.Array) else value.dtype) for name, value in branches.items()}
    n = len(next(iter(branches.values())))
    with uproot.recreate(path) as file:
        handle = file.mktree(tree, types)
        for part in np.array_split(np.arange(n), chunks):
            handle.extend({name: value[part[0]:part[-1] + 1] for name, value in branches.items()})
    return path


def random_canonical(n: int, seed: int = 1, label: int = 1) -> ak.Array:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 25, n)
    pt = ak.sort(ak.unflatten(rng.exponential(10, counts.sum()).astype(np.float32), counts), axis=1, ascending=False)
    return ak.zip({
        "jet_pt": rng.uniform(500, 700, n).astype(np.float32),
        "jet_eta": rng.normal(size=n).astype(np.float32),
        "jet_phi": rng.uniform(-3, 3, n).astype(np.float32),
        "jet_mass": rng.uniform(0, 200, n).astype(np.float32),
        "label": np.full(n, label, dtype=np.int32),
        "const_pt": pt,
        "const_eta": ak.unflatten(rng.normal(size=counts.sum()).astype(np.float32), counts),
        "const_phi": ak.unflatten(rng.uniform(-3, 3, counts.sum()).astype(np.float32), counts),
        "const_e": pt * np.float32(1.5),
    }, depth_limit=1)


def reference_kinematics(px, py, pz, e):
    """Independent per-jet reference with the `vector` library (lists of numpy arrays)."""
    import vector

    const = vector.zip({"px": px, "py": py, "pz": pz, "E": e})
    jet = ak.sum(const, axis=1)
    return const, jet


# --------------------------------------------------------------------------- canonical format

def test_round_trip_write_jets_then_iter_jets_is_identical(tmp_path):
    jets = random_canonical(60)
    write_jets(tmp_path / "jets.root", jets, {"seed": 1})
    out = read_jets(tmp_path / "jets.root")
    for name in jets.fields:
        assert ak.all(out[name] == jets[name]), name
    assert ak.all(out.jet_nconst == ak.num(jets.const_pt))
    assert out.source_entry.tolist() == list(range(60))
    assert set(out.source_jet.tolist()) == {0}
    assert set(out.source_file.tolist()) == {str(tmp_path / "jets.root")}
    assert str(ak.type(out.const_pt).content) == "var * float32"


def test_small_step_size_gives_several_chunks_equal_to_one_read(tmp_path):
    write_jets(tmp_path / "jets.root", random_canonical(400), {})
    chunks = list(iter_jets(tmp_path / "jets.root", step_size="4 kB"))
    whole = read_jets(tmp_path / "jets.root", step_size="100 MB")
    assert len(chunks) > 3
    assert ak.to_list(ak.concatenate(chunks)) == ak.to_list(whole)
    assert ak.concatenate(chunks).source_entry.tolist() == list(range(400))


def test_max_constituents_keeps_the_highest_pt_and_jet_branches_are_taken(tmp_path):
    jets = random_canonical(30)
    write_jets(tmp_path / "jets.root", jets, {})
    out = read_jets(tmp_path / "jets.root", max_constituents=5)
    assert ak.all(out.jet_nconst == np.minimum(ak.num(jets.const_pt), 5))
    assert ak.all(out.const_pt == jets.const_pt[:, :5])
    assert ak.all(out.jet_pt == jets.jet_pt)  # from the jet branches, not from the 5 kept


def test_lists_and_globs_of_files_are_read_in_order(tmp_path):
    for i in range(3):
        write_jets(tmp_path / f"part{i}.root", random_canonical(10, seed=i), {})
    out = read_jets(str(tmp_path / "part*.root"))
    assert out.source_file.tolist() == [str(tmp_path / f"part{i}.root") for i in range(3) for _ in range(10)]
    listed = read_jets([tmp_path / "part2.root", tmp_path / "part0.root"])
    assert listed.source_file[0] == str(tmp_path / "part2.root") and len(listed) == 20
    expected = [str(tmp_path / "part0.root"), str(tmp_path / "part2.root")]
    assert expand_files([str(tmp_path / "part[02].root")]) == expected


# --------------------------------------------------------------------------- user ROOT layouts

def _pxpypze_file(tmp_path):
    """3 jets, one per entry, constituents as (px, py, pz, E), unsorted, one jet empty."""
    px = ak.Array([[1.0, 10.0, -3.0], [], [0.5, 2.0]])
    py = ak.Array([[0.0, 2.0, 4.0], [], [0.5, -1.0]])
    pz = ak.Array([[2.0, -5.0, 1.0], [], [3.0, 0.0]])
    e = ak.Array([[3.0, 12.0, 6.0], [], [4.0, 3.0]])
    write_tree(tmp_path / "pxpypz.root", {"Px": px, "Py": py, "Pz": pz, "E": e,
                                           "truth": np.array([1, 0, 1], dtype=np.int32)})
    return px, py, pz, e


PXPYPZ_READER = {"tree": "Events", "jet": None, "label_branch": "truth",
                 "constituents": {"kinematics": "px_py_pz_e", "px": "Px", "py": "Py", "pz": "Pz", "e": "E"}}


def test_px_py_pz_e_constituents_are_converted_sorted_capped_and_sum_to_the_jet(tmp_path, caplog):
    px, py, pz, e = _pxpypze_file(tmp_path)
    with caplog.at_level(logging.INFO, logger="hepdl.io.readers"):
        out = read_jets(tmp_path / "pxpypz.root", reader=PXPYPZ_READER, max_constituents=2)
    const, jet = reference_kinematics(px, py, pz, e)
    order = ak.argsort(const.pt, axis=1, ascending=False)
    expected = const[order][:, :2]
    assert out.label.tolist() == [1, 0, 1]
    assert out.jet_nconst.tolist() == [2, 0, 2]
    np.testing.assert_allclose(ak.flatten(out.const_pt), ak.flatten(expected.pt), rtol=1e-6)
    np.testing.assert_allclose(ak.flatten(out.const_eta), ak.flatten(expected.eta), rtol=1e-6)
    np.testing.assert_allclose(ak.flatten(out.const_phi), ak.flatten(expected.phi), rtol=1e-6)
    np.testing.assert_allclose(ak.flatten(out.const_e), ak.flatten(expected.E), rtol=1e-6)
    # jet kinematics from ALL constituents, not the 2 kept; the empty jet gets zeros
    keep = [0, 2]
    np.testing.assert_allclose(out.jet_pt.to_numpy()[keep], jet.pt.to_numpy()[keep], rtol=1e-6)
    np.testing.assert_allclose(out.jet_eta.to_numpy()[keep], jet.eta.to_numpy()[keep], rtol=1e-6)
    np.testing.assert_allclose(out.jet_phi.to_numpy()[keep], jet.phi.to_numpy()[keep], rtol=1e-6)
    np.testing.assert_allclose(out.jet_mass.to_numpy()[keep], jet.mass.to_numpy()[keep], rtol=1e-5)
    assert [out.jet_pt[1], out.jet_eta[1], out.jet_mass[1]] == [0, 0, 0]
    assert "1 jets with zero constituents" in caplog.text


def test_pt_eta_phi_m_constituents_and_phi_wrapped_into_range(tmp_path):
    pt = ak.Array([[5.0, 20.0]])
    eta = ak.Array([[0.5, -1.0]])
    phi = ak.Array([[4.0, -0.1]])  # 4.0 rad is outside (-pi, pi]
    mass = ak.Array([[0.14, 0.0]])
    write_tree(tmp_path / "m.root", {"c_pt": pt, "c_eta": eta, "c_phi": phi, "c_m": mass})
    reader = {"tree": "Events", "jet": None, "label_branch": None,
              "constituents": {"kinematics": "pt_eta_phi_m", "pt": "c_pt", "eta": "c_eta", "phi": "c_phi",
                               "mass": "c_m"}}
    out = read_jets(tmp_path / "m.root", reader=reader, label=3)
    assert out.const_pt.tolist() == [[20.0, 5.0]]
    np.testing.assert_allclose(out.const_phi[0], [-0.1, 4.0 - 2 * np.pi], rtol=1e-6)
    expected_e = [20 * np.cosh(1.0), np.sqrt((5 * np.cosh(0.5)) ** 2 + 0.14**2)]
    np.testing.assert_allclose(out.const_e[0], expected_e, rtol=1e-6)
    assert out.label.tolist() == [3]


def test_phi_at_minus_pi_is_stored_as_float32_pi(tmp_path):
    """Regression: a float64 phi just above -pi (atan2 of py = -tiny, px < 0) used to be stored as
    -float32(pi), outside (-pi, pi]; it is stored as +float32(pi), as generated jets store pi."""
    px = ak.Array([[-10.0, 5.0], [-3.0]])
    py = ak.Array([[-1e-8, 1.0], [-0.0]])
    pz = ak.Array([[1.0, 0.0], [2.0]])
    e = ak.Array([[11.0, 6.0], [4.0]])
    write_tree(tmp_path / "minus_pi.root", {"Px": px, "Py": py, "Pz": pz, "E": e,
                                            "truth": np.array([1, 0], dtype=np.int32)})
    out = read_jets(tmp_path / "minus_pi.root", reader=PXPYPZ_READER)
    pi32 = np.float32(np.pi)
    assert out.const_phi.tolist()[0][0] == pi32 and out.const_phi.tolist()[1] == [pi32]
    assert out.jet_phi[1] == pi32
    phi = np.concatenate([ak.flatten(out.const_phi).to_numpy(), out.jet_phi.to_numpy()])
    assert np.all((phi > -pi32) & (phi <= pi32))


def test_float32_pi_reads_back_unchanged(tmp_path):
    pi32 = np.float32(np.pi)
    phi = ak.values_astype(ak.Array([[pi32, -pi32, np.float32(3.0)]]), np.float32)
    pt = ak.values_astype(ak.Array([[30.0, 20.0, 10.0]]), np.float32)
    write_tree(tmp_path / "pi32.root", {"c_pt": pt, "c_eta": pt * 0, "c_phi": phi, "c_e": pt})
    reader = {"tree": "Events", "jet": None, "label_branch": None,
              "constituents": {"kinematics": "pt_eta_phi_e", "pt": "c_pt", "eta": "c_eta", "phi": "c_phi", "e": "c_e"}}
    out = read_jets(tmp_path / "pi32.root", reader=reader, label=0)
    # float32(pi) stays; -float32(pi) = -pi - 8.7e-8 is the angle pi - 8.7e-8: the float32 below pi
    assert out.const_phi.tolist() == [[pi32, np.nextafter(pi32, np.float32(0)), np.float32(3.0)]]


def _nanoaod_file(tmp_path, jet_idx=None, cand_idx=None):
    """Two events: event 0 has 3 fat jets (the last without candidates), event 1 has 1."""
    branches = {
        "FatJet_pt": ak.Array([[300.0, 450.0, 100.0], [600.0]]),
        "FatJet_eta": ak.Array([[0.1, -0.4, 2.5], [1.2]]),
        "FatJet_phi": ak.Array([[1.0, -2.0, 0.0], [3.0]]),
        "FatJet_mass": ak.Array([[80.0, 170.0, 5.0], [30.0]]),
        "PFCand_pt": ak.Array([[10.0, 50.0, 20.0, 5.0, 40.0], [7.0, 70.0]]),
        "PFCand_eta": ak.Array([[0.1, 0.2, -0.3, -0.4, -0.5], [1.1, 1.2]]),
        "PFCand_phi": ak.Array([[1.0, 1.1, -2.1, -2.0, -1.9], [3.0, 3.1]]),
        "PFCand_energy": ak.Array([[11.0, 51.0, 21.0, 6.0, 41.0], [8.0, 71.0]]),
        # (jet, candidate) pairs; jet 0 owns candidates 0, 1; jet 1 owns 2, 3, 4 (listed unsorted)
        "FatJetPFCands_jetIdx": jet_idx if jet_idx is not None else ak.Array([[1, 0, 1, 0, 1], [0, 0]]),
        "FatJetPFCands_pFCandsIdx": cand_idx if cand_idx is not None else ak.Array([[3, 0, 2, 1, 4], [0, 1]]),
        "is_top": np.array([1, 0], dtype=np.int32),
    }
    return write_tree(tmp_path / "nano.root", branches)


def nanoaod_reader(**extra):
    reader = {
        "tree": "Events", "layout": "linked",
        "jet": {"pt": "FatJet_pt", "eta": "FatJet_eta", "phi": "FatJet_phi", "mass": "FatJet_mass"},
        "constituents": {"kinematics": "pt_eta_phi_e", "pt": "PFCand_pt", "eta": "PFCand_eta",
                         "phi": "PFCand_phi", "e": "PFCand_energy",
                         "link": {"jet_index": "FatJetPFCands_jetIdx", "candidate_index": "FatJetPFCands_pFCandsIdx"}},
        "label_branch": "is_top",
    }
    reader.update(extra)
    return reader


def test_linked_candidates_are_gathered_per_jet(tmp_path, caplog):
    _nanoaod_file(tmp_path)
    with caplog.at_level(logging.INFO, logger="hepdl.io.readers"):
        out = read_jets(tmp_path / "nano.root", reader=nanoaod_reader())
    assert out.source_entry.tolist() == [0, 0, 0, 1]
    assert out.source_jet.tolist() == [0, 1, 2, 0]
    assert out.jet_pt.tolist() == [300.0, 450.0, 100.0, 600.0]
    assert out.const_pt.tolist() == [[50.0, 10.0], [40.0, 20.0, 5.0], [], [70.0, 7.0]]
    assert out.const_e.tolist() == [[51.0, 11.0], [41.0, 21.0, 6.0], [], [71.0, 8.0]]
    np.testing.assert_allclose(ak.flatten(out.const_eta), [0.2, 0.1, -0.5, -0.3, -0.4, 1.2, 1.1], rtol=1e-6)
    assert out.label.tolist() == [1, 1, 1, 0]  # per-event label broadcast to its jets
    assert "1 jets with zero constituents" in caplog.text


def test_linked_leading_jet_then_cuts_and_fixed_label_overrides_branch(tmp_path):
    _nanoaod_file(tmp_path)
    leading = read_jets(tmp_path / "nano.root", reader=nanoaod_reader(jets_per_event="leading"))
    assert leading.source_jet.tolist() == [1, 0] and leading.jet_pt.tolist() == [450.0, 600.0]
    cut = read_jets(tmp_path / "nano.root", label=7,
                    reader=nanoaod_reader(cuts={"pt_min": 200, "pt_max": 500, "abs_eta_max": 2.0}))
    assert cut.jet_pt.tolist() == [300.0, 450.0]
    assert cut.label.tolist() == [7, 7]


def test_linked_without_jet_branches_computes_jets_from_candidates(tmp_path):
    _nanoaod_file(tmp_path)
    out = read_jets(tmp_path / "nano.root", reader=nanoaod_reader(jet=None))
    assert len(out) == 3  # a jet index past every link is unknown without the jet collection
    expected = [np.hypot(np.sum(p * np.cos(f)), np.sum(p * np.sin(f))) for p, f in
                [(np.array([10.0, 50.0]), np.array([1.0, 1.1])), (np.array([7.0, 70.0]), np.array([3.0, 3.1]))]]
    np.testing.assert_allclose(out.jet_pt.to_numpy()[[0, 2]], expected, rtol=1e-6)


def test_nested_layout_flattens_jets_of_each_entry():
    """uproot cannot write doubly jagged TTree branches: feed the chunk reader arrays directly."""
    arrays = ak.Array({
        "Jet_pt": [[100.0, 200.0], [], [50.0]],
        "Jet_eta": [[0.0, 1.0], [], [2.0]], "Jet_phi": [[0.0, 1.0], [], [2.0]], "Jet_m": [[1.0, 2.0], [], [3.0]],
        "c_pt": [[[1.0, 3.0], [2.0]], [], [[]]], "c_eta": [[[0.1, 0.3], [0.2]], [], [[]]],
        "c_phi": [[[0.1, 0.3], [0.2]], [], [[]]], "c_e": [[[1.0, 3.0], [2.0]], [], [[]]],
        "lab": [[0, 1], [], [1]],
    })
    settings = reader_settings({"layout": "nested", "jets_per_event": "all", "label_branch": "lab",
                                "jet": {"pt": "Jet_pt", "eta": "Jet_eta", "phi": "Jet_phi", "mass": "Jet_m"},
                                "constituents": {"pt": "c_pt", "eta": "c_eta", "phi": "c_phi", "e": "c_e"}})
    raw = _raw_root_chunk(_Chunk("f.root", "Events", arrays, 10), settings, need_label=True)
    assert raw.counts.tolist() == [2, 1, 0]
    assert raw.source_entry.tolist() == [10, 10, 12] and raw.source_jet.tolist() == [0, 1, 0]
    assert raw.label.tolist() == [0, 1, 1] and raw.jet["pt"].tolist() == [100.0, 200.0, 50.0]
    bad = ak.with_field(arrays, ak.Array([[[1.0], [2.0]], [], [[]]]), "c_eta")
    with pytest.raises(InputFileError, match=r"f.root \(tree 'Events'\): branches 'c_pt' and 'c_eta' .* entry 10"):
        _raw_root_chunk(_Chunk("f.root", "Events", bad, 10), settings, need_label=True)


def test_keep_labels_selects_jets_of_a_mixed_file(tmp_path):
    _pxpypze_file(tmp_path)
    out = read_jets(tmp_path / "pxpypz.root", reader={**PXPYPZ_READER, "keep_labels": [0]})
    assert out.source_entry.tolist() == [1] and out.label.tolist() == [0]


# --------------------------------------------------------------------------- top-tagging HDF5

def _toptagging_frame(n_const: int = 4) -> pd.DataFrame:
    """Three jets in the reference format: E, PX, PY, PZ blocks, zero padded, plus truth columns."""
    values = {  # jet -> list of (E, px, py, pz)
        0: [(50.0, 30.0, 40.0, 0.0), (10.0, 0.0, 6.0, 8.0)],
        1: [(13.0, 5.0, 0.0, 12.0), (5.0, -3.0, -4.0, 0.0), (1.0, 0.6, 0.0, 0.8)],
        2: [(2.0, 1.2, 1.6, 0.0)],
    }
    data = {}
    for prefix, k in (("E", 0), ("PX", 1), ("PY", 2), ("PZ", 3)):
        for i in range(n_const):
            data[f"{prefix}_{i}"] = [v[i][k] if i < len(v) else 0.0 for v in values.values()]
    frame = pd.DataFrame(data).astype(np.float32)
    for name in ("truthE", "truthPX", "truthPY", "truthPZ"):
        frame[name] = np.float32(99.0)
    frame["ttv"] = 0
    frame["is_signal_new"] = [1, 0, 1]
    return frame


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_toptagging_h5_drops_padding_and_converts(tmp_path, fmt):
    _toptagging_frame().to_hdf(tmp_path / "train.h5", key="table", format=fmt)
    out = read_jets(tmp_path / "train.h5", reader={"format": "toptagging_h5"})
    assert out.jet_nconst.tolist() == [2, 3, 1]
    assert out.label.tolist() == [1, 0, 1]
    np.testing.assert_allclose(ak.flatten(out.const_pt), [50.0, 6.0, 5.0, 5.0, 0.6, 2.0], rtol=1e-6)
    np.testing.assert_allclose(out.const_e[1], [13.0, 5.0, 1.0])
    np.testing.assert_allclose(out.const_eta[0][1], np.arcsinh(8.0 / 6.0), rtol=1e-6)
    np.testing.assert_allclose(out.jet_pt[0], np.hypot(30.0, 46.0), rtol=1e-6)
    np.testing.assert_allclose(out.jet_mass[0], np.sqrt(60.0**2 - 30.0**2 - 46.0**2 - 8.0**2), rtol=1e-5)
    qcd = read_jets(tmp_path / "train.h5", reader={"format": "toptagging_h5", "keep_labels": [0]}, label=0)
    assert qcd.source_entry.tolist() == [1]


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_toptagging_h5_is_read_in_row_blocks(tmp_path, fmt):
    frame = pd.concat([_toptagging_frame()] * 40, ignore_index=True)
    frame.to_hdf(tmp_path / "val.h5", key="table", format=fmt)
    chunks = list(iter_jets(tmp_path / "val.h5", reader={"format": "toptagging_h5"}, step_size="2 kB"))
    assert len(chunks) > 5
    whole = read_jets(tmp_path / "val.h5", reader={"format": "toptagging_h5"})
    assert ak.to_list(ak.concatenate(chunks)) == ak.to_list(whole)
    assert whole.source_entry.tolist() == list(range(120))


def test_toptagging_h5_missing_columns_and_key(tmp_path):
    _toptagging_frame().drop(columns=["PY_2"]).to_hdf(tmp_path / "bad.h5", key="table", format="table")
    with pytest.raises(InputFileError, match=r"bad.h5 \(key 'table'\): missing columns PY_2"):
        read_jets(tmp_path / "bad.h5", reader={"format": "toptagging_h5"})
    _toptagging_frame().drop(columns=["is_signal_new"]).to_hdf(tmp_path / "nolabel.h5", key="table")
    with pytest.raises(InputFileError, match="nolabel.h5 .*missing column 'is_signal_new'"):
        read_jets(tmp_path / "nolabel.h5", reader={"format": "toptagging_h5"})
    assert len(read_jets(tmp_path / "nolabel.h5", reader={"format": "toptagging_h5"}, label=1)) == 3
    _toptagging_frame().to_hdf(tmp_path / "key.h5", key="jets")
    with pytest.raises(InputFileError, match=r"key.h5: no key 'table' .*keys: jets"):
        read_jets(tmp_path / "key.h5", reader={"format": "toptagging_h5"})


# --------------------------------------------------------------------------- errors

def test_missing_file_and_empty_glob(tmp_path):
    with pytest.raises(InputFileError, match="nothere.root does not exist"):
        read_jets(tmp_path / "nothere.root")
    with pytest.raises(HepdlError, match=r"no file matches the pattern '.*/none\*.root'"):
        read_jets(str(tmp_path / "none*.root"))


def test_not_a_root_file_truncated_and_hdf5_given_to_root_reader(tmp_path):
    (tmp_path / "text.root").write_text("hello\n")
    with pytest.raises(InputFileError, match="text.root is not a ROOT file"):
        read_jets(tmp_path / "text.root")
    write_jets(tmp_path / "jets.root", random_canonical(200), {})
    data = (tmp_path / "jets.root").read_bytes()
    (tmp_path / "cut.root").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="cut.root.*truncated or corrupt"):
        read_jets(tmp_path / "cut.root")
    _toptagging_frame().to_hdf(tmp_path / "t.h5", key="table")
    with pytest.raises(InputFileError, match="t.h5 is not a ROOT file .*toptagging_h5"):
        read_jets(tmp_path / "t.h5")


def test_missing_tree_lists_trees_and_missing_branch_lists_close_matches(tmp_path):
    _pxpypze_file(tmp_path)
    with pytest.raises(InputFileError, match=r"pxpypz.root: no tree 'jets' \(trees in the file: Events\)"):
        read_jets(tmp_path / "pxpypz.root", reader={**PXPYPZ_READER, "tree": "jets"})
    reader = {**PXPYPZ_READER, "constituents": {**PXPYPZ_READER["constituents"], "px": "PX"}}
    with pytest.raises(InputFileError, match=r"pxpypz.root \(tree 'Events'\): no branch 'PX'; close matches: Px"):
        read_jets(tmp_path / "pxpypz.root", reader=reader)


def test_jagged_branch_where_flat_expected(tmp_path):
    _nanoaod_file(tmp_path)
    reader = nanoaod_reader(layout="jet_per_entry", constituents={"pt": "PFCand_pt", "eta": "PFCand_eta",
                                                                   "phi": "PFCand_phi", "e": "PFCand_energy"})
    with pytest.raises(InputFileError, match=r"nano.root \(tree 'Events'\): branch 'FatJet_pt' has type "
                                             r"var \* float64, expected one number per entry"):
        read_jets(tmp_path / "nano.root", reader=reader)


def test_constituent_branches_of_different_lengths_name_the_entries(tmp_path):
    write_tree(tmp_path / "len.root", {
        "Px": ak.Array([[1.0], [1.0, 2.0], [1.0], [3.0, 4.0]]), "Py": ak.Array([[1.0], [1.0], [1.0], [3.0]]),
        "Pz": ak.Array([[1.0], [1.0, 2.0], [1.0], [3.0, 4.0]]), "E": ak.Array([[9.0], [9.0, 9.0], [9.0], [9.0, 9.0]]),
        "truth": np.zeros(4, dtype=np.int32)})
    with pytest.raises(InputFileError, match=r"len.root \(tree 'Events'\): branches 'Px' and 'Py' have lists of "
                                             r"different lengths at entries 1-3 \(2 entries\)"):
        read_jets(tmp_path / "len.root", reader=PXPYPZ_READER)


def test_nan_kinematics_error_names_branch_and_entry_or_are_dropped_and_counted(tmp_path, caplog):
    jets = random_canonical(10)
    eta = np.where(np.arange(10) == 6, np.nan, jets.jet_eta.to_numpy()).astype(np.float32)
    jets = ak.with_field(jets, eta, "jet_eta")
    write_jets(tmp_path / "nan.root", jets, {})
    with pytest.raises(InputFileError, match=r"nan.root \(tree 'jets'\): NaN or inf in branch 'jet_eta' at entry 6"):
        read_jets(tmp_path / "nan.root")
    with caplog.at_level(logging.INFO, logger="hepdl.io.readers"):
        out = read_jets(tmp_path / "nan.root", bad_values="drop")
    assert 6 not in out.source_entry.tolist() and len(out) == 9
    assert "dropped 1 jets with NaN/inf" in caplog.text
    stats = ReadStats()
    assert sum(len(c) for c in iter_jets(tmp_path / "nan.root", bad_values="drop", stats=stats)) == 9
    assert (stats.jets_read, stats.dropped_bad, stats.jets_yielded) == (10, 1, 9)


def test_zero_pt_constituent_gives_infinite_eta_which_is_a_bad_value(tmp_path):
    write_tree(tmp_path / "zero.root", {"Px": ak.Array([[0.0, 1.0]]), "Py": ak.Array([[0.0, 1.0]]),
                                        "Pz": ak.Array([[3.0, 1.0]]), "E": ak.Array([[3.0, 2.0]]),
                                        "truth": np.zeros(1, dtype=np.int32)})
    with pytest.raises(InputFileError,
                       match="zero.root .*NaN or inf in const eta computed from Px, Py, Pz, E at entry 0"):
        read_jets(tmp_path / "zero.root", reader=PXPYPZ_READER)


def test_link_index_past_the_candidate_collection_names_branch_and_entry(tmp_path):
    _nanoaod_file(tmp_path, cand_idx=ak.Array([[3, 0, 2, 1, 4], [0, 2]]))
    with pytest.raises(InputFileError, match=r"nano.root \(tree 'Events'\): link branch 'FatJetPFCands_pFCandsIdx' "
                                             r"points past the end of the candidate collection .* at entry 1"):
        read_jets(tmp_path / "nano.root", reader=nanoaod_reader())
    _nanoaod_file(tmp_path, jet_idx=ak.Array([[1, 0, 1, 0, 3], [0, 0]]))
    with pytest.raises(InputFileError, match="link branch 'FatJetPFCands_jetIdx' points past the end of the jet "
                                             "collection \\('FatJet_pt'\\) .*at entry 0"):
        read_jets(tmp_path / "nano.root", reader=nanoaod_reader())


def test_bad_reader_settings_name_the_key():
    with pytest.raises(ConfigError, match=r"config key 'reader': .*'branch' was unexpected"):
        reader_settings({"branch": "x"})
    with pytest.raises(ConfigError, match=r"config key 'reader.constituents': 'pz' is a required property"):
        reader_settings({"constituents": {"kinematics": "px_py_pz_e", "px": "a", "py": "b", "e": "d"}})
    with pytest.raises(ConfigError, match=r"config key 'reader.constituents': 'link' is a required property"):
        reader_settings({"layout": "linked"})


def test_no_label_at_all_is_an_error(tmp_path):
    _pxpypze_file(tmp_path)
    with pytest.raises(HepdlError, match="no label for these jets"):
        read_jets(tmp_path / "pxpypz.root", reader={**PXPYPZ_READER, "label_branch": None})


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_validates(path):
    config = load_config(path)
    for dataset in config["datasets"].values():
        if "files" in dataset:
            reader_settings(dataset["reader"])


def test_the_example_configs_exist():
    expected = {"delphes.yaml", "jetclass.yaml", "nanoaod_like.yaml", "toptagging_h5.yaml"}
    assert expected <= {p.name for p in EXAMPLES.glob("*.yaml")}


# --------------------------------------------------------------------------- RNTuple, one-hot labels, splits

def rntuple_copy(source: Path, target: Path, name: str) -> Path:
    """The RNTuple copy of TTree ``name`` of ``source``: one field per branch, same names and values."""
    arrays = uproot.open(source)[name].arrays()
    with uproot.recreate(target) as file:
        file[name] = {field: arrays[field] for field in arrays.fields}
    assert uproot.open(target).classnames(cycle=False)[name] == "ROOT::RNTuple"
    return target


def _layout_files(tmp_path: Path, layout: str):
    """(TTree file, RNTuple copy, dataset entry) of one reader layout."""
    from example_files import write_delphes, write_jetclass, write_nanoaod
    from test_event_layout import delphes_reader

    if layout == "jet_per_entry":
        tree = tmp_path / "jets.root"
        write_jets(tree, random_canonical(80), {})
        return tree, rntuple_copy(tree, tmp_path / "jets_rntuple.root", "jets"), {"reader": {}, "label": 0}
    if layout == "linked":
        tree = write_nanoaod(tmp_path / "nano.root", 40, 1, signal=True)
        reader = load_config(EXAMPLES / "nanoaod_like.yaml")["datasets"]["qcd"]["reader"]
        return tree, rntuple_copy(tree, tmp_path / "nano_rntuple.root", "Events"), {"reader": reader, "label": 1}
    if layout == "jetclass":
        tree = write_jetclass(tmp_path / "TTBar_000.root", 60, 2, "label_Tbqq")
        reader = {**load_config(EXAMPLES / "jetclass.yaml")["datasets"]["top"]["reader"], "cuts": {}}
        return tree, rntuple_copy(tree, tmp_path / "TTBar_rntuple.root", "tree"), {"reader": reader}
    tree = write_delphes(tmp_path / "delphes.root", 40, 3, signal=False)
    return tree, rntuple_copy(tree, tmp_path / "delphes_rntuple.root", "Delphes"), \
        {"reader": delphes_reader(jets_per_event="leading"), "label": 0}


@pytest.mark.parametrize("layout", ["jet_per_entry", "linked", "jetclass", "event"])
def test_ttree_and_its_rntuple_copy_give_identical_images(tmp_path, layout):
    """The reader takes a TTree or an RNTuple, whichever the file holds: same config, same images."""
    import h5py

    from hepdl.images.store import build_images

    tree, rntuple, dataset = _layout_files(tmp_path, layout)
    config = load_config(overrides={"images": {"npix": 16}})
    config["datasets"]["mine"] = {"files": [str(tree)], **dataset}
    build_images([tree], tmp_path / "tree.h5", config, dataset="mine", split="train")
    build_images([rntuple], tmp_path / "rntuple.h5", config, dataset="mine", split="train")
    with h5py.File(tmp_path / "tree.h5", "r") as a, h5py.File(tmp_path / "rntuple.h5", "r") as b:
        assert a["images"].shape[0] > 10
        np.testing.assert_array_equal(a["images"][:], b["images"][:])
        for name in ("jet_pt", "jet_mass", "label", "source_entry", "source_jet", "tau3"):
            np.testing.assert_array_equal(a["jets"][name][:], b["jets"][name][:])


def test_nested_layout_from_an_rntuple(tmp_path):
    """uproot writes doubly jagged fields to an RNTuple (not to a TTree): the nested layout read from one."""
    branches = {"Jet_pt": ak.Array([[100.0, 200.0], [], [50.0]]), "Jet_eta": ak.Array([[0.0, 1.0], [], [2.0]]),
                "Jet_phi": ak.Array([[0.0, 1.0], [], [2.0]]), "Jet_m": ak.Array([[1.0, 2.0], [], [3.0]]),
                "c_pt": ak.Array([[[1.0, 3.0], [2.0]], [], [[]]]), "c_eta": ak.Array([[[0.1, 0.3], [0.2]], [], [[]]]),
                "c_phi": ak.Array([[[0.1, 0.3], [0.2]], [], [[]]]), "c_e": ak.Array([[[1.0, 3.0], [2.0]], [], [[]]])}
    with uproot.recreate(tmp_path / "nested.root") as file:
        file["Events"] = branches
    reader = {"tree": "Events", "layout": "nested", "label_branch": None,
              "jet": {"pt": "Jet_pt", "eta": "Jet_eta", "phi": "Jet_phi", "mass": "Jet_m"},
              "constituents": {"pt": "c_pt", "eta": "c_eta", "phi": "c_phi", "e": "c_e"}}
    out = read_jets(tmp_path / "nested.root", reader=reader, label=0)
    assert out.source_entry.tolist() == [0, 0, 2] and out.source_jet.tolist() == [0, 1, 0]
    assert out.const_pt.tolist() == [[3.0, 1.0], [2.0], []]
    with pytest.raises(InputFileError, match=r"nested.root \(RNTuple 'Events'\): no field 'c_PT'; close matches: c_pt"):
        read_jets(tmp_path / "nested.root", label=0,
                  reader={**reader, "constituents": {**reader["constituents"], "pt": "c_PT"}})


def test_one_hot_labels_pick_classes_and_drop_the_others(tmp_path):
    from example_files import write_jetclass

    for name, label in (("ZJetsToNuNu_000", "label_QCD"), ("TTBar_000", "label_Tbqq"), ("HToBB_000", "label_Hbb")):
        write_jetclass(tmp_path / f"{name}.root", 20, 1, label)
    reader = {"tree": "tree", "jet": None, "label_one_hot": {"label_QCD": 0, "label_Tbqq": 1},
              "constituents": {"kinematics": "px_py_pz_e", "px": "part_px", "py": "part_py", "pz": "part_pz",
                               "e": "part_energy"}}
    stats = ReadStats()
    out = ak.concatenate(list(iter_jets(str(tmp_path / "*.root"), reader=reader, stats=stats)))
    assert out.label.tolist() == [1] * 20 + [0] * 20  # files sorted: TTBar, ZJetsToNuNu; HToBB jets dropped
    assert stats.dropped_label == 20
    tops = read_jets(str(tmp_path / "*.root"), reader={**reader, "keep_labels": [1]})
    assert len(tops) == 20 and set(tops.source_file.tolist()) == {str(tmp_path / "TTBar_000.root")}
    both = {**reader, "label_one_hot": {"label_QCD": 0, "label_Hbb": 1, "label_Tbqq": 2}}
    write_jetclass(tmp_path / "odd.root", 5, 2, "label_Tbqq")
    with uproot.open(tmp_path / "odd.root") as file:
        arrays = file["tree"].arrays()
    arrays["label_QCD"] = np.ones(5, dtype=np.bool_)
    write_tree(tmp_path / "two.root", {f: arrays[f] for f in arrays.fields if not f.startswith("npart")}, tree="tree")
    with pytest.raises(InputFileError, match=r"two.root \(tree 'tree'\): more than one of the one-hot label branches "
                                             r"label_QCD, label_Hbb, label_Tbqq is set at entries 0-4"):
        read_jets(tmp_path / "two.root", reader=both)


def test_files_per_split_put_every_jet_of_a_file_in_its_split(tmp_path):
    import h5py

    from hepdl.images.store import build_images
    from hepdl.io.splits import split_of_files

    for name in ("train", "val", "test"):
        write_jets(tmp_path / f"{name}.root", random_canonical(30, seed=len(name)), {})
    files = {"train": [str(tmp_path / "train.root")], "validation": [str(tmp_path / "val.root")],
             "test": [str(tmp_path / "t*.root").replace("t*", "te*")]}
    config = load_config(overrides={"images": {"npix": 16}})
    config["datasets"]["mine"] = {"files": files, "reader": {}, "label": 0}
    for name, code in (("train", 0), ("val", 1), ("test", 2)):
        build_images([tmp_path / f"{name}.root"], tmp_path / f"{name}.h5", config, dataset="mine")
        with h5py.File(tmp_path / f"{name}.h5", "r") as handle:
            assert set(handle["jets/split"][:].tolist()) == {code}
    with pytest.raises(HepdlError, match="other.root is not among the files of dataset 'mine'"):
        split_of_files(files, [str(tmp_path / "other.root")], "mine")
    with pytest.raises(HepdlError, match="in different splits"):
        split_of_files(files, [str(tmp_path / "train.root"), str(tmp_path / "val.root")], "mine")
    bad = {"datasets": {"d": {"files": {"train": ["a.root"], "validation": ["a.root"], "test": ["b.root"]}}},
           "experiments": {"e": {"train": "d", "background": "d", "signal": "d"}}}
    with pytest.raises(ConfigError, match=r"'datasets.d.files.validation': 'a.root' is also listed under files.train"):
        load_config(overrides=bad)


def test_order_within_jets_equals_the_two_key_lexsort_with_ties():
    from hepdl.io.canonical import order_within_jets

    rng = np.random.default_rng(5)
    counts = rng.integers(0, 30, 500)
    pt = np.round(rng.exponential(5.0, counts.sum()), 1)  # many equal pT: ties keep their order
    jet_id = np.repeat(np.arange(len(counts)), counts)
    np.testing.assert_array_equal(order_within_jets(counts, pt), np.lexsort((-pt, jet_id)))
