"""Interrupted work loses nothing: atomic outputs per stage, SIGKILLed training resumed, a killed
workflow restarted.

* Every CLI stage writes its output through :func:`hepdl.core.atomic.atomic_path`: a failure after part
  of the output was written (a reader error on a later chunk, a bad second images file, a failing
  writer) leaves neither the output nor a temporary sibling ``.<name>.*.tmp*``.
* ``hepdl train`` killed with SIGKILL after its first epoch checkpoint and rerun with ``--resume``
  ends with exactly the weights of an uninterrupted run (CPU, same seed, same thread count).
* A Snakemake run killed mid-way and restarted with ``--rerun-incomplete`` gives the same scores
  and metrics as an uninterrupted one (``slow``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from test_bad_input import base_config, leftovers, with_value, write_config
from test_io import random_canonical
from test_train import write_images_file

from hepdl.cli import main
from hepdl.core.checkpoint import load_checkpoint
from hepdl.core.errors import HepdlError
from hepdl.io.jets_file import write_jets

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


# --------------------------------------------------------------------------------- atomic outputs

def test_images_reader_error_on_a_later_chunk_leaves_nothing(tmp_path, capsys, monkeypatch):
    """Images of the first chunks are appended to the temporary file, then a NaN in a later chunk
    stops the run: no output, the temporary file is gone."""
    import hepdl.images.store as image_store

    n = 3000
    write_jets(tmp_path / "jets.root", with_value(random_canonical(n, seed=8), "jet_mass", n - 10, np.nan), {})
    config = write_config(tmp_path / "c.yaml", base_config(images={"npix": 16, "chunk_size": "20 kB"}))
    output = tmp_path / "images.h5"
    seen_tmp = []
    append = image_store._append

    def spy(images_ds, columns_ds, images, rows):
        seen_tmp.append((images_ds.file.filename, images_ds.shape[0]))
        append(images_ds, columns_ds, images, rows)

    monkeypatch.setattr(image_store, "_append", spy)
    status = main(["images", "--input", str(tmp_path / "jets.root"), "--output", str(output), "--config", str(config)])
    err = capsys.readouterr().err
    assert status == 2 and f"NaN or inf in branch 'jet_mass' at entry {n - 10}" in err
    assert len(seen_tmp) >= 2 and seen_tmp[-1][1] > 0, "the failure must come after images were written"
    assert Path(seen_tmp[0][0]).name.startswith(".images.h5.") and ".tmp" in seen_tmp[0][0]
    assert leftovers(output) == []


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Images file, config file and a 1-epoch model (npix 16, tiny conv AE)."""
    from hepdl.training.train import train

    tmp = tmp_path_factory.mktemp("tiny")
    images = write_images_file(tmp / "qcd.h5", n=200)
    config = write_config(tmp / "config.yaml", base_config(seed=7, training={"batch_size": 16, "max_epochs": 1}))
    train(images, tmp / "model.pt", str(config))
    return {"images": images, "config": config, "model": tmp / "model.pt", "dir": tmp}


def test_train_failure_while_writing_the_model_leaves_no_model(tiny_run, tmp_path, capsys, monkeypatch):
    """torch.save dies half-way through the model file: no model, no temporary file (the per-epoch
    training state, written before, stays for --resume)."""
    import hepdl.core.checkpoint as checkpoint

    save = checkpoint.torch.save

    def dying_save(obj, path, *args, **kwargs):
        if str(path).endswith(".tmp.pt"):  # the model file, not the .ckpt training state
            Path(path).write_bytes(b"PK\x03\x04 half a zip")
            raise HepdlError(f"disk full while writing {path}")
        return save(obj, path, *args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "save", dying_save)
    output = tmp_path / "model.pt"
    status = main(["train", "--images", str(tiny_run["images"]), "--output", str(output),
                   "--config", str(tiny_run["config"])])
    assert status == 2 and "disk full" in capsys.readouterr().err
    assert leftovers(output) == []
    assert Path(f"{output}.ckpt").is_file() and leftovers(Path(f"{output}.ckpt")) == [Path(f"{output}.ckpt")]


