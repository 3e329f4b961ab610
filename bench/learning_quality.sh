#!/usr/bin/env bash
# Learning quality against the PyTorch reference trainer on the same split and settings:
# mnist-mini, 7,000 train / 1,000 validation, batch 256, lr 1e-3, 20 epochs, latent 2 and 16.
# A single seed says little: how fast this model starts depends mostly on the initial draw of
# the last layer (its mean sets where the sigmoid starts), so the best validation loss is
# averaged over SEEDS (default "0 1 2") for each implementation. With SAME_INIT=1 PyTorch
# starts from dae-dist's initial weights for each seed (`dae-dist init`), which leaves only
# batch order and noise draws to differ. Needs torch. For each latent size it prints the mean
# and standard deviation of each column and, for each comparison, a two-sided permutation
# test of the difference of the means (all 12,870 ways to split 8 + 8 seeds, or 20,000
# random ones beyond that).
# NOISE (gaussian, masking, salt-pepper) and NOISE_FACTOR pick the corruption for both sides
# (default: dae-dist's, gaussian 0.1).
# PRECISION=bf16 trains dae-dist with --precision bf16 and PyTorch with channels_last and bf16
# autocast, and adds a column of dae-dist fp32 on the same seeds: bf16 is compared with both.
#   SEEDS="0 1 2 3 4 5 6 7" LATENTS="16" bench/learning_quality.sh [data-dir]
#   NOISE=masking NOISE_FACTOR=0.25 SEEDS="0 1 2 3 4 5 6 7" LATENTS="16" bench/learning_quality.sh
#   PRECISION=bf16 SEEDS="0 1 2 3 4 5 6 7" LATENTS="16" bench/learning_quality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist-mini}
seeds=${SEEDS:-0 1 2}
precision=${PRECISION:-fp32}
noise=(--noise "${NOISE:-gaussian}" --noise-factor "${NOISE_FACTOR:-0.1}")
case $precision in
  fp32) columns=("dae-dist" "pytorch"); pytorch_flags=() ;;
  bf16) columns=("dae-dist-bf16" "pytorch-cl-bf16" "dae-dist-fp32"); pytorch_flags=(--channels-last --autocast bf16) ;;
  *) echo "PRECISION must be fp32 or bf16 (got $precision)" >&2; exit 2 ;;
esac
swift build -c release --product dae-dist >/dev/null
export OMPI_MCA_mpi_yield_when_idle=1
root_flag=(); [ "$(id -u)" -ne 0 ] || root_flag=(--allow-run-as-root)

# The best validation loss of dae-dist trained with --precision $1 on seed $2, latent $3.
dae_dist() {
  local out; out=$(mktemp -d)
  mpirun -n 2 --oversubscribe "${root_flag[@]}" .build/release/dae-dist train --data-dir "$data" --val-size 1000 --batch-size 256 \
      --epochs 20 --latent-dim "$3" --seed "$2" "${noise[@]}" --precision "$1" --log-every 0 --out-dir "$out" > "$out/console.txt" 2>&1
  python3 -c "import json; print(json.load(open('$out/summary.json'))['best_validation_loss'])"
  rm -rf "$out"
}

printf "%-7s %-6s" latent seed; printf " %16s" "${columns[@]}"; echo
for latent in ${LATENTS:-2 16}; do
  results=()
  for seed in $seeds; do
    row=("$(dae_dist "$precision" "$seed" "$latent")")
    init_args=(); init=$(mktemp -d)
    if [ "${SAME_INIT:-0}" = 1 ]; then
      .build/release/dae-dist init --latent-dim "$latent" --seed "$seed" --output "$init/init.safetensors" >/dev/null
      init_args=(--init "$init/init.safetensors")
    fi
    row+=("$(python3 bench/reference_trainer.py --data-dir "$data" --val-size 1000 --latent-dim "$latent" --seed "$seed" "${noise[@]}" \
               --threads 2 "${pytorch_flags[@]}" "${init_args[@]}" | tail -1 | python3 -c "import json, sys; print(json.load(sys.stdin)['best_validation_loss'])")")
    rm -rf "$init"
    [ "$precision" = fp32 ] || row+=("$(dae_dist fp32 "$seed" "$latent")")
    printf "%-7s %-6s" "$latent" "$seed"; printf " %16.5f" "${row[@]}"; echo
    results+=("$(IFS=,; echo "${row[*]}")")
  done
  python3 - "$latent" "$(IFS=,; echo "${columns[*]}")" "${results[@]}" <<'EOF'
import itertools, random, statistics, sys
latent, names, rows = sys.argv[1], sys.argv[2].split(","), [[float(v) for v in row.split(",")] for row in sys.argv[3:]]
columns = list(zip(*rows))
print("%-7s %-6s" % (latent, "mean") + "".join(" %16.5f" % statistics.mean(c) for c in columns))
print("%-7s %-6s" % (latent, "std") + "".join(" %16.5f" % (statistics.stdev(c) if len(c) > 1 else 0.0) for c in columns))

def permutation_p(o, t):
    """Two-sided permutation test of the difference of the means of o and t."""
    pooled, n, observed = list(o) + list(t), len(o), abs(statistics.mean(o) - statistics.mean(t))
    splits = list(itertools.combinations(range(len(pooled)), n)) if len(pooled) <= 16 else None
    if splits is None:
        rng = random.Random(0)
        splits = [rng.sample(range(len(pooled)), n) for _ in range(20000)]
    extreme = 0
    for chosen in splits:
        chosen = set(chosen)
        a = [pooled[i] for i in chosen]; b = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        extreme += abs(statistics.mean(a) - statistics.mean(b)) >= observed - 1e-12
    return extreme / len(splits), len(splits)

def sign_flip_p(o, t):
    """Two-sided paired test: the mean of the per-seed differences against every way of
    flipping their signs (2^n), for columns that share each seed's initial weights."""
    differences = [a - b for a, b in zip(o, t)]
    observed, extreme, flips = abs(statistics.mean(differences)), 0, list(itertools.product((1, -1), repeat=len(differences)))
    for signs in flips:
        extreme += abs(statistics.mean([s * d for s, d in zip(signs, differences)])) >= observed - 1e-12
    return extreme / len(flips), len(flips)

for other in range(1, len(columns)):
    p, count = permutation_p(columns[0], columns[other])
    ratio = statistics.mean(columns[0]) / statistics.mean(columns[other])
    print("%-7s %s / %s: ratio of means %.3f, permutation test p = %.4f (%d splits)" % (latent, names[0], names[other], ratio, p, count))
    if names[other].startswith("dae-dist") and len(rows) <= 16:  # the same seed, the same initial weights
        p, count = sign_flip_p(columns[0], columns[other])
        print("%-7s %s - %s per seed: paired sign-flip test p = %.4f (%d flips)" % (latent, names[0], names[other], p, count))
EOF
done
