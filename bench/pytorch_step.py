"""Times the reference PyTorch training step (forward, MSE backward, Adam) on random
noisy batches, the same work `dae-dist bench` times, and prints images per second and
peak resident memory per process.

    python3 bench/pytorch_step.py --threads 2 --batch-sizes 64 128 256
    python3 bench/pytorch_step.py --ddp 2 --threads 1 --batch-sizes 256   # DDP, gloo, 2 processes
    python3 bench/pytorch_step.py --json   # one JSON object per line instead of a table
    python3 bench/pytorch_step.py --channels-last --autocast bf16   # what a speed-minded user adds
    python3 bench/pytorch_step.py --compile                         # torch.compile (inductor)

--channels-last stores the model and the batch in NHWC (`torch.channels_last`), --autocast
bf16 runs forward (and so the products of backward) under `torch.autocast("cpu", bfloat16)`
with fp32 parameters and Adam, and --compile wraps the model in `torch.compile`: the lines a
user who wants CPU speed adds to the plain script.

With --ddp N the batch size is the global batch: each process takes 1/N of it, gradients
are all-reduced by DistributedDataParallel over gloo. BatchNorm stays per process (dae-dist's
`--bn local`): PyTorch's SyncBatchNorm only runs on GPUs.
"""
import argparse
import json
import os
import resource
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from reference_model import Autoencoder, adam  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def configuration(args) -> str:
    """The row's name: eager, channels_last, compile, and + bf16 autocast."""
    parts = [name for name, on in (("channels_last", args.channels_last), ("compile", args.compile)) if on] or ["eager"]
    if args.autocast == "bf16":
        parts.append("bf16 autocast")
    return " + ".join(parts)


def time_step(batch: int, threads: int, args, rank: int = 0, world: int = 1):
    latent_dim, warmup, repeats, steps = args.latent_dim, args.warmup, args.repeats, args.steps
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Autoencoder(latent_dim).train()
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    if args.compile:
        model = torch.compile(model)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = adam(model)
    torch.manual_seed(1 + rank)
    local = batch // world + (1 if rank < batch % world else 0)
    clean = torch.rand(local, 1, 28, 28)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    clean, noisy = clean.contiguous(memory_format=memory_format), noisy.contiguous(memory_format=memory_format)
    autocast = args.autocast == "bf16"

    def step():
        optimizer.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            output = model(noisy)
        loss = torch.mean((output.float() - clean) ** 2)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        if world > 1:
            dist.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - start))
    rate, rss = statistics.median(rates), peak_rss_mb()
    if world > 1:  # the slowest rank's rate, the largest process
        values = torch.tensor([-rate, rss], dtype=torch.float64)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        rate, rss = -values[0].item(), values[1].item()
    return rate, rss


def gemm_kernel():
    """What runs PyTorch's convolutions and products: oneDNN (and MKL) at the vector
    instruction set PyTorch dispatches to on this CPU."""
    return f"oneDNN {torch.backends.cpu.get_cpu_capability()}"


def report(args, batch, threads, world, rate, rss):
    if args.json:
        print(json.dumps({"impl": "pytorch", "version": torch.__version__, "ranks": world, "threads": threads, "batch": batch,
                          "images_per_sec": round(rate, 1), "peak_rss_mb": round(rss), "gemm_kernel": gemm_kernel(),
                          "configuration": configuration(args),
                          "precision": "bf16" if args.autocast == "bf16" else "fp32"}), flush=True)
    else:
        print(f"{batch:>6} {world:>6} {threads:>8} {rate:>10.1f} {rss:>12.0f}", flush=True)


def ddp_worker(rank, args, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=args.ddp)
    for threads in args.threads:
        for batch in args.batch_sizes:
            rate, rss = time_step(batch, threads, args, rank, args.ddp)
            if rank == 0:
                report(args, batch, threads, args.ddp, rate, rss)
    dist.barrier()  # both ranks done with gloo before either tears it down (else gloo may abort at exit)
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ddp", type=int, default=1, metavar="N", help="processes (DistributedDataParallel over gloo)")
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed repeat")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--channels-last", action="store_true", help="model and batch in torch.channels_last")
    parser.add_argument("--autocast", choices=["off", "bf16"], default="off", help="torch.autocast on the CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    args = parser.parse_args()
    if not args.json:
        print(f"PyTorch {torch.__version__}, {configuration(args)}  (images/s, median of {args.repeats} x {args.steps} steps)")
        print(f"{'batch':>6} {'ranks':>6} {'threads':>8} {'images/s':>10} {'peak RSS MB':>12}")
    if args.ddp > 1:
        mp.spawn(ddp_worker, args=(args, free_port()), nprocs=args.ddp)
        return
    for threads in args.threads:
        for batch in args.batch_sizes:
            rate, rss = time_step(batch, threads, args)
            report(args, batch, threads, 1, rate, rss)


if __name__ == "__main__":
    main()