def test_score_error_in_a_second_images_file_leaves_nothing(tiny_run, tmp_path, capsys, monkeypatch):
    """Batches of the first images file are scored and written, then the second file (other npix)
    is refused: no scores file, no temporary file."""
    import hepdl.evaluation.score as scoring

    other = write_images_file(tmp_path / "other.h5", n=60, npix=8)
    calls = []
    transform = scoring.transform_images
    monkeypatch.setattr(scoring, "transform_images", lambda images, options: calls.append(len(images))
                        or transform(images, options))
    output = tmp_path / "scores.h5"
    status = main(["score", "--model", str(tiny_run["model"]), "--images", str(tiny_run["images"]), str(other),
                   "--output", str(output), "--split", "all", "--batch-size", "16"])
    err = capsys.readouterr().err
    assert status == 2 and "other.h5 has images of shape (8, 8), the files before it (16, 16)" in err
    assert len(calls) >= 2, "the failure must come after batches were scored"
    assert leftovers(output) == []


def test_export_failure_after_the_graph_was_written_leaves_nothing(tiny_run, tmp_path, capsys, monkeypatch):
    import onnx

    def failing_check(model, *args, **kwargs):
        raise HepdlError("ONNX checker refused the graph")

    monkeypatch.setattr(onnx.checker, "check_model", failing_check)
    output = tmp_path / "model.onnx"
    status = main(["export", "--model", str(tiny_run["model"]), "--output", str(output)])
    assert status == 2 and "ONNX checker refused the graph" in capsys.readouterr().err
    assert leftovers(output) == []


def test_jets_writer_failing_on_a_later_chunk_leaves_nothing(tmp_path):
    """write_jets (generate's writer) with a source that fails after the first chunk was written."""
    def chunks():
        yield random_canonical(50)
        raise HepdlError("generator crashed")

    output = tmp_path / "jets.root"
    with pytest.raises(HepdlError, match="generator crashed"):
        write_jets(output, chunks(), {})
    assert leftovers(output) == []


def test_text_outputs_of_evaluate_and_report_are_atomic(tmp_path):
    """evaluate and report write through write_text_atomic: a failed write keeps the old file."""
    from hepdl.core.atomic import atomic_path, write_text_atomic

    output = tmp_path / "metrics.json"
    write_text_atomic(output, '{"old": 1}')
    with pytest.raises(RuntimeError), atomic_path(output) as tmp:
        tmp.write_text('{"new": ')
        raise RuntimeError("killed mid-write")
    assert output.read_text() == '{"old": 1}' and leftovers(output) == [output]


# --------------------------------------------------------------------------------- SIGKILL + resume

def _model_tensors(path: Path) -> dict[str, torch.Tensor]:
    tensors, meta = load_checkpoint(path, kind="model")
    flat = {f"state_dict.{k}": v for k, v in tensors["state_dict"].items()}
    flat["mean_image"] = tensors["mean_image"]
    return flat, meta


