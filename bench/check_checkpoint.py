"""Loads a dae-dist checkpoint into the PyTorch reference model and prints the noise-0 test
MSE on an MNIST folder's t10k files, to compare with `dae-dist evaluate`:

    python3 bench/check_checkpoint.py runs/<run>/checkpoints/best.safetensors ../shared/data/mnist-mini

Needs torch and safetensors (pip install torch safetensors).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from reference_model import Autoencoder  # noqa: E402
from reference_trainer import read_idx  # noqa: E402


def main():
    checkpoint, data_dir = sys.argv[1], sys.argv[2]
    state = load_file(checkpoint)
    latent_dim = state["encoder.encoder.10.weight"].shape[0]
    model = Autoencoder(latent_dim)
    model.load_state_dict(state)  # strict: every key and shape must match
    model.eval()
    images = torch.from_numpy(read_idx(data_dir, "t10k-images-idx3-ubyte").astype(np.float32) / 255.0)
    with torch.no_grad():
        total = sum(float(((model(chunk) - chunk) ** 2).double().sum()) for chunk in images.split(256))
    print(json.dumps({"latent_dim": latent_dim, "images": len(images), "mse": total / images.numel()}))


if __name__ == "__main__":
    main()
