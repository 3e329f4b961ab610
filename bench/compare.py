"""dae-dist against PyTorch on this machine: one command, one table, one JSON file.

    python3 bench/compare.py                      # batch 256, 5 interleaved rounds
    python3 bench/compare.py --batch 64 --rounds 5 --output bench/results.json

Each round runs every configuration once, one after the other (so a slow minute of the
machine hits all of them alike), each as its own process reporting the median of
--repeats x --steps steps after warm-up; the table shows the median over rounds:

  dae-dist   1 process x 1 thread, 1 process x 2 threads, mpirun -n 2 x 1 thread
             (BatchNorm synchronised across ranks, as training does by default)
  PyTorch    1 thread, 2 threads, DDP over gloo on 2 processes x 1 thread (its BatchNorm
             stays per process: SyncBatchNorm is GPU-only)

plus the GFLOP/s of the whole step (from the layer shapes, about 67 MFLOP per image)
against cblas_sgemm's rate on a 1024 square and on the products one step makes, peak
resident memory per process, and the time a step spends in collectives at 2 ranks.

The roofline ratio is paired: each round divides the step's rate by the sgemm rate measured
in the same round, seconds apart (by the same process at 1 and 2 threads; for 2 ranks, by
the 2-thread process just before it), and the table takes the median of those ratios. The
VM's speed drifts by up to a quarter within a minute, so a step and an sgemm measured
minutes apart would compare two machines. The stricter ratio (median step over the best
sgemm of all rounds) is printed and stored too. Installs torch from PyPI when it is missing.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "dae-dist")


def ensure_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is missing: installing torch==2.13.0+cpu from PyPI", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "torch==2.13.0+cpu"], check=True)


def mpirun(ranks):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    return command


def json_lines(command, env):
    """The JSON lines a measurement prints; one retry (gloo can abort a DDP run at exit)."""
    for attempt in (1, 2):
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode == 0:
            return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        print(f"warning: {' '.join(command)} failed (attempt {attempt}):\n{result.stderr[-2000:]}", file=sys.stderr)
    sys.exit(f"benchmark failed twice ({' '.join(command)}):\n{result.stdout}{result.stderr}")


def configurations(args):
    """(name, command, environment) of every measurement in a round."""
    # What a user gets: no setting that picks a BLAS kernel or a kernel build.
    overrides = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE", "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE",
                 "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "DAE_KERNELS")
    base = {key: value for key, value in os.environ.items() if key not in overrides}
    base["OMPI_MCA_mpi_yield_when_idle"] = "1"
    step = ["--warmup", str(args.warmup), "--repeats", str(args.repeats), "--steps", str(args.steps), "--json"]
    ours = [BINARY, "bench", "--batch-sizes", str(args.batch), "--latent-dim", str(args.latent_dim)] + step
    theirs = [sys.executable, os.path.join(ROOT, "bench", "pytorch_step.py"), "--batch-sizes", str(args.batch),
              "--latent-dim", str(args.latent_dim)] + step
    single = dict(base, OMP_NUM_THREADS="1")
    return [
        ("dae-dist 1x1", ours + ["--threads", "1"], base),
        ("dae-dist 1x2", ours + ["--threads", "2"], base),
        ("dae-dist mpi 2x1", mpirun(2) + ours + ["--threads", "1", "--no-sgemm"], base),
        ("pytorch 1x1", theirs + ["--threads", "1"], base),
        ("pytorch 1x2", theirs + ["--threads", "2"], base),
        ("pytorch ddp 2x1", theirs + ["--threads", "1", "--ddp", "2"], single),
    ]


def values_of(rounds, name, key, what=None):
    return [line[key] for lines in rounds[name] for line in lines if line.get("what") == what and key in line]


def median_of(rounds, name, key, what=None):
    values = values_of(rounds, name, key, what)
    return statistics.median(values) if values else float("nan")


# The process whose sgemm rates each dae-dist configuration is held to (2 ranks: the 2-thread
# one, run just before it in every round), and that rate's thread count.
SGEMM_OF = {"dae-dist 1x1": ("dae-dist 1x1", "1t"), "dae-dist 1x2": ("dae-dist 1x2", "2t"),
            "dae-dist mpi 2x1": ("dae-dist 1x2", "2t")}


def per_round(rounds, name, key, what=None):
    """One value per round (NaN where the round lacks it), in round order."""
    return [next((line[key] for line in lines if line.get("what") == what and key in line), float("nan"))
            for lines in rounds[name]]


def paired_ratio(rounds, step_name, sgemm_name, sgemm_what="sgemm-1024"):
    """Median over rounds of the step's GFLOP/s over the sgemm rate measured in the same round."""
    ratios = [step / sgemm for step, sgemm in zip(per_round(rounds, step_name, "gflops"),
                                                    per_round(rounds, sgemm_name, "gflops", sgemm_what))
              if step == step and sgemm == sgemm and sgemm > 0]
    return statistics.median(ratios) if ratios else float("nan")


