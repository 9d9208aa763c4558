"""Bad input through the ``hepdl`` CLI: one clear message, exit status 2, no traceback, no output.

Each case runs a subcommand in-process (:func:`hepdl.cli.main`) and checks that

* it returns 2 and prints exactly one line ``hepdl: error: <message>`` on stderr, the message
  naming the file / tree / branch / entry range / config key and what was expected;
* no traceback is printed (``--debug`` shows one: checked once);
* the output file does not exist and no temporary sibling ``.<name>.*.tmp*`` is left behind.

The readers' own unit tests (tests/test_io.py) check the reader functions; this file checks the
whole path a user takes. Cases that are handled by design without an error (jets with no
constituent dropped and counted, NaN jets dropped with ``images.bad_values: drop``, jets with many
constituents kept whole) are checked for that behaviour and its count. Untrusted files (pickled
checkpoints) are here too.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest
import torch
import yaml
from test_io import _nanoaod_file, _toptagging_frame, nanoaod_reader, random_canonical, write_tree
from test_train import TINY_MODEL, write_images_file

from hepdl.cli import main
from hepdl.core.checkpoint import FORMAT, save_checkpoint
from hepdl.core.errors import HepdlError
from hepdl.io.jets_file import write_jets

PACKAGE = Path(__file__).resolve().parent.parent / "hepdl"
BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------------- helpers

def base_config(**sections) -> dict:
    """A small valid config: a generated dataset `qcd`, a file dataset `mine`, one experiment."""
    config = {
        "datasets": {"qcd": {"generate": {"process": "qcd"}, "n_jets": 10},
                     "mine": {"files": ["unused.root"], "label": 0}},
        "experiments": {"e": {"train": "qcd", "background": "qcd", "signal": "qcd"}},
        "images": {"npix": 16},
        "model": TINY_MODEL,
    }
    for key, value in sections.items():
        config[key] = value
    return config


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def with_reader(reader: dict, label: int | None = 0, **sections) -> dict:
    config = base_config(**sections)
    config["datasets"]["mine"] = {"files": ["unused.root"], "reader": reader,
                                  **({} if label is None else {"label": label})}
    return config


def leftovers(output: Path) -> list[Path]:
    """The output itself and any temporary sibling of it that exists."""
    found = sorted(output.parent.glob(f".{output.name}.*.tmp*"))
    return ([output] if output.exists() else []) + found


def assert_clean_failure(argv: list[str], capsys, expected: str, output: Path) -> str:
    """Run the CLI, check status 2, one message line matching ``expected``, no traceback, no output."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    lines = [line for line in err.splitlines() if line.startswith("hepdl: error:")]
    assert len(lines) == 1, err
    assert re.search(expected, lines[0]), f"{lines[0]!r} does not match {expected!r}"
    assert "Traceback" not in err
    assert leftovers(output) == []
    return lines[0]


def images_argv(inputs, output: Path, config: Path | None = None, dataset: str | None = None) -> list[str]:
    inputs = [str(p) for p in (inputs if isinstance(inputs, (list, tuple)) else [inputs])]
    argv = ["images", "--input", *inputs, "--output", str(output)]
    if config is not None:
        argv += ["--config", str(config)]
    if dataset is not None:
        argv += ["--dataset", dataset]
    return argv


def const_tree(path: Path, eta=None, n: int = 4) -> Path:
    """A user tree `Events` with jagged Pt / Eta / Phi / E and no jet branches."""
    pt = ak.Array([[50.0, 20.0, 5.0]] * n)
    write_tree(path, {"Pt": pt, "Eta": pt * 0 + 0.1 if eta is None else eta, "Phi": pt * 0 + 0.2, "E": pt * 2})
    return path


CONST_READER = {"jet": None, "label_branch": None,
                "constituents": {"pt": "Pt", "eta": "Eta", "phi": "Phi", "e": "E"}, "tree": "Events"}


def with_empty_jets(jets: ak.Array, entries: list[int]) -> ak.Array:
    """``jets`` with every constituent of the jets at ``entries`` removed (zero-constituent jets)."""
    keep_jet = np.ones(len(jets), dtype=bool)
    keep_jet[entries] = False
    keep = ak.broadcast_arrays(keep_jet, jets.const_pt)[0]
    for name in ("const_pt", "const_eta", "const_phi", "const_e"):
        jets = ak.with_field(jets, jets[name][keep], name)
    return jets


