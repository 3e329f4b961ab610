#!/usr/bin/env python3
"""Whether two dae-dist runs computed the same thing: their metrics.jsonl lines (timings,
paths and the machine left out), the tensors and metadata of best/last.safetensors, and the
sample pictures, each reported identical or not. For refactors that must keep behaviour bit
for bit. Standard library only.

    python3 bench/compare_runs.py RUN_DIR_A RUN_DIR_B
"""
import json
import os
import struct
import sys

TIMINGS = {"Training speed (epochs/sec)", "time", "elapsed_sec", "images_per_sec", "comm_ms_per_step", "machine", "versions", "out_dir"}


def metrics(run):
    lines = []
    for line in open(os.path.join(run, "metrics.jsonl")):
        record = json.loads(line)
        for key in TIMINGS:
            record.pop(key, None)
        record.get("config", {}).pop("out_dir", None)
        if "path" in record:
            record["path"] = os.path.basename(record["path"])
        lines.append(record)
    return lines


def safetensors(path):
    raw = open(path, "rb").read()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    body = raw[8 + size:]
    metadata = header.pop("__metadata__", {})
    if "config" in metadata:
        config = json.loads(metadata["config"])
        config.pop("out_dir", None)
        metadata["config"] = config
    return {name: body[entry["data_offsets"][0]:entry["data_offsets"][1]] for name, entry in header.items()}, metadata


def main(a, b):
    same = True
    ma, mb = metrics(a), metrics(b)
    print("metrics.jsonl:", len(ma), "and", len(mb), "lines,", "identical" if ma == mb else "DIFFERENT")
    same &= ma == mb
    for x, y in zip(ma, mb):
        if x != y:
            print("  first difference:\n   ", x, "\n   ", y)
            break
    for name in ("best", "last"):
        path = os.path.join("checkpoints", name + ".safetensors")
        if not os.path.exists(os.path.join(a, path)):
            continue
        (ta, meta_a), (tb, meta_b) = safetensors(os.path.join(a, path)), safetensors(os.path.join(b, path))
        changed = sorted(k for k in set(meta_a) | set(meta_b) if meta_a.get(k) != meta_b.get(k))
        print(path + ":", len(ta), "tensors", "identical" if ta == tb else "DIFFERENT", "| metadata",
              "identical" if not changed else "differs in " + ", ".join(changed))
        same &= ta == tb
    samples = os.path.join(a, "samples")
    for name in sorted(os.listdir(samples)) if os.path.isdir(samples) else []:
        equal = open(os.path.join(samples, name), "rb").read() == open(os.path.join(b, "samples", name), "rb").read()
        print("samples/" + name + ":", "identical" if equal else "DIFFERENT")
        same &= equal
    return 0 if same else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