def best_of(rounds, name, key, what=None):
    """The highest rate over the rounds: a slow minute only ever lowers a BLAS rate, so the best is
    the closest to what the machine can do, and the strictest roofline to hold the step to."""
    values = values_of(rounds, name, key, what)
    return max(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256, help="global batch size")
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results.json"))
    parser.add_argument("--no-build", action="store_true", help="use the existing .build/release/dae-dist")
    args = parser.parse_args()

    ensure_torch()
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "dae-dist"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if shutil.which("mpirun") is None:
        sys.exit("mpirun not found: install OpenMPI (launch/install-deps)")

    configs = configurations(args)
    rounds = {name: [] for name, _, _ in configs}
    for r in range(args.rounds):
        for name, command, env in configs:
            print(f"round {r + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
            rounds[name].append(json_lines(command, env))

    rows = []
    for name, _, _ in configs:
        rate = median_of(rounds, name, "images_per_sec")
        rows.append({"name": name, "images_per_sec": rate, "gflops": rate * flops_per_image(rounds) / 1e9,
                     "peak_rss_mb": median_of(rounds, name, "peak_rss_mb"),
                     "comm_ms_per_step": median_of(rounds, name, "comm_ms_per_step"),
                     "comm_blocking_ms_per_step": median_of(rounds, name, "comm_blocking_ms_per_step"),
                     "comm_share": median_of(rounds, name, "comm_share"),
                     "cpus_busy": median_of(rounds, name, "cpus_busy"), "gemm_kernel": gemm_kernel_of(rounds, name)})
    roofline = {
        "sgemm_1024_1t": best_of(rounds, "dae-dist 1x1", "gflops", "sgemm-1024"),
        "sgemm_1024_2t": best_of(rounds, "dae-dist 1x2", "gflops", "sgemm-1024"),
        "sgemm_step_products_1t": best_of(rounds, "dae-dist 1x1", "gflops", "sgemm-step-products"),
        "sgemm_step_products_2t": best_of(rounds, "dae-dist 1x2", "gflops", "sgemm-step-products"),
    }
    for row in rows:
        if row["name"] in SGEMM_OF:
            sgemm_name, threads = SGEMM_OF[row["name"]]
            row["step_over_sgemm_1024"] = paired_ratio(rounds, row["name"], sgemm_name)
            row["step_over_sgemm_step_products"] = paired_ratio(rounds, row["name"], sgemm_name, "sgemm-step-products")
            row["step_over_best_sgemm_1024"] = row["gflops"] / roofline[f"sgemm_1024_{threads}"]
    by_name = {row["name"]: row for row in rows}
    targets = targets_of(by_name)
    print_table(args, rows, roofline, targets)
    result = {"machine": machine(), "batch": args.batch, "latent_dim": args.latent_dim, "rounds": args.rounds,
              "rows": rows, "roofline_gflops": roofline, "targets": targets, "raw": rounds}
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\nwritten to {os.path.relpath(args.output)}")


def gemm_kernel_of(rounds, name):
    """The GEMM kernel a configuration ran, as its own process reported it (every round's)."""
    kernels = set()
    for lines in rounds[name]:
        for line in lines:
            if line.get("what") == "machine":
                machine, gemm = line["machine"], line["machine"]["gemm"]
                kernels.add(f"{gemm['library']} {gemm['version']} {gemm['kernel']} ({gemm['isa']}), C kernels {machine['kernels']}")
            elif line.get("impl") == "pytorch" and "gemm_kernel" in line:
                kernels.add(line["gemm_kernel"])
    return " / ".join(sorted(kernels)) or "unknown"


def flops_per_image(rounds):
    """The step's FLOPs per image, as dae-dist computes them from the layer shapes."""
    for lines in rounds["dae-dist 1x1"]:
        for line in lines:
            if line.get("impl") == "dae-dist" and "what" not in line and line["images_per_sec"] > 0:
                return line["gflops"] * 1e9 / line["images_per_sec"]
    return float("nan")


def targets_of(rows):
    """The performance targets, each with its measured value and whether it is met: dae-dist at
    least 2.5x PyTorch in every configuration, the step at least 0.65 of the paired sgemm-1024
    rate, communication at most 5% of a step at 2 ranks, and peak memory below PyTorch's."""
    ours_1t, ours_2t, ours_mpi = rows["dae-dist 1x1"], rows["dae-dist 1x2"], rows["dae-dist mpi 2x1"]
    torch_1t, torch_2t, torch_ddp = rows["pytorch 1x1"], rows["pytorch 1x2"], rows["pytorch ddp 2x1"]
    rss_ours = max(row["peak_rss_mb"] for name, row in rows.items() if name.startswith("dae-dist"))
    rss_torch = min(row["peak_rss_mb"] for name, row in rows.items() if name.startswith("pytorch"))
    checks = [
        ("1 thread: dae-dist / PyTorch >= 2.5", ours_1t["images_per_sec"] / torch_1t["images_per_sec"], 2.5, True),
        ("2 threads: dae-dist / PyTorch >= 2.5", ours_2t["images_per_sec"] / torch_2t["images_per_sec"], 2.5, True),
        ("2 ranks: dae-dist / PyTorch DDP >= 2.5", ours_mpi["images_per_sec"] / torch_ddp["images_per_sec"], 2.5, True),
        ("1 thread: step GFLOP/s / sgemm-1024 (paired) >= 0.65", ours_1t["step_over_sgemm_1024"], 0.65, True),
        ("2 threads: step GFLOP/s / sgemm-1024 (paired) >= 0.65", ours_2t["step_over_sgemm_1024"], 0.65, True),
        ("2 ranks: step GFLOP/s / sgemm-1024 at 2 threads (paired) >= 0.65", ours_mpi["step_over_sgemm_1024"], 0.65, True),
        ("2 ranks: communication share of a step <= 0.05", ours_mpi["comm_share"], 0.05, False),
        ("peak RSS MB: dae-dist max / PyTorch min <= 1", rss_ours / rss_torch, 1.0, False),
    ]
    return [{"target": name, "value": round(value, 3), "met": (value >= bound) if at_least else (value <= bound)}
            for name, value, bound, at_least in checks]


def print_table(args, rows, roofline, targets):
    cpu = machine()["cpu"]
    print(f"\nTraining step, batch {args.batch}, latent {args.latent_dim}: medians of {args.rounds} interleaved rounds "
          f"(each the median of {args.repeats} x {args.steps} steps) on {cpu}")
    print(f"{'':18} {'images/s':>9} {'GFLOP/s':>8} {'/sgemm':>7} {'/best':>6} {'peak RSS MB':>12} {'CPUs busy':>10} {'comm ms/step':>13} {'comm %':>7}  CPU, GEMM kernel")
    for row in rows:
        comm = "" if row["comm_ms_per_step"] != row["comm_ms_per_step"] or not row["name"].startswith("dae-dist mpi") else \
            f"{row['comm_ms_per_step']:>13.2f} {100 * row['comm_share']:>7.2f}"
        ratios = f"{row['step_over_sgemm_1024']:>7.3f} {row['step_over_best_sgemm_1024']:>6.3f}" if "step_over_sgemm_1024" in row else f"{'':>7} {'':>6}"
        busy = f"{row['cpus_busy']:>10.2f}" if row["cpus_busy"] == row["cpus_busy"] else f"{'':>10}"
        print(f"{row['name']:18} {row['images_per_sec']:>9.1f} {row['gflops']:>8.1f} {ratios} {row['peak_rss_mb']:>12.0f} {busy} {comm:>21}"
              f"  {cpu}, {row['gemm_kernel']}")
    print("/sgemm: median over rounds of the step's rate over sgemm-1024's in the same round (2 ranks: the 2-thread one);"
          " /best: median step over the best sgemm-1024 of all rounds")
    for row in rows:
        if row["name"].startswith("dae-dist mpi") and row["comm_blocking_ms_per_step"] == row["comm_blocking_ms_per_step"]:
            print(f"{row['name']}: of {row['comm_ms_per_step']:.2f} ms/step in collectives, {row['comm_blocking_ms_per_step']:.2f} in blocking ones"
                  " (BatchNorm statistics, the loss: every rank waits for the slowest), the rest in the gradient buckets")
    print(f"cblas_sgemm (best of the rounds) 1024^3: {roofline['sgemm_1024_1t']:.1f} GFLOP/s (1 thread), {roofline['sgemm_1024_2t']:.1f} (2 threads); "
          f"on one step's own products: {roofline['sgemm_step_products_1t']:.1f} (1 thread), {roofline['sgemm_step_products_2t']:.1f} (2 threads)")
    print("targets:")
    for t in targets:
        print(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['value']}")


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
        info = {key.strip(): value.strip() for key, value in info.items()}
        cpu = f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"
    except OSError:
        pass
    import torch
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(), "torch": torch.__version__}


if __name__ == "__main__":
    main()
