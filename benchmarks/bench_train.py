"""Training and inference speed of the default autoencoder at 40x40 (hepdl vs a bare PyTorch loop).

    python benchmarks/bench_train.py [--threads 2] [--jets 8192] [--epochs 3] [--repeats 2]

Writes a synthetic images file (jet-like: a core plus a displaced prong, unit sum) with ``--jets``
training jets. (1) Alternates epoch by epoch hepdl's training loop (``hepdl.train.train_epoch``,
deterministic mode as in the default config) and a bare PyTorch loop (same model, batch size,
Adam, threads; one in-memory tensor permuted once per epoch), ``epochs x repeats`` epochs each,
the first dropped (oneDNN warm-up); reports median and best images/s and their ratios. (2) Runs
``hepdl.train.train`` end to end for ``--epochs`` epochs. (3) Inference images/s of torch
(no_grad) and onnxruntime on the same images. Prints the load average before and
after: on a shared machine the figures are only comparable within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jets", type=int, default=8192, help="training jets")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the end-to-end run")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved epochs = epochs x repeats")
    parser.add_argument("--model", default=None, help="YAML/JSON of a model block to use instead of the default")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import torch
    import yaml

    from hepdl.config import load_config
    from hepdl.train import train

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_train import write_images_file

    config = load_config(None, overrides={"training": {"max_epochs": args.epochs}})
    if args.model:
        config["model"] = yaml.safe_load(args.model)
    config = load_config(None, overrides={k: config[k] for k in ("training", "model")})
    batch_size = config["training"]["batch_size"]
    print(f"load average before: {os.getloadavg()}; threads {args.threads}; model {config['model']}; "
          f"batch {batch_size}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        n_total = int(args.jets / 0.6) + 1
        images_file = write_images_file(Path(tmp) / "bench.h5", n=n_total, npix=40, splits=(0.6, 0.8))
        # 1. hot loop, interleaved epoch by epoch in one process (fair under a fluctuating load)
        hepdl_rates, bare_rates = interleaved(config, images_file, args.epochs * args.repeats, batch_size)
        print(f"training loop (epochs interleaved, first dropped): hepdl.train.train_epoch median "
              f"{statistics.median(hepdl_rates):.0f} best {max(hepdl_rates):.0f} images/s; bare loop median "
              f"{statistics.median(bare_rates):.0f} best {max(bare_rates):.0f} images/s; ratio of medians "
              f"{statistics.median(hepdl_rates) / statistics.median(bare_rates):.2f}, of bests "
              f"{max(hepdl_rates) / max(bare_rates):.2f}", flush=True)
        # 2. end to end: hepdl.train.train (reading, validation, checkpoint every epoch)
        t0 = time.perf_counter()
        summary = train(images_file, Path(tmp) / "m.pt", config, seed=1)
        wall = time.perf_counter() - t0
        rates = [row["images_per_s"] for row in summary["history"]]
        print(f"hepdl.train.train, {summary['train_jets']} jets x {len(rates)} epochs in {wall:.1f} s wall "
              f"(incl. reading, validation, checkpoints): per-epoch training images/s {rates}", flush=True)
        inference(images_file, Path(tmp) / "m.pt", args.threads)
    print(f"load average after: {os.getloadavg()}")
    return 0


def interleaved(config, images_file, epochs: int, batch_size: int) -> tuple[list[float], list[float]]:
    """Images/s per epoch of hepdl's training loop and of a bare PyTorch loop, alternating."""
    import torch

    from hepdl.models import build_model
    from hepdl.train import epoch_permutation, load_split, seed_everything, train_epoch

    x, _ = load_split([images_file], "train", {})
    seed_everything(1, config["training"]["deterministic"])
    models = [build_model(config["model"], x.shape[-1]) for _ in range(2)]
    optimizers = [torch.optim.Adam(m.parameters(), lr=config["training"]["learning_rate"]) for m in models]
    hepdl_rates, bare_rates = [], []
    for epoch in range(1, epochs + 2):
        t0 = time.perf_counter()
        train_epoch(models[0], optimizers[0], x, epoch_permutation(1, epoch, len(x)), batch_size, torch.device("cpu"))
        hepdl_rates.append(len(x) / (time.perf_counter() - t0))
        bare_rates.append(bare_epoch(models[1], optimizers[1], x, batch_size))
    return hepdl_rates[1:], bare_rates[1:]


def bare_epoch(model, optimizer, x, batch_size: int) -> float:
    """Images/s of one epoch of a plain PyTorch loop over an in-memory tensor (N, 1, npix, npix)."""
    import torch

    t0 = time.perf_counter()
    shuffled = x[torch.randperm(len(x))]
    for start in range(0, len(x), batch_size):
        batch = shuffled[start:start + batch_size]
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(batch), batch)
        loss.backward()
        optimizer.step()
    return len(x) / (time.perf_counter() - t0)


def inference(images_file, model_path, threads: int) -> None:
    import numpy as np
    import onnxruntime
    import torch

    from hepdl.export import export_onnx
    from hepdl.image_store import read_images
    from hepdl.score import load_model

    images, _ = read_images([images_file])
    x = torch.from_numpy(images).unsqueeze(1)
    model, _, _ = load_model(model_path)
    with torch.no_grad():
        model(x[:512])
        t0 = time.perf_counter()
        for start in range(0, len(x), 4096):
            model(x[start:start + 4096])
        torch_rate = len(x) / (time.perf_counter() - t0)
    onnx_path = Path(model_path).with_suffix(".onnx")
    export_onnx(model_path, onnx_path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    xn = np.ascontiguousarray(x.numpy())
    session.run(None, {"images": xn[:512]})
    t0 = time.perf_counter()
    for start in range(0, len(xn), 4096):
        session.run(None, {"images": xn[start:start + 4096]})
    ort_rate = len(xn) / (time.perf_counter() - t0)
    print(f"inference ({len(x)} jets, batch 4096): torch {torch_rate:.0f} images/s, onnxruntime {ort_rate:.0f} images/s")


if __name__ == "__main__":
    sys.exit(main())
