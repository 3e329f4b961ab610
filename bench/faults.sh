#!/usr/bin/env bash
# Fault injection: runs dae-dist against hostile files, flags, servers, disks, signals and
# dying ranks, and checks each outcome (exit status, the message, seconds to exit, peak
# memory). Prints a table; exits 1 if any fault gave another outcome than the expected one.
#   bench/faults.sh                 # uses .build/release/dae-dist (or $DAE_DIST_BINARY)
# Needs python3 (to craft files and misbehaving servers) and mpirun; ../shared/data/mnist-mini
# is used when present. As root, OpenMPI's consent is given here, not in the program.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin=${DAE_DIST_BINARY:-$root/.build/release/dae-dist}
mini="$root/../shared/data/mnist-mini"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(mpirun --oversubscribe --bind-to none)
small=(--dataset synthetic --synthetic-size 1400 --val-size 200 --batch-size 48 --log-every 0)
failures=0
printf '| fault | expected | exit | seconds to exit | peak MB | outcome |\n|---|---|---:|---:|---:|---|\n'

# measure TIMEFILE COMMAND...: runs the command (at most 120 s) and writes "seconds peak-KB" of
# it and its children to TIMEFILE; returns its status.
measure() {
  python3 -c '
import resource, subprocess, sys, time
start = time.time()
status = subprocess.call(["timeout", "120"] + sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write("%.2f %d\n" % (time.time() - start, peak))
sys.exit(status)' "$@"
}

# check NAME EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...: runs it, records time and peak RSS,
# and checks the status and that the output contains the text.
check() {
  local name=$1 want=$2 text=$3; shift 4
  local out="$work/out.$RANDOM"
  measure "$out.time" "$@" > "$out" 2>&1
  local status=$?
  report "$name" "$want" "$text" "$status" "$(cat "$out.time" 2>/dev/null | tail -1)" "$out"
}

# report NAME EXPECTED_STATUS EXPECTED_TEXT STATUS "SECONDS KB" OUTPUT_FILE
report() {
  local name=$1 want=$2 text=$3 status=$4 measured=$5 out=$6
  local seconds=${measured% *} kb=${measured#* }
  local verdict="as expected"
  if [ "$status" != "$want" ] || ! grep -qF -- "$text" "$out"; then
    verdict="UNEXPECTED: $(grep -v '^$' "$out" | grep -v -- '---' | head -2 | tr '\n' ' ' | cut -c1-160)"
    failures=$((failures + 1))
  fi
  printf '| %s | %s, "%s" | %s | %s | %s | %s |\n' "$name" "$want" "$text" "$status" "$seconds" "$((${kb:-0} / 1024))" "$verdict"
}

# A data folder: mnist-mini's training files (or none), the test files as the case makes them.
data_with() {
  local dir="$work/data.$RANDOM"; mkdir -p "$dir"
  if [ -d "$mini" ]; then cp "$mini"/train-* "$dir"/; fi
  echo "$dir"
}
"$bin" init --output "$work/init.safetensors" > /dev/null
echo ok > "$work/ok"  # the output of checks made here, not by a command

# --- files ---
dir=$(data_with); python3 - "$dir" <<'EOF'
import struct, sys
open(sys.argv[1] + "/t10k-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 2051, 4_000_000_000, 28, 28) + bytes(784 * 10))
open(sys.argv[1] + "/t10k-labels-idx1-ubyte", "wb").write(struct.pack(">II", 2049, 4_000_000_000) + bytes(10))
EOF
check "image header claims 4e9 images (file holds 10)" 1 "truncated" -- "$bin" evaluate --checkpoint "$work/init.safetensors" --data-dir "$dir"

dir=$(data_with); python3 - "$dir" <<'EOF'
import gzip, struct, sys, zlib
# A valid header for 10 images, then 256 MB of zeros: a gzip bomb of about 250 KB.
compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
with open(sys.argv[1] + "/t10k-images-idx3-ubyte.gz", "wb") as f:
    f.write(compressor.compress(struct.pack(">IIII", 2051, 10, 28, 28)))
    block = bytes(1 << 20)
    for _ in range(256): f.write(compressor.compress(block))
    f.write(compressor.flush())
open(sys.argv[1] + "/t10k-labels-idx1-ubyte", "wb").write(struct.pack(">II", 2049, 10) + bytes(10))
EOF
check "gzip bomb (header says 10 images, inflates to 256 MB)" 1 "longer than its header says" -- "$bin" evaluate --checkpoint "$work/init.safetensors" --data-dir "$dir"

dir=$(data_with); python3 - "$dir" <<'EOF'
import struct, sys
open(sys.argv[1] + "/t10k-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 2051, 0, 28, 28))
open(sys.argv[1] + "/t10k-labels-idx1-ubyte", "wb").write(struct.pack(">II", 2049, 0))
EOF
check "empty test set" 1 "holds no images" -- "$bin" evaluate --checkpoint "$work/init.safetensors" --data-dir "$dir"
check "evaluate --limit 0" 64 "--limit must be at least 1" -- "$bin" evaluate --checkpoint "$work/init.safetensors" --dataset synthetic --limit 0

# --- what the program reads: regular files only (FIFOs, devices, folders, link loops named as such) ---
mkfifo "$work/fifo.safetensors"; ln -s "$work/loop.b" "$work/loop.a"; ln -s "$work/loop.a" "$work/loop.b"
check "a FIFO as --checkpoint" 1 "named pipe (FIFO)" -- "$bin" evaluate --checkpoint "$work/fifo.safetensors" --dataset synthetic
check "a folder as --checkpoint" 1 "is a folder, not a file" -- "$bin" evaluate --checkpoint "$work" --dataset synthetic
check "a symbolic link loop as --checkpoint" 1 "symbolic links form a loop" -- "$bin" evaluate --checkpoint "$work/loop.a" --dataset synthetic
check "/dev/zero as --config" 64 "is a device, not a file" -- "$bin" train --config /dev/zero
if [ -d "$mini" ]; then
  dir="$work/data.fifo"; mkdir -p "$dir"; cp "$mini"/train-labels* "$mini"/t10k-* "$dir"/; mkfifo "$dir/train-images-idx3-ubyte"
  check "a FIFO as the training images" 1 "named pipe (FIFO)" -- "$bin" train --data-dir "$dir" --no-download --val-size 1000 --max-steps 1 --out-dir "$work/run.fifo"
  # gzip as gzip is: every member of a multi-member file, nothing after the last
  dir="$work/data.members"; mkdir -p "$dir"; cp "$mini"/train-labels* "$mini"/t10k-* "$dir"/
  zcat "$mini/train-images-idx3-ubyte.gz" > "$work/raw"
  head -c 1000000 "$work/raw" | gzip > "$dir/train-images-idx3-ubyte.gz"; tail -c +1000001 "$work/raw" | gzip >> "$dir/train-images-idx3-ubyte.gz"
  check "training images as a 2-member gzip (cat a.gz b.gz)" 0 "writing to" -- "$bin" train --data-dir "$dir" --no-download --val-size 1000 --max-steps 1 --out-dir "$work/run.members"
  echo garbage >> "$dir/train-images-idx3-ubyte.gz"
  check "bytes after the gzip data of the training images" 1 "not another gzip member" -- "$bin" train --data-dir "$dir" --no-download --val-size 1000 --max-steps 1 --out-dir "$work/run.garbage"
fi

# --- what the program writes: through links to their targets, never over a device or a FIFO ---
echo old > "$work/target.json"; ln -s "$work/target.json" "$work/link.json"
check "evaluate --output through a symbolic link" 0 '"checkpoint"' -- "$bin" evaluate --checkpoint "$work/init.safetensors" --dataset synthetic --limit 50 --output "$work/link.json"
if [ -L "$work/link.json" ] && grep -q '"checkpoint"' "$work/target.json"; then verdict=0; else verdict=1; fi
report "... the link stays a link, its target holds the JSON" 0 "ok" "$verdict" "0 0" "$work/ok"
check "evaluate --output /dev/null" 1 "is a device, not a file" -- "$bin" evaluate --checkpoint "$work/init.safetensors" --dataset synthetic --limit 50 --output /dev/null
run="$work/run.locklink"; mkdir -p "$run"; echo keep > "$work/precious"; ln -s "$work/precious" "$run/.lock"
check ".lock a symbolic link to another file" 1 "is a symbolic link" -- "$bin" train "${small[@]}" --max-steps 1 --out-dir "$run"
if [ "$(cat "$work/precious")" = keep ]; then verdict=0; else verdict=1; fi
report "... the link's target is untouched" 0 "ok" "$verdict" "0 0" "$work/ok"

# --- a run folder has one owner ---
run="$work/run.owned"; "$bin" train "${small[@]}" --max-steps 3 --out-dir "$run" > /dev/null 2>&1
check "a fresh run into a finished run's --out-dir" 1 "holds another run" -- "$bin" train "${small[@]}" --max-steps 3 --out-dir "$run"
check "train --config <run>/config.json (replayed into a new folder)" 0 "writing to runs/" -- env -C "$work" "$bin" train --config "$run/config.json" --max-steps 1
check "... and --overwrite replaces it" 0 "writing to $run" -- "$bin" train "${small[@]}" --max-steps 3 --out-dir "$run" --overwrite

# --- non-finite values ---
python3 - "$work/init.safetensors" "$work/nan.safetensors" "$work/huge.safetensors" <<'PYTHON'
import json, struct, sys
raw = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n]); body = bytearray(raw[8 + n:])
start, end = header["encoder.encoder.10.weight"]["data_offsets"]
nan = bytearray(body); nan[start:start + 4] = struct.pack("<f", float("nan"))
open(sys.argv[2], "wb").write(raw[:8 + n] + bytes(nan))
huge = bytearray(body); huge[start:end] = struct.pack("<f", 1e30) * ((end - start) // 4)
open(sys.argv[3], "wb").write(raw[:8 + n] + bytes(huge))
PYTHON
check "evaluate a checkpoint with a NaN weight" 1 "not finite numbers" -- "$bin" evaluate --checkpoint "$work/nan.safetensors" --dataset synthetic
check "encode with latent codes near 1e30 (scatter)" 0 "" -- "$bin" encode --checkpoint "$work/huge.safetensors" --dataset synthetic --limit 200 --output "$work/codes.csv"

# --- flags ---
check "--latent-dim 1000000000" 64 "--latent-dim must be between 1 and 4096" -- "$bin" train "${small[@]}" --latent-dim 1000000000
check "--synthetic-size 4000000000" 64 "--synthetic-size must be between 1 and 1000000" -- "$bin" train --dataset synthetic --synthetic-size 4000000000
check "--batch-size below --shards" 64 "--shards (24)" -- "$bin" train "${small[@]}" --batch-size 10
check "bench --batch-sizes 99999999" 64 "images per rank fit" -- "$bin" bench --batch-sizes 99999999
check "download --timeout inf" 64 "at most 86400" -- "$bin" download --timeout inf --data-dir "$work/dl.inf"
check "--collective-timeout 1e300" 64 "at most 86400" -- "$bin" train "${small[@]}" --collective-timeout 1e300
check "--out-dir ''" 64 "--out-dir must name a folder" -- "$bin" train "${small[@]}" --out-dir ""
check "download --mirror file:///tmp" 64 "must be an http:// or https:// URL" -- "$bin" download --mirror file:///tmp --data-dir "$work/dl.file"
echo '{"": 1}' > "$work/empty-key.json"
check "--config with the key \"\"" 64 "is not a flag name" -- "$bin" train --config "$work/empty-key.json"
printf '\xff\xd8\xff\xe0JFIF' > "$work/photo.png"; head -c 9 "$root/docs/manifold.png" > "$work/cut.png"
check "denoise a JPEG named .png" 1 "is a JPEG image" -- "$bin" denoise --checkpoint "$work/init.safetensors" --input "$work/photo.png" --output "$work/o.png"
check "denoise a PNG cut to 9 bytes" 1 "no IHDR chunk" -- "$bin" denoise --checkpoint "$work/init.safetensors" --input "$work/cut.png" --output "$work/o.png"

# --- checkpoints ---
run="$work/run.resume"; "$bin" train "${small[@]}" --max-steps 3 --out-dir "$run" > /dev/null 2>&1
python3 - "$run/checkpoints/last.safetensors" "$work/huge-epoch.safetensors" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n]); header["__metadata__"]["epoch"] = str(2**63 - 1)
text = json.dumps(header).encode(); text += b" " * (-len(text) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
EOF
check "resume state with epoch 2^63-1" 1 "cannot resume" -- "$bin" train "${small[@]}" --resume "$work/huge-epoch.safetensors" --out-dir "$work/run.huge"
head -c 1000 "$run/checkpoints/last.safetensors" > "$work/cut.safetensors"
check "resume state cut to 1000 bytes" 1 "not a valid safetensors file" -- "$bin" train "${small[@]}" --resume "$work/cut.safetensors" --out-dir "$work/run.cut"

# --- disks ---
run="$work/run.full"; mkdir -p "$run"; ln -s /dev/full "$run/metrics.jsonl"
check "metrics.jsonl on a full disk" 1 "No space left on device" -- "$bin" train "${small[@]}" --max-steps 2 --out-dir "$run"
run="$work/run.blocked"; mkdir -p "$run/samples/epoch-001.png/x"
check "picture path blocked mid-run (state saved first)" 1 "the training state after step 25 is saved" -- "$bin" train "${small[@]}" --epochs 2 --out-dir "$run"

# --- a run directory in use ---
run="$work/run.twice"; "$bin" train "${small[@]}" --epochs 50 --out-dir "$run" > /dev/null 2>&1 & first=$!
while [ ! -f "$run/config.json" ]; do sleep 0.1; done
check "second run into a busy --out-dir" 1 "another training is running into this folder" -- "$bin" train "${small[@]}" --out-dir "$run"
kill -KILL $first 2>/dev/null; wait $first 2>/dev/null

# --- the network ---
# mirror MODE: a loopback HTTP server, a background job of this script (killed at its exit),
# that drips its body (1 byte per 0.5 s) or sends one without end; its base URL is then in
# $work/url.MODE.
mirror() {
  python3 - "$1" > "$work/port.$1" 2>/dev/null <<'EOF' &
import socket, sys, time
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0)); server.listen(8); print(server.getsockname()[1], flush=True)
deadline = time.time() + 100
while time.time() < deadline:
    connection, _ = server.accept(); connection.recv(65536)
    try:
        if sys.argv[1] == "drip":
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4542\r\n\r\n")
            for _ in range(200): connection.sendall(b"x"); time.sleep(0.5)
        else:
            connection.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            while time.time() < deadline: connection.sendall(bytes(1 << 16))
    except OSError: pass
    connection.close()
EOF
  while [ ! -s "$work/port.$1" ]; do sleep 0.1; done
  echo "http://127.0.0.1:$(cat "$work/port.$1")/" > "$work/url.$1"
}
mirror drip; mirror endless
check "download mirror drips 1 byte / 0.5 s, --timeout 2" 1 "timed out after 2 s" -- "$bin" download --mirror "$(cat "$work/url.drip")" --timeout 2 --data-dir "$work/dl.drip"
check "download mirror sends without end" 1 "more than the 9912422 bytes" -- "$bin" download --mirror "$(cat "$work/url.endless")" --timeout 30 --data-dir "$work/dl.endless"
check "download mirror that does not answer" 1 "could not download" -- "$bin" download --mirror "http://127.0.0.1:9/" --timeout 2 --data-dir "$work/dl.dead"

