"""Writes the PyTorch reference fixtures the Swift tests compare against.

Run by hand (needs torch and safetensors from PyPI); the tests only read the files:

    python3 Tests/DAECoreTests/Fixtures/make_reference.py

For each latent size (2 and 16) it builds the reference model of docs/DESIGN.md
(bench/reference_model.py) with PyTorch's default initialisation from a fixed seed, takes
a fixed batch of 8 digit-like images, corrupts them with noise 0.1 (clipped to [0, 1]),
runs training-mode forward, the MSE against the clean images and backward, then 3 Adam
steps on the same batch, and an eval-mode forward at the end. It stores, as float32
safetensors (`reference_latent{d}.safetensors`):

    input.clean, input.noisy        the batch [8, 1, 28, 28]
    init.<key>                      every parameter before training
    step1.output, step1.latent      training-mode output and latent code of step 1
    step1.loss                      the step-1 loss (shape [1])
    step1.grad.<key>                every parameter gradient of step 1
    step1.<bn>.running_mean/var     BatchNorm running statistics after step 1's forward
    losses                          the loss of steps 1, 2, 3
    final.<key>                     every parameter after 3 Adam steps
    final.<bn>.running_mean/var     running statistics after 3 forwards
    eval.output                     eval-mode output on the noisy batch after the 3 steps
    final64.*, eval64.output        the same after 3 steps, computed in float64 from the same start

Why float64 too: the biases of convolutions followed by BatchNorm have an exact gradient of
0, so what float32 computes for them is rounding noise, and Adam (which divides by the
gradient's own scale) turns that noise into steps of about lr. Those biases, the running
means they shift, and weights whose gradients are tiny differ between *any* two float32
implementations, PyTorch's float32 against its own float64 included. The Swift test holds
each tensor after the steps to 1e-4 of the float64 result, or to a small multiple of
PyTorch float32's own distance from it where PyTorch itself cannot do better.

Why the 3 steps use Adam with eps = 1e-5 (not the 1e-8 of training): with eps far below
float32's rounding noise on a gradient, the *first* Adam step moves every noise-level
element by +-lr with a sign the rounding picks, and two float32 runs that differ only in
summation order (OpenBLAS on 1 or 2 threads) then follow measurably different paths for
steps 2 and 3: no float32 implementation could be held to the float64 one. With eps = 1e-5
noise-level gradients move their elements by a negligible amount, while every gradient that
matters is still far above eps, so the check is about the model and the update rule, not
about which way rounding fell. Adam with the training eps is checked alone (adam.safetensors).

It also writes `adam.safetensors`: a parameter vector, three gradient vectors and the
parameters after three `torch.optim.Adam` steps with those gradients, to check the update
rule alone.
"""
import os
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench"))
from reference_model import Autoencoder  # noqa: E402

BATCH = 8
STEPS = 3
ADAM_EPS = 1e-5  # for the 3-step trajectory; see above


def digit_like_batch(generator: torch.Generator) -> torch.Tensor:
    """Smooth strokes on a dark background: ring and bar shapes with random centres, so
    activations look like MNIST's (mostly 0, some near 1) without shipping MNIST."""
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    images = []
    for _ in range(BATCH):
        cy, cx = 10 + 8 * torch.rand(2, generator=generator)
        radius = 5 + 4 * torch.rand(1, generator=generator)
        ring = torch.exp(-((torch.sqrt((ys - cy) ** 2 + (xs - cx) ** 2) - radius) ** 2) / 2.0)
        angle = torch.rand(1, generator=generator) * 3.1416
        bar = torch.exp(-(((xs - 14) * torch.cos(angle) + (ys - 14) * torch.sin(angle)) ** 2) / 1.5)
        bar = bar * (torch.abs((xs - 14) * torch.sin(angle) - (ys - 14) * torch.cos(angle)) < 9)
        images.append(torch.clamp(ring + bar, 0, 1))
    return torch.stack(images).unsqueeze(1)


