"""Property tests (hypothesis) of the jets readers.

* Any valid canonical jets (float32 kinematics, phi in (-pi, pi], constituents sorted by
  decreasing pT, any number of jets and of constituents per jet, zero included) written with
  :func:`hepdl.io.jets_file.write_jets` are read back by :func:`hepdl.io.readers.read_jets` unchanged: same
  values, float32, same order; in one chunk or many.
* The readers given a random but plausible ``reader`` mapping (tree, layout, kinematics, branch
  names that exist or not, labels, cuts) on real files either return canonical jets or raise
  :class:`hepdl.core.errors.HepdlError`: never another exception.

Image property tests live in tests/test_images.py. Examples are few (the suite stays fast).
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_io import _nanoaod_file, random_canonical

from hepdl.core.errors import HepdlError
from hepdl.io.canonical import CANONICAL_FIELDS
from hepdl.io.jets_file import write_jets
from hepdl.io.readers import read_jets

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# phi in (-pi, pi] as float32: from the float32 just above -pi to float32(pi) (3.1415927 > pi),
# which hepdl.generation.generate writes for phi = pi and which must read back unchanged
PHI_MIN, PHI_MAX = float(np.nextafter(np.float32(-np.pi), np.float32(0))), float(np.float32(np.pi))

finite32 = functools.partial(st.floats, width=32, allow_nan=False, allow_infinity=False)


@st.composite
def canonical_jets(draw) -> ak.Array:
    """A canonical jets array of 0-12 jets with 0-15 constituents each (float32, pT-sorted)."""
    n = draw(st.integers(0, 12))
    counts = np.asarray(draw(st.lists(st.integers(0, 15), min_size=n, max_size=n)), dtype=np.int64)
    total = int(counts.sum())

    def floats(size, **kwargs):
        return np.asarray(draw(st.lists(finite32(**kwargs), min_size=size, max_size=size)), dtype=np.float32)

    pt = floats(total, min_value=0.0, max_value=5e3)
    # sort within each jet by decreasing pT (the canonical order; ties keep their order)
    jet_id = np.repeat(np.arange(n), counts)
    order = np.lexsort((-pt.astype(np.float64), jet_id))
    return ak.zip({
        "jet_pt": floats(n, min_value=0.0, max_value=1e4),
        "jet_eta": floats(n, min_value=-5.0, max_value=5.0),
        "jet_phi": floats(n, min_value=PHI_MIN, max_value=PHI_MAX),
        "jet_mass": floats(n, min_value=0.0, max_value=1e3),
        "label": np.asarray(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int32),
        "const_pt": ak.unflatten(pt[order], counts),
        "const_eta": ak.unflatten(floats(total, min_value=-5.0, max_value=5.0), counts),
        "const_phi": ak.unflatten(floats(total, min_value=PHI_MIN, max_value=PHI_MAX), counts),
        "const_e": ak.unflatten(floats(total, min_value=0.0, max_value=1e4), counts),
    }, depth_limit=1)


@SETTINGS
@example(jets=ak.zip({"jet_pt": np.float32([600.0]), "jet_eta": np.float32([0.0]), "jet_phi": np.float32([np.pi]),
                      "jet_mass": np.float32([80.0]), "label": np.int32([1]),
                      "const_pt": ak.Array([np.float32([5.0, 1.0])]),
                      "const_eta": ak.Array([np.float32([0.1, 0.2])]),
                      "const_phi": ak.Array([np.float32([np.pi, PHI_MIN])]),
                      "const_e": ak.Array([np.float32([6.0, 2.0])])}, depth_limit=1), step_size="50 MB")
@given(jets=canonical_jets(), step_size=st.sampled_from(["1 kB", "50 MB"]))
def test_canonical_jets_round_trip_exactly(jets, step_size):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jets.root"
        assert write_jets(path, jets, {"test": True}) == len(jets)
        tree = uproot.open(path)["jets"]
        assert {name: str(tree[name].interpretation) for name in ("const_pt", "jet_pt")} == {
            "const_pt": "AsJagged(AsDtype('>f4'))", "jet_pt": "AsDtype('>f4')"}
        back = read_jets(path, step_size=step_size)
    assert len(back) == len(jets)
    assert set(back.fields) == set(CANONICAL_FIELDS)
    for name in ("jet_pt", "jet_eta", "jet_phi", "jet_mass", "label"):
        value = ak.to_numpy(back[name])
        assert value.dtype == (np.int32 if name == "label" else np.float32), name
        np.testing.assert_array_equal(value, ak.to_numpy(jets[name]), err_msg=name)
    np.testing.assert_array_equal(ak.to_numpy(back.jet_nconst), ak.to_numpy(ak.num(jets.const_pt)))
    for name in ("const_pt", "const_eta", "const_phi", "const_e"):
        assert ak.to_numpy(ak.flatten(back[name])).dtype == np.float32, name
        assert ak.to_list(ak.num(back[name])) == ak.to_list(ak.num(jets[name])), name
        np.testing.assert_array_equal(ak.to_numpy(ak.flatten(back[name])), ak.to_numpy(ak.flatten(jets[name])),
                                      err_msg=name)
    np.testing.assert_array_equal(ak.to_numpy(back.source_entry), np.arange(len(jets)))
    assert (ak.to_numpy(back.source_jet) == 0).all()


# --------------------------------------------------------------------------------- random readers

@functools.lru_cache(maxsize=1)
def _files() -> dict[str, Path]:
    """A canonical file (tree `jets`) and a NanoAOD-like file (tree `Events`), written once."""
    directory = Path(tempfile.mkdtemp(prefix="hepdl-properties-"))
    write_jets(directory / "canonical.root", random_canonical(40, seed=3), {})
    _nanoaod_file(directory)
    return {"canonical": directory / "canonical.root", "nano": directory / "nano.root"}


#: every branch of the two files, plus a name that exists in neither
BRANCHES = ["jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_nconst", "label", "const_pt", "const_eta",
            "const_phi", "const_e", "FatJet_pt", "FatJet_eta", "FatJet_phi", "FatJet_mass", "PFCand_pt",
            "PFCand_eta", "PFCand_phi", "PFCand_energy", "FatJetPFCands_jetIdx", "FatJetPFCands_pFCandsIdx",
            "is_top", "missing"]
#: the mapping that reads each file correctly; the strategy starts from it and mutates parts
NATURAL = {
    "canonical": {"tree": "jets", "layout": "jet_per_entry", "label": "label", "link": None,
                  "jet": {k: f"jet_{k}" for k in ("pt", "eta", "phi", "mass")},
                  "const": {k: f"const_{k}" for k in ("pt", "eta", "phi", "e")}},
    "nano": {"tree": "Events", "layout": "linked", "label": "is_top",
             "link": {"jet_index": "FatJetPFCands_jetIdx", "candidate_index": "FatJetPFCands_pFCandsIdx"},
             "jet": {k: f"FatJet_{k}" for k in ("pt", "eta", "phi", "mass")},
             "const": {"pt": "PFCand_pt", "eta": "PFCand_eta", "phi": "PFCand_phi", "e": "PFCand_energy"}},
}


@st.composite
def reader_mappings(draw, file: str) -> dict:
    """A reader for ``file``: mostly right, with some keys swapped for other plausible values."""
    natural = NATURAL[file]

    def mostly(value, alternatives):
        return draw(st.one_of(st.just(value), alternatives)) if draw(st.integers(0, 5)) == 0 else value

    kinematics = mostly("pt_eta_phi_e", st.sampled_from(["px_py_pz_e", "pt_eta_phi_m"]))
    keys = {"pt_eta_phi_e": ("pt", "eta", "phi", "e"), "px_py_pz_e": ("px", "py", "pz", "e"),
            "pt_eta_phi_m": ("pt", "eta", "phi", "mass")}[kinematics]
    # px/py/pz read from the pt/eta/phi branches: right shapes, nonsense (but finite or not) values
    constituents = {"kinematics": kinematics, **{key: mostly(branch, st.sampled_from(BRANCHES))
                                                  for key, branch in zip(keys, natural["const"].values(), strict=True)}}
    layout = mostly(natural["layout"], st.sampled_from(["jet_per_entry", "nested", "linked"]))
    link = natural["link"] or {"jet_index": "const_pt", "candidate_index": "const_eta"}
    if layout == "linked":
        constituents["link"] = {k: mostly(v, st.sampled_from(BRANCHES)) for k, v in link.items()}
    reader = {"tree": mostly(natural["tree"], st.sampled_from(["jets", "Events", "nope"])), "layout": layout,
              "constituents": constituents,
              "jet": mostly({k: mostly(v, st.sampled_from(BRANCHES)) for k, v in natural["jet"].items()}, st.none()),
              "label_branch": mostly(natural["label"], st.one_of(st.none(), st.sampled_from(BRANCHES))),
              "jets_per_event": draw(st.sampled_from(["all", "leading"]))}
    if draw(st.integers(0, 3)) == 0:
        reader["keep_labels"] = draw(st.lists(st.integers(-1, 2), min_size=1, max_size=2))
    if draw(st.booleans()):
        reader["cuts"] = {"pt_min": draw(st.one_of(st.none(), st.floats(0, 800))),
                          "abs_eta_max": draw(st.one_of(st.none(), st.floats(0.1, 3)))}
    return reader


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), file=st.sampled_from(["canonical", "nano"]),
       label=st.one_of(st.none(), st.integers(0, 1)), bad_values=st.sampled_from(["error", "drop"]))
def test_readers_raise_only_hepdl_errors_on_plausible_mappings(data, file, label, bad_values):
    reader = data.draw(reader_mappings(file), label="reader")
    try:
        jets = read_jets(_files()[file], reader=reader, label=label, bad_values=bad_values, step_size="2 kB")
    except HepdlError as err:
        assert str(err)
        return
    assert set(jets.fields) == set(CANONICAL_FIELDS)
    assert ak.all(ak.num(jets.const_pt) == jets.jet_nconst)
    assert ak.all(jets.const_pt[:, :-1] >= jets.const_pt[:, 1:])
