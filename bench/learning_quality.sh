#!/usr/bin/env bash
# Learning quality against the PyTorch reference trainer on the same split and settings:
# mnist-mini, 7,000 train / 1,000 validation, batch 256, lr 1e-3, 20 epochs, latent 2 and 16.
# Prints the best validation loss of each and their ratio. Needs torch (pip install torch).
#   bench/learning_quality.sh [data-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist-mini}
swift build -c release --product dae-dist >/dev/null
export OMPI_MCA_mpi_yield_when_idle=1
printf "%-7s %14s %14s %8s\n" latent dae-dist pytorch ratio
for latent in 2 16; do
  out=$(mktemp -d)
  mpirun -n 2 --oversubscribe .build/release/dae-dist train --data-dir "$data" --val-size 1000 --batch-size 256 \
      --epochs 20 --latent-dim "$latent" --log-every 0 --out-dir "$out" > "$out/console.txt" 2>&1
  ours=$(python3 -c "import json; print(json.load(open('$out/summary.json'))['best_validation_loss'])")
  theirs=$(python3 bench/reference_trainer.py --data-dir "$data" --val-size 1000 --latent-dim "$latent" --threads 2 | tail -1 |
           python3 -c "import json, sys; print(json.load(sys.stdin)['best_validation_loss'])")
  python3 -c "print('%-7s %14.5f %14.5f %8.3f' % ('$latent', $ours, $theirs, $ours / $theirs))"
  rm -rf "$out"
done
