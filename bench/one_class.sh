#!/usr/bin/env bash
# The one-class MNIST anomaly benchmark with dae-dist's defaults as typed: for each digit k,
# `dae-dist train --digits k --latent-dim 16 --val-size 1000` (nothing else: the default
# epochs, lengthened for a one-digit training set by --min-steps), then `dae-dist anomaly`
# on the whole test set with every --score; prints the ROC AUC per digit and score beside
# the published anchors, and the same for a model trained on every digit but HOLD_OUT.
#   bench/one_class.sh [data-dir]                     # all ten digits, then hold out 7
#   DIGITS="2 5" HOLD_OUT="" bench/one_class.sh       # some digits, no hold-out run
# Published (one-class MNIST, about 6,000 training images a class): a convolutional
# autoencoder scored by reconstruction error (DCAE, Ruff et al. 2018) 0.90 mean ROC AUC,
# Deep SVDD 0.948. mnist-mini has about 800 training images a class.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist-mini}
digits=${DIGITS:-0 1 2 3 4 5 6 7 8 9}
hold_out=${HOLD_OUT-7}
scores=(mse ink correlation)
swift build -c release --product dae-dist >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Trains on the digits $2 into $work/$1 and scores the test set with every --score.
run() {
  local name=$1 list=$2 start=$SECONDS
  .build/release/dae-dist train --data-dir "$data" --digits "$list" --latent-dim 16 --val-size 1000 --log-every 0 \
      --out-dir "$work/$name" > "$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  for score in "${scores[@]}"; do
    .build/release/dae-dist anomaly --checkpoint "$work/$name/checkpoints/best.safetensors" --data-dir "$data" \
        --score "$score" --output-dir "$work/$name-$score" > /dev/null 2>&1
  done
  echo $((SECONDS - start)) > "$work/$name.seconds"
}

auc() { python3 -c "import json, sys; print('%.3f' % json.load(open(sys.argv[1]))['roc_auc'])" "$work/$1-$2/anomaly.json"; }

printf "%-8s" digit; printf " %12s" "${scores[@]}"; printf " %8s %s\n" minutes "training"
for k in $digits; do
  run "digit-$k" "$k"
  printf "%-8s" "$k"; for score in "${scores[@]}"; do printf " %12s" "$(auc "digit-$k" "$score")"; done
  printf " %8.1f %s\n" "$(echo "$(cat "$work/digit-$k.seconds") / 60" | bc -l)" "$(grep -o '^dae-dist: [0-9]* epochs.*steps[^:]*' "$work/digit-$k.log" | head -1)"
done
python3 - "$work" "${scores[@]}" -- $digits <<'EOF'
import json, statistics, sys
work, rest = sys.argv[1], sys.argv[2:]
scores, digits = rest[:rest.index("--")], rest[rest.index("--") + 1:]
if len(digits) > 1:
    for label, pick in (("mean", statistics.mean), ("lowest", min)):
        values = [pick([json.load(open(f"{work}/digit-{k}-{s}/anomaly.json"))["roc_auc"] for k in digits]) for s in scores]
        print("%-8s" % label + "".join(" %12.3f" % v for v in values))
print("published mean ROC AUC (about 6,000 images a class): DCAE 0.90, Deep SVDD 0.948")
EOF
if [ -n "$hold_out" ]; then
  kept=$(python3 -c "print(','.join(str(d) for d in range(10) if d != $hold_out))")
  run "hold-out-$hold_out" "$kept"
  printf "hold out %s:" "$hold_out"; for score in "${scores[@]}"; do printf " %s %s" "$score" "$(auc "hold-out-$hold_out" "$score")"; done; echo
fi