def with_value(jets: ak.Array, field: str, entry: int, value: float) -> ak.Array:
    values = ak.to_numpy(jets[field]).copy()
    values[entry] = value
    return ak.with_field(jets, values.astype(np.float32), field)


# --------------------------------------------------------------------------------- images: inputs

def _truncated(tmp):
    write_jets(tmp / "full.root", random_canonical(300), {})
    data = (tmp / "full.root").read_bytes()
    (tmp / "cut.root").write_bytes(data[: len(data) // 2])
    return [tmp / "cut.root"], None, None


def _random_bytes(tmp):
    (tmp / "noise.root").write_bytes(np.random.default_rng(3).bytes(5000))
    return [tmp / "noise.root"], None, None


def _no_tree(tmp):
    write_jets(tmp / "jets.root", random_canonical(20), {})
    return [tmp / "jets.root"], with_reader({"tree": "Events"}), "mine"


def _missing_branch(tmp):
    write_jets(tmp / "jets.root", random_canonical(20), {})
    return [tmp / "jets.root"], with_reader({"constituents": {"pt": "const_PT"}}), "mine"


def _jagged_where_flat(tmp):
    write_jets(tmp / "jets.root", random_canonical(20), {})
    reader = {"jet": {"pt": "const_pt", "eta": "jet_eta", "phi": "jet_phi", "mass": "jet_mass"}}
    return [tmp / "jets.root"], with_reader(reader), "mine"


def _non_integer_label(tmp):
    write_jets(tmp / "jets.root", random_canonical(20), {})
    return [tmp / "jets.root"], with_reader({"label_branch": "jet_eta"}, label=None), "mine"


def _lengths_disagree(tmp):
    eta = ak.Array([[0.1, 0.1, 0.1], [0.1, 0.1], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]])
    const_tree(tmp / "len.root", eta=eta)
    return [tmp / "len.root"], with_reader(CONST_READER), "mine"


def _nan_jet(tmp):
    write_jets(tmp / "nan.root", with_value(random_canonical(20), "jet_eta", 6, np.nan), {})
    return [tmp / "nan.root"], base_config(images={"npix": 16, "bad_values": "error"}), None


def _inf_constituent(tmp):
    jets = random_canonical(20)
    const = ak.to_numpy(ak.flatten(jets.const_phi)).copy()
    counts = ak.to_numpy(ak.num(jets.const_phi))
    const[counts[:9].sum()] = np.inf  # first constituent of the first non-empty jet from entry 9 on
    entry = int(np.flatnonzero(counts[9:])[0]) + 9
    write_jets(tmp / "inf.root", ak.with_field(jets, ak.unflatten(const, counts), "const_phi"), {})
    return [tmp / "inf.root"], base_config(), None, entry


def _empty_tree(tmp):
    write_jets(tmp / "empty.root", random_canonical(0), {})
    return [tmp / "empty.root"], None, None


def _every_jet_cut(tmp):
    write_jets(tmp / "jets.root", random_canonical(20), {})
    return [tmp / "jets.root"], with_reader({"cuts": {"pt_min": 1e6}}), "mine"


def _link_past_end(tmp):
    _nanoaod_file(tmp, cand_idx=ak.Array([[3, 0, 2, 1, 4], [0, 2]]))
    return [tmp / "nano.root"], with_reader(nanoaod_reader()), "mine"


def _h5_missing_columns(tmp):
    _toptagging_frame().drop(columns=["PY_2"]).to_hdf(tmp / "top.h5", key="table", format="table")
    return [tmp / "top.h5"], with_reader({"format": "toptagging_h5"}, label=None), "mine"


def _h5_given_to_root_reader(tmp):
    _toptagging_frame().to_hdf(tmp / "top.h5", key="table")
    return [tmp / "top.h5"], None, None


def _empty_glob(tmp):
    return [str(tmp / "nothing*.root")], None, None


def _missing_file(tmp):
    return [tmp / "absent.root"], None, None


def _unknown_dataset(tmp):
    write_jets(tmp / "jets.root", random_canonical(20), {})
    return [tmp / "jets.root"], base_config(), "nope"


def _empty_jet_error_mode(tmp):
    jets = with_empty_jets(random_canonical(30), [12])
    write_jets(tmp / "jets.root", jets, {})
    return [tmp / "jets.root"], base_config(images={"npix": 16, "empty_jets": "error"}), None


def _event_without_particles(tmp):
    from example_files import write_delphes
    from test_event_layout import TRACKS, delphes_reader

    write_delphes(tmp / "delphes.root", 8, 1, signal=False)
    nothing = {**TRACKS, "where": [{"branch": "EFlowTrack.Charge", "in": [0]}]}  # no neutral tracks
    return [tmp / "delphes.root"], with_reader(delphes_reader(particles=[nothing])), "mine"


def _collection_missing(tmp):
    from example_files import write_delphes
    from test_event_layout import PHOTONS, TRACKS, delphes_reader

    write_delphes(tmp / "delphes.root", 8, 1, signal=False)
    towers = {**PHOTONS, **{k: v.replace("EFlowPhoton", "Tower") for k, v in PHOTONS.items()}}
    return [tmp / "delphes.root"], with_reader(delphes_reader(particles=[TRACKS, towers])), "mine"


IMAGES_CASES = {
    "event_layout_event_without_particles": (
        _event_without_particles, r"delphes\.root \(tree 'Delphes'\): no particles in the collections EFlowTrack "
                                  r"\(after their `where` selections\) in 8 events; .* at entries 0-7 \(8 entries\)"),
    "event_layout_collection_missing": (
        _collection_missing, r"delphes\.root \(tree 'Delphes'\): no branch 'Tower\.ET'; no close match "
                             r"\(collections in the file: EFlowNeutralHadron, EFlowPhoton, EFlowTrack\)"),
    "truncated_root": (_truncated, r"cut\.root.*: cannot read .*truncated or corrupt\?"),
    "random_bytes_named_root": (_random_bytes, r"noise\.root is not a ROOT file"),
    "tree_missing": (_no_tree, r"jets\.root: no tree 'Events' \(trees in the file: jets\); set the reader's `tree`"),
    "branch_missing": (_missing_branch, r"jets\.root \(tree 'jets'\): no branch 'const_PT'; close matches: const_pt"),
    "branch_wrong_shape": (_jagged_where_flat, r"jets\.root \(tree 'jets'\): branch 'const_pt' has type "
                                               r"var \* float32, expected one number per entry of numbers"),
    "branch_wrong_type": (_non_integer_label, r"jets\.root \(tree 'jets'\): branch 'jet_eta' holds non-integer "
                                              r"values; expected integer labels"),
    "jagged_lengths_disagree": (_lengths_disagree, r"len\.root \(tree 'Events'\): branches 'Pt' and 'Eta' have "
                                                   r"lists of different lengths at entry 1;"),
    "nan_in_jet_branch": (_nan_jet, r"nan\.root \(tree 'jets'\): NaN or inf in branch 'jet_eta' at entry 6 "
                                    r"\(1 jets\); fix the file or set bad_values to 'drop'"),
    "inf_in_constituent_branch": (_inf_constituent, r"inf\.root \(tree 'jets'\): NaN or inf in branch "
                                                    r"'const_phi' at entry {entry} "),
    "empty_tree": (_empty_tree, r"empty\.root: no jets to make images of \(0 entries read"),
    "every_jet_removed_by_cuts": (_every_jet_cut, r"jets\.root: no jets to make images of \(20 entries read, 20 "
                                                  r"jets; dropped 0 by keep_labels, 20 by cuts"),
    "link_index_past_end": (_link_past_end, r"nano\.root \(tree 'Events'\): link branch "
                                            r"'FatJetPFCands_pFCandsIdx' points past the end .* at entry 1"),
    "hdf5_missing_columns": (_h5_missing_columns, r"top\.h5 \(key 'table'\): missing columns PY_2 \(1 in all\)"),
    "hdf5_given_to_root_reader": (_h5_given_to_root_reader, r"top\.h5 is not a ROOT file \(it is an HDF5 file: "
                                                            r"set reader format: toptagging_h5\?\)"),
    "empty_glob": (_empty_glob, r"no file matches the pattern '.*nothing\*\.root'"),
    "missing_file": (_missing_file, r"input file .*absent\.root does not exist"),
    "unknown_dataset": (_unknown_dataset, r"dataset 'nope' is not defined under 'datasets' \(defined: mine, qcd\)"),
    "empty_jet_with_empty_jets_error": (_empty_jet_error_mode, r"jets\.root: entry \d+ \(jet 0\) has no constituent "
                                                               r"with pt > 0 inside the image window"),
}


@pytest.mark.parametrize("case", list(IMAGES_CASES))
def test_images_bad_input_gives_one_message_and_no_output(case, tmp_path, capsys):
    build, expected = IMAGES_CASES[case]
    built = build(tmp_path)
    inputs, config, dataset = built[:3]
    if len(built) > 3:
        expected = expected.format(entry=built[3])
    config_path = None if config is None else write_config(tmp_path / "config.yaml", config)
    output = tmp_path / "out" / "images.h5"
    assert_clean_failure(images_argv(inputs, output, config_path, dataset), capsys, expected, output)


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "noise.root").write_bytes(b"\x00" * 100)
    with pytest.raises(HepdlError, match="noise.root is not a ROOT file"):
        main(["--debug", *images_argv(tmp_path / "noise.root", tmp_path / "o.h5")])
    assert leftovers(tmp_path / "o.h5") == []


