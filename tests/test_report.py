"""evaluate (variants, baselines, collect) and report, end to end on tiny fake scores files."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest

from hepdl.cli import main
from hepdl.report.html import SECTIONS

CONFIG = """
seed: 7
datasets:
  qcd: {generate: {process: qcd}, n_jets: 100}
  top: {generate: {process: top}, n_jets: 100}
image_transforms:
  plain: {}
  smeared: {smear_sigma_px: 1.0}
score_corrections:
  normalised: {score_normalisation: trivial}
experiments:
  top_vs_qcd: {train: qcd, background: qcd, signal: top, transforms: [plain, smeared], corrections: [none, normalised]}
  qcd_vs_top: {train: top, background: top, signal: qcd, transforms: [plain, smeared]}
evaluation: {bootstrap: 20}
"""


def _write_scores(path: Path, process: str, model: str, variant: str, n: int, seed: int, split: int = 2,
                  ratio: float = 0.4) -> None:
    rng = np.random.default_rng(seed)
    top = process == "top"
    mass = rng.normal(172.0, 15.0, n) if top else rng.gamma(3.0, 20.0, n)
    nconst = rng.poisson(60 if top else 40, n)
    tau2 = rng.uniform(0.05, 0.3, n)
    tau3 = tau2 * rng.uniform(0.3, 0.6, n) if top else tau2 * rng.uniform(0.5, 0.9, n)
    anomalous = (process == "top") == (model == "qcd")
    score = rng.lognormal(0.6 if anomalous else 0.0, 0.5, n) * 1e-4
    with h5py.File(path, "w") as handle:
        jets = handle.create_group("jets")
        for name, values, dtype in [("jet_mass", mass, np.float32), ("jet_nconst", nconst, np.int32),
                                    ("tau1", tau2 * 2, np.float32), ("tau2", tau2, np.float32),
                                    ("tau3", tau3, np.float32), ("label", np.full(n, int(top)), np.int32),
                                    ("model_score", score, np.float32),
                                    ("average_image_error", score * rng.uniform(1.5, 3.0, n), np.float32),
                                    ("active_pixel_fraction", rng.uniform(0.01, 0.05, n), np.float32),
                                    ("split", np.full(n, split), np.uint8),
                                    ("jet_pt", rng.uniform(550, 650, n), np.float32)]:
            jets.create_dataset(name, data=np.asarray(values, dtype=dtype))
        jets.create_dataset("source_file", data=np.array([b"fake.root"] * n))
        image = np.outer(np.hanning(10), np.hanning(10))
        handle.create_dataset("mean_input", data=(image / image.sum()).astype(np.float32))
        handle.create_dataset("mean_reconstruction", data=(image**2 / (image**2).sum()).astype(np.float32))
        handle.attrs.update(provenance=json.dumps({"git_commit": "abc"}), model=f"{model}/{variant}",
                            transform=variant, transform_options="{}", split="test",
                            training=json.dumps({"val_loss_over_average_image": ratio, "learned": ratio <= 0.9,
                                                 "best_epoch": 3, "epochs_trained": 5, "max_epochs": 30,
                                                 "stop_reason": "early_stopping", "input_scale": 0.01}))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("img", "a") and (attrs.get("src") or attrs.get("href")):
            self.links.append(attrs.get("src") or attrs.get("href"))
        if "id" in attrs:
            self.ids.append(attrs["id"])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "config.yaml").write_text(CONFIG)
    metrics = []
    for experiment, (train, bg, sig) in {"top_vs_qcd": ("qcd", "qcd", "top"),
                                         "qcd_vs_top": ("top", "top", "qcd")}.items():
        for variant in ("plain", "smeared"):
            files = {}
            for role, process in (("background", bg), ("signal", sig)):
                files[role] = root / f"{experiment}_{variant}_{role}.h5"
                _write_scores(files[role], process, train, variant, 300, seed=len(metrics) * 2 + (role == "signal"))
            out = root / f"{experiment}_{variant}.json"
            assert main(["evaluate", "--config", str(root / "config.yaml"), "--experiment", experiment,
                         "--transform", variant, "--background", str(files["background"]), "--signal",
                         str(files["signal"]), "--output", str(out)]) == 0
            metrics.append(out)
        out = root / f"{experiment}_baselines.json"
        assert main(["evaluate", "--config", str(root / "config.yaml"), "--experiment", experiment, "--baselines",
                     "--background", str(files["background"]), "--signal", str(files["signal"]),
                     "--output", str(out)]) == 0
        metrics.append(out)
    history = root / "history.csv"
    history.write_text("epoch,train_loss,val_loss,learning_rate,seconds,images_per_s,average_image_loss\n"
                       "1,2e-4,1.9e-4,1e-3,5,300,2.5e-4\n2,1.5e-4,1.4e-4,1e-3,5,310,2.5e-4\n")
    return root, metrics, history


def test_evaluate_rows_have_the_promised_keys(run_dir):
    root, metrics, _ = run_dir
    payload = json.loads(metrics[0].read_text())
    row = payload["rows"][0]
    for key in ("experiment", "variant", "trained_on", "background", "signal", "auc", "auc_low", "auc_high",
                "rejection_at_eps_s_0.1", "rejection_at_eps_s_0.3", "rejection_at_eps_s_0.5",
                "rejection_at_eps_s_0.3_low", "rejection_at_eps_s_0.3_high",
                "mass_jsd_at_eps_b_0.5", "mass_jsd_at_eps_b_0.1", "mass_jsd_at_eps_b_0.01", "mass_jsd_at_eps_s_0.5",
                "signal_efficiency_at_eps_b_0.1", "n_background", "n_signal"):
        assert key in row, key
    assert row["experiment"] == "top_vs_qcd" and row["trained_on"] == "qcd" and row["n_background"] == 300
    assert row["auc_low"] <= row["auc"] <= row["auc_high"]
    assert row["rejection_at_eps_s_0.3_low"] <= row["rejection_at_eps_s_0.3"] <= row["rejection_at_eps_s_0.3_high"]
    assert row["auc"] > 0.7  # the fake signal scores are larger
    curve = payload["curves"]["plain"]
    assert len(curve["eps_s"]) == len(curve["eps_b_low"]) == len(curve["eps_b_high"]) == 500
    assert "provenance" in payload and payload["provenance"]["experiment"] == "top_vs_qcd"
    sculpting = payload["mass_sculpting"]["plain"]
    assert [p["name"] for p in sculpting["working_points"]] == ["eps_b_0.5", "eps_b_0.1", "eps_b_0.01", "eps_s_0.5"]
    assert set(sculpting) >= {"edges", "background", "signal"} and set(sculpting["working_points"][0]) >= {
        "background", "signal", "jsd", "jsd_random", "signal_efficiency"}
    baselines = json.loads(metrics[2].read_text())
    names = [r["variant"] for r in baselines["rows"]]
    assert names == ["baseline_mass", "baseline_nconst", "baseline_tau32"]
    tau32 = baselines["rows"][2]
    assert tau32["orientation"] == "signal_below" and tau32["auc"] > 0.8  # tops have smaller tau32
    # baselines: mass sculpting too (the decorrelation summary has every score), histograms in their own units
    assert set(baselines["mass_sculpting"]) == set(names) and "mass_jsd_at_eps_s_0.5" in tau32
    mass = baselines["score_histograms"]["baseline_mass"]
    assert mass["xlabel"] == "jet mass [GeV]" and not mass["log_x"] and mass["edges"][0] == 0.0
    assert baselines["score_histograms"]["baseline_tau32"]["edges"][::50] == [0.0, 1.0]
    qcd_as_signal = json.loads(metrics[5].read_text())["rows"][0]
    assert qcd_as_signal["orientation"] == "signal_below"  # QCD is lighter than top


def test_collect_and_model_independence(run_dir, tmp_path):
    _, metrics, _ = run_dir
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--collect", *map(str, metrics), "--output", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert len(payload["rows"]) == 4 + 6 and "provenance" in payload
    assert all("curves" not in row for row in payload["rows"]) and "curves" not in payload
    plain = next(s for s in payload["model_independence"] if s["variant"] == "plain")
    assert set(plain["experiments"]) == {"top_vs_qcd", "qcd_vs_top"}
    assert plain["worst_auc"] == min(v["auc"] for v in plain["experiments"].values())
    # the same rows twice is refused
    assert main(["evaluate", "--collect", str(metrics[0]), str(metrics[0]), "--output", str(out)]) == 2


def test_evaluate_refuses_non_test_jets_and_wrong_variant(run_dir, tmp_path, capsys):
    root, _, _ = run_dir
    train_jets = tmp_path / "train.h5"
    _write_scores(train_jets, "qcd", "qcd", "plain", 50, seed=1, split=0)
    signal = root / "top_vs_qcd_plain_signal.h5"
    base = ["evaluate", "--config", str(root / "config.yaml"), "--experiment", "top_vs_qcd",
            "--signal", str(signal), "--output", str(tmp_path / "m.json")]
    assert main([*base, "--transform", "plain", "--background", str(train_jets)]) == 2
    assert "test split" in capsys.readouterr().err
    assert main([*base, "--transform", "smeared", "--background", str(root / "top_vs_qcd_plain_background.h5")]) == 2
    assert "image transform 'plain', not 'smeared'" in capsys.readouterr().err
    assert main([*base, "--transform", "plain", "--correction", "normalised", "--background",
                 str(root / "top_vs_qcd_plain_background.h5")]) == 2
    assert "give --validation" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory):
    """The report of plain in both directions with the mass baseline of top_vs_qcd and one
    training history: every section has input, with few plots (fast). Built once for the tests
    that read it."""
    root, metrics, history = run_dir
    directory = tmp_path_factory.mktemp("report")
    output = directory / "report" / "index.html"
    baselines = json.loads(metrics[2].read_text())
    baselines["rows"] = baselines["rows"][:1]  # baseline_mass: its plot data only is drawn
    other_direction = json.loads(metrics[3].read_text())
    other_direction = {key: other_direction[key] for key in ("provenance", "rows", "curves")}  # ROC curves only
    chosen = [metrics[0], directory / "baselines.json", directory / "qcd_vs_top.json"]
    chosen[1].write_text(json.dumps(baselines))
    chosen[2].write_text(json.dumps(other_direction))
    assert main(["report", "--config", str(root / "config.yaml"), "--metrics", *map(str, chosen),
                 "--histories", f"top_vs_qcd/plain={history}", "--output", str(output)]) == 0
    return output


def test_report_has_every_section_and_every_linked_file(report):
    output = report
    text = output.read_text()
    parser = _Links()
    parser.feed(text)
    assert set(SECTIONS) <= set(parser.ids)
    files = [link for link in parser.links if not link.startswith("#")]
    assert files and all(not re.match(r"^[a-z]+://", link) for link in files)  # offline, relative
    for link in files:
        assert (output.parent / link).is_file(), link
    # no JavaScript, nothing fetched from elsewhere (scripts, event handlers, CSS imports or urls)
    assert "<script" not in text and not re.search(r"\son[a-z]+=", text)
    assert "@import" not in text and "url(" not in text
    for section in SECTIONS:
        if section in ("how-to-read", "metrics", "model-independence", "provenance"):
            continue
        body = text.split(f'id="{section}"')[1].split("<section")[0]
        assert "<img" in body, section
    assert 'class="worst"' in text and "baseline_mass" in text and "seed: 7" in text
    # the physics label, the plots' layout (experiment / variant / plot) and the label of snakemake's report
    assert "&radic;s = 14 TeV" in text and "particle level" in text
    for plot in ("top_vs_qcd/all_variants/roc", "top_vs_qcd/all_variants/rejection_vs_jsd", "top_vs_qcd/plain/scores",
                 "top_vs_qcd/plain/images", "top_vs_qcd/plain/mass_sculpting", "top_vs_qcd/plain/training",
                 "top_vs_qcd/baseline_mass/mass_sculpting", "all_experiments/plain/both_directions"):
        for suffix in (".png", ".pdf"):
            assert (output.parent / "plots" / f"{plot}{suffix}").is_file(), plot
    from hepdl.report import PLOT_TITLES

    assert {p.stem for p in (output.parent / "plots").rglob("*.png")} <= set(PLOT_TITLES)
    # rejections carry their intervals; mass sculpting has its table at every working point
    metrics = text.split('id="metrics"')[1].split("<section")[0]
    assert metrics.count('class="interval"') == 4 * 3  # AUC and 3 rejections of each of 3 rows
    sculpting = text.split('id="mass-sculpting"')[1].split("<section")[0]
    assert "cut at &epsilon;<sub>B</sub> = 1%" in sculpting and "cut at &epsilon;<sub>S</sub> = 50%" in sculpting


def test_report_renders_in_a_headless_browser(request, tmp_path):
    """The page, opened in a real headless Chromium, loads every image from the files next to it
    and asks the network for nothing. Skipped without Chromium (Debian: apt-get install chromium)
    unless HEPDL_REQUIRE_BROWSER=1, which .ci/run sets."""
    checker = _browser_checker()
    if checker.find_chromium() is None:
        if os.environ.get("HEPDL_REQUIRE_BROWSER") == "1":
            pytest.fail("HEPDL_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium, or set "
                        "HEPDL_CHROMIUM)")
        pytest.skip("no Chromium here (Debian: apt-get install chromium; .ci/run installs it)")
    report = request.getfixturevalue("report")  # built only where a browser can read it
    screenshot = Path(os.environ.get("HEPDL_BROWSER_SCREENSHOT") or tmp_path / "page.png")
    result = checker.check_report(report, screenshot=screenshot)
    n_images = report.read_text().count("<img")
    assert len(result["images"]) == n_images and not result["missing"], result["missing"]
    assert not result["external"], result["external"]
    assert result["ok"] and screenshot.stat().st_size > 10_000


def test_plots_drawn_in_several_processes_are_the_same(run_dir, tmp_path):
    """`hepdl report --jobs N`: the plot jobs are pickled to spawned processes and give the same
    PNG files as one process (matplotlib's PNG carries no date)."""
    from hepdl.report.html import _Later, _render
    from hepdl.report.style import PlotStyle

    _, metrics, _ = run_dir
    payload = json.loads(metrics[2].read_text())
    later, style = _Later(), PlotStyle(physics=("test",))
    jobs = {variant: later.score_distribution_figure(histogram, style, variant, histogram["xlabel"])
            for variant, histogram in list(payload["score_histograms"].items())[:2]}
    files = {}
    for workers in (1, 2):
        written = _render([(*job, tmp_path / str(workers) / variant, style) for variant, job in jobs.items()], workers)
        files[workers] = {p.name: p.read_bytes() for p in written if p.suffix == ".png"}
    assert len(files[1]) == 2 and files[1] == files[2]


def _browser_checker():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / "check_report_in_browser.py"
    spec = importlib.util.spec_from_file_location("check_report_in_browser", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_model_that_did_not_learn_is_marked_and_gives_no_result(run_dir, tmp_path, monkeypatch):
    """A qcd_vs_top model on the average-image plateau (learning ratio 1.01): its row carries
    learned false, the report marks it in red with the sentence saying what that means, and the
    model-independence summary presents no worst-direction AUC for that variant."""
    root, metrics, _ = run_dir
    files = {}
    for role, process in (("background", "top"), ("signal", "qcd")):
        files[role] = tmp_path / f"{role}.h5"
        _write_scores(files[role], process, "top", "plain", 200, seed=40 + (role == "signal"), ratio=1.01)
    stuck = tmp_path / "qcd_vs_top_plain.json"
    assert main(["evaluate", "--config", str(root / "config.yaml"), "--experiment", "qcd_vs_top", "--transform",
                 "plain", "--background", str(files["background"]), "--signal", str(files["signal"]),
                 "--output", str(stuck)]) == 0
    row = json.loads(stuck.read_text())["rows"][0]
    assert row["learned"] is False and row["val_loss_over_average_image"] == pytest.approx(1.01)
    learnt = json.loads(metrics[0].read_text())["rows"][0]
    assert learnt["learned"] is True and learnt["val_loss_over_average_image"] == pytest.approx(0.4)

    collected = tmp_path / "metrics.json"
    assert main(["evaluate", "--collect", str(metrics[0]), str(stuck), "--output", str(collected)]) == 0
    plain = json.loads(collected.read_text())["model_independence"][0]
    assert plain["result"] is False and plain["not_learned"] == ["qcd_vs_top"] and plain["worst_auc"] is None

    output = tmp_path / "report" / "index.html"
    monkeypatch.setattr("hepdl.report.html._render", lambda jobs, workers=1: [])  # the page is what is read here
    assert main(["report", "--config", str(root / "config.yaml"), "--metrics", str(metrics[0]), str(stuck),
                 "--output", str(output)]) == 0
    text = output.read_text()
    assert text.split('id="metrics"')[1].split("<section")[0].count('<tr class="not-learned">') == 1
    assert "1.010 (not learnt)" in text and "0.400" in text
    assert "did not learn: its best validation loss is above 0.9 of the loss of reconstructing" in text
    independence = text.split('id="model-independence"')[1].split("<section")[0]
    assert "no result: the model of qcd_vs_top did not learn" in independence
    assert 'class="worst"' not in independence


def test_a_score_correction_is_fitted_on_validation_scores_and_named_in_the_variant(run_dir, tmp_path):
    """plain+normalised: the trivial normalisation (model score / average-image error) is applied
    to the test scores; the fit comes from the validation scores file, which must hold validation
    jets."""
    root, _, _ = run_dir
    validation = tmp_path / "validation.h5"
    _write_scores(validation, "qcd", "qcd", "plain", 200, seed=50, split=1)
    out = tmp_path / "normalised.json"
    base = ["evaluate", "--config", str(root / "config.yaml"), "--experiment", "top_vs_qcd", "--transform", "plain",
            "--correction", "normalised", "--background", str(root / "top_vs_qcd_plain_background.h5"),
            "--signal", str(root / "top_vs_qcd_plain_signal.h5"), "--output", str(out)]
    assert main([*base, "--validation", str(validation)]) == 0
    payload = json.loads(out.read_text())
    row = payload["rows"][0]
    assert row["variant"] == "plain+normalised" and row["transform"] == "plain" and row["correction"] == "normalised"
    from sklearn.metrics import roc_auc_score

    scores = []
    for role in ("background", "signal"):
        with h5py.File(root / f"top_vs_qcd_plain_{role}.h5") as f:
            scores.append(f["jets/model_score"][:] / f["jets/average_image_error"][:])
    labels = np.r_[np.zeros(len(scores[0])), np.ones(len(scores[1]))]
    assert row["auc"] == pytest.approx(roc_auc_score(labels, np.r_[scores[0], scores[1]]), abs=1e-6)
    test_as_validation = root / "top_vs_qcd_plain_background.h5"
    assert main([*base, "--validation", str(test_as_validation)]) == 2


def test_evaluate_runs_without_torch(run_dir, tmp_path, without_torch):
    """`hepdl evaluate` reads scores files only: with a torch that refuses to import first on the
    path it still runs (and gives the same AUC), so that its many jobs do not pay torch's start-up."""
    import subprocess
    import sys

    root, metrics, _ = run_dir
    out = tmp_path / "plain.json"
    evaluate = subprocess.run([str(Path(sys.executable).parent / "hepdl"), "evaluate", "--config",
                               str(root / "config.yaml"), "--experiment", "top_vs_qcd", "--transform", "plain",
                               "--background", str(root / "top_vs_qcd_plain_background.h5"),
                               "--signal", str(root / "top_vs_qcd_plain_signal.h5"), "--output", str(out)],
                              env=without_torch, capture_output=True, text=True, check=False)
    assert evaluate.returncode == 0, evaluate.stderr
    assert json.loads(out.read_text())["rows"][0]["auc"] == json.loads(metrics[0].read_text())["rows"][0]["auc"]
