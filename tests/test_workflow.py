"""The Snakemake workflow end to end: dry run of the default config, the tiny `.test` config run
locally, and the same on a real SLURM cluster (when one is up: `.ci/run` starts one).

The local and SLURM runs must give identical metrics and scores (deterministic on CPU).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # the `hepdl` of this environment
    return env


def snakemake(workdir: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout, check=False)


def _workdir(tmp: Path, config_dir: Path) -> Path:
    shutil.copytree(config_dir, tmp / "config")
    return tmp


def _assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"snakemake failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"


def test_default_config_dry_run(tmp_path):
    workdir = _workdir(tmp_path, ROOT / "config")
    result = snakemake(workdir, "--dry-run", "--cores", "2")
    _assert_ok(result)
    out = result.stdout + result.stderr
    for rule in ("generate", "images", "train", "score", "evaluate", "baselines", "report"):
        assert f"rule {rule}:" in out or f"\n{rule} " in out


def test_experiments_training_on_the_same_dataset_share_one_model(tmp_path):
    """config/anomalies.yaml: five QCD-trained experiments and five signal-trained ones, two image
    transforms each, train 2 + 5 x 2 = 12 models, not 20; each experiment scores with the model
    of its training dataset."""
    import yaml

    config = yaml.safe_load((ROOT / "config" / "anomalies.yaml").read_text())
    expected = {(exp["train"], transform) for exp in config["experiments"].values() for transform in exp["transforms"]}
    assert len(expected) < sum(len(exp["transforms"]) for exp in config["experiments"].values())
    workdir = tmp_path / "work"
    (workdir / "config").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "anomalies.yaml", workdir / "config" / "config.yaml")
    result = snakemake(workdir, "--dry-run", "--cores", "2", "--printshellcmds")
    _assert_ok(result)
    out = result.stdout + result.stderr
    trained = set(re.findall(r"--output results/models/(\w+)/(\w+)/model\.pt", out))
    assert trained == expected
    name, exp = next((n, e) for n, e in config["experiments"].items() if e["train"] == "qcd")
    transform = exp["transforms"][0]
    assert re.search(rf"--model results/models/qcd/{transform}/model\.pt .*--output results/scores/{name}/{transform}/"
                     r"signal\.h5", out)


def test_dry_run_parses_without_torch_and_writes_nothing(tmp_path, without_torch):
    """The Snakefile validates the config without importing torch (a `torch` that refuses to
    import is first on the path) and writes no file while parsing, even the resolved config."""
    workdir = _workdir(tmp_path / "work", ROOT / ".test" / "config")
    env = {**_env(), "PYTHONPATH": without_torch["PYTHONPATH"]}
    cmd = [str(BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--dry-run", "--cores", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    _assert_ok(result)
    assert sorted(p.name for p in workdir.iterdir() if p.name != ".snakemake") == ["config"]


def test_training_on_cuda_asks_for_a_gpu(tmp_path):
    workdir = _workdir(tmp_path, ROOT / ".test" / "config")
    config = workdir / "config" / "config.yaml"
    config.write_text(config.read_text().replace("training:\n", "training:\n  device: cuda\n"))
    result = snakemake(workdir, "--dry-run", "--cores", "2")
    _assert_ok(result)
    out = result.stdout + result.stderr
    jobs = out.split("\nrule ")[1:] if "\nrule " in out else out.split("rule ")[1:]
    train_jobs = [j for j in jobs if j.startswith("train:")]
    score_jobs = [j for j in jobs if j.startswith("score:")]
    assert train_jobs and all("gpu=1" in j.split("\n\n")[0] for j in train_jobs)
    assert score_jobs and all("gpu=1" in j.split("\n\n")[0] for j in score_jobs)
    generate_jobs = [j for j in jobs if j.startswith("generate:")]
    assert generate_jobs and not any("gpu=1" in j.split("\n\n")[0] for j in generate_jobs)


def test_bad_config_key_stops_with_one_message(tmp_path):
    workdir = _workdir(tmp_path, ROOT / ".test" / "config")
    config = workdir / "config" / "config.yaml"
    config.write_text(config.read_text() + "\ntraning: {}\n")
    result = snakemake(workdir, "--dry-run", "--cores", "1")
    assert result.returncode != 0
    assert "traning" in result.stderr


@pytest.fixture(scope="session")
def local_run(tmp_path_factory) -> Path:
    """The tiny workflow run locally, once per test session: under pytest-xdist its directory and
    a lock lie in the temporary root all workers share, so the SLURM test (on another worker,
    running its own workflow meanwhile) reads the same run instead of making its own."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    workdir = shared / "tiny_local_run"
    with open(shared / "tiny_local_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes; a waiter then finds the run done
        if not (workdir / "results" / "metrics.json").is_file():
            shutil.rmtree(workdir, ignore_errors=True)
            _workdir(workdir, ROOT / ".test" / "config")
            _assert_ok(snakemake(workdir, "--cores", "2", "--set-threads", "train=1"))
    return workdir


def _metrics_rows(workdir: Path) -> dict[tuple[str, str], dict]:
    rows = json.loads((workdir / "results" / "metrics.json").read_text())
    if isinstance(rows, dict):
        rows = rows["rows"]
    return {(row["experiment"], row["variant"]): row for row in rows}


@pytest.mark.workflow
@pytest.mark.xdist_group("tiny_workflow")  # the two tests that read local_run first, on one worker
def test_tiny_workflow_runs_locally(local_run):
    report = local_run / "results" / "report" / "index.html"
    assert report.is_file() and report.stat().st_size > 1000
    rows = _metrics_rows(local_run)
    expected = {("top_vs_qcd", "plain"), ("top_vs_qcd", "smeared"), ("qcd_vs_top", "plain"),
                ("top_vs_qcd", "plain+normalised"), ("top_vs_qcd", "smeared+normalised")}
    expected |= {(e, f"baseline_{b}") for e in ("top_vs_qcd", "qcd_vs_top") for b in ("mass", "nconst", "tau32")}
    assert expected <= set(rows)
    for row in rows.values():
        # a percentile interval of 10 resamples (evaluation.bootstrap of .test) of ~40 jets may miss
        # the AUC of the full sample, so only its order and range are checked here
        assert 0.0 <= row["auc_low"] <= row["auc_high"] <= 1.0 and 0.0 <= row["auc"] <= 1.0
        assert row["n_background"] > 0 and row["n_signal"] > 0
    # every heavy rule left a benchmark file
    for stage in ("generate", "images", "train", "score"):
        assert list((local_run / "results" / "benchmarks" / stage).glob("*.tsv"))


@pytest.mark.workflow
@pytest.mark.xdist_group("tiny_workflow")
def test_snakemake_report_zip(local_run):
    """`snakemake --report` embeds hepdl's HTML report with its plots, and labels every plot
    item by experiment, variant and plot."""
    import re
    import zipfile

    result = snakemake(local_run, "--cores", "1", "--report", str(local_run / "report.zip"))
    _assert_ok(result)
    assert (local_run / "report.zip").stat().st_size > 10_000
    with zipfile.ZipFile(local_run / "report.zip") as archive:
        names = archive.namelist()
        page = next(n for n in names if n.endswith("/index.html"))
        embedded = [n for n in names if n.startswith(page.removesuffix("index.html") + "plots/")]
        assert any(n.endswith("/all_variants/roc.png") for n in embedded)
        assert any(n.endswith("/all_variants/roc.pdf") for n in embedded)
        overview = archive.read(next(n for n in names if n.endswith("report.html"))).decode()
    labels = [json.loads(m) for m in re.findall(r'"labels": (\{[^{}]*\})', overview)]
    plots = [label for label in labels if set(label) == {"experiment", "variant", "plot"}]
    assert {"experiment": "top_vs_qcd", "variant": "plain", "plot": "mass sculpting"} in plots
    assert {"experiment": "all", "variant": "plain", "plot": "ROC curves of every direction"} in plots
    assert {"experiment": "all", "variant": "all", "plot": "hepdl report (HTML)"} in plots


def _slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False)
    return probe.returncode == 0 and any(s in probe.stdout for s in ("idle", "mixed", "allocated"))


