"""Scoring: one row per test jet in input order, metadata carried, the scores-file format."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from test_train import NPIX, tiny_config, write_images_file

from hepdl.config import section_defaults
from hepdl.evaluation.score import score
from hepdl.images.transforms import transform_images
from hepdl.models.model_file import load_model
from hepdl.training.train import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    directory = tmp_path_factory.mktemp("score")
    background = write_images_file(directory / "qcd.h5", n=300, seed=1)
    model = directory / "m.pt"
    train(background, model, tiny_config(max_epochs=2), transform="sqrt")
    shards = [write_images_file(directory / f"top_{i}.h5", n=150 + 20 * i, seed=10 + i, label=1) for i in range(2)]
    return model, shards


def test_scores_match_input_jets_one_to_one(trained, tmp_path):
    model, shards = trained
    out = tmp_path / "scores.h5"
    summary = score(model, shards, out, batch_size=37)  # batches straddle the shard boundary
    expected_file, expected_entry, expected_mass = [], [], []
    images = []
    for shard in shards:
        with h5py.File(shard) as h5:
            test = h5["jets/split"][:] == 2
            expected_file += list(h5["jets/source_file"].asstr()[:][test])
            expected_entry.append(h5["jets/source_entry"][:][test])
            expected_mass.append(h5["jets/jet_mass"][:][test])
            images.append(h5["images"][:][test])
    sqrt = section_defaults("image_transform", {"intensity": {"kind": "power", "k": 0.5}})
    images = transform_images(np.concatenate(images), sqrt)  # the model's transform
    with h5py.File(out) as h5:
        jets = h5["jets"]
        assert summary["n_jets"] == len(images) == len(jets["model_score"])
        assert list(jets["source_file"].asstr()[:]) == expected_file
        np.testing.assert_array_equal(jets["source_entry"][:], np.concatenate(expected_entry))
        np.testing.assert_array_equal(jets["jet_mass"][:], np.concatenate(expected_mass))
        assert set(jets["split"][:]) == {2} and set(jets["label"][:]) == {1}
        assert {"label", "jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_nconst", "tau1", "tau2", "tau3",
                "source_file", "source_entry", "source_jet", "split", "model_score", "average_image_error",
                "active_pixel_fraction"} == set(jets)
        assert all(jets[c].dtype == np.float32 for c in ("model_score", "average_image_error", "active_pixel_fraction"))
        # reconstruction error recomputed independently with the model in torch
        net, tensors, _ = load_model(model)
        with torch.no_grad():
            reco = net(torch.from_numpy(images)).numpy()[:, 0]
        np.testing.assert_allclose(jets["model_score"][:], ((reco - images) ** 2).mean(axis=(1, 2)), rtol=1e-5)
        # the columns score corrections read
        trivial = ((images - tensors["mean_image"].numpy()[None]) ** 2).mean(axis=(1, 2))
        np.testing.assert_allclose(jets["average_image_error"][:], trivial, rtol=1e-5)
        active = np.maximum((images > 0).sum(axis=(1, 2)), 1) / NPIX**2
        np.testing.assert_allclose(jets["active_pixel_fraction"][:], active, rtol=1e-6)
        np.testing.assert_allclose(h5["mean_input"][:], images.mean(axis=0), rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(h5["mean_reconstruction"][:], reco.mean(axis=0), rtol=1e-4, atol=1e-8)
        np.testing.assert_array_equal(h5["examples/input"][:], images[:8])
        assert h5["examples/reconstruction"].shape == (8, NPIX, NPIX)
        assert h5.attrs["split"] == "test" and h5.attrs["transform"] == "sqrt"
        assert json.loads(h5.attrs["transform_options"]) == sqrt
        assert json.loads(h5.attrs["dataset_files"]) == [str(s) for s in shards]
        assert h5.attrs["model"] == str(model)
        assert "versions" in json.loads(h5.attrs["provenance"])
        training = json.loads(h5.attrs["training"])
        assert set(training) == {"val_loss_over_average_image", "learned", "best_epoch", "epochs_trained",
                                 "max_epochs", "stop_reason", "input_scale"}
        assert training["input_scale"] == pytest.approx(float(tensors["state_dict"]["input_scale"]))


def test_the_validation_split_is_scored_on_request(tmp_path):
    background = write_images_file(tmp_path / "qcd.h5", n=120)
    train(background, tmp_path / "m.pt", tiny_config(max_epochs=1))
    score(tmp_path / "m.pt", background, tmp_path / "s.h5", split="validation")
    with h5py.File(tmp_path / "s.h5") as h5:
        assert set(h5["jets/split"][:]) == {1} and h5.attrs["split"] == "validation"


def test_cli_score_and_wrong_image_size(trained, tmp_path, capsys):
    from hepdl.cli import main

    model, shards = trained
    assert main(["score", "--model", str(model), "--images", str(shards[0]), "--output", str(tmp_path / "s.h5")]) == 0
    other = write_images_file(tmp_path / "big.h5", n=50, npix=NPIX + 4)
    assert main(["score", "--model", str(model), "--images", str(other), "--output", str(tmp_path / "b.h5")]) == 2
    assert "trained on 16x16" in capsys.readouterr().err
    assert not (tmp_path / "b.h5").exists()


def test_model_file_without_metadata_is_refused(tmp_path):
    from hepdl.core.checkpoint import save_checkpoint
    from hepdl.core.errors import CheckpointError

    save_checkpoint(tmp_path / "nometa.pt", "model", {"state_dict": {}}, {})
    with pytest.raises(CheckpointError, match="nometa.pt is a hepdl model file without 'model_config'"):
        load_model(tmp_path / "nometa.pt")
    save_checkpoint(tmp_path / "mismatch.pt", "model",
                    {"state_dict": {"w": torch.ones(1)}, "mean_image": torch.ones(2, 2)},
                    {"model_config": {"name": "conv_ae"}, "npix": 40, "transform": "plain", "transform_options": {}})
    with pytest.raises(CheckpointError, match="mismatch.pt: the weights do not fit the model"):
        load_model(tmp_path / "mismatch.pt")


@pytest.mark.parametrize("model_config", [
    {"name": "nae", "options": {"conv_layers": [4, "pool", 4], "dense": [16], "latent_dim": 4, "pretrain_epochs": 1,
                                "nae_epochs": 1, "negative_samples": 4, "latent_steps": 2, "image_steps": 2}},
    {"name": "kmeans", "options": {"n_clusters": 4, "score": "knc", "knc": 2}},
], ids=["nae", "kmeans"])
def test_cli_scores_every_model(tmp_path, model_config):
    """`hepdl score` writes the model's own anomaly score and its reconstructions (for kmeans the
    nearest centroid) through the model interface."""
    from hepdl.cli import main
    from hepdl.config import load_config

    background = write_images_file(tmp_path / "qcd.h5", n=120, seed=1)
    signal = write_images_file(tmp_path / "top.h5", n=80, seed=2, label=1)
    config = load_config(None, overrides={**tiny_config(max_epochs=2), "model": model_config})
    train(background, tmp_path / "m.pt", config)
    assert main(["score", "--model", str(tmp_path / "m.pt"), "--images", str(signal),
                 "--output", str(tmp_path / "s.h5")]) == 0
    with h5py.File(signal) as h5:
        images = h5["images"][:][h5["jets/split"][:] == 2]
    net, _, _ = load_model(tmp_path / "m.pt")
    with torch.no_grad():
        expected, reconstruction = net.score_and_reconstruct(torch.from_numpy(images))
    with h5py.File(tmp_path / "s.h5") as h5:
        np.testing.assert_allclose(h5["jets/model_score"][:], expected.numpy(), rtol=1e-5)
        np.testing.assert_allclose(h5["mean_reconstruction"][:], reconstruction.mean(dim=0)[0].numpy(), rtol=1e-4,
                                   atol=1e-9)
        assert json.loads(h5.attrs["training"])["learned"] in (True, False)
