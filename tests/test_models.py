"""Models: the registry, the interface (loss, score, reconstruction, input scaling) for every
model, option schemas naming model.options.<key>."""

from __future__ import annotations

import pytest
import torch

from hepdl.config import load_config
from hepdl.core.errors import ConfigError
from hepdl.models import build_model, model_class, model_names, options_schema, validate_model_config
from hepdl.models.base import LEARNED_MAX_RATIO, AnomalyModel, learning_summary
from hepdl.models.conv_ae import ConvAE
from hepdl.models.dense_ae import DenseAE

SMALL = {"conv_ae": {"conv_layers": [4, "pool", 4], "dense": [16], "latent_dim": 4},
         "dense_ae": {"hidden": [32], "latent_dim": 4}}


def unit_sum_images(n: int, npix: int, seed: int = 0) -> torch.Tensor:
    """Jet-like stand-ins: sparse non-negative images of unit sum, (n, 1, npix, npix)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, npix, npix, generator=generator) ** 8
    return images / images.sum(dim=(1, 2, 3), keepdim=True)


def test_registry_finds_every_model_by_its_schema_file():
    assert set(model_names()) >= {"conv_ae", "dense_ae"}
    for name in model_names():
        cls = model_class(name)
        assert issubclass(cls, AnomalyModel) and cls.name == name
        assert options_schema(name)["additionalProperties"] is False


@pytest.mark.parametrize("name", ["conv_ae", "dense_ae"])
def test_the_interface(name):
    """loss = mean of jet_losses; anomaly_score and reconstruct agree with score_and_reconstruct;
    the score is the reconstruction error in input units, the loss the same error in scaled units."""
    torch.manual_seed(0)
    model = build_model(validate_model_config({"name": name, "options": SMALL[name]}), 16)
    images = unit_sum_images(12, 16)
    model.fit_input_scaling(images)
    scale = float(model.input_scale)
    assert scale == pytest.approx(float(images.double().square().mean().sqrt()), rel=1e-6)
    torch.testing.assert_close(model.mean_image, images.mean(dim=0))
    with torch.no_grad():
        losses = model.jet_losses(images)
        assert losses.shape == (12,) and float(model.loss(images)) == pytest.approx(float(losses.mean()), rel=1e-6)
        score, reconstruction = model.score_and_reconstruct(images)
        assert score.shape == (12,) and reconstruction.shape == (12, 1, 16, 16)
        torch.testing.assert_close(model.anomaly_score(images), score)
        torch.testing.assert_close(model.reconstruct(images), reconstruction)
        torch.testing.assert_close(score, (reconstruction - images).square().mean(dim=(1, 2, 3)))
        torch.testing.assert_close(losses, score / scale**2, rtol=1e-4, atol=0)
        reference = model.reference_losses(images)
        torch.testing.assert_close(reference, ((images - images.mean(dim=0)) / scale).square().mean(dim=(1, 2, 3)))
        assert model.anomaly_score(images[:, 0]).shape == (12,)  # (n, npix, npix) accepted too
    assert model.reconstructs


@pytest.mark.parametrize("name", ["conv_ae", "dense_ae"])
def test_input_scaling_makes_the_network_blind_to_the_image_scale(name):
    """The same weights on images times 1e-6 see exactly what they see on the images: equal
    losses; the anomaly score scales as the square of the images."""
    torch.manual_seed(0)
    a = build_model(validate_model_config({"name": name, "options": SMALL[name]}), 16)
    b = build_model(validate_model_config({"name": name, "options": SMALL[name]}), 16)
    b.load_state_dict(a.state_dict())
    images = unit_sum_images(10, 16)
    a.fit_input_scaling(images)
    b.fit_input_scaling(images * 1e-6)
    with torch.no_grad():
        torch.testing.assert_close(b.jet_losses(images * 1e-6), a.jet_losses(images), rtol=1e-4, atol=0)
        torch.testing.assert_close(b.anomaly_score(images * 1e-6), a.anomaly_score(images) * 1e-12, rtol=1e-4, atol=0)


def test_input_scale_travels_in_the_state_dict():
    model = build_model(validate_model_config({"name": "conv_ae", "options": SMALL["conv_ae"]}), 16)
    model.fit_input_scaling(unit_sum_images(5, 16) * 3)
    state = model.state_dict()
    assert "input_scale" in state and "mean_image" in state
    fresh = build_model(validate_model_config({"name": "conv_ae", "options": SMALL["conv_ae"]}), 16)
    fresh.load_state_dict(state)
    assert float(fresh.input_scale) == float(model.input_scale) != 1.0


def test_input_scaling_none_keeps_raw_pixels():
    model_config = {"name": "conv_ae", "options": SMALL["conv_ae"], "input_scaling": "none"}
    model = build_model(validate_model_config(model_config), 16)
    model.fit_input_scaling(unit_sum_images(5, 16))
    assert float(model.input_scale) == 1.0


def test_learning_summary_threshold():
    assert learning_summary(0.5, 1.0) == {"val_loss_over_average_image": 0.5, "learned": True}
    assert learning_summary(LEARNED_MAX_RATIO, 1.0)["learned"] is True
    assert learning_summary(0.95, 1.0)["learned"] is False
    assert learning_summary(1.0, 0.0)["learned"] is False


@pytest.mark.parametrize("name", ["conv_ae", "dense_ae"])
def test_default_models_map_40x40_images_to_40x40(name):
    model = build_model(validate_model_config({"name": name}), 40)
    assert model(torch.rand(3, 1, 40, 40)).shape == (3, 1, 40, 40)


def test_default_config_model_is_valid_and_conv_ae():
    config = load_config(None)
    assert config["model"]["name"] == "conv_ae" and config["model"]["input_scaling"] == "rms"
    assert config["model"]["options"]["conv_layers"] == [10, "pool", 10, 10, 5]  # defaults filled from conv_ae.yaml
    assert isinstance(build_model(config["model"], config["images"]["npix"]), ConvAE)


@pytest.mark.parametrize("options", [
    {"conv_layers": [10, 10, "pool", 10, 5, 5], "dense": [400, 100], "latent_dim": 32},  # thesis code
    {"conv_layers": [4, "pool", 4, "pool", 4], "kernel_size": 3, "upsampling": "transposed"},
    {"output_activation": "softplus"}, {"output_activation": "sigmoid"}, {"output_activation": "relu"},
])
def test_conv_ae_options(options):
    model = build_model(validate_model_config({"name": "conv_ae", "options": options}), 40)
    assert model(torch.rand(2, 1, 40, 40)).shape == (2, 1, 40, 40)


@pytest.mark.parametrize(("npix", "conv_layers"),
                         [(41, [4, "pool", 4]), (42, [4, "pool", 4, "pool", 4]), (7, ["pool", 3])])
def test_conv_ae_takes_any_npix(npix, conv_layers):
    """Images whose size the pooling does not divide are padded and the reconstruction cropped."""
    model_config = {"name": "conv_ae", "options": {"conv_layers": conv_layers, "dense": [8]}}
    model = build_model(validate_model_config(model_config), npix)
    assert model(torch.rand(2, 1, npix, npix)).shape == (2, 1, npix, npix)


def test_output_activation_is_applied():
    model = ConvAE(16, [2, "pool", 2], dense=[8], latent_dim=4, output_activation="sigmoid")
    with torch.no_grad():
        out = model.network(torch.randn(4, 1, 16, 16) * 100)
        assert float(out.min()) >= 0 and float(out.max()) <= 1
        assert float(DenseAE(16, [8], 4, "relu").network(torch.randn(2, 1, 16, 16)).min()) >= 0
        assert float(DenseAE(16, [8], 4, "linear").network(torch.randn(50, 1, 16, 16) * 100).min()) < 0


def test_latent_dimension_is_the_bottleneck():
    model = ConvAE(40, latent_dim=7)
    assert model.encoder(torch.rand(2, 1, 40, 40)).shape == (2, 7)


@pytest.mark.parametrize(("model_config", "key"), [
    ({"name": "conv_ae", "options": {"channels": [3]}}, "model.options"),
    ({"name": "conv_ae", "options": {"hidden": [3]}}, "model.options"),
    ({"name": "dense_ae", "options": {"conv_layers": [3]}}, "model.options"),
    ({"name": "conv_ae", "options": {"conv_layers": [4, "maxpool"]}}, "model.options.conv_layers.1"),
    ({"name": "conv_ae", "options": {"conv_layers": ["pool"]}}, "model.options.conv_layers"),
    ({"name": "conv_ae", "options": {"latent_dim": 0}}, "model.options.latent_dim"),
    ({"name": "conv_ae", "options": {"kernel_size": 2.5}}, "model.options.kernel_size"),
    ({"name": "conv_ae", "options": {"dense": [400, -1]}}, "model.options.dense.1"),
    ({"name": "conv_ae", "options": {"output_activation": "tanh"}}, "model.options.output_activation"),
    ({"name": "conv_ae", "options": {"upsampling": "bilinear"}}, "model.options.upsampling"),
    ({"name": "dense_ae", "options": {"hidden": "512"}}, "model.options.hidden"),
    ({"name": "transformer"}, "model.name"),
])
def test_bad_model_options_name_the_key(model_config, key):
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        validate_model_config({"options": {}, **model_config})
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        load_config(None, overrides={"model": model_config})


def test_unknown_option_names_the_option():
    with pytest.raises(ConfigError, match="'channels' was unexpected.*allowed keys: conv_layers, dense"):
        load_config(None, overrides={"model": {"name": "conv_ae", "options": {"channels": [3]}}})


def test_model_construction_is_seeded():
    torch.manual_seed(1)
    a = build_model(validate_model_config({"name": "conv_ae"}), 40).state_dict()
    torch.manual_seed(1)
    b = build_model(validate_model_config({"name": "conv_ae"}), 40).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
