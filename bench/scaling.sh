#!/usr/bin/env bash
# Scaling of `dae-dist train` over ranks on this machine: images/s and the time a step spends
# in collectives (BatchNorm statistics, gradient all-reduces, the loss; waiting for the other
# ranks included), with and without overlapping the gradient all-reduces with backward.
#   bench/scaling.sh [data-dir]      (default ../shared/data/mnist-mini; synthetic when absent)
# Ranks beyond the core count are oversubscribed (and yield when idle); 1 BLAS thread per rank.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product dae-dist >/dev/null
data=${1:-../shared/data/mnist-mini}
if [ -d "$data" ]; then source_args=(--data-dir "$data" --val-size 1000); else source_args=(--dataset synthetic); fi
export OMPI_MCA_mpi_yield_when_idle=1
root_flag=(); [ "$(id -u)" -ne 0 ] || root_flag=(--allow-run-as-root)
steps=40
printf "%-6s %-8s %12s %16s\n" ranks overlap images/s comm_ms
for ranks in 1 2 4; do
  for overlap in --overlap --no-overlap; do
    if ! out=$(mpirun "${root_flag[@]}" -n "$ranks" --oversubscribe --bind-to none .build/release/dae-dist train "${source_args[@]}" \
          --batch-size 256 --max-steps $steps --log-every 10 --threads 1 "$overlap" 2>&1); then
      printf "%s\n%s ranks %s failed (output above)\n" "$out" "$ranks" "$overlap" >&2
      exit 1
    fi
    # the last 3 logged intervals (steps 11-40): the first includes warm-up
    echo "$out" | awk -v r="$ranks" -v o="$overlap" '/^step/ { n++; if (n > 1) { ips += $8; comm += $10; k++ } }
      END { printf "%-6s %-8s %12.1f %16.2f\n", r, (o == "--overlap" ? "on" : "off"), ips / k, comm / k }'
  done
done