def test_sigkilled_training_resumes_to_the_same_weights(tmp_path):
    images = write_images_file(tmp_path / "qcd.h5", n=3000)
    config = write_config(tmp_path / "config.yaml", base_config(
        seed=11, training={"batch_size": 32, "max_epochs": 6, "learning_rate": 3e-3, "lr_plateau_patience": 1,
                           "early_stopping_patience": 6}))

    def command(output: Path, *extra: str) -> list[str]:
        return [str(BIN / "hepdl"), "train", "--images", str(images), "--output", str(output),
                "--config", str(config), *extra]

    full, part = tmp_path / "full" / "model.pt", tmp_path / "part" / "model.pt"
    reference = subprocess.Popen(command(full), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    victim = subprocess.Popen(command(part), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = Path(f"{part}.ckpt")
    deadline = time.monotonic() + 120
    while not ckpt.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not part.exists(), "the model file must not exist after a kill"
    _, meta = load_checkpoint(ckpt, kind="training_state")
    killed_after = meta["state"]["epoch"]
    assert 1 <= killed_after < 6

    resumed = subprocess.run(command(part, "--resume"), env=_env(), capture_output=True, text=True, timeout=300,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {ckpt} after epoch {killed_after}" in resumed.stderr
    assert reference.wait(timeout=300) == 0, reference.stderr.read().decode()
    reference.stderr.close()

    a, meta_a = _model_tensors(full)
    b, meta_b = _model_tensors(part)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert [r["val_loss"] for r in meta_a["history"]] == [r["val_loss"] for r in meta_b["history"]]
    assert meta_a["best_epoch"] == meta_b["best_epoch"]
    assert leftovers(part) == [part]


def test_resume_from_a_damaged_training_state_is_refused_clearly(tiny_run, tmp_path, capsys):
    output = tmp_path / "model.pt"
    Path(f"{output}.ckpt").write_bytes(b"PK\x03\x04 not a whole zip")
    status = main(["train", "--images", str(tiny_run["images"]), "--output", str(output),
                   "--config", str(tiny_run["config"]), "--resume"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert f"cannot load {output}.ckpt safely (weights_only=True)" in err
    assert leftovers(output) == []


# --------------------------------------------------------------------------------- workflow

def _tiny_workflow_config(workdir: Path) -> None:
    config = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())
    config["datasets"]["qcd"].update(n_jets=120, shards=2)
    config["datasets"]["top"].update(n_jets=80, shards=1)
    config["training"].update(max_epochs=1)
    config["image_transforms"] = {"plain": {}}
    config["score_corrections"] = {}
    config["experiments"] = {"top_vs_qcd": {"train": "qcd", "background": "qcd", "signal": "top",
                                            "transforms": ["plain"]}}
    config["evaluation"] = {"bootstrap": 5}
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _snakemake(workdir: Path, *args: str) -> list[str]:
    return [str(BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--cores", "2", *args]


#: what the killed workflow builds: one experiment up to its metrics (no baselines, no report)
KILLED_TARGET = "results/metrics/top_vs_qcd/plain/none.json"


def _results(workdir: Path) -> dict:
    rows = json.loads((workdir / KILLED_TARGET).read_text())["rows"]
    out = {"metrics": {(r["experiment"], r["variant"]): r["auc"] for r in rows}}
    for path in sorted((workdir / "results" / "scores").rglob("*.h5")):
        with h5py.File(path, "r") as h5:
            out[str(path.relative_to(workdir))] = h5["jets/model_score"][:]
    return out


@pytest.mark.slow
@pytest.mark.workflow
def test_killed_workflow_restarted_gives_the_same_results(tmp_path):
    done, killed = tmp_path / "done", tmp_path / "killed"
    for workdir in (done, killed):
        _tiny_workflow_config(workdir)
    # the uninterrupted reference runs meanwhile (its own directory: nothing shared but the cores)
    reference_log = tmp_path / "reference.log"
    with open(reference_log, "w") as log:
        reference = subprocess.Popen(_snakemake(done, KILLED_TARGET), env=_env(), stdout=subprocess.DEVNULL,
                                     stderr=log)
    try:
        _kill_and_rerun(killed)
        assert reference.wait(timeout=900) == 0, reference_log.read_text()[-4000:]
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()

    a, b = _results(done), _results(killed)
    assert a.keys() == b.keys() and a["metrics"] == b["metrics"]
    for key in a:
        if key != "metrics":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    shutil.rmtree(done / ".snakemake", ignore_errors=True)


def _kill_and_rerun(killed: Path) -> None:
    """Run the workflow in ``killed``, SIGKILL it with all its jobs once the first images file
    exists, then unlock and rerun it to the end."""
    process = subprocess.Popen(_snakemake(killed, KILLED_TARGET), env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while process.poll() is None and time.monotonic() < deadline:
        if list((killed / "results" / "images").rglob("*.h5")):
            break
        time.sleep(0.05)
    assert process.poll() is None, "the workflow finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not (killed / KILLED_TARGET).exists()
    leftover_tmp = [p for p in (killed / "results").rglob(".*.tmp*")]

    unlock = subprocess.run(_snakemake(killed, "--unlock"), env=_env(), capture_output=True, text=True,
                            timeout=300, check=False)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    rerun = subprocess.run(_snakemake(killed, "--rerun-incomplete", KILLED_TARGET), env=_env(), capture_output=True,
                           text=True, timeout=900, check=False)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    # temporary files of the killed jobs are harmless (hidden, never read) but reported here
    if leftover_tmp:
        print(f"temporary files left by the SIGKILLed jobs: {[str(p) for p in leftover_tmp]}")


def test_a_new_write_removes_the_debris_of_a_killed_one(tmp_path):
    """Regression: a writer killed with SIGKILL left `.NAME.XXXX.tmp.h5` beside its output forever."""
    from hepdl.core.atomic import atomic_path

    output = tmp_path / "shard0.h5"
    debris = tmp_path / ".shard0.h5.abc123.tmp.h5"
    debris.write_bytes(b"half-written")
    other = tmp_path / ".shard1.h5.abc123.tmp.h5"  # another output's temporary: not ours to touch
    other.write_bytes(b"x")
    with atomic_path(output) as tmp:
        tmp.write_bytes(b"complete")
    assert output.read_bytes() == b"complete"
    assert not debris.exists() and other.exists()
