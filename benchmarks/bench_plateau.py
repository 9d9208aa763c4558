"""Why unit-sum jet images sit on the average-image plateau, and what the input scaling changes.

    python benchmarks/bench_plateau.py --images results/images/top/shard*.h5 [--jets 6000] [--epochs 3]

Trains the default conv AE (batch 128, Adam lr 1e-3, one thread, seed 1) on the first ``--jets``
training jets of the images files, four ways, and prints the learning ratio (validation loss /
average-image loss) after each epoch:

1. ``none``: raw pixel intensities (hepdl before input scaling);
2. ``none, Adam eps 1e-14``: the same with Adam's epsilon far below every gradient;
3. ``none, init rescaled``: raw pixels, but the first convolution's weights divided and the last
   one's weights and bias multiplied by the RMS pixel s: the same function at initialisation as
   (4), only parametrised differently (Adam then moves the first layer s times slower relative
   to its weights);
4. ``rms``: hepdl's input scaling (images divided by s before the network, reconstructions
   multiplied back).
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", required=True, help="images files (HDF5) of one dataset")
    parser.add_argument("--jets", type=int, default=6000, help="training jets used")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    import torch

    from hepdl.config import section_defaults
    from hepdl.models import build_model, validate_model_config
    from hepdl.training.train import epoch_permutation, jet_losses, load_split, seed_everything, train_epoch

    torch.set_num_threads(1)
    train_images, _ = load_split(args.images, "train", section_defaults("image_transform"))
    val_images, _ = load_split(args.images, "validation", section_defaults("image_transform"))
    train_images = train_images[:args.jets]
    device = torch.device("cpu")
    rms = float(train_images.double().square().mean().sqrt())
    print(f"{len(train_images)} training / {len(val_images)} validation jets; mean pixel "
          f"{float(train_images.mean()):.3g}, RMS pixel {rms:.3g}", flush=True)

    def run(label: str, scaling: str, eps: float = 1e-8, rescale_init: bool = False) -> None:
        seed_everything(1, True)
        model = build_model(validate_model_config({"name": "conv_ae", "input_scaling": scaling}),
                            train_images.shape[-1])
        model.fit_input_scaling(train_images)
        if rescale_init:
            convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
            with torch.no_grad():
                convs[0].weight /= rms
                convs[-1].weight *= rms
                convs[-1].bias *= rms
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=eps)
        reference = float(jet_losses(model, val_images, device, reference=True).mean())
        ratios, t0 = [], time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            train_epoch(model, optimizer, train_images, epoch_permutation(1, epoch, len(train_images)), 128, device)
            ratios.append(float(jet_losses(model, val_images, device).mean()) / reference)
        rate = len(train_images) * args.epochs / (time.perf_counter() - t0)
        print(f"{label:34s} learning ratio per epoch {', '.join(f'{r:.3f}' for r in ratios)}  ({rate:.0f} images/s)",
              flush=True)

    run("none", "none")
    run("none, Adam eps 1e-14", "none", eps=1e-14)
    run("none, init rescaled", "none", rescale_init=True)
    run("rms (hepdl)", "rms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