#: what the SLURM test builds: the smallest experiment of .test (one training), the rest is the same code
SLURM_TARGET = "results/metrics/qcd_vs_top/plain/none.json"


@pytest.mark.slurm
@pytest.mark.workflow
def test_tiny_workflow_on_slurm_matches_local(request, tmp_path):
    if not _slurm_up():
        if os.environ.get("HEPDL_REQUIRE_SLURM") == "1":
            pytest.fail("HEPDL_REQUIRE_SLURM=1 but no SLURM cluster answers `sinfo`")
        pytest.skip("no SLURM cluster here (.ci/run starts one: scripts/slurm-one-node.sh up)")
    workdir = _workdir(tmp_path, ROOT / ".test" / "config")
    result = snakemake(
        workdir, SLURM_TARGET,  # one experiment: generation, images, training, scoring and evaluation jobs
        "--executor", "slurm", "--jobs", "4", "--profile", str(ROOT / "profiles" / "slurm"),
        "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-keep-successful-logs", "--default-resources", "slurm_account=root",
        "--latency-wait", "10", "--set-threads", "train=1",  # same threads as the local run
    )
    _assert_ok(result)
    # the jobs really ran under SLURM: every images file records the SLURM job id it ran in,
    # and SLURM knows those jobs
    job_ids = set()
    for path in sorted((workdir / "results" / "images").rglob("*.h5")):
        with h5py.File(path, "r") as handle:
            provenance = json.loads(handle.attrs["provenance"])
        assert provenance.get("slurm_job_id"), f"{path} was not made inside a SLURM job"
        job_ids.add(provenance["slurm_job_id"])
    listed = subprocess.run(["squeue", "--states=all", "-h", "-o", "%i"], capture_output=True, text=True, check=True)
    assert job_ids <= set(listed.stdout.split())
    # same results as the local run (asked for only now: under pytest-xdist another worker makes it
    # while the SLURM jobs run)
    local_run = request.getfixturevalue("local_run")
    slurm_rows = json.loads((workdir / SLURM_TARGET).read_text())["rows"]
    local = _metrics_rows(local_run)
    assert [(row["experiment"], row["variant"]) for row in slurm_rows] == [("qcd_vs_top", "plain")]
    assert slurm_rows[0]["auc"] == local["qcd_vs_top", "plain"]["auc"]
    slurm_scores = sorted((workdir / "results" / "scores" / "qcd_vs_top").rglob("*.h5"))
    assert {path.stem for path in slurm_scores} >= {"background", "signal"}
    for path in slurm_scores:
        local_path = local_run / path.relative_to(workdir)
        with h5py.File(local_path, "r") as a, h5py.File(path, "r") as b:
            np.testing.assert_array_equal(a["jets/model_score"][:], b["jets/model_score"][:])


