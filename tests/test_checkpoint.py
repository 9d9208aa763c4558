"""Checkpoints: tensors + JSON metadata round trip; pickled, truncated and foreign files refused."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from hepdl.core.checkpoint import load_checkpoint, save_checkpoint
from hepdl.core.errors import CheckpointError


class Payload:
    """An arbitrary class instance: torch.save pickles it, weights_only loading must refuse it."""

    def __init__(self):
        self.x = 1


class Malicious:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_round_trip(tmp_path):
    tensors = {"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "rng": torch.get_rng_state(), "n": 3}
    save_checkpoint(tmp_path / "m.pt", "model", tensors, {"seed": 4, "history": [{"epoch": 1, "loss": 0.5}]})
    loaded, meta = load_checkpoint(tmp_path / "m.pt", kind="model")
    assert torch.equal(loaded["state_dict"]["w"], tensors["state_dict"]["w"])
    assert torch.equal(loaded["rng"], tensors["rng"]) and loaded["n"] == 3
    assert meta == {"seed": 4, "history": [{"epoch": 1, "loss": 0.5}]}
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left behind


@pytest.mark.parametrize("payload", [Payload(), {"state_dict": {}, "extra": Payload()}, Malicious()])
def test_pickled_objects_are_refused(tmp_path, payload):
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(path)


def test_plain_pickle_file_is_refused(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps(Malicious()))
    with pytest.raises(CheckpointError, match="plain.pkl"):
        load_checkpoint(path)


def test_truncated_foreign_missing_and_wrong_kind_files_are_refused(tmp_path):
    save_checkpoint(tmp_path / "m.pt", "model", {"w": torch.ones(1000)}, {})
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_text("not a model")
    with pytest.raises(CheckpointError, match="text.pt"):
        load_checkpoint(tmp_path / "text.pt")
    torch.save({"w": torch.ones(2)}, tmp_path / "other.pt")  # a torch file, but not hepdl's
    with pytest.raises(CheckpointError, match="other.pt is not a hepdl checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="nothing.pt does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(CheckpointError, match="expected 'training_state'"):
        load_checkpoint(tmp_path / "m.pt", kind="training_state")
