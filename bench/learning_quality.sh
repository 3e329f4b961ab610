#!/usr/bin/env bash
# Learning quality against the PyTorch reference trainer on the same split and settings:
# mnist-mini, 7,000 train / 1,000 validation, batch 256, lr 1e-3, 20 epochs, latent 2 and 16.
# A single seed says little: how fast this model starts depends mostly on the initial draw of
# the last layer (its mean sets where the sigmoid starts), so the best validation loss is
# averaged over SEEDS (default "0 1 2") for each implementation. With SAME_INIT=1 PyTorch
# starts from dae-dist's initial weights for each seed (`dae-dist init`), which leaves only
# batch order and noise draws to differ. Needs torch. For each latent size it prints the mean
# and standard deviation of each side and a two-sided permutation test of the difference of
# the means (all 12,870 ways to split 8 + 8 seeds, or 20,000 random ones beyond that).
# NOISE (gaussian, masking, salt-pepper) and NOISE_FACTOR pick the corruption for both sides
# (default: dae-dist's, gaussian 0.1).
#   SEEDS="0 1 2 3 4 5 6 7" LATENTS="16" bench/learning_quality.sh [data-dir]
#   NOISE=masking NOISE_FACTOR=0.25 SEEDS="0 1 2 3 4 5 6 7" LATENTS="16" bench/learning_quality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist-mini}
seeds=${SEEDS:-0 1 2}
noise=(--noise "${NOISE:-gaussian}" --noise-factor "${NOISE_FACTOR:-0.1}")
swift build -c release --product dae-dist >/dev/null
export OMPI_MCA_mpi_yield_when_idle=1
root_flag=(); [ "$(id -u)" -ne 0 ] || root_flag=(--allow-run-as-root)
printf "%-7s %-6s %12s %12s\n" latent seed dae-dist pytorch
for latent in ${LATENTS:-2 16}; do
  ours_all=(); theirs_all=()
  for seed in $seeds; do
    out=$(mktemp -d)
    mpirun -n 2 --oversubscribe "${root_flag[@]}" .build/release/dae-dist train --data-dir "$data" --val-size 1000 --batch-size 256 \
        --epochs 20 --latent-dim "$latent" --seed "$seed" "${noise[@]}" --log-every 0 --out-dir "$out" > "$out/console.txt" 2>&1
    ours=$(python3 -c "import json; print(json.load(open('$out/summary.json'))['best_validation_loss'])")
    init_args=()
    if [ "${SAME_INIT:-0}" = 1 ]; then
      .build/release/dae-dist init --latent-dim "$latent" --seed "$seed" --output "$out/init.safetensors" >/dev/null
      init_args=(--init "$out/init.safetensors")
    fi
    theirs=$(python3 bench/reference_trainer.py --data-dir "$data" --val-size 1000 --latent-dim "$latent" --seed "$seed" "${noise[@]}" --threads 2 "${init_args[@]}" |
             tail -1 | python3 -c "import json, sys; print(json.load(sys.stdin)['best_validation_loss'])")
    printf "%-7s %-6s %12.5f %12.5f\n" "$latent" "$seed" "$ours" "$theirs"
    ours_all+=("$ours"); theirs_all+=("$theirs")
    rm -rf "$out"
  done
  ours_list=$(IFS=,; echo "${ours_all[*]}"); theirs_list=$(IFS=,; echo "${theirs_all[*]}")
  python3 - "$latent" "$ours_list" "$theirs_list" <<'EOF'
import itertools, random, statistics, sys
latent, o, t = sys.argv[1], [float(v) for v in sys.argv[2].split(",")], [float(v) for v in sys.argv[3].split(",")]
mo, mt = statistics.mean(o), statistics.mean(t)
so, st = (statistics.stdev(x) if len(x) > 1 else 0.0 for x in (o, t))
print("%-7s %-6s %12.5f %12.5f   ratio %.3f" % (latent, "mean", mo, mt, mo / mt))
print("%-7s %-6s %12.5f %12.5f" % (latent, "std", so, st))
pooled, n, observed = o + t, len(o), abs(mo - mt)
splits = list(itertools.combinations(range(len(pooled)), n)) if len(pooled) <= 16 else None
if splits is None:
    rng = random.Random(0)
    splits = [rng.sample(range(len(pooled)), n) for _ in range(20000)]
extreme = 0
for chosen in splits:
    a = [pooled[i] for i in chosen]; b = [pooled[i] for i in range(len(pooled)) if i not in set(chosen)]
    extreme += abs(statistics.mean(a) - statistics.mean(b)) >= observed - 1e-12
print("%-7s permutation test of the means: p = %.4f (%d splits)" % (latent, extreme / len(splits), len(splits)))
EOF
done