# --------------------------------------------------------------------------- the example configs

def _example_data(example: str, workdir: Path) -> None:
    """Tiny input files at the paths the example config names, in its exact layout."""
    from example_files import write_delphes, write_jetclass, write_nanoaod, write_toptagging

    data = workdir / "data"
    if example == "delphes":
        write_delphes(data / "delphes" / "qcd_0.root", 150, 1, signal=False)
        write_delphes(data / "delphes" / "top_0.root", 150, 2, signal=True, rntuple=True)  # either kind works
    elif example == "nanoaod_like":
        write_nanoaod(data / "nanoaod" / "QCD_Pt-470to800_0.root", 150, 3, signal=False)
        write_nanoaod(data / "nanoaod" / "TTToHadronic_0.root", 150, 4, signal=True)
    elif example == "toptagging_h5":
        for name, n, seed in (("train", 200, 5), ("val", 100, 6), ("test", 100, 7)):
            write_toptagging(data / "top_tagging" / f"{name}.h5", n, seed)
    elif example == "jetclass":
        for split, n in (("train_100M", 120), ("val_5M", 60), ("test_20M", 60)):
            write_jetclass(data / "JetClass" / split / "ZJetsToNuNu_000.root", n, 8 + n, "label_QCD")
            write_jetclass(data / "JetClass" / split / "TTBar_000.root", n, 9 + n, "label_Tbqq")
    else:
        raise ValueError(example)


def _tiny(config: dict) -> dict:
    """The example's datasets and readers as they are; one experiment (top_vs_qcd, plain images),
    one epoch and 5 bootstrap resamples, so that the four examples run in about a minute."""
    config["training"] = {"max_epochs": 1, "batch_size": 64}
    config["evaluation"] = {"bootstrap": 5}
    config["image_transforms"] = {"plain": {}}
    config["experiments"] = {"top_vs_qcd": {**config["experiments"]["top_vs_qcd"], "transforms": ["plain"]}}
    return config


EXAMPLE_CONFIGS = ("delphes", "jetclass", "nanoaod_like", "toptagging_h5")


def test_every_example_config_is_run_by_the_workflow_test():
    assert {p.stem for p in (ROOT / "config" / "examples").glob("*.yaml")} == set(EXAMPLE_CONFIGS)


@pytest.mark.workflow
@pytest.mark.parametrize("example", EXAMPLE_CONFIGS)
def test_example_config_runs_end_to_end_with_configfile(example, tmp_path):
    """`snakemake --configfile config/examples/X.yaml` takes that config whole (no merge into
    config/config.yaml), and the example runs to the report on tiny files in its layout."""
    import yaml

    _example_data(example, tmp_path)
    config_file = ROOT / "config" / "examples" / f"{example}.yaml"
    dry = snakemake(tmp_path, "--dry-run", "--cores", "2", "--configfile", str(config_file))
    _assert_ok(dry)
    assert "rule generate:" not in dry.stdout + dry.stderr  # nothing of config/config.yaml's datasets
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump(_tiny(yaml.safe_load(config_file.read_text()))))
    _assert_ok(snakemake(tmp_path, "--cores", "2", "--configfile", str(tiny), "--set-threads", "train=1"))
    assert (tmp_path / "results" / "report" / "index.html").stat().st_size > 1000
    rows = _metrics_rows(tmp_path)
    assert ("top_vs_qcd", "plain") in rows and ("top_vs_qcd", "baseline_mass") in rows
    for row in rows.values():
        assert row["n_background"] > 0 and row["n_signal"] > 0
    if example in ("toptagging_h5", "jetclass"):  # the dataset's own split: each shard is one split
        for path in sorted((tmp_path / "results" / "images").rglob("*.h5")):
            with h5py.File(path, "r") as handle:
                assert len(set(handle["jets/split"][:].tolist())) == 1, path
