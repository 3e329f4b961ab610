"""Times the reference PyTorch training step (forward, MSE backward, Adam) on random
noisy batches, the same work `dae-dist bench` times, and prints images per second.

    python3 bench/pytorch_step.py --threads 2 --batch-sizes 64 128 256
    python3 bench/pytorch_step.py --json   # one JSON object per line instead of a table
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from reference_model import Autoencoder, adam  # noqa: E402


def time_step(batch: int, threads: int, latent_dim: int, warmup: int, repeats: int, steps: int):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Autoencoder(latent_dim).train()
    optimizer = adam(model)
    clean = torch.rand(batch, 1, 28, 28)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)

    def step():
        optimizer.zero_grad(set_to_none=False)
        loss = torch.mean((model(noisy) - clean) ** 2)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed repeat")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.json:
        print(f"PyTorch {torch.__version__}  (images/s, median of {args.repeats})")
        print(f"{'batch':>6} {'threads':>8} {'images/s':>10}")
    for threads in args.threads:
        for batch in args.batch_sizes:
            rate = time_step(batch, threads, args.latent_dim, args.warmup, args.repeats, args.steps)
            if args.json:
                print(json.dumps({"impl": "pytorch", "version": torch.__version__, "batch": batch,
                                  "threads": threads, "images_per_sec": round(rate, 1)}), flush=True)
            else:
                print(f"{batch:>6} {threads:>8} {rate:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
