"""ONNX export: onnxruntime reconstructions and errors equal torch's for several batch sizes."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from hepdl.export import export_onnx
from hepdl.score import load_model
from hepdl.train import train
from test_train import NPIX, tiny_config, write_images_file


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    train(write_images_file(directory / "qcd.h5", n=120), directory / "m.pt", tiny_config(max_epochs=1))
    export_onnx(directory / "m.pt", directory / "m.onnx")
    return directory / "m.pt", directory / "m.onnx"


@pytest.mark.parametrize("n", [1, 7, 64])
def test_onnxruntime_matches_torch(exported, n):
    model_path, onnx_path = exported
    model, _, _ = load_model(model_path)
    images = np.random.default_rng(n).dirichlet(np.ones(NPIX * NPIX), size=n).astype(np.float32).reshape(n, 1, NPIX, NPIX)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    reco, error = session.run(["reconstruction", "reconstruction_error"], {"images": images})
    with torch.no_grad():
        expected = model(torch.from_numpy(images)).numpy()
    assert reco.shape == (n, 1, NPIX, NPIX) and error.shape == (n,)
    np.testing.assert_allclose(reco, expected, atol=1e-5)
    np.testing.assert_allclose(error, ((expected - images) ** 2).mean(axis=(1, 2, 3)), rtol=1e-5, atol=1e-9)


def test_onnx_metadata_and_cli(exported, tmp_path):
    from hepdl.cli import main

    model_path, _ = exported
    assert main(["export", "--model", str(model_path), "--format", "onnx", "--output", str(tmp_path / "x.onnx")]) == 0
    graph = onnx.load(str(tmp_path / "x.onnx"))
    meta = json.loads({p.key: p.value for p in graph.metadata_props}["hepdl"])
    assert meta["npix"] == NPIX and meta["variant"] == "plain"
    assert main(["export", "--model", str(tmp_path / "missing.pt"), "--output", str(tmp_path / "y.onnx")]) == 2
    assert not (tmp_path / "y.onnx").exists()
