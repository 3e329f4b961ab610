"""Reads a run's TensorBoard event files with TensorBoard's own reader and prints what they
hold as one JSON object: {"scalars": {tag: [[step, value], ...]}, "images": {tag: [[step,
width, height], ...]}}. What the tests compare with metrics.jsonl; also a quick look at a
run without starting TensorBoard.

    python3 bench/tensorboard_dump.py runs/<run>        # needs `pip install tensorboard`
"""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tensorboard_dump.py RUN_DIR")
    accumulator = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {tag: [[event.step, event.value] for event in accumulator.Scalars(tag)] for tag in tags["scalars"]}
    images = {tag: [[event.step, event.width, event.height] for event in accumulator.Images(tag)] for tag in tags["images"]}
    print(json.dumps({"scalars": scalars, "images": images}))


if __name__ == "__main__":
    main()
