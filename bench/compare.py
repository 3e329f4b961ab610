"""dae-dist against the best PyTorch a user would pick, on this machine: one command, one
table, one JSON file.

    python3 bench/compare.py                      # batch 256, 3 interleaved rounds
    python3 bench/compare.py --batch 64 --rounds 5 --output bench/results.json
    python3 bench/compare.py --pytorch eager channels_last   # fewer PyTorch configurations

Each round runs every configuration once, one after the other (so a slow minute of the
machine hits all of them alike), each as its own process reporting the median of
--repeats x --steps steps after warm-up; the table shows the median over rounds. Every
configuration runs at three layouts: 1 process x 1 thread (1x1), 1 process x 2 threads
(1x2), and 2 processes x 1 thread (2x1):

  dae-dist   --precision fp32, and bf16 where the CPU has AVX-512 BF16; 2x1 is mpirun -n 2
             (BatchNorm synchronised across ranks, as training does by default)
  PyTorch    eager (the plain script), channels_last, torch.compile, and channels_last with
             bf16 autocast (`bench/pytorch_step.py`'s flags); 2x1 is DDP over gloo (its
             BatchNorm stays per process: SyncBatchNorm is GPU-only)

Each dae-dist row is divided by the fastest PyTorch row of its precision and layout, and by
the fastest PyTorch row of its layout in any precision: the configuration a user who wants
speed would pick, not the plain one.

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


def json_lines(command, env, required=True):
    """The JSON lines a measurement prints; one retry (gloo can abort a DDP run at exit). A
    PyTorch configuration that fails twice (torch.compile without a compiler, say) is left out
    of the table with a warning; a dae-dist one ends the comparison."""
    for attempt in (1, 2):
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode == 0:
            return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        print(f"warning: {' '.join(command)} failed (attempt {attempt}):\n{result.stderr[-2000:]}", file=sys.stderr)
    if not required:
        return []
    sys.exit(f"benchmark failed twice ({' '.join(command)}):\n{result.stdout}{result.stderr}")


# The layouts every configuration runs at: name, threads per process, processes.
LAYOUTS = [("1x1", 1, 1), ("1x2", 2, 1), ("2x1", 1, 2)]

# PyTorch's configurations: name, bench/pytorch_step.py flags, precision.
PYTORCH = {
    "eager": ([], "fp32"),
    "channels_last": (["--channels-last"], "fp32"),
    "compile": (["--compile"], "fp32"),
    "channels_last+bf16": (["--channels-last", "--autocast", "bf16"], "bf16"),
}


def cpu_has_bf16():
    """AVX-512 BF16, which dae-dist's --precision bf16 needs (it refuses without)."""
    try:
        with open("/proc/cpuinfo") as f:
            return "avx512_bf16" in f.read().split("\n\n")[0]
    except OSError:
        return False


def configurations(args):
    """(name, command, environment, precision, layout) of every measurement in a round."""
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
    configs = []
    for precision in ["fp32", "bf16"] if cpu_has_bf16() else ["fp32"]:
        # sgemm's roofline from the fp32 processes only (bf16's would time the same sgemm again).
        flags = ours + ["--precision", precision] + ([] if precision == "fp32" else ["--no-sgemm"])
        configs += [
            (f"dae-dist {precision} 1x1", flags + ["--threads", "1"], base, precision, "1x1"),
            (f"dae-dist {precision} 1x2", flags + ["--threads", "2"], base, precision, "1x2"),
            (f"dae-dist {precision} 2x1", mpirun(2) + flags + ["--threads", "1", "--no-sgemm"], base, precision, "2x1"),
        ]
    for name in args.pytorch:
        flags, precision = PYTORCH[name]
        configs += [
            (f"pytorch {name} 1x1", theirs + flags + ["--threads", "1"], base, precision, "1x1"),
            (f"pytorch {name} 1x2", theirs + flags + ["--threads", "2"], base, precision, "1x2"),
            (f"pytorch {name} 2x1", theirs + flags + ["--threads", "1", "--ddp", "2"], single, precision, "2x1"),
        ]
    return configs


def values_of(rounds, name, key, what=None):
    return [line[key] for lines in rounds[name] for line in lines if line.get("what") == what and key in line]


def median_of(rounds, name, key, what=None):
    values = values_of(rounds, name, key, what)
    return statistics.median(values) if values else float("nan")


