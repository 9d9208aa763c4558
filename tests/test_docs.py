"""Documentation that is generated or duplicated stays in step with its source.

- config/README.md is generated from the JSON Schemas by scripts/config_reference.py;
- CITATION.cff cites the version of hepdl/__init__.py, the one place the version is set.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import yaml

import hepdl

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "config_reference.py"


def _generator():
    if "config_reference" not in sys.modules:
        spec = importlib.util.spec_from_file_location("config_reference", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["config_reference"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["config_reference"]


def test_config_reference_is_up_to_date():
    """config/README.md equals what scripts/config_reference.py makes of the current schemas."""
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        "config/README.md is out of date with hepdl/config/schema.yaml or hepdl/models/*.yaml; regenerate it with\n"
        "    python scripts/config_reference.py > config/README.md\n" + result.stderr[-3000:])


def _schema_keys(schema, path=""):
    """Every property path of a schema (maps of named entries written `<...>`)."""
    for name, sub in (schema.get("properties") or {}).items():
        key = f"{path}.{name}" if path else name
        yield key
        yield from _schema_keys(sub, key)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _schema_keys(schema["additionalProperties"], f"{path}.<")


def test_config_reference_lists_every_schema_key():
    """Each key of the schema, at any depth, has a row in the reference."""
    text = (ROOT / "config" / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE))
    rows |= set(re.findall(r"^## `([^`]+)`$", text, flags=re.MULTILINE))
    normalised = {re.sub(r"<[^>]*>", "<", row) for row in rows}
    schema = yaml.safe_load((ROOT / "hepdl" / "config" / "schema.yaml").read_text(encoding="utf-8"))
    missing = [key for key in _schema_keys(schema) if key not in normalised]
    assert not missing, f"keys missing from config/README.md: {missing}"
    for path in sorted((ROOT / "hepdl" / "models").glob("*.yaml")):
        options = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in _schema_keys(options, "model.options"):
            assert key in normalised, f"{path.name}: {key} missing from config/README.md"


def test_config_reference_walks_refs_conditionals_maps_and_arrays(tmp_path):
    """The generator copes with schema constructs the config schema may grow: $defs/$ref (also
    recursive), allOf, if/then/else, patternProperties, arrays of objects."""
    schema = {
        "type": "object",
        "$defs": {"cut": {"type": "object", "description": "a cut",
                          "properties": {"min": {"type": "number", "minimum": 0, "default": 1},
                                         "child": {"$ref": "#/$defs/cut"}}}},
        "properties": {
            "a": {"type": "object",
                  "properties": {
                      "cuts": {"type": "array", "items": {"$ref": "#/$defs/cut"}, "minItems": 2},
                      "by_name": {"type": "object", "patternProperties": {"^x": {"type": "integer"}}},
                      "mode": {"enum": ["fast", "slow"], "default": "fast"},
                      "speed": {"type": "number"}},
                  "if": {"properties": {"mode": {"const": "slow"}}},
                  "then": {"properties": {"speed": {"default": 3}}, "required": ["speed"]},
                  "else": {"properties": {"speed": {"default": 10}}}},
            "b": {"allOf": [{"$ref": "#/$defs/cut"}]},
            "named": {"type": "object", "additionalProperties": {"type": "object",
                                                                 "properties": {"x": {"type": "boolean"}}}},
        },
    }
    (tmp_path / "schema.yaml").write_text(yaml.safe_dump(schema), encoding="utf-8")
    (tmp_path / "models").mkdir()
    text = _generator().config_reference(tmp_path / "schema.yaml", tmp_path / "models")
    row = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", text, flags=re.MULTILINE)}
    assert "list (at least 2 items) of mapping" in row["a.cuts"]
    assert "number ≥ 0" in row["a.cuts[].min"] and "`1`" in row["a.cuts[].min"]
    assert "a.cuts[].child" in row  # the recursive reference stops after one level
    assert "a.by_name.<name matching ^x>" in row
    assert "required if `mode` is `slow`" in row["a.speed"].lower()
    assert "default `3` if `mode` is `slow`" in row["a.speed"] and "default `10` otherwise" in row["a.speed"]
    assert "number ≥ 0" in row["b.min"]
    assert "boolean" in row["named.<name>.x"]
    assert "A cut. Type: mapping" in text


def test_citation_cites_the_package_version():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(citation["version"]) == hepdl.__version__
    assert citation["cff-version"] == "1.2.0"
    reference = citation["references"][0]
    assert reference["doi"] == "10.1007/JHEP06(2021)161"
