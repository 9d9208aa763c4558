"""Tests of the images file (hepdl.images.store): round trip, metadata rows, splits, readers, CLI."""

from __future__ import annotations

import json

import awkward as ak
import h5py
import numpy as np
import pytest

from hepdl.cli import main
from hepdl.config import load_config
from hepdl.core.errors import HepdlError
from hepdl.images.preprocess import jet_images
from hepdl.images.store import COLUMNS, build_images, images_file_info, iter_images, read_images
from hepdl.io.jets_file import write_jets


def synthetic_jets(n_jets: int, seed: int, label: int, n_far: int = 0) -> ak.Array:
    """Canonical jets: ~30 constituents, pT-falling, spread ~0.2; the last ``n_far`` jets have all
    their constituents far apart (nothing inside the image window)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 40, n_jets)
    n = counts.sum()
    jet_eta = rng.uniform(-2, 2, n_jets)
    jet_phi = rng.uniform(-np.pi, np.pi, n_jets)
    pt = rng.exponential(15.0, n) + 0.1
    eta = np.repeat(jet_eta, counts) + rng.normal(0, 0.2, n)
    phi = np.repeat(jet_phi, counts) + rng.normal(0, 0.2, n)
    if n_far:
        far = np.repeat(np.arange(n_jets) >= n_jets - n_far, counts)
        eta[far] = np.repeat(jet_eta, counts)[far] + np.where(np.arange(n)[far] % 2, 3.0, -3.0)
        pt[far] = 10.0
    phi = np.angle(np.exp(1j * phi))
    order = np.lexsort((-pt, np.repeat(np.arange(n_jets), counts)))
    pt, eta, phi = pt[order], eta[order], phi[order]
    e = pt * np.cosh(eta)
    unflat = lambda a: ak.unflatten(a.astype(np.float32), counts)  # noqa: E731
    jet_pt = np.add.reduceat(pt, np.r_[0, np.cumsum(counts)[:-1]])
    return ak.zip({
        "jet_pt": jet_pt.astype(np.float32), "jet_eta": jet_eta.astype(np.float32),
        "jet_phi": jet_phi.astype(np.float32), "jet_mass": rng.uniform(10, 200, n_jets).astype(np.float32),
        "label": np.full(n_jets, label, dtype=np.int32),
        "const_pt": unflat(pt), "const_eta": unflat(eta), "const_phi": unflat(phi), "const_e": unflat(e),
    }, depth_limit=1)


@pytest.fixture(scope="module")
def jets_files(tmp_path_factory):
    base = tmp_path_factory.mktemp("jets")
    files = []
    for k, (label, n_far) in enumerate([(0, 5), (1, 0)]):
        path = base / f"jets{k}.root"
        write_jets(path, synthetic_jets(1500, seed=k, label=label, n_far=n_far), {"test": k})
        files.append(path)
    return files


@pytest.fixture(scope="module")
def config():
    return load_config(None, overrides={"images": {"chunk_size": "100 kB"}})


@pytest.fixture(scope="module")
def images_file(jets_files, config, tmp_path_factory):
    out = tmp_path_factory.mktemp("images") / "shard0.h5"
    build_images(jets_files, out, config)
    return out


def test_round_trip_rows_match_images(images_file, jets_files, config):
    info = images_file_info(images_file)
    assert info["n_jets_read"] == 3000
    assert info["n_dropped_empty"] == 5 and info["n_dropped_bad"] == 0
    assert info["n_images"] == 3000 - 5
    assert info["npix"] == 40 and info["half_width"] == pytest.approx(0.8)
    assert info["image_options"]["npix"] == 40
    assert info["provenance"]["config"]["split"] == config["split"]
    assert [str(p) for p in jets_files] == info["provenance"]["inputs"]
    assert "versions" in info["provenance"]

    with h5py.File(images_file) as h5:
        assert h5["images"].dtype == np.float32 and h5["images"].chunks[0] == 256
        assert set(h5["jets"]) == set(COLUMNS)
        for name, dtype in COLUMNS.items():
            assert h5["jets"][name].shape == (info["n_images"],)
            if h5py.check_string_dtype(dtype) is None:
                assert h5["jets"][name].dtype == dtype, name

    images, cols = read_images(images_file)
    assert images.shape == (2995, 40, 40)
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    # metadata rows match images one to one: recompute the images of the jets the rows point at
    for k, path in enumerate(jets_files):
        jets = synthetic_jets(1500, seed=k, label=k, n_far=5 if k == 0 else 0)
        here = cols["source_file"] == str(path)
        entries = cols["source_entry"][here]
        assert (cols["label"][here] == k).all()
        assert np.all(cols["source_jet"][here] == 0)
        np.testing.assert_allclose(cols["jet_pt"][here], ak.to_numpy(jets["jet_pt"])[entries], rtol=1e-6)
        np.testing.assert_array_equal(cols["jet_nconst"][here], ak.to_numpy(ak.num(jets["const_pt"]))[entries])
        picked = jets[entries]
        expected = jet_images(picked["const_pt"], picked["const_eta"], picked["const_phi"])
        np.testing.assert_allclose(images[here], expected, atol=1e-6)
    assert not np.isin(np.arange(1495, 1500), cols["source_entry"][cols["source_file"] == str(jets_files[0])]).any()
    tau = np.stack([cols["tau1"], cols["tau2"], cols["tau3"]], axis=1)
    assert np.isfinite(tau).all() and (tau >= 0).all() and (tau[:, 0] >= tau[:, 2]).all()


def test_split_fractions_and_split_reading(images_file):
    _, cols = read_images(images_file, columns=["split", "source_entry"])
    fractions = np.bincount(cols["split"], minlength=3) / len(cols["split"])
    np.testing.assert_allclose(fractions, [0.6, 0.2, 0.2], atol=0.04)
    all_images, all_cols = read_images(images_file)
    for code, name in enumerate(("train", "validation", "test")):
        images, part = read_images(images_file, split=name)
        assert (part["split"] == code).all()
        assert len(images) == int((all_cols["split"] == code).sum())
        np.testing.assert_array_equal(images, all_images[all_cols["split"] == code])
        batches = list(iter_images([images_file, images_file], name, batch_size=300))
        assert all(len(b[0]) == 300 for b in batches[:-1]) and 0 < len(batches[-1][0]) <= 300
        streamed = np.concatenate([b[0] for b in batches])
        assert all((b[1]["split"] == code).all() for b in batches)
        np.testing.assert_array_equal(streamed, np.concatenate([images, images]))
    few, few_cols = read_images([images_file, images_file], split="test", max_jets=10, columns=["jet_pt"])
    assert few.shape == (10, 40, 40) and list(few_cols) == ["jet_pt"]


def test_reader_errors_name_the_problem(images_file, tmp_path):
    with pytest.raises(HepdlError, match="unknown split 'training'"):
        read_images(images_file, split="training")
    with pytest.raises(HepdlError, match="no column.*jet_mas"):
        read_images(images_file, columns=["jet_mas"])
    with pytest.raises(HepdlError, match="does not exist"):
        read_images(tmp_path / "missing.h5")
    bogus = tmp_path / "bogus.h5"
    with h5py.File(bogus, "w") as h5:
        h5["x"] = [1]
    with pytest.raises(HepdlError, match="not a hepdl images file"):
        images_file_info(bogus)


def test_empty_jets_error_mode_leaves_no_file(jets_files, tmp_path):
    config = load_config(None, overrides={"images": {"empty_jets": "error"}})
    out = tmp_path / "out.h5"
    with pytest.raises(HepdlError, match=r"jets0.root: entry 1495 .*no constituent"):
        build_images(jets_files[:1], out, config)
    assert list(tmp_path.iterdir()) == []


def test_bad_values_dropped_and_counted(tmp_path):
    jets = synthetic_jets(50, seed=3, label=0)
    const_eta = ak.to_list(jets["const_eta"])
    const_eta[7][0] = float("nan")
    jets = ak.with_field(jets, ak.Array(const_eta), "const_eta")
    path = tmp_path / "bad.root"
    write_jets(path, jets, {})
    config = load_config(None, overrides={"images": {"bad_values": "drop"}})
    info = build_images([path], tmp_path / "bad.h5", config)
    assert info["n_dropped_bad"] == 1 and info["n_jets_read"] == 50 and info["n_images"] == 49
    _, cols = read_images(tmp_path / "bad.h5", columns=["source_entry"])
    assert 7 not in cols["source_entry"]
    with pytest.raises(HepdlError, match="bad.root"):
        build_images([path], tmp_path / "bad2.h5", load_config(None))
    assert not (tmp_path / "bad2.h5").exists()


def test_cli_builds_file_and_plots(jets_files, tmp_path, capsys):
    out = tmp_path / "cli.h5"
    rc = main(["images", "--input", str(jets_files[1]), "--output", str(out), "--plots", str(tmp_path / "plots")])
    assert rc == 0
    assert images_file_info(out)["n_images"] == 1500
    assert json.loads(h5py.File(out)["/"].attrs["image_options"])["rotate"] is True
    for name in ("cli_average.png", "cli_gallery.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 1000
    rc = main(["images", "--input", str(tmp_path / "nope.root"), "--output", str(tmp_path / "x.h5")])
    assert rc == 2 and "nope.root" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()