def test_real_process_exits_2_with_one_line_and_no_traceback(tmp_path):
    result = subprocess.run([str(BIN / "hepdl"), "check-config", str(tmp_path / "absent.yaml")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("hepdl: error: cannot read config file")
    assert "Traceback" not in result.stderr


def test_unwritable_output_names_the_output_not_its_temporary_file(tmp_path, capsys):
    write_jets(tmp_path / "jets.root", random_canonical(5), {})
    (tmp_path / "a_file").write_text("not a directory")
    output = tmp_path / "a_file" / "images.h5"  # its directory is a file: ENOTDIR / EEXIST
    status = main(images_argv(tmp_path / "jets.root", output))
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    line = [x for x in err.splitlines() if x.startswith("hepdl: error:")]
    assert len(line) == 1 and re.search(r"cannot access .*a_file", line[0]) and ".tmp" not in line[0], err
    assert (tmp_path / "a_file").read_text() == "not a directory"


# --------------------------------------------------------------------------------- images: by design

def test_zero_constituent_jets_are_dropped_and_counted(tmp_path, capsys):
    jets = with_empty_jets(random_canonical(60, seed=4), [3, 17, 59])
    n_empty = int(ak.sum(ak.num(jets.const_pt) == 0))
    assert n_empty >= 3
    write_jets(tmp_path / "jets.root", jets, {})
    output = tmp_path / "images.h5"
    assert main(images_argv(tmp_path / "jets.root", output, write_config(tmp_path / "c.yaml", base_config()))) == 0
    with h5py.File(output, "r") as h5:
        dropped = int(h5.attrs["n_dropped_empty"])
        assert int(h5.attrs["n_jets_read"]) == 60
        assert h5["images"].shape[0] == 60 - dropped
        assert not {3, 17, 59} & set(h5["jets/source_entry"][:].tolist())
        assert (h5["jets/jet_nconst"][:] > 0).all()
    assert dropped >= n_empty  # plus jets whose constituents all fall outside the window
    err = capsys.readouterr().err
    assert f"dropped {dropped} of 60 jets with no constituent in the image window" in err
    assert f"{n_empty} jets with zero constituents passed through" in err


def test_nan_jets_dropped_and_counted_with_bad_values_drop(tmp_path, capsys):
    jets = with_value(with_value(random_canonical(40, seed=5), "jet_eta", 6, np.nan), "jet_pt", 30, np.inf)
    write_jets(tmp_path / "nan.root", jets, {})
    config = write_config(tmp_path / "c.yaml", base_config(images={"npix": 16, "bad_values": "drop"}))
    output = tmp_path / "images.h5"
    assert main(images_argv(tmp_path / "nan.root", output, config)) == 0
    with h5py.File(output, "r") as h5:
        assert int(h5.attrs["n_dropped_bad"]) == 2
        assert int(h5.attrs["n_jets_read"]) == 40
        entries = set(h5["jets/source_entry"][:].tolist())
        n_images = h5["images"].shape[0]
        assert n_images == 40 - 2 - int(h5.attrs["n_dropped_empty"])
    assert not entries & {6, 30}
    err = capsys.readouterr().err
    assert "dropped 2 jets with NaN/inf kinematics (bad_values=drop)" in err
    assert "NaN or inf in branch 'jet_eta' at entry 6" in err


def test_jets_with_more_constituents_than_generation_cap_are_imaged_whole(tmp_path):
    """The ingest stage keeps every constituent (generation.max_constituents caps only generation;
    ``iter_jets(max_constituents=...)`` truncation is tested in tests/test_io.py): a 600-constituent
    jet gets an image whose in-window pT is that of all 600."""
    rng = np.random.default_rng(2)
    n_const = 600
    pt = np.sort(rng.exponential(2.0, n_const).astype(np.float32))[::-1]
    jets = ak.zip({"jet_pt": np.float32([pt.sum()]), "jet_eta": np.float32([0.0]), "jet_phi": np.float32([0.0]),
                   "jet_mass": np.float32([100.0]), "label": np.int32([0]),
                   "const_pt": ak.Array([pt]), "const_eta": ak.Array([rng.normal(0, 0.1, n_const).astype(np.float32)]),
                   "const_phi": ak.Array([rng.normal(0, 0.1, n_const).astype(np.float32)]),
                   "const_e": ak.Array([pt * np.float32(1.2)])}, depth_limit=1)
    write_jets(tmp_path / "big.root", jets, {})
    config = base_config(images={"npix": 16, "normalise": False, "half_width": 2.0})
    config["generation"] = {"max_constituents": 50}
    output = tmp_path / "images.h5"
    assert main(images_argv(tmp_path / "big.root", output, write_config(tmp_path / "c.yaml", config))) == 0
    with h5py.File(output, "r") as h5:
        assert h5["jets/jet_nconst"][:].tolist() == [n_const]
        np.testing.assert_allclose(h5["images"][0].sum(dtype=np.float64), pt.sum(dtype=np.float64), rtol=1e-5)


# --------------------------------------------------------------------------------- config

CONFIG_CASES = {
    "unknown_key": ({"traning": {}}, r"config key '<top level>': Additional properties are not allowed "
                                     r"\('traning' was unexpected\)"),
    "wrong_type": ({"training": {"batch_size": "large"}}, r"config key 'training\.batch_size': 'large' is not "
                                                          r"of type 'integer'"),
    "negative_count": ({"datasets": {"qcd": {"generate": {"process": "qcd"}, "n_jets": -5}}},
                       r"config key 'datasets\.qcd\.n_jets': -5 is less than the minimum of 1"),
    "negative_epochs": ({"training": {"max_epochs": -1}}, r"config key 'training\.max_epochs': -1 is less than"),
    "window_zero": ({"images": {"npix": 16, "half_width": 0}}, r"config key 'images\.half_width': 0 is less than "
                                                               r"or equal to the minimum of 0"),
    "window_negative": ({"images": {"npix": 16, "half_width": -0.4}}, r"config key 'images\.half_width': -0\.4 "),
    "experiment_unknown_dataset": ({"experiments": {"e": {"train": "qcd", "background": "qcd", "signal": "tops"}}},
                                   r"config key 'experiments\.e\.signal': dataset 'tops' is not defined under "
                                   r"'datasets' \(defined: mine, qcd\)"),
    "model_option_out_of_range": ({"model": {"name": "conv_ae", "options": {
        "conv_layers": [4, "pool", 0], "dense": [16], "latent_dim": 4}}},
        r"config key 'model\.options\.conv_layers\.2': 0 is not a positive channel count or 'pool'"),
    "bad_chunk_size": ({"images": {"npix": 16, "chunk_size": "50 parsecs"}}, r"config key 'images\.chunk_size': "
                                                                             r"'50 parsecs' does not match"),
    "bad_enum": ({"images": {"npix": 16, "bad_values": "ignore"}}, r"config key 'images\.bad_values': 'ignore' "
                                                                   r"is not one of \['drop', 'error'\]"),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_config_errors_name_the_key(case, tmp_path, capsys):
    patch, expected = CONFIG_CASES[case]
    config = write_config(tmp_path / "config.yaml", base_config(**patch))
    status = main(["check-config", str(config)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert re.search(expected, err.strip().splitlines()[-1]), err
    # the images stage refuses the same config before writing anything
    write_jets(tmp_path / "jets.root", random_canonical(5), {})
    output = tmp_path / "images.h5"
    assert_clean_failure(images_argv(tmp_path / "jets.root", output, config), capsys, expected, output)


def test_unreadable_and_invalid_yaml_config(tmp_path, capsys):
    write_jets(tmp_path / "jets.root", random_canonical(5), {})
    output = tmp_path / "images.h5"
    assert_clean_failure(images_argv(tmp_path / "jets.root", output, tmp_path / "absent.yaml"), capsys,
                         r"cannot read config file .*absent\.yaml", output)
    (tmp_path / "broken.yaml").write_text("datasets: {qcd: [\n")
    assert_clean_failure(images_argv(tmp_path / "jets.root", output, tmp_path / "broken.yaml"), capsys,
                         r"config file .*broken\.yaml is not valid YAML", output)


# --------------------------------------------------------------------------------- train / score / export

@pytest.fixture(scope="module")
def stage_files(tmp_path_factory):
    """A tiny images file, its config and a model trained on it (1 epoch)."""
    from hepdl.training.train import train

    tmp = tmp_path_factory.mktemp("stages")
    images = write_images_file(tmp / "qcd.h5", n=120)
    config = base_config(training={"batch_size": 32, "max_epochs": 1}, seed=7)
    config_path = write_config(tmp / "config.yaml", config)
    train(images, tmp / "model.pt", str(config_path))
    return {"images": images, "config": config_path, "model": tmp / "model.pt"}


def _corrupt_images(tmp: Path) -> Path:
    (tmp / "bad.h5").write_bytes(np.random.default_rng(1).bytes(4000))
    return tmp / "bad.h5"


def _truncated_images(tmp: Path, source: Path) -> Path:
    data = source.read_bytes()
    (tmp / "cut.h5").write_bytes(data[: len(data) // 3])
    return tmp / "cut.h5"


def _foreign_images(tmp: Path) -> Path:
    with h5py.File(tmp / "foreign.h5", "w") as h5:
        h5["data"] = np.zeros((10, 16, 16), dtype=np.float32)
    return tmp / "foreign.h5"


def _images_missing_column(tmp: Path) -> Path:
    path = write_images_file(tmp / "nomass.h5", n=60)
    with h5py.File(path, "a") as h5:
        del h5["jets/jet_mass"]
    return path


@pytest.mark.parametrize("kind,expected", [
    ("missing_column", r"images file .*nomass\.h5 has no column\(s\) jet_mass under /jets"),
    ("random_bytes", r"images file .*bad\.h5 cannot be opened as HDF5"),
    ("truncated", r"images file .*cut\.h5 cannot be opened as HDF5"),
    ("foreign_hdf5", r"foreign\.h5 is not a hepdl images file \(needs /images and /jets/split"),
])
def test_train_refuses_corrupt_images_file(kind, expected, stage_files, tmp_path, capsys):
    images = {"missing_column": lambda: _images_missing_column(tmp_path),
              "random_bytes": lambda: _corrupt_images(tmp_path),
              "truncated": lambda: _truncated_images(tmp_path, stage_files["images"]),
              "foreign_hdf5": lambda: _foreign_images(tmp_path)}[kind]()
    output = tmp_path / "model.pt"
    assert_clean_failure(["train", "--images", str(images), "--output", str(output), "--config",
                          str(stage_files["config"]), "--history", str(tmp_path / "history.csv")],
                         capsys, expected, output)
    assert leftovers(Path(f"{output}.ckpt")) == [] and leftovers(tmp_path / "history.csv") == []


class RunsShell:
    """A pickled payload: unpickling it runs ``touch MARKER`` (what weights_only=True must stop)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _model_files(tmp: Path, stage_files) -> dict[str, tuple[Path, str]]:
    """Bad model files and the message each must give."""
    files = {}
    (tmp / "noise.pt").write_bytes(np.random.default_rng(2).bytes(3000))
    files["random_bytes"] = (tmp / "noise.pt", r"cannot load .*noise\.pt safely \(weights_only=True\)")
    data = stage_files["model"].read_bytes()
    (tmp / "cut.pt").write_bytes(data[: len(data) // 2])
    files["truncated"] = (tmp / "cut.pt", r"cannot load .*cut\.pt safely")
    torch.save({"conv.weight": torch.zeros(3)}, tmp / "foreign.pt")
    files["foreign_state_dict"] = (tmp / "foreign.pt", r"foreign\.pt is not a hepdl checkpoint \(expected format "
                                                       r"hepdl-checkpoint-v1\)")
    save_checkpoint(tmp / "state.pt", "training_state", {}, {})
    files["training_state_not_model"] = (tmp / "state.pt", r"state\.pt is a hepdl 'training_state' file, "
                                                           r"expected 'model'")
    save_checkpoint(tmp / "nometa.pt", "model", {"state_dict": {}}, {"npix": 16})
    files["model_without_metadata"] = (tmp / "nometa.pt", r"nometa\.pt is a hepdl model file without "
                                                          r"'model_config' in its metadata")
    from hepdl.core.checkpoint import load_checkpoint

    tensors, meta = load_checkpoint(stage_files["model"], kind="model")
    tensors["state_dict"] = {k: v[..., :1] if v.dim() > 1 else v for k, v in tensors["state_dict"].items()}
    save_checkpoint(tmp / "mismatch.pt", "model", tensors, meta)
    files["weights_not_matching_model"] = (tmp / "mismatch.pt", r"mismatch\.pt: the weights do not fit the "
                                                                r"model its metadata describes")
    torch.save({"format": FORMAT, "kind": "model", "metadata_json": "{}",
                "tensors": {"state_dict": {}, "payload": RunsShell(tmp / "MARKER")}}, tmp / "evil.pt")
    files["pickled_payload"] = (tmp / "evil.pt", r"cannot load .*evil\.pt safely \(weights_only=True\).*pickled")
    with open(tmp / "evil.pkl.pt", "wb") as handle:
        pickle.dump(RunsShell(tmp / "MARKER"), handle)
    files["plain_pickle_payload"] = (tmp / "evil.pkl.pt", r"cannot load .*evil\.pkl\.pt safely")
    return files


MODEL_CASES = ["random_bytes", "truncated", "foreign_state_dict", "training_state_not_model", "pickled_payload",
               "plain_pickle_payload", "model_without_metadata", "weights_not_matching_model"]


@pytest.mark.parametrize("case", MODEL_CASES)
def test_score_and_export_refuse_bad_model_files_without_running_them(case, stage_files, tmp_path, capsys):
    model, expected = _model_files(tmp_path, stage_files)[case]
    scores = tmp_path / "scores.h5"
    assert_clean_failure(["score", "--model", str(model), "--images", str(stage_files["images"]),
                          "--output", str(scores)], capsys, expected, scores)
    onnx_file = tmp_path / "model.onnx"
    assert_clean_failure(["export", "--model", str(model), "--output", str(onnx_file)], capsys, expected, onnx_file)
    assert not (tmp_path / "MARKER").exists(), "the pickled payload ran"


def test_pickled_payload_would_run_if_loaded_unsafely(tmp_path):
    """Guard against a vacuous test above: the payload is live (unpickling it creates the marker)."""
    marker = tmp_path / "MARKER"
    pickle.loads(pickle.dumps(RunsShell(marker)))
    assert marker.exists()


def _pickled_toptagging_files(tmp: Path) -> dict[str, Path]:
    """Top-tagging HDF5 files that run ``touch MARKER`` when PyTables reads them: an object column
    (fixed format) and a pickled attribute pandas reads (table format)."""
    import warnings

    marker = tmp / "MARKER"
    frame = _toptagging_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns that it pickles the object column
        frame.assign(note=[RunsShell(marker)] * len(frame)).to_hdf(tmp / "object_column.h5", key="table",
                                                                   format="fixed")
    frame.to_hdf(tmp / "pickled_attribute.h5", key="table", format="table")
    with h5py.File(tmp / "pickled_attribute.h5", "a") as h5:
        h5["table"].attrs["non_index_axes"] = np.bytes_(pickle.dumps(RunsShell(marker), protocol=0))
    return {"object_column": tmp / "object_column.h5", "pickled_attribute": tmp / "pickled_attribute.h5"}


@pytest.mark.parametrize("kind,expected", [
    ("object_column", r"object_column\.h5: refused: it holds pickled Python objects, which could run code when "
                      r"read \(dataset /table/block2_values"),
    ("pickled_attribute", r"pickled_attribute\.h5: refused: it holds pickled Python objects.*\(attribute "
                          r"'non_index_axes' of /table\)"),
])
def test_images_refuses_hdf5_with_pickled_objects_without_running_them(kind, expected, tmp_path, capsys):
    path = _pickled_toptagging_files(tmp_path)[kind]
    config = write_config(tmp_path / "c.yaml", with_reader({"format": "toptagging_h5"}, label=None))
    output = tmp_path / "images.h5"
    assert_clean_failure(images_argv(path, output, config, "mine"), capsys, expected, output)
    assert not (tmp_path / "MARKER").exists(), "the pickled payload ran"


@pytest.mark.parametrize("kind", ["object_column", "pickled_attribute"])
def test_pickled_hdf5_payloads_are_live_for_pandas(kind, tmp_path):
    """Guard against a vacuous test above: pandas alone does run these payloads."""
    import pandas as pd

    path = _pickled_toptagging_files(tmp_path)[kind]
    try:
        pd.read_hdf(path, "table")
    except Exception:
        pass
    assert (tmp_path / "MARKER").exists()


def test_score_refuses_corrupt_images_file(stage_files, tmp_path, capsys):
    scores = tmp_path / "scores.h5"
    assert_clean_failure(["score", "--model", str(stage_files["model"]), "--images", str(_corrupt_images(tmp_path)),
                          "--output", str(scores)], capsys, r"images file .*bad\.h5 cannot be opened as HDF5", scores)


def test_evaluate_refuses_corrupt_scores_file(stage_files, tmp_path, capsys):
    bad = _corrupt_images(tmp_path)
    output = tmp_path / "metrics.json"
    assert_clean_failure(["evaluate", "--config", str(stage_files["config"]), "--experiment", "e", "--transform",
                          "plain", "--background", str(bad), "--signal", str(bad), "--output", str(output)],
                         capsys, r"cannot open scores file .*bad\.h5", output)


# --------------------------------------------------------------------------------- code audit

UNSAFE = {
    r"\bpickle\b": "pickle",
    r"(?<![\w.])eval\(": "eval(",
    r"(?<![\w.])exec\(": "exec(",
    r"\byaml\.load\(": "yaml.load( (use yaml.safe_load)",
    r"\byaml\.unsafe_load\(": "yaml.unsafe_load(",
    r"allow_pickle\s*=\s*True": "allow_pickle=True",
}


def test_package_has_no_unsafe_deserialisation():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        for pattern, what in UNSAFE.items():
            for match in re.finditer(pattern, code):
                line = code[: match.start()].count("\n") + 1
                # the word "pickle" in docstrings explaining the refusal is fine; calls are not
                if what == "pickle" and not re.search(r"\bpickle\.(loads?|Unpickler)\b|import pickle",
                                                      code.splitlines()[line - 1]):
                    continue
                problems.append(f"{path.name}:{line}: {what}")
        for match in re.finditer(r"torch\.load\(", code):
            call = code[match.start(): code.find(")", match.start()) + 1]
            if "weights_only=True" not in call:
                problems.append(f"{path.name}:{code[: match.start()].count(chr(10)) + 1}: torch.load without "
                                f"weights_only=True")
    assert problems == []
