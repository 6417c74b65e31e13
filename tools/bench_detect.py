"""Detection figures for the README (issue 4): run from the repository root.

    python tools/bench_detect.py --minutes 10 --out /tmp/bench_detect

1. numpy decode + NMS time over the anchors of a 320 px SSDLite (2,034 anchors), with the
   runtime's own functions, median of many runs (target <= 1 ms);
2. mAP@.5 and mAP@[.5:.95] on the synthetic:shapes-det test split after at most `--minutes` of
   training (graph building included; data generation before the clock starts) on this machine
   (target mAP@.5 >= 0.9 in 10 minutes on 2 cores).

Prints one JSON document. The CPU load average is reported with it: on a shared machine the
training figure says more about the load than about the model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from edgevision.models.registry import PRETEXT_BACKBONE  # noqa: E402


def decode_nms_ms(runs=300, input_size=(320, 320), num_classes=4, seed=0) -> dict:
    from edgevision.models.ssdlite import anchor_boxes
    from edgevision.runtime.detection import decode_boxes, nms

    anchors = anchor_boxes(input_size)
    rng = np.random.default_rng(seed)
    encodings = rng.normal(0, 1, (len(anchors), 4)).astype(np.float32)
    logits = rng.normal(-6, 2, (len(anchors), num_classes + 1)).astype(np.float32)
    scores_all = 1 / (1 + np.exp(-logits))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fg = scores_all[:, 1:]
        classes = np.argmax(fg, axis=1)
        scores = fg[np.arange(len(classes)), classes]
        keep = np.flatnonzero(scores >= 0.3)
        boxes = decode_boxes(encodings[keep], anchors[keep])
        nms(boxes, scores[keep], classes[keep], 0.5, 100)
        times.append((time.perf_counter() - start) * 1000)
    return {"anchors": len(anchors), "candidates_over_threshold": int(len(keep)),
            "median_ms": round(statistics.median(times), 3), "p90_ms": round(float(np.percentile(times, 90)), 3)}


def train_figure(out, minutes, alpha, input_size, data, batch_size, weights, frozen_epochs, learning_rate) -> dict:
    from edgevision.train.detection import DetectConfig, train_detector

    pretrained = weights.lower() != "none"
    config = DetectConfig(model="ssdlite_mobilenet_v2", data=data, out=str(out), alpha=alpha,
                          input_size=input_size, weights=weights if pretrained else None,
                          epochs=frozen_epochs if pretrained else 1000, fine_tune_epochs=1000 if pretrained else 0,
                          batch_size=batch_size, learning_rate=learning_rate, time_limit=minutes * 60)
    summary = train_detector(config, overwrite=True, log=lambda line: print(line, file=sys.stderr))
    return {"data": data, "weights": weights, "learning_rate": learning_rate, "frozen_epochs": frozen_epochs if pretrained else 0, "alpha": alpha, "input_size": input_size, "batch_size": batch_size,
            "time_limit_minutes": minutes, **{k: summary[k] for k in ("map50", "map50_95", "epochs", "seconds")}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", default="/tmp/bench_detect")
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--data", default="synthetic:shapes-det:1000")
    parser.add_argument("--weights", default=str(PRETEXT_BACKBONE),
                        help="backbone weights: none | imagenet | PATH (default: the project's pretext backbone)")
    parser.add_argument("--frozen-epochs", type=int, default=6,
                        help="with pretrained weights: epochs of heads on the frozen backbone before fine-tuning all")
    parser.add_argument("--learning-rate", type=float, default=3e-3,
                        help="Adam rate of the frozen-backbone epochs; fine-tuning runs at a tenth of it")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = {"load_average": list(os.getloadavg()), "cpus": os.cpu_count(), "decode_nms": decode_nms_ms()}
    if not args.skip_training:
        result["training"] = train_figure(Path(args.out), args.minutes, args.alpha, args.input_size, args.data,
                                          args.batch_size, args.weights, args.frozen_epochs, args.learning_rate)
    result["load_average_after"] = list(os.getloadavg())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
