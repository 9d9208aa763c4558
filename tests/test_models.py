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
         "dense_ae": {"hidden": [32], "latent_dim": 4},
         "nae": {"conv_layers": [4, "pool", 4], "dense": [16], "latent_dim": 4},
         "kmeans": {"n_clusters": 3}}


def unit_sum_images(n: int, npix: int, seed: int = 0) -> torch.Tensor:
    """Jet-like stand-ins: sparse non-negative images of unit sum, (n, 1, npix, npix)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, npix, npix, generator=generator) ** 8
    return images / images.sum(dim=(1, 2, 3), keepdim=True)


def test_registry_finds_every_model_by_its_schema_file():
    assert set(model_names()) >= {"conv_ae", "dense_ae", "nae", "kmeans"}
    for name in model_names():
        cls = model_class(name)
        assert issubclass(cls, AnomalyModel) and cls.name == name
        assert options_schema(name)["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(SMALL))
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


@pytest.mark.parametrize("name", sorted(SMALL))
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


@pytest.mark.parametrize("name", sorted(SMALL))
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


# --------------------------------------------------------------------------------- nae

def small_nae(**options) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(validate_model_config({"name": "nae", "options": {**SMALL["nae"], **options}}), 16)
    model.fit_input_scaling(unit_sum_images(20, 16))
    return model


def test_nae_network_options_are_conv_aes():
    """nae.yaml repeats conv_ae.yaml's network options; they must stay the same."""
    conv, nae = options_schema("conv_ae")["properties"], options_schema("nae")["properties"]
    assert {k: nae[k] for k in conv} == conv


def test_nae_latent_is_on_the_sphere_and_plain_with_spherical_latent_false():
    images = unit_sum_images(6, 16)
    with torch.no_grad():
        latent = small_nae().encode(small_nae().scale_inputs(images))
        torch.testing.assert_close(latent.norm(dim=1), torch.ones(6))
        assert not torch.allclose(small_nae(spherical_latent=False).encode(images / 1e-2).norm(dim=1), torch.ones(6))


def test_nae_training_phases():
    phases = small_nae(pretrain_epochs=3, nae_epochs=2, nae_learning_rate=1e-4).training_phases()
    assert [(p.name, p.epochs, p.learning_rate, p.selects_best) for p in phases] == [
        ("reconstruction", 3, None, True), ("nae", 2, 1e-4, False)]
    assert [p.name for p in small_nae(nae_epochs=0).training_phases()] == ["reconstruction"]


def test_nae_energy_is_the_reconstruction_loss():
    model, images = small_nae(), unit_sum_images(5, 16)
    with torch.no_grad():
        torch.testing.assert_close(model.energy(model.scale_inputs(images)), model.jet_losses(images))


def test_nae_negative_samples_are_non_negative_and_fill_the_replay_buffer():
    model = small_nae(latent_steps=2, image_steps=2, buffer_size=10)
    negatives = model.sample_negatives(7)
    assert negatives.shape == (7, 1, 16, 16) and float(negatives.min()) >= 0 and not negatives.requires_grad
    assert model.replay_buffer.shape == (7, 4)
    torch.testing.assert_close(model.replay_buffer.norm(dim=1), torch.ones(7))  # chain ends stay on the sphere
    model.sample_negatives(7)
    assert model.replay_buffer.shape == (10, 4)  # first in, first out
    assert all(p.grad is None for p in model.parameters())  # the chains leave the weights' gradients alone


def test_nae_chains_start_from_the_replay_buffer():
    model = small_nae(replay_fraction=1.0)
    assert model.initial_latent(4).shape == (4, 4)  # empty buffer: fresh points
    model.load_training_state({"replay_buffer": torch.eye(4)[:2]})
    starts = model.initial_latent(50)
    assert all(any(torch.equal(row, b) for b in torch.eye(4)[:2]) for row in starts)
    model.replay_fraction = 0.0
    torch.testing.assert_close(model.initial_latent(50).norm(dim=1), torch.ones(50))


def test_nae_image_chain_lowers_the_energy():
    """Without noise, the image chain is clipped gradient descent on the energy."""
    model = small_nae(latent_steps=0, image_steps=20, image_noise=0.0, image_grad_clip=10.0, image_step_size=5.0)
    start = model.scale_inputs(unit_sum_images(16, 16))
    end = model._langevin(start, model.energy, model.image_chain, lambda x: x.clamp_min(0.0))
    with torch.no_grad():
        assert float(model.energy(end).mean()) < 0.9 * float(model.energy(start).mean())


