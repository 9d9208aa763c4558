"""Training speed of the default autoencoder at 40x40: before and after, and each speed-up alone.

    python benchmarks/bench_train.py [--threads 2] [--jets 8192] [--epochs 4] [--compile] [--end-to-end 3]

Writes a synthetic images file (jet-like: a core plus a displaced prong, unit sum) with ``--jets``
training jets, then, in one process, alternates epoch by epoch (first epoch dropped: oneDNN and
compile warm-up) these training loops, each on its own copy of the default model (same seed,
batch size, threads):

* ``before``: the loop as hepdl ran it before the model interface: raw unit-sum images,
  ``mse_loss(model(batch), batch)``, NCHW tensors, ``torch.optim.Adam`` with its defaults;
* ``input scaling``: the model interface with the RMS input scaling, nothing else changed;
* ``+ channels_last``: model and batches in channels-last memory format;
* ``+ fused Adam``: ``torch.optim.Adam(..., fused=True)`` (CPU fused kernel, torch >= 2.4);
* ``+ torch.compile`` (with ``--compile``): the loss compiled by TorchInductor;
* ``hepdl``: :func:`hepdl.training.train.train_epoch` with the model as ``hepdl.training.train.train`` prepares it.

Then the validation pass (per-jet losses, no gradient) at evaluation batch 512 (before) and at
hepdl's :data:`hepdl.training.train.EVAL_BATCH`; ``--end-to-end N`` runs ``hepdl.training.train.train`` for N
epochs; and inference images/s of torch and onnxruntime. Prints the load average before and
after: on a shared machine only ratios within one run compare.
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
    parser.add_argument("--epochs", type=int, default=4, help="interleaved epochs per loop (the first dropped)")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to start)")
    parser.add_argument("--end-to-end", type=int, default=3, metavar="N",
                        help="epochs of hepdl.training.train.train (0: skip)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import torch

    from hepdl.config import load_config

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_train import write_images_file

    config = load_config(None, overrides={"training": {"max_epochs": max(args.end_to_end, 1), "batch_size": 128}})
    print(f"load average before: {os.getloadavg()}; threads {args.threads}; model {config['model']['name']}; "
          f"batch {config['training']['batch_size']}; torch {torch.__version__}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        images_file = write_images_file(Path(tmp) / "bench.h5", n=int(args.jets / 0.6) + 1, npix=40, splits=(0.6, 0.8))
        loops = training_loops(config, images_file, args.compile)
        rates = interleaved(loops, args.epochs)
        before = statistics.median(rates["before"])
        print("training loop, images/s per epoch (median; ratio to before):", flush=True)
        for name, values in rates.items():
            median = statistics.median(values)
            epochs = [round(v) for v in values]
            print(f"  {name:20s} {median:7.0f}  x{median / before:.2f}   epochs {epochs}", flush=True)
        validation(config, images_file)
        if args.end_to_end:
            end_to_end(config, images_file, Path(tmp))
            inference(images_file, Path(tmp) / "m.pt", args.threads)
    print(f"load average after: {os.getloadavg()}")
    return 0


def training_loops(config, images_file, with_compile: bool) -> dict:
    """name -> one-epoch function(epoch) -> images/s, each with its own model and optimizer."""
    import torch

    from hepdl.config import section_defaults
    from hepdl.models import build_model
    from hepdl.models.runtime import prepare_model
    from hepdl.training.train import epoch_permutation, load_split, make_optimizer, seed_everything, train_epoch

    x, _ = load_split([images_file], "train", section_defaults("image_transform"))
    seed_everything(1, config["training"]["deterministic"])
    batch_size = int(config["training"]["batch_size"])
    lr = float(config["training"]["learning_rate"])

    def fresh(scaling: str = "rms"):
        torch.manual_seed(1)
        model = build_model({**config["model"], "input_scaling": scaling}, x.shape[-1])
        model.fit_input_scaling(x)
        return model

    def timed(step_loop):
        def run(epoch: int) -> float:
            t0 = time.perf_counter()
            step_loop(epoch)
            return len(x) / (time.perf_counter() - t0)
        return run

    def generic(model, optimizer, loss_fn, memory_format=torch.contiguous_format):
        def loop(epoch: int) -> None:
            model.train()
            permutation = epoch_permutation(1, epoch, len(x))
            for start in range(0, len(x), batch_size):
                batch = x.index_select(0, permutation[start:start + batch_size]).contiguous(memory_format=memory_format)
                optimizer.zero_grad(set_to_none=True)
                loss_fn(batch).backward()
                optimizer.step()
        return timed(loop)

    loops = {}
    old = fresh("none")
    loops["before"] = generic(old, torch.optim.Adam(old.parameters(), lr=lr),
                              lambda b: torch.nn.functional.mse_loss(old(b), b))
    scaled = fresh()
    loops["input scaling"] = generic(scaled, torch.optim.Adam(scaled.parameters(), lr=lr), scaled.loss)
    cl = fresh().to(memory_format=torch.channels_last)
    loops["+ channels_last"] = generic(cl, torch.optim.Adam(cl.parameters(), lr=lr), cl.loss, torch.channels_last)
    fused = fresh().to(memory_format=torch.channels_last)
    loops["+ fused Adam"] = generic(fused, torch.optim.Adam(fused.parameters(), lr=lr, fused=True), fused.loss,
                                    torch.channels_last)
    if with_compile:
        compiled = fresh().to(memory_format=torch.channels_last)
        loops["+ torch.compile"] = generic(compiled, torch.optim.Adam(compiled.parameters(), lr=lr),
                                           torch.compile(compiled.loss), torch.channels_last)
    hepdl_model, hepdl_x = prepare_model(fresh(), torch.device("cpu")), x.contiguous(memory_format=torch.channels_last)
    hepdl_optimizer = make_optimizer(hepdl_model, lr)
    loops["hepdl"] = timed(lambda epoch: train_epoch(hepdl_model, hepdl_optimizer, hepdl_x,
                                                     epoch_permutation(1, epoch, len(x)), batch_size,
                                                     torch.device("cpu")))
    return loops


def interleaved(loops: dict, epochs: int) -> dict[str, list[float]]:
    """Images/s of every loop, epoch by epoch in turn; the first epoch of each dropped."""
    rates = {name: [] for name in loops}
    for epoch in range(1, epochs + 1):
        for name, loop in loops.items():
            rates[name].append(loop(epoch))
    return {name: values[1:] if len(values) > 1 else values for name, values in rates.items()}


def validation(config, images_file) -> None:
    """Images/s of the validation pass (per-jet losses, no gradient) at batch 512 and EVAL_BATCH."""
    import torch

    from hepdl.config import section_defaults
    from hepdl.models import build_model
    from hepdl.models.runtime import EVAL_BATCH, per_jet, prepare_model
    from hepdl.training.train import load_split

    x, _ = load_split([images_file], "train", section_defaults("image_transform"))
    torch.manual_seed(1)
    model = build_model(config["model"], x.shape[-1])
    model.fit_input_scaling(x)
    old = build_model(config["model"], x.shape[-1])
    old.load_state_dict(model.state_dict())
    model = prepare_model(model, torch.device("cpu"))
    results = {}
    for _ in range(3):
        for label, net, batch in (("batch 512, NCHW", old, 512), (f"batch {EVAL_BATCH}, hepdl", model, EVAL_BATCH)):
            t0 = time.perf_counter()
            net.eval()
            per_jet(net.jet_losses, x, torch.device("cpu"), batch_size=batch)
            results.setdefault(label, []).append(len(x) / (time.perf_counter() - t0))
    first = None
    for label, values in results.items():
        median = statistics.median(values)
        first = first or median
        print(f"validation pass {label:22s} {median:7.0f} images/s  x{median / first:.2f}", flush=True)


def end_to_end(config, images_file, tmp: Path) -> None:
    from hepdl.training.train import train

    t0 = time.perf_counter()
    summary = train(images_file, tmp / "m.pt", config, seed=1)
    wall = time.perf_counter() - t0
    rates = [row["images_per_s"] for row in summary["history"]]
    print(f"hepdl.training.train.train, {summary['train_jets']} jets x {len(rates)} epochs in {wall:.1f} s wall "
          f"(incl. reading, validation, checkpoints): per-epoch training images/s {rates}", flush=True)


def inference(images_file, model_path, threads: int) -> None:
    import numpy as np
    import onnxruntime
    import torch

    from hepdl.images.store import read_images
    from hepdl.models.model_file import load_model
    from hepdl.training.export import export_onnx

    images, _ = read_images([images_file])
    x = torch.from_numpy(images).unsqueeze(1)
    model, _, _ = load_model(model_path)
    with torch.no_grad():
        model.anomaly_score(x[:512])
        t0 = time.perf_counter()
        for start in range(0, len(x), 4096):
            model.anomaly_score(x[start:start + 4096])
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
    print(f"inference ({len(x)} jets, batch 4096): torch {torch_rate:.0f} images/s, "
          f"onnxruntime {ort_rate:.0f} images/s")


if __name__ == "__main__":
    sys.exit(main())
