"""ONNX export: onnxruntime's anomaly scores and reconstructions equal torch's (input scaling
included in the graph) for several batch sizes and every model."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from test_train import NPIX, tiny_config, write_images_file

from hepdl.config import load_config
from hepdl.models.model_file import load_model
from hepdl.training.export import export_onnx
from hepdl.training.train import train

MODELS = {"conv_ae": None, "dense_ae": {"name": "dense_ae", "options": {"hidden": [32], "latent_dim": 4}},
          "nae": {"name": "nae", "options": {"conv_layers": [4, "pool", 4], "dense": [16], "latent_dim": 4,
                                             "pretrain_epochs": 1, "nae_epochs": 1, "negative_samples": 4,
                                             "latent_steps": 2, "image_steps": 2}},
          "kmeans": {"name": "kmeans", "options": {"n_clusters": 5}},
          "kmeans_knc": {"name": "kmeans", "options": {"n_clusters": 5, "score": "knc", "knc": 3}}}


@pytest.fixture(scope="module", params=sorted(MODELS))
def exported(tmp_path_factory, request):
    directory = tmp_path_factory.mktemp("export")
    config = tiny_config(max_epochs=2)  # the nae: one epoch in each phase
    if MODELS[request.param]:
        config = load_config(None, overrides={**config, "model": MODELS[request.param]})
    train(write_images_file(directory / "qcd.h5", n=120), directory / "m.pt", config)
    export_onnx(directory / "m.pt", directory / "m.onnx")
    return directory / "m.pt", directory / "m.onnx"


@pytest.mark.parametrize("n", [1, 7, 64])
def test_onnxruntime_matches_torch(exported, n):
    model_path, onnx_path = exported
    model, _, _ = load_model(model_path)
    assert float(model.input_scale) != 1.0  # the scaling is fitted, so the graph must carry it
    # unit-sum images: pixels of about 1/npix^2, the scale the model was trained on
    images = np.random.default_rng(n).dirichlet(np.ones(NPIX * NPIX) * 0.1, size=n).astype(np.float32)
    images = images.reshape(n, 1, NPIX, NPIX)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["anomaly_score", "reconstruction"]
    score, reco = session.run(["anomaly_score", "reconstruction"], {"images": images})
    with torch.no_grad():
        expected_score, expected_reco = model.score_and_reconstruct(torch.from_numpy(images))
    assert reco.shape == (n, 1, NPIX, NPIX) and score.shape == (n,)
    np.testing.assert_allclose(reco, expected_reco.numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(score, expected_score.numpy(), rtol=1e-4, atol=1e-12)
    if model.name != "kmeans" or model.score == "nearest":  # the reconstruction error
        np.testing.assert_allclose(score, ((reco - images) ** 2).mean(axis=(1, 2, 3)), rtol=1e-4)


def test_onnx_metadata_and_cli(exported, tmp_path):
    from hepdl.cli import main

    model_path, _ = exported
    assert main(["export", "--model", str(model_path), "--format", "onnx", "--output", str(tmp_path / "x.onnx")]) == 0
    graph = onnx.load(str(tmp_path / "x.onnx"))
    meta = json.loads({p.key: p.value for p in graph.metadata_props}["hepdl"])
    assert meta["npix"] == NPIX and meta["transform"] == "plain"
    assert meta["input_scale"] > 0 and "val_loss_over_average_image" in meta and "learned" in meta
    assert main(["export", "--model", str(tmp_path / "missing.pt"), "--output", str(tmp_path / "y.onnx")]) == 2
    assert not (tmp_path / "y.onnx").exists()