# The process whose sgemm rates each dae-dist configuration is held to (2 ranks: the 2-thread
# one, run just before it in every round), and that rate's thread count.
SGEMM_OF = {"dae-dist fp32 1x1": ("dae-dist fp32 1x1", "1t"), "dae-dist fp32 1x2": ("dae-dist fp32 1x2", "2t"),
            "dae-dist fp32 2x1": ("dae-dist fp32 1x2", "2t")}


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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pytorch", nargs="+", choices=list(PYTORCH), default=list(PYTORCH),
                        help="PyTorch configurations to run (default: all)")
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
    rounds = {name: [] for name, *_ in configs}
    for r in range(args.rounds):
        for name, command, env, _, _ in configs:
            print(f"round {r + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
            rounds[name].append(json_lines(command, env, required=name.startswith("dae-dist")))

    rows = []
    for name, _, _, precision, layout in configs:
        rate = median_of(rounds, name, "images_per_sec")
        rows.append({"name": name, "precision": precision, "layout": layout, "images_per_sec": rate, "gflops": rate * flops_per_image(rounds) / 1e9,
                     "peak_rss_mb": median_of(rounds, name, "peak_rss_mb"),
                     "comm_ms_per_step": median_of(rounds, name, "comm_ms_per_step"),
                     "comm_blocking_ms_per_step": median_of(rounds, name, "comm_blocking_ms_per_step"),
                     "comm_share": median_of(rounds, name, "comm_share"),
                     "cpus_busy": median_of(rounds, name, "cpus_busy"), "gemm_kernel": gemm_kernel_of(rounds, name)})
    roofline = {
        "sgemm_1024_1t": best_of(rounds, "dae-dist fp32 1x1", "gflops", "sgemm-1024"),
        "sgemm_1024_2t": best_of(rounds, "dae-dist fp32 1x2", "gflops", "sgemm-1024"),
        "sgemm_step_products_1t": best_of(rounds, "dae-dist fp32 1x1", "gflops", "sgemm-step-products"),
        "sgemm_step_products_2t": best_of(rounds, "dae-dist fp32 1x2", "gflops", "sgemm-step-products"),
    }
    add_pytorch_ratios(rows)
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


def add_pytorch_ratios(rows):
    """Each dae-dist row over the fastest PyTorch row of its layout and precision
    (`over_pytorch_same_precision`, naming it) and of its layout in any precision
    (`over_pytorch_fastest`)."""
    def fastest(layout, precision=None):
        candidates = [row for row in rows if row["name"].startswith("pytorch") and row["layout"] == layout
                      and (precision is None or row["precision"] == precision) and row["images_per_sec"] == row["images_per_sec"]]
        return max(candidates, key=lambda row: row["images_per_sec"], default=None)
    for row in rows:
        if not row["name"].startswith("dae-dist"):
            continue
        for key, best in (("same_precision", fastest(row["layout"], row["precision"])), ("fastest", fastest(row["layout"]))):
            row[f"over_pytorch_{key}"] = row["images_per_sec"] / best["images_per_sec"] if best else float("nan")
            row[f"pytorch_{key}"] = best["name"] if best else None


def gemm_kernel_of(rounds, name):
    """The GEMM kernel a configuration ran, as its own process reported it (every round's)."""
    kernels = set()
    for lines in rounds[name]:
        for line in lines:
            if line.get("what") == "machine":
                machine, gemm = line["machine"], line["machine"]["gemm"]
                products = "" if machine.get("precision", "fp32") == "fp32" else f"products {machine['products']}, "
                kernels.add(f"{products}{gemm['library']} {gemm['version']} {gemm['kernel']} ({gemm['isa']}), C kernels {machine['kernels']}")
            elif line.get("impl") == "pytorch" and "gemm_kernel" in line:
                kernels.add(line["gemm_kernel"])
    return " / ".join(sorted(kernels)) or "unknown"


def flops_per_image(rounds):
    """The step's FLOPs per image, as dae-dist computes them from the layer shapes."""
    for lines in rounds["dae-dist fp32 1x1"]:
        for line in lines:
            if line.get("impl") == "dae-dist" and "what" not in line and line["images_per_sec"] > 0:
                return line["gflops"] * 1e9 / line["images_per_sec"]
    return float("nan")


def targets_of(rows):
    """The performance targets, each with its measured value and whether it is met, at every
    layout: dae-dist bf16 at least 1.5x the fastest PyTorch of any precision (where the CPU
    runs bf16), dae-dist fp32 at least 2x PyTorch channels_last fp32; then the fp32 step at
    least 0.65 of the paired sgemm-1024 rate, communication at most 5% of a step at 2 ranks,
    bf16's peak memory no higher than fp32's, and dae-dist's below PyTorch's."""
    checks = []
    for layout, _, _ in LAYOUTS:
        bf16 = rows.get(f"dae-dist bf16 {layout}")
        if bf16:
            checks.append((f"{layout}: dae-dist bf16 / fastest PyTorch ({bf16['pytorch_fastest']}) >= 1.5",
                           bf16["over_pytorch_fastest"], 1.5, True))
        channels_last = rows.get(f"pytorch channels_last {layout}")
        if channels_last and channels_last["images_per_sec"] == channels_last["images_per_sec"]:
            checks.append((f"{layout}: dae-dist fp32 / PyTorch channels_last fp32 >= 2",
                           rows[f"dae-dist fp32 {layout}"]["images_per_sec"] / channels_last["images_per_sec"], 2.0, True))
    for layout in ("1x1", "1x2", "2x1"):
        checks.append((f"{layout}: fp32 step GFLOP/s / sgemm-1024 (paired) >= 0.65", rows[f"dae-dist fp32 {layout}"]["step_over_sgemm_1024"], 0.65, True))
    checks.append(("2x1: communication share of a step <= 0.05", rows["dae-dist fp32 2x1"]["comm_share"], 0.05, False))
    if "dae-dist bf16 1x1" in rows:
        peak = {p: max(row["peak_rss_mb"] for name, row in rows.items() if name.startswith(f"dae-dist {p}")) for p in ("fp32", "bf16")}
        checks.append(("peak RSS MB: dae-dist bf16 max / fp32 max <= 1", peak["bf16"] / peak["fp32"], 1.0, False))
    rss_ours = max(row["peak_rss_mb"] for name, row in rows.items() if name.startswith("dae-dist"))
    torch_rss = [row["peak_rss_mb"] for name, row in rows.items() if name.startswith("pytorch") and row["peak_rss_mb"] == row["peak_rss_mb"]]
    if torch_rss:
        checks.append(("peak RSS MB: dae-dist max / PyTorch min <= 1", rss_ours / min(torch_rss), 1.0, False))
    return [{"target": name, "value": round(value, 3), "met": (value >= bound) if at_least else (value <= bound)}
            for name, value, bound, at_least in checks]


def print_table(args, rows, roofline, targets):
    cpu = machine()["cpu"]
    print(f"\nTraining step, batch {args.batch}, latent {args.latent_dim}: medians of {args.rounds} interleaved rounds "
          f"(each the median of {args.repeats} x {args.steps} steps) on {cpu}")
    print(f"{'':32} {'images/s':>9} {'GFLOP/s':>8} {'/PT same':>9} {'/PT best':>9} {'/sgemm':>7} {'/best':>6} {'peak RSS MB':>12} {'CPUs busy':>10} {'comm ms/step':>13} {'comm %':>7}  CPU, GEMM kernel")
    for row in rows:
        against = f"{row['over_pytorch_same_precision']:>9.2f} {row['over_pytorch_fastest']:>9.2f}" if "over_pytorch_fastest" in row else f"{'':>9} {'':>9}"
        comm = "" if row["comm_ms_per_step"] != row["comm_ms_per_step"] or not row["name"].endswith("2x1") else \
            f"{row['comm_ms_per_step']:>13.2f} {100 * row['comm_share']:>7.2f}"
        ratios = f"{row['step_over_sgemm_1024']:>7.3f} {row['step_over_best_sgemm_1024']:>6.3f}" if "step_over_sgemm_1024" in row else f"{'':>7} {'':>6}"
        busy = f"{row['cpus_busy']:>10.2f}" if row["cpus_busy"] == row["cpus_busy"] else f"{'':>10}"
        print(f"{row['name']:32} {row['images_per_sec']:>9.1f} {row['gflops']:>8.1f} {against} {ratios} {row['peak_rss_mb']:>12.0f} {busy} {comm:>21}"
              f"  {cpu}, {row['gemm_kernel']}")
    print("/PT same: over the fastest PyTorch row of the same precision and layout; /PT best: over the fastest PyTorch row"
          " of the same layout in any precision")
    print("/sgemm: median over rounds of the step's rate over sgemm-1024's in the same round (2 ranks: the 2-thread one);"
          " /best: median step over the best sgemm-1024 of all rounds")
    for row in rows:
        if row["name"].startswith("dae-dist") and row["name"].endswith("2x1") and row["comm_blocking_ms_per_step"] == row["comm_blocking_ms_per_step"]:
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