def train_in_float64(init: dict, clean: torch.Tensor, noisy: torch.Tensor, latent_dim: int) -> dict:
    """The same 3 steps from the same float32 start, in float64."""
    model = Autoencoder(latent_dim).double().train()
    model.load_state_dict({k: v.double() for k, v in init.items()}, strict=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=ADAM_EPS)
    for _ in range(STEPS):
        optimizer.zero_grad()
        torch.mean((model(noisy.double()) - clean.double()) ** 2).backward()
        optimizer.step()
    out = {"final64." + k: v.clone() for k, v in model.state_dict().items() if "num_batches" not in k}
    model.eval()
    with torch.no_grad():
        out["eval64.output"] = model(noisy.double()).clone()
    return out


def make(latent_dim: int) -> dict:
    torch.manual_seed(1234 + latent_dim)
    generator = torch.Generator().manual_seed(99)
    model = Autoencoder(latent_dim).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=ADAM_EPS)
    clean = digit_like_batch(generator)
    noisy = torch.clamp(clean + 0.1 * torch.randn(clean.shape, generator=generator), 0, 1)
    init = {k: v.clone() for k, v in model.state_dict().items() if k.endswith(("weight", "bias"))}

    out = {"input.clean": clean, "input.noisy": noisy}
    for key, value in model.state_dict().items():
        if key.endswith(("weight", "bias")):
            out["init." + key] = value.clone()

    captured = {}
    model.encoder.register_forward_hook(lambda module, args, result: captured.__setitem__("latent", result.detach().clone()))
    losses = []
    for step in range(1, STEPS + 1):
        optimizer.zero_grad()
        prediction = model(noisy)
        loss = torch.mean((prediction - clean) ** 2)
        loss.backward()
        losses.append(loss.item())
        if step == 1:
            out["step1.output"] = prediction.detach().clone()
            out["step1.latent"] = captured["latent"]
            out["step1.loss"] = loss.detach().reshape(1).clone()
            for name, parameter in model.named_parameters():
                out["step1.grad." + name] = parameter.grad.clone()
            for key, value in model.state_dict().items():
                if "running" in key:
                    out["step1." + key] = value.clone()
        optimizer.step()

    out["losses"] = torch.tensor(losses)
    for key, value in model.state_dict().items():
        if key.endswith(("weight", "bias")) or "running" in key:
            out["final." + key] = value.clone()
    model.eval()
    with torch.no_grad():
        out["eval.output"] = model(noisy).clone()
    out.update(train_in_float64(init, clean, noisy, latent_dim))
    return {k: v.float().contiguous() for k, v in out.items()}


def make_adam() -> dict:
    """Adam alone: gradients spanning several magnitudes, signs flipping between steps."""
    generator = torch.Generator().manual_seed(7)
    param = torch.nn.Parameter(torch.randn(64, generator=generator))
    out = {"adam.param0": param.detach().clone()}
    optimizer = torch.optim.Adam([param], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    scales = 10.0 ** torch.linspace(-6, 1, 64)
    for step in range(1, STEPS + 1):
        grad = torch.randn(64, generator=generator) * scales
        out[f"adam.grad{step}"] = grad.clone()
        param.grad = grad
        optimizer.step()
    out["adam.param3"] = param.detach().clone()
    return out


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # one thread: the same summation order, so the files are reproducible
    for latent_dim in (2, 16):
        path = os.path.join(HERE, f"reference_latent{latent_dim}.safetensors")
        tensors = make(latent_dim)
        save_file(tensors, path, metadata={"torch": torch.__version__, "latent_dim": str(latent_dim),
                                           "batch": str(BATCH), "steps": str(STEPS)})
        print(f"wrote {path}: {len(tensors)} tensors, losses {tensors['losses'].tolist()}")
    path = os.path.join(HERE, "adam.safetensors")
    save_file(make_adam(), path, metadata={"torch": torch.__version__})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