def test_nae_loss_in_each_phase():
    """Reconstruction phase: the mean energy. NAE phase: E(data) - E(negatives) (over the
    temperature) plus gamma E(negatives)^2, with the negatives the model draws."""
    model = small_nae(latent_steps=2, image_steps=2, negative_samples=6, gamma=0.5, temperature=2.0)
    images = unit_sum_images(8, 16)
    torch.testing.assert_close(model.loss(images), model.jet_losses(images).mean())
    model.start_phase("nae")
    torch.manual_seed(3)
    loss = model.loss(images)
    model.load_training_state({})
    torch.manual_seed(3)
    negative = model.energy(model.sample_negatives(6))
    expected = (model.jet_losses(images).mean() - negative.mean()) / 2.0 + 0.5 * negative.square().mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


# --------------------------------------------------------------------------------- kmeans

def blob_images(n: int, npix: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three clusters of jet-like images: a bright pixel at one of three places plus faint noise."""
    generator = torch.Generator().manual_seed(seed)
    which = torch.arange(n) % 3
    images = torch.rand(n, 1, npix, npix, generator=generator) * 1e-3
    images[torch.arange(n), 0, 3 + 4 * which, 3 + 4 * which] += 1.0
    return images / images.sum(dim=(1, 2, 3), keepdim=True), which


def fitted_kmeans(images: torch.Tensor, epochs: int = 5, **options):
    model = build_model(validate_model_config({"name": "kmeans", "options": options}), images.shape[-1])
    model.fit_input_scaling(images)
    torch.manual_seed(0)
    for _ in range(epochs):
        model.fit_epoch(images, batch_size=7)
    return model


def test_kmeans_finds_the_clusters():
    images, which = blob_images(60)
    model = fitted_kmeans(images, n_clusters=3)
    with torch.no_grad():
        assigned = model.nearest(model.scale_inputs(images))
        # one centroid per blob, each the mean of its blob's images
        assert len(set(assigned.tolist())) == 3
        for blob in range(3):
            members = assigned[which == blob]
            assert len(set(members.tolist())) == 1
            torch.testing.assert_close(model.centroids[members[0]] * model.input_scale,
                                       images[which == blob].mean(dim=0), rtol=1e-4, atol=1e-7)
        ratio = float(model.jet_losses(images).mean() / model.reference_losses(images).mean())
        assert ratio < 0.01


def test_kmeans_with_one_cluster_is_the_average_image():
    """k = 1: the centroid is the mean training image, the loss the reference loss (ratio 1: not learnt)."""
    images = unit_sum_images(30, 16)
    model = fitted_kmeans(images, epochs=1, n_clusters=1)
    with torch.no_grad():
        torch.testing.assert_close(model.centroids[0] * model.input_scale, model.mean_image, rtol=1e-5, atol=1e-9)
        torch.testing.assert_close(model.jet_losses(images), model.reference_losses(images), rtol=1e-4, atol=0)


@pytest.mark.parametrize("score", ["nearest", "knc"])
def test_kmeans_scores_equal_brute_force_distances(score):
    images = unit_sum_images(40, 16)
    model = fitted_kmeans(images, n_clusters=6, score=score, knc=3)
    test = unit_sum_images(9, 16, seed=5)
    with torch.no_grad():
        centroids = model.centroids[:, 0] * model.input_scale  # input units
        distances = (test[:, None, 0] - centroids[None]).square().mean(dim=(2, 3))  # (9, 6)
        keep = 1 if score == "nearest" else 3
        expected = distances.sort(dim=1).values[:, :keep].mean(dim=1)
        value, reconstruction = model.score_and_reconstruct(test)
        torch.testing.assert_close(value, expected, rtol=1e-4, atol=0)
        torch.testing.assert_close(reconstruction[:, 0], centroids[distances.argmin(dim=1)])


def test_kmeans_refuses_impossible_options():
    with pytest.raises(ConfigError, match="model.options.knc"):
        build_model(validate_model_config({"name": "kmeans", "options": {"n_clusters": 3, "score": "knc"}}), 16)
    with pytest.raises(ConfigError, match="model.options.n_clusters"):
        fitted_kmeans(unit_sum_images(5, 16), n_clusters=6)
    with pytest.raises(ConfigError, match="model.options.score"):
        load_config(None, overrides={"model": {"name": "kmeans", "options": {"score": "mind"}}})


@pytest.mark.parametrize("name", sorted(SMALL))
def test_schema_defaults_are_the_constructor_defaults(name):
    """A model built in Python with no options is the model a config with no options selects."""
    import inspect

    parameters = inspect.signature(model_class(name)).parameters
    for key, value in validate_model_config({"name": name})["options"].items():
        default = parameters[key].default
        assert (list(default) if isinstance(default, tuple) else default) == value, key