# --- dying and stuck ranks ---
ranks_of() {  # the dae-dist processes whose command line names $1
  for proc in /proc/[0-9]*; do
    [ "$(cat "$proc/comm" 2>/dev/null)" = dae-dist ] && tr '\0' ' ' < "$proc/cmdline" 2>/dev/null | grep -q -- "$1" && echo "${proc#/proc/}"
  done
}
signal_rank() {  # signal_rank SIGNAL OUT_DIR: at the run's first checkpoint, signals its last rank; notes when
  while [ ! -f "$2/checkpoints/last.safetensors" ]; do sleep 0.1; done
  date +%s.%N > "$2.signalled"
  kill "-$1" "$(ranks_of "$2" | tail -1)"
}
# since FILE: seconds from the time in FILE to now, and a peak of 0 (not measured here).
since() { awk -v now="$(date +%s.%N)" -v then="$(cat "$1")" 'BEGIN { printf "%.2f 0", now - then }'; }
for fault in "KILL 137 exited on signal 9" "STOP 3 no progress for 3 s"; do
  read -r sig want text <<< "$fault"
  run="$work/run.$sig"; out="$work/out.$sig"
  ( signal_rank "$sig" "$run" ) & signaller=$!
  timeout 120 "${mpirun[@]}" -n 2 "$bin" train "${small[@]}" --epochs 50 --checkpoint-every 5 --collective-timeout 3 --out-dir "$run" > "$out" 2>&1
  status=$?; wait $signaller
  report "a rank SIG$sig-ed mid-run, --collective-timeout 3" "$want" "$text" $status "$(since "$run.signalled")" "$out"
  for pid in $(ranks_of "$run"); do kill -KILL "$pid" 2>/dev/null; done
