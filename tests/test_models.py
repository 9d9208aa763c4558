"""Models: shapes, registry, config checks naming model.options.<key>."""

from __future__ import annotations

import pytest
import torch

from hepdl.config import load_config
from hepdl.errors import ConfigError
from hepdl.models import MODELS, ConvAE, DenseAE, build_model, check_model_config


@pytest.mark.parametrize("name", sorted(MODELS))
def test_default_models_map_40x40_images_to_40x40(name):
    model = build_model({"name": name}, 40)
    images = torch.rand(3, 1, 40, 40)
    assert model(images).shape == (3, 1, 40, 40)
    assert model(images[:, 0]).shape == (3, 1, 40, 40)  # (n, npix, npix) accepted too


def test_default_config_model_is_valid_and_conv_ae():
    config = load_config(None)
    assert config["model"]["name"] == "conv_ae"
    assert isinstance(build_model(config["model"], config["images"]["npix"]), ConvAE)


@pytest.mark.parametrize("options", [
    {"conv_layers": [10, 10, "pool", 10, 5, 5], "dense": [400, 100], "latent_dim": 32},  # thesis code
    {"conv_layers": [4, "pool", 4, "pool", 4], "kernel_size": 3, "upsampling": "transposed"},
    {"output_activation": "softplus"}, {"output_activation": "sigmoid"}, {"output_activation": "relu"},
])
def test_conv_ae_options(options):
    model = build_model({"name": "conv_ae", "options": options}, 40)
    assert model(torch.rand(2, 1, 40, 40)).shape == (2, 1, 40, 40)


def test_output_activation_is_applied():
    model = ConvAE(16, [2, "pool", 2], dense=[8], latent_dim=4, output_activation="sigmoid")
    with torch.no_grad():
        out = model(torch.randn(4, 1, 16, 16) * 100)
        assert float(out.min()) >= 0 and float(out.max()) <= 1
        assert float(DenseAE(16, [8], 4, "relu")(torch.randn(2, 16, 16)).min()) >= 0
        assert float(DenseAE(16, [8], 4, "linear")(torch.randn(50, 16, 16) * 100).min()) < 0


def test_latent_dimension_is_the_bottleneck():
    model = ConvAE(40, latent_dim=7)
    assert model.encoder(torch.rand(2, 1, 40, 40)).shape == (2, 7)


@pytest.mark.parametrize(("model_config", "npix", "key"), [
    ({"name": "conv_ae", "options": {"channels": [3]}}, 40, "model.options.channels"),
    ({"name": "conv_ae", "options": {"hidden": [3]}}, 40, "model.options.hidden"),
    ({"name": "dense_ae", "options": {"conv_layers": [3]}}, 40, "model.options.conv_layers"),
    ({"name": "conv_ae"}, 41, "model.options.conv_layers"),  # one 2x2 pool cannot take 41
    ({"name": "conv_ae", "options": {"conv_layers": [4, "pool", 4, "pool"]}}, 42, "model.options.conv_layers"),
    ({"name": "conv_ae", "options": {"conv_layers": [4, "maxpool"]}}, 40, "model.options.conv_layers"),
    ({"name": "conv_ae", "options": {"latent_dim": 0}}, 40, "model.options.latent_dim"),
    ({"name": "conv_ae", "options": {"kernel_size": 2.5}}, 40, "model.options.kernel_size"),
    ({"name": "conv_ae", "options": {"dense": [400, -1]}}, 40, "model.options.dense"),
    ({"name": "conv_ae", "options": {"output_activation": "tanh"}}, 40, "model.options.output_activation"),
    ({"name": "conv_ae", "options": {"upsampling": "bilinear"}}, 40, "model.options.upsampling"),
    ({"name": "dense_ae", "options": {"hidden": "512"}}, 40, "model.options.hidden"),
    ({"name": "transformer"}, 40, "model.name"),
])
def test_check_model_config_names_the_bad_key(model_config, npix, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        check_model_config(model_config, npix)


def test_config_validation_calls_the_model_check():
    with pytest.raises(ConfigError, match="model.options.conv_layers.*npix divisible by 2, got npix = 39"):
        load_config(None, overrides={"images": {"npix": 39}})


def test_model_construction_is_seeded():
    torch.manual_seed(1)
    a = build_model({"name": "conv_ae"}, 40).state_dict()
    torch.manual_seed(1)
    b = build_model({"name": "conv_ae"}, 40).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
