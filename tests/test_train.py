"""Training: learning, determinism, exact resume, history, model file contents."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from hepdl.config import load_config
from hepdl.core.checkpoint import load_checkpoint
from hepdl.core.errors import CheckpointError
from hepdl.training.train import checkpoint_path, epoch_permutation, train

NPIX = 16
TINY_MODEL = {"name": "conv_ae", "options": {"conv_layers": [4, "pool", 4], "dense": [32], "latent_dim": 8}}


def write_images_file(path: Path, n: int = 400, npix: int = NPIX, seed: int = 0, label: int = 0,
                      splits: tuple[float, float] = (0.5, 0.75), scale: float = 1.0) -> Path:
    """A small images file in the hepdl images format: each image a Gaussian core at the centre
    plus a second prong at a random position (sum ``scale``), split codes from a seeded draw."""
    rng = np.random.default_rng(seed)
    grid = np.arange(npix) - (npix - 1) / 2
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    centres = rng.uniform(-npix / 4, npix / 4, size=(n, 2))
    weight = rng.uniform(0.2, 0.5, size=n)
    core = np.exp(-(yy**2 + xx**2) / 2.0)[None]
    prong = np.exp(-((yy[None] - centres[:, :1, None]) ** 2 + (xx[None] - centres[:, 1:, None]) ** 2) / 2.0)
    prong = prong / prong.sum(axis=(1, 2), keepdims=True)
    images = (1 - weight)[:, None, None] * core / core.sum() + weight[:, None, None] * prong
    images = (images * scale).astype(np.float32)
    draw = rng.uniform(size=n)
    split = np.where(draw < splits[0], 0, np.where(draw < splits[1], 1, 2)).astype(np.uint8)
    with h5py.File(path, "w") as h5:
        h5["images"] = images
        jets = h5.create_group("jets")
        jets["label"] = np.full(n, label, dtype=np.int32)
        for name in ("jet_pt", "jet_eta", "jet_phi", "tau1", "tau2", "tau3"):
            jets[name] = rng.uniform(0.1, 1.0, size=n).astype(np.float32)
        jets["jet_mass"] = rng.uniform(20, 200, size=n).astype(np.float32)
        jets["jet_nconst"] = rng.integers(10, 80, size=n).astype(np.int32)
        jets.create_dataset("source_file", data=np.array([f"{path.stem}.root"] * n, dtype=object),
                            dtype=h5py.string_dtype())
        jets["source_entry"] = np.arange(n, dtype=np.int64)
        jets["source_jet"] = np.zeros(n, dtype=np.int32)
        jets["split"] = split
        h5.attrs["provenance"] = json.dumps({"test": True})
        h5.attrs["npix"] = npix
    return path


def tiny_config(**training) -> dict:
    return load_config(None, overrides={
        "seed": 7, "images": {"npix": NPIX}, "model": TINY_MODEL,
        "training": {"batch_size": 16, "learning_rate": 1e-2, "max_epochs": 4, **training},
        "image_transforms": {"plain": {}, "sqrt": {"intensity": {"kind": "power", "k": 0.5}}}})


@pytest.fixture(scope="module")
def images_file(tmp_path_factory) -> Path:
    return write_images_file(tmp_path_factory.mktemp("images") / "qcd.h5")


def train_images_of(path: Path) -> np.ndarray:
    with h5py.File(path) as h5:
        return h5["images"][:][h5["jets/split"][:] == 0]


def weights(path: Path) -> dict[str, torch.Tensor]:
    tensors, _ = load_checkpoint(path, kind="model")
    return tensors["state_dict"]


def test_training_learns_the_images(images_file, tmp_path):
    """Loss drops well below the untrained loss and below the average-image reference line; the
    model is flagged as learnt."""
    history_path = tmp_path / "history.csv"
    summary = train(images_file, tmp_path / "m.pt", tiny_config(max_epochs=15), history_path=history_path)
    history = summary["history"]
    assert len(history) == 15
    from hepdl.config import section_defaults
    from hepdl.models import build_model, validate_model_config
    from hepdl.models.model_file import load_model
    from hepdl.training.train import jet_losses, load_split
    train_images, _ = load_split([images_file], "train", section_defaults("image_transform"))
    torch.manual_seed(7)
    untrained = build_model(validate_model_config(copy.deepcopy(TINY_MODEL)), NPIX)
    untrained.fit_input_scaling(train_images)
    untrained_loss = float(jet_losses(untrained, train_images, torch.device("cpu")).mean())
    trained, _, _ = load_model(tmp_path / "m.pt")
    trained_loss = float(jet_losses(trained, train_images, torch.device("cpu")).mean())
    assert trained_loss < untrained_loss / 10
    ratio = summary["best_val_loss"] / summary["average_image_loss"]
    assert summary["val_loss_over_average_image"] == pytest.approx(ratio)
    assert summary["val_loss_over_average_image"] < 0.6 and summary["learned"] is True
    with history_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 16))
    assert {"train_loss", "val_loss", "average_image_loss", "learning_rate", "seconds", "images_per_s"} <= set(rows[0])
    assert float(rows[-1]["val_loss"]) == pytest.approx(history[-1]["val_loss"])


def test_a_model_that_cannot_learn_is_flagged(images_file, tmp_path):
    """Learning rate 0: the weights never move, the validation loss stays put (far above the
    average-image loss), training stops after the patience as converged, and the model file
    says learned: false."""
    summary = train(images_file, tmp_path / "m.pt", tiny_config(learning_rate=0.0, max_epochs=10,
                                                                 early_stopping_patience=2))
    assert summary["learned"] is False and summary["val_loss_over_average_image"] > 0.9
    assert summary["stop_reason"] == "early_stopping" and summary["epochs_trained"] == 3
    _, meta = load_checkpoint(tmp_path / "m.pt", kind="model")
    assert meta["learned"] is False


def test_learning_does_not_depend_on_the_image_scale(tmp_path):
    """Images times 1e-4 (or 1e4) train exactly as the unit-sum images do: the input scaling
    (fitted, stored in the model file) cancels any overall scale. Without it the tiny images sit
    on the average-image plateau."""
    ratios = {}
    for factor in (1.0, 1e-4, 1e4):
        path = write_images_file(tmp_path / f"x{factor:g}.h5", n=400, scale=factor)
        summary = train(path, tmp_path / f"m{factor:g}.pt", tiny_config(max_epochs=6))
        ratios[factor] = [row["val_loss"] / row["average_image_loss"] for row in summary["history"]]
        tensors, meta = load_checkpoint(tmp_path / f"m{factor:g}.pt", kind="model")
        with h5py.File(path) as h5:
            train_pixels = h5["images"][:][h5["jets/split"][:] == 0].astype(np.float64)
        assert meta["input_scale"] == pytest.approx(np.sqrt(np.mean(train_pixels**2)), rel=1e-5)
        assert float(tensors["state_dict"]["input_scale"]) == pytest.approx(meta["input_scale"], rel=1e-6)
    np.testing.assert_allclose(ratios[1e-4], ratios[1.0], rtol=2e-3)
    np.testing.assert_allclose(ratios[1e4], ratios[1.0], rtol=2e-3)
    assert ratios[1.0][-1] < 0.6
    unscaled = load_config(None, overrides={**tiny_config(max_epochs=6),
                                            "model": {**TINY_MODEL, "input_scaling": "none"}})
    summary = train(tmp_path / "x0.0001.h5", tmp_path / "none.pt", unscaled)
    assert summary["learned"] is False


def test_model_file_records_what_made_it(images_file, tmp_path):
    summary = train(images_file, tmp_path / "m.pt", tiny_config(max_epochs=2), transform="sqrt")
    tensors, meta = load_checkpoint(tmp_path / "m.pt", kind="model")
    assert meta["transform"] == "sqrt" and meta["transform_options"]["intensity"]["kind"] == "power"
    assert meta["npix"] == NPIX and meta["seed"] == 7 and meta["model_config"] == TINY_MODEL
    assert meta["best_epoch"] == summary["best_epoch"] and len(meta["history"]) == 2
    assert "git_commit" in meta["provenance"] and "versions" in meta["provenance"]
    assert meta["config"]["training"]["batch_size"] == 16
    from hepdl.config import section_defaults
    from hepdl.images.transforms import transform_images

    train_mean = transform_images(train_images_of(images_file), section_defaults(
        "image_transform", {"intensity": {"kind": "power", "k": 0.5}})).mean(axis=0)
    np.testing.assert_allclose(tensors["mean_image"].numpy(), train_mean, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(tensors["state_dict"]["mean_image"][0].numpy(), tensors["mean_image"].numpy())
    # the file loads with weights_only=True (nothing pickled)
    torch.load(tmp_path / "m.pt", weights_only=True)


def test_same_seed_gives_identical_weights(images_file, tmp_path):
    config = tiny_config(max_epochs=2)
    train(images_file, tmp_path / "a.pt", config)
    train(images_file, tmp_path / "b.pt", config)
    a, b = weights(tmp_path / "a.pt"), weights(tmp_path / "b.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    train(images_file, tmp_path / "c.pt", config, seed=8)
    c = weights(tmp_path / "c.pt")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resumed_run_ends_bit_identical_to_uninterrupted_run(images_file, tmp_path):
    # patience 1 with a tiny lr plateau patience exercises early-stopping and scheduler state too
    config = tiny_config(max_epochs=5, lr_plateau_patience=1, early_stopping_patience=3)
    full = train(images_file, tmp_path / "full.pt", config)
    train(images_file, tmp_path / "part.pt", config, epochs=2)  # "crash" after epoch 2
    assert checkpoint_path(tmp_path / "part.pt").exists()
    resumed = train(images_file, tmp_path / "part.pt", config, resume=True)
    a, b = weights(tmp_path / "full.pt"), weights(tmp_path / "part.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["val_loss"] for r in resumed["history"]] == [r["val_loss"] for r in full["history"]]
    assert resumed["best_epoch"] == full["best_epoch"]


def test_resume_refuses_a_checkpoint_of_another_run(images_file, tmp_path):
    train(images_file, tmp_path / "m.pt", tiny_config(max_epochs=1))
    with pytest.raises(CheckpointError, match="m.pt.ckpt belongs to another run"):
        train(images_file, tmp_path / "m.pt", tiny_config(max_epochs=2), seed=99, resume=True)


def test_epoch_permutation_depends_on_seed_and_epoch_only():
    assert torch.equal(epoch_permutation(1, 3, 50), epoch_permutation(1, 3, 50))
    assert not torch.equal(epoch_permutation(1, 3, 50), epoch_permutation(1, 4, 50))
    assert sorted(epoch_permutation(1, 3, 50).tolist()) == list(range(50))


def test_cli_train_writes_model_and_history(images_file, tmp_path, capsys):
    import yaml

    from hepdl.cli import main

    config_file = tmp_path / "config.yaml"
    config = tiny_config(max_epochs=1)
    config_file.write_text(yaml.safe_dump(config))
    rc = main(["train", "--images", str(images_file), "--output", str(tmp_path / "m.pt"), "--config",
               str(config_file), "--history", str(tmp_path / "h.csv"), "--seed", "3"])
    assert rc == 0
    assert (tmp_path / "m.pt").exists() and (tmp_path / "h.csv").exists()
    assert load_checkpoint(tmp_path / "m.pt")[1]["seed"] == 3
    rc = main(["train", "--images", str(tmp_path / "missing.h5"), "--output", str(tmp_path / "x.pt")])
    assert rc == 2
    assert "missing.h5" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_nan_or_negative_pixels_are_refused_naming_the_jet(tmp_path):
    from hepdl.core.errors import InputFileError

    path = write_images_file(tmp_path / "bad.h5", n=60)
    with h5py.File(path, "r+") as h5:
        row = int(np.flatnonzero(h5["jets/split"][:] == 0)[3])
        images = h5["images"][:]
        images[row, 2, 2] = np.nan
        h5["images"][...] = images
    with pytest.raises(InputFileError, match=f"source_file bad.root, source_entry {row}"):
        train(path, tmp_path / "m.pt", tiny_config(max_epochs=1))
    assert not (tmp_path / "m.pt").exists()


# --------------------------------------------------------------------------------- other models

#: tiny configurations of the models with their own training schedule: the nae switches from its
#: reconstruction phase to its NAE phase after epoch 2; kmeans is fitted without gradients
SCHEDULED_MODELS = {
    "nae": {"name": "nae", "options": {"conv_layers": [4, "pool", 4], "dense": [32], "latent_dim": 8,
                                       "pretrain_epochs": 2, "nae_epochs": 2, "nae_learning_rate": 1e-3,
                                       "negative_samples": 8, "latent_steps": 3, "image_steps": 3,
                                       "buffer_size": 20}},
    "kmeans": {"name": "kmeans", "options": {"n_clusters": 8}},
}


def scheduled_config(name: str, **training) -> dict:
    return load_config(None, overrides={**tiny_config(**training), "model": SCHEDULED_MODELS[name]})


@pytest.mark.parametrize("name", sorted(SCHEDULED_MODELS))
def test_same_seed_gives_identical_weights_for_every_model(images_file, tmp_path, name):
    config = scheduled_config(name, max_epochs=4)
    train(images_file, tmp_path / "a.pt", config)
    train(images_file, tmp_path / "b.pt", config)
    a, b = weights(tmp_path / "a.pt"), weights(tmp_path / "b.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    train(images_file, tmp_path / "c.pt", config, seed=8)
    c = weights(tmp_path / "c.pt")
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("crash_after", [2, 3])
@pytest.mark.parametrize("name", sorted(SCHEDULED_MODELS))
def test_every_model_resumes_bit_identical(images_file, tmp_path, name, crash_after):
    """Crashes at the nae's phase switch (2) and inside its NAE phase with a filled replay buffer
    (3); kmeans after Lloyd iterations (its k-means++ epoch is the first)."""
    config = scheduled_config(name, max_epochs=4)
    full = train(images_file, tmp_path / "full.pt", config)
    train(images_file, tmp_path / "part.pt", config, epochs=crash_after)
    resumed = train(images_file, tmp_path / "part.pt", config, resume=True)
    a, b = weights(tmp_path / "full.pt"), weights(tmp_path / "part.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["val_loss"] for r in resumed["history"]] == [r["val_loss"] for r in full["history"]]
    assert [r["train_loss"] for r in resumed["history"]] == [r["train_loss"] for r in full["history"]]
    assert (resumed["best_epoch"], resumed["stop_reason"]) == (full["best_epoch"], full["stop_reason"])


def test_nae_trains_in_two_phases(images_file, tmp_path):
    """Reconstruction phase at training.learning_rate, then the NAE phase at its own rate, which
    keeps its last epoch; the learning ratio is the lowest validation loss of the run over the
    average-image loss."""
    history_path = tmp_path / "h.csv"
    summary = train(images_file, tmp_path / "m.pt", scheduled_config("nae", max_epochs=10), history_path=history_path)
    history = summary["history"]
    assert [r["phase"] for r in history] == ["reconstruction"] * 2 + ["nae"] * 2
    assert [r["learning_rate"] for r in history] == [1e-2, 1e-2, 1e-3, 1e-3]
    assert summary["stop_reason"] == "completed" and summary["epochs_trained"] == 4 and summary["best_epoch"] == 4
    assert summary["selected_val_loss"] == history[-1]["val_loss"]
    lowest = min(r["val_loss"] for r in history)
    assert summary["best_val_loss"] == lowest
    assert summary["val_loss_over_average_image"] == pytest.approx(lowest / summary["average_image_loss"])
    with history_path.open() as handle:
        assert [row["phase"] for row in csv.DictReader(handle)] == [r["phase"] for r in history]
    _, meta = load_checkpoint(tmp_path / "m.pt", kind="model")
    assert "replay_buffer" not in json.dumps(meta) and meta["selected_val_loss"] == history[-1]["val_loss"]


def test_nae_capped_before_its_nae_phase_keeps_the_pretrained_autoencoder(images_file, tmp_path):
    summary = train(images_file, tmp_path / "m.pt", scheduled_config("nae", max_epochs=2))
    assert summary["stop_reason"] == "max_epochs" and summary["epochs_trained"] == 2
    assert [r["phase"] for r in summary["history"]] == ["reconstruction"] * 2
    best = min(summary["history"], key=lambda r: r["val_loss"])
    assert summary["best_epoch"] == best["epoch"] and summary["selected_val_loss"] == best["val_loss"]


def test_kmeans_fits_without_an_optimizer(images_file, tmp_path):
    """Lloyd iterations until early stopping; learnt (k-means inertia well below the single-cluster
    inertia); k = 1 is the average image, flagged as not learnt."""
    summary = train(images_file, tmp_path / "m.pt", scheduled_config("kmeans", max_epochs=30,
                                                                     early_stopping_patience=2))
    assert summary["stop_reason"] == "early_stopping" and summary["epochs_trained"] < 30
    assert summary["learned"] is True and summary["val_loss_over_average_image"] < 0.8
    assert all(r["learning_rate"] == 0.0 for r in summary["history"])
    one = load_config(None, overrides={**tiny_config(max_epochs=3), "model": {"name": "kmeans",
                                                                             "options": {"n_clusters": 1}}})
    summary = train(images_file, tmp_path / "one.pt", one)
    assert summary["learned"] is False
    assert summary["val_loss_over_average_image"] == pytest.approx(1.0, rel=1e-4)


def test_a_checkpoint_from_before_training_phases_resumes(images_file, tmp_path):
    """Training states written before models had training phases (no ``phase`` key) resume as
    one-phase runs: a converged one stays converged, an unfinished one continues."""
    from hepdl.core.checkpoint import save_checkpoint

    config = tiny_config(max_epochs=3)
    full = train(images_file, tmp_path / "full.pt", config)
    train(images_file, tmp_path / "part.pt", config, epochs=2)
    ckpt = checkpoint_path(tmp_path / "part.pt")
    tensors, meta = load_checkpoint(ckpt, kind="training_state")
    old_keys = ("epoch", "best_val_loss", "best_epoch", "epochs_without_improvement", "reference_val_loss",
                "stopped_early", "history")
    meta["state"] = {k: meta["state"][k] for k in old_keys}
    save_checkpoint(ckpt, "training_state", tensors, meta)
    resumed = train(images_file, tmp_path / "part.pt", config, resume=True)
    assert resumed["epochs_trained"] == 3 and resumed["best_val_loss"] == full["best_val_loss"]
    a, b = weights(tmp_path / "full.pt"), weights(tmp_path / "part.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    meta["state"]["stopped_early"] = True
    save_checkpoint(ckpt, "training_state", tensors, meta)
    again = train(images_file, tmp_path / "part.pt", config, resume=True)
    assert again["epochs_trained"] == 2 and again["stop_reason"] == "early_stopping"
