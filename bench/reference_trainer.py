"""The PyTorch reference trainer, for comparing learning quality with dae-dist on the same
split and settings: train = the train file minus its last --val-size images, validation =
those images (noisy inputs, clean targets, eval mode), Adam, MSE, early stopping.

    python3 bench/reference_trainer.py --data-dir ../shared/data/mnist-mini --val-size 1000 --latent-dim 2
    python3 bench/reference_trainer.py ... --channels-last --autocast bf16   # the speed-minded user's PyTorch

With --autocast bf16 the forward passes (training and validation) run under
`torch.autocast("cpu", bfloat16)`, parameters and Adam in fp32, the loss in fp32.

Prints one JSON line per epoch and a final {"best_validation_loss": ...}.
"""
import argparse
import gzip
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from reference_model import Autoencoder, adam  # noqa: E402


def read_idx(data_dir: str, stem: str) -> np.ndarray:
    for name in (f"{stem}.gz", stem, f"{stem.replace('-idx', '.idx')}.gz", stem.replace("-idx", ".idx")):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            raw = (gzip.open if name.endswith(".gz") else open)(path, "rb").read()
            count = int.from_bytes(raw[4:8], "big")
            return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 1, 28, 28)
    raise SystemExit(f"no {stem} in {data_dir}")


def corrupt(clean: torch.Tensor, noise: str, factor: float) -> torch.Tensor:
    """dae-dist's corruptions (DESIGN.md): additive Gaussian noise clamped to [0, 1], or a
    fraction of pixels set to 0 (masking) or to 0 or 1 with equal chance (salt-pepper)."""
    if noise == "gaussian":
        return torch.clamp(clean + factor * torch.randn_like(clean), 0, 1)
    hit = torch.rand_like(clean) < factor
    value = torch.zeros_like(clean) if noise == "masking" else (torch.rand_like(clean) < 0.5).float()
    return torch.where(hit, value, clean)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--noise", choices=["gaussian", "masking", "salt-pepper"], default="gaussian")
    parser.add_argument("--noise-factor", type=float, default=0.1,
                        help="standard deviation (gaussian) or fraction of pixels corrupted (masking, salt-pepper)")
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true", help="model and batches in torch.channels_last")
    parser.add_argument("--autocast", choices=["off", "bf16"], default="off", help="torch.autocast on the CPU")
    parser.add_argument("--init", help="start from these weights (e.g. `dae-dist init --seed S`) instead of PyTorch's own draw")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    images = torch.from_numpy(read_idx(args.data_dir, "train-images-idx3-ubyte").astype(np.float32) / 255.0)
    train, validation = images[:-args.val_size], images[-args.val_size:]
    validation_noisy = corrupt(validation, args.noise, args.noise_factor)
    model = Autoencoder(args.latent_dim)
    if args.init:
        from safetensors.torch import load_file
        model.load_state_dict(load_file(args.init))
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = adam(model, args.lr)

    def forward(noisy):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast == "bf16"):
            return model(noisy.contiguous(memory_format=memory_format)).float()
    best, counter, start = float("inf"), 0, time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train))
        losses = []
        for i in range(0, len(train) - args.batch_size + 1, args.batch_size):
            clean = train[order[i:i + args.batch_size]]
            noisy = corrupt(clean, args.noise, args.noise_factor)
            loss = torch.mean((forward(noisy) - clean) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            total = sum(float(((forward(n) - c) ** 2).double().sum()) for n, c in zip(validation_noisy.split(500), validation.split(500)))
        val = total / validation.numel()
        print(json.dumps({"epoch": epoch, "train_loss": sum(losses) / len(losses), "validation_loss": val,
                          "elapsed_sec": time.time() - start}), flush=True)
        if val < best:
            best, counter = val, 0
        else:
            counter += 1
            if counter >= args.patience:
                break
    print(json.dumps({"best_validation_loss": best, "latent_dim": args.latent_dim}))


if __name__ == "__main__":
    main()