done

run="$work/run.term"; out="$work/out.term"
NP=2 "$root/launch/train" "${small[@]}" --epochs 50 --checkpoint-every 5 --out-dir "$run" > "$out" 2>&1 & launcher=$!
while [ ! -f "$run/checkpoints/last.safetensors" ]; do sleep 0.1; done
date +%s.%N > "$run.signalled"; kill -TERM $launcher; wait $launcher; status=$?
report "SIGTERM to launch/train" 130 "stopped by SIGTERM" $status "$(since "$run.signalled")" "$out"

run="$work/run.term2"; out="$work/out.term2"
NP=2 "$root/launch/train" "${small[@]}" --epochs 50 --checkpoint-every 5 --out-dir "$run" > "$out" 2>&1 & launcher=$!
while [ ! -f "$run/checkpoints/last.safetensors" ]; do sleep 0.1; done
date +%s.%N > "$run.signalled"; kill -TERM $launcher; sleep 0.05; kill -TERM $launcher; wait $launcher; status=$?
report "two SIGTERMs 50 ms apart to launch/train (the state is still saved)" 130 "stopped by SIGTERM" $status "$(since "$run.signalled")" "$out"

# --- ranks that disagree on their inputs ---
if [ -d "$mini" ]; then
  dir="$work/data.other"; mkdir -p "$dir"; cp "$mini"/* "$dir"/
  python3 - "$dir/train-images-idx3-ubyte.gz" <<'PYTHON'
import gzip, sys
data = bytearray(gzip.open(sys.argv[1]).read()); data[5000] ^= 0xFF
gzip.open(sys.argv[1], "wb").write(bytes(data))
PYTHON
  check "2 ranks on different copies of the training data (MPMD)" 1 "do not start from the same inputs" -- "${mpirun[@]}" \
    -n 1 "$bin" train --data-dir "$mini" --no-download --val-size 1000 --max-steps 1 --out-dir "$work/run.mpmd" : \
    -n 1 "$bin" train --data-dir "$dir" --no-download --val-size 1000 --max-steps 1 --out-dir "$work/run.mpmd"
fi

check "validation 10000 images, --collective-timeout 2, 2 ranks" 0 "ranks agree" -- "${mpirun[@]}" -n 2 "$bin" train --dataset synthetic --synthetic-size 12000 --val-size 10000 --batch-size 48 --epochs 1 --log-every 0 --collective-timeout 2 --out-dir "$work/run.val"

echo
if [ "$failures" -gt 0 ]; then echo "faults.sh: $failures unexpected outcome(s)"; exit 1; fi
echo "faults.sh: every fault gave the expected outcome"
