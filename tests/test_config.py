"""Configuration: defaults, validation messages naming the key, cross-checks, safe loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hepdl.config import derive_seed, load_config, parse_size, validate_config
from hepdl.core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def minimal() -> dict:
    return {
        "datasets": {"qcd": {"generate": {"process": "qcd"}, "n_jets": 10}},
        "experiments": {"e": {"train": "qcd", "background": "qcd", "signal": "qcd"}},
    }


def test_default_config_validates_and_fills_defaults():
    config = load_config(ROOT / "config" / "config.yaml")
    assert config["images"]["npix"] == 40
    assert config["split"]["train"] == pytest.approx(0.6)
    assert set(config["experiments"]) == {"top_vs_qcd", "qcd_vs_top"}


def test_defaults_filled_in_nested_sections():
    config = validate_config(minimal())
    assert config["seed"] == 2104
    assert config["datasets"]["qcd"]["shards"] == 1
    assert config["experiments"]["e"]["transforms"] == ["plain"]
    assert config["experiments"]["e"]["corrections"] == ["none"]
    assert config["image_transforms"] == {"plain": {"intensity": {"kind": "none", "k": 0.5, "c": 1000},
                                                    "smear_sigma_px": 0}}
    assert config["training"]["batch_size"] >= 1


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"traning": {}}, "<top level>"),
        ({"training": {"batch_size": -3}}, "training.batch_size"),
        ({"training": {"batch_size": "big"}}, "training.batch_size"),
        ({"images": {"half_width": 0}}, "images.half_width"),
        ({"images": {"chunk_size": "lots"}}, "images.chunk_size"),
        ({"split": {"train": 0.5, "validation": 0.2, "test": 0.2}}, "split"),
    ],
)
def test_bad_values_name_the_key(patch, key):
    config = minimal()
    config.update(patch)
    with pytest.raises(ConfigError, match=f"'{key}'"):
        validate_config(config)


def test_experiment_naming_unknown_dataset():
    config = minimal()
    config["experiments"]["e"]["signal"] = "top"
    with pytest.raises(ConfigError, match=r"experiments\.e\.signal.*'top'"):
        validate_config(config)


def test_negative_jet_count():
    config = minimal()
    config["datasets"]["qcd"]["n_jets"] = -1
    with pytest.raises(ConfigError, match="datasets.qcd.n_jets"):
        validate_config(config)


def test_yaml_is_loaded_safely(tmp_path):
    """A YAML tag that would construct a Python object is refused, not executed."""
    path = tmp_path / "evil.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_parse_size():
    assert parse_size("50 MB") == 50_000_000
    assert parse_size("1 GiB") == 2**30
    assert parse_size("1.5kB") == 1500
    with pytest.raises(ConfigError):
        parse_size("50 parsecs")


def test_derive_seed_is_stable_and_distinct():
    assert derive_seed(1, "qcd", 0) == derive_seed(1, "qcd", 0)
    assert derive_seed(1, "qcd", 0) != derive_seed(1, "qcd", 1)
    assert 1 <= derive_seed(123456, "top", 7) <= 900_000_000


def test_schema_reachable_from_workflow():
    workflow_schema = ROOT / "workflow" / "schemas" / "config.schema.yaml"
    assert yaml.safe_load(workflow_schema.read_text())["type"] == "object"


def test_keys_of_earlier_versions_say_what_replaced_them():
    from hepdl.core.errors import ConfigError

    with pytest.raises(ConfigError, match="'postprocessing': postprocessing was split into image_transforms"):
        validate_config({**minimal(), "postprocessing": {"plain": {}}})
    config = minimal()
    config["experiments"]["e"]["variants"] = ["plain"]
    with pytest.raises(ConfigError, match="'experiments.e.variants': an experiment's variants are now"):
        validate_config(config)
    # mass sculpting at one working point became a list of working points
    with pytest.raises(ConfigError, match="'evaluation.mass_cut_background_efficiency': mass sculpting now runs at "
                                          "several working points: write mass_cut_background_efficiencies"):
        validate_config({**minimal(), "evaluation": {"mass_cut_background_efficiency": 0.1}})
    assert validate_config(minimal())["evaluation"]["mass_cut_background_efficiencies"] == [0.5, 0.1, 0.01]


def test_experiments_name_defined_transforms_and_corrections():
    from hepdl.core.errors import ConfigError

    config = minimal()
    config["experiments"]["e"]["transforms"] = ["smeared"]
    with pytest.raises(ConfigError,
                       match="'experiments.e.transforms': 'smeared' is not defined under 'image_transforms'"):
        validate_config(config)
    config = minimal()
    config["experiments"]["e"]["corrections"] = ["none", "decorrelated"]
    with pytest.raises(ConfigError,
                       match="'decorrelated' is not defined under 'score_corrections' \\(defined: none\\)"):
        validate_config(config)
    config = {**minimal(), "score_corrections": {"none": {}}}
    with pytest.raises(ConfigError, match="score_corrections"):
        validate_config(config)


def test_experiment_variants_cross_transforms_and_corrections():
    from hepdl.config import experiment_variants

    config = minimal()
    config["image_transforms"] = {"plain": {}, "smeared": {"smear_sigma_px": 1.0}}
    config["score_corrections"] = {"normalised": {"score_normalisation": "trivial"}}
    config["experiments"]["e"].update(transforms=["plain", "smeared"], corrections=["none", "normalised"])
    names = [v["variant"] for v in experiment_variants(validate_config(config))]
    assert names == ["plain", "plain+normalised", "smeared", "smeared+normalised"]
