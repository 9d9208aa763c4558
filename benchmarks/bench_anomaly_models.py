"""Both tagging directions of the anomaly models (conv_ae, nae, kmeans) on one pair of datasets.

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_models.py --images-dir results/images --out bench_out \\
        [--jets 8000] [--only conv_ae.plain kmeans.smeared3 ...]

For each run NAME.TRANSFORM (below) and each training dataset (qcd, then top) it writes a config
(config/config.yaml with the run's model block, ``training.max_train_jets`` = ``--jets``, batch
128, Adam 1e-3, CPU, and a transform ``smeared3``: Gaussian smearing of 3 pixels, Buss et al.'s),
calls ``hepdl train`` and ``hepdl score`` (test split of both datasets) through the CLI, and
prints one table row per model file: AUC (the other dataset's test jets as signal), learning ratio,
the validation loss of the epoch the file holds over the average-image loss, and seconds per epoch
of each training phase. The nae is trained twice over: first capped at its pretraining epochs
(``nae_pre``, the spherical autoencoder before the NAE phase), then resumed to the end. Every
command is printed before it runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: run name -> (model block, max_epochs, transform)
RUNS = {
    "conv_ae.plain": ({"name": "conv_ae"}, 10, "plain"),
    "conv_ae.smeared3": ({"name": "conv_ae"}, 10, "smeared3"),
    "kmeans.plain": ({"name": "kmeans", "options": {"n_clusters": 100}}, 60, "plain"),
    "kmeans.smeared3": ({"name": "kmeans", "options": {"n_clusters": 100}}, 60, "smeared3"),
    # the published recipe with fewer chain steps and negatives and a 10x learning rate: sized for 2 CPU threads
    "nae.plain": ({"name": "nae", "options": {"pretrain_epochs": 10, "nae_epochs": 3, "negative_samples": 64,
                                              "latent_steps": 10, "image_steps": 10, "nae_learning_rate": 1e-4}},
                  13, "plain"),
}


def run(command: list[str]) -> None:
    print("$", shlex.join(command), flush=True)
    subprocess.run(command, check=True)


def auc_row(model: Path, train: str, other: str, scores: dict[str, Path]) -> str:
    import h5py
    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score

    def model_scores(path: Path) -> np.ndarray:
        with h5py.File(path) as h5:
            return h5["jets/model_score"][:].astype(np.float64)

    background, signal = model_scores(scores[train]), model_scores(scores[other])
    auc = roc_auc_score(np.r_[np.zeros(len(background)), np.ones(len(signal))], np.r_[background, signal])
    meta = json.loads(torch.load(model, weights_only=True)["metadata_json"])
    seconds: dict[str, list[float]] = {}
    for row in meta["history"]:
        seconds.setdefault(row.get("phase", "train"), []).append(row["seconds"])
    per_phase = ", ".join(f"{p} {sum(v) / len(v):.1f} s x {len(v)}" for p, v in seconds.items())
    held = meta.get("selected_val_loss", meta["best_val_loss"]) / meta["average_image_loss"]
    return (f"| {model.stem} | {train} -> {other} | {auc:.3f} | {meta['val_loss_over_average_image']:.3f} | "
            f"{held:.3f} | {meta['stop_reason']} | {per_phase} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images-dir", required=True, type=Path, help="holds qcd/shard*.h5 and top/shard*.h5")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--jets", type=int, default=8000, help="training.max_train_jets")
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="runs to do (default: all)")
    args = parser.parse_args()

    import yaml

    args.out.mkdir(parents=True, exist_ok=True)
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    base["training"].update(max_train_jets=args.jets, batch_size=128, learning_rate=1e-3, device="cpu")
    base["image_transforms"]["smeared3"] = {"smear_sigma_px": 3.0}
    images = {d: sorted(str(p) for p in (args.images_dir / d).glob("shard*.h5")) for d in ("qcd", "top")}
    hepdl = [sys.executable, "-m", "hepdl"]
    rows = []
    for name in args.only or RUNS:
        model_block, max_epochs, transform = RUNS[name]
        config = copy.deepcopy(base)
        config["model"], config["training"]["max_epochs"] = model_block, max_epochs
        config_path = args.out / f"{name}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        for train, other in (("qcd", "top"), ("top", "qcd")):
            model = args.out / f"{name}.{train}.pt"
            command = [*hepdl, "train", "--config", str(config_path), "--transform", transform, "--images",
                       *images[train], "--output", str(model), "--history", str(args.out / f"{name}.{train}.csv")]
            files = []
            if model_block["name"] == "nae":  # the pretrained autoencoder first, then resume into the NAE phase
                run([*command, "--epochs", str(model_block["options"]["pretrain_epochs"])])
                pretrained = args.out / f"nae_pre.{name.split('.', 1)[1]}.{train}.pt"
                shutil.copyfile(model, pretrained)
                files.append(pretrained)
                command.append("--resume")
            run(command)
            files.append(model)
            for path in files:
                scores = {d: path.with_suffix(f".score_{d}.h5") for d in ("qcd", "top")}
                for d, out in scores.items():
                    run([*hepdl, "score", "--model", str(path), "--images", *images[d], "--output", str(out),
                         "--split", "test", "--device", "cpu"])
                rows.append(auc_row(path, train, other, scores))
    print("| model | trained -> tags | AUC | learning ratio | held epoch / average image | stop | s per epoch |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
