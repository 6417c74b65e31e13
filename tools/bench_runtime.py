"""Runtime overhead: `load(...).predict` against a bare LiteRT `invoke()` loop on the same model.

Two ratios, medians of one run. Bare and runtime calls take turns one call at a time (the order
rotating each turn), in the same process, so machine noise and the other calls' cache and
thread-pool leftovers hit all of them alike; measured in rounds of ten calls each, the same
ratios swung by up to 1.3 on the shared machine.

1. per-frame overhead on an input already at model size (BGR, 224x224):
   median(predict) / median(bare invoke)   -- target <= 1.05
2. a full 1280x720 BGR frame (cat_720p.jpg) to a result:
   median(predict) / median(bare invoke)   -- target <= 1.5

3. raw SSD post-processing (centre-size decoding, class-aware NMS) for 2,034 anchors and
   90 classes, half the anchors above the score threshold   -- target <= 1 ms

4. `edgevision run` on a 720p video file (tools/bench_video.py): throughput against
   1 / (mean time of the slowest stage), in the same run   -- target >= 0.90

The bare loop runs on an interpreter of its own, opened from the file as a user of LiteRT would;
the same invoke() on the runtime's own interpreter is printed too, to tell runtime overhead from
two interpreters of one model running at different speeds.

    python tools/bench_runtime.py [--model M] [--threads N] [--samples 200]
                                  [--video-frames 150] [--video-repeats 3] [--docs docs/measurements.md]

`--docs FILE` writes the figures into the `runtime` section of docs/measurements.md (and the video
figure into the `video` section).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
sys.path.insert(0, str(ROOT))

from edgevision.runtime import detection, load  # noqa: E402
from edgevision.runtime.backends import default_threads, litert_interpreter_class  # noqa: E402
from tools import bench_video, measurements  # noqa: E402

SECTION = "runtime"


def bare_interpreter(model_path, threads):
    interpreter_class, _ = litert_interpreter_class()
    interp = interpreter_class(model_path=str(model_path), num_threads=threads)
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    interp.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    return interp


def timed(fn, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(REFERENCE / "mobilenet_v2_1.0_224_quant.tflite"))
    parser.add_argument("--frame", default=str(REFERENCE / "cat_720p.jpg"))
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--samples", type=int, default=200, help="calls of each kind, taking turns")
    parser.add_argument("--video-frames", type=int, default=150)
    parser.add_argument("--video-repeats", type=int, default=3, help="0 skips the video figure")
    measurements.add_docs_option(parser)
    args = parser.parse_args(argv)
    measurements.require(args.docs, SECTION, *([bench_video.SECTION] if args.video_repeats else []))
    load_before = measurements.load_average()

    bare = bare_interpreter(args.model, args.threads)
    model = load(args.model, threads=args.threads)
    height, width = model.input_size
    frame_720p = cv2.imread(args.frame)
    frame_small = cv2.resize(frame_720p, (width, height), interpolation=cv2.INTER_LINEAR)
    stages = {"preprocess": [], "inference": [], "postprocess": []}

    def predict_720p():
        for k, v in model.predict(frame_720p).timings_ms.items():
            stages[k].append(v)

    calls = {"bare": bare.invoke, "own": model.backend.interpreter.invoke,
             "small": lambda: model.predict(frame_small), "720p": predict_720p}
    for fn in calls.values():
        timed(fn, 3)  # warm-up
    for warm_up_times in stages.values():
        warm_up_times.clear()
    samples = {k: [] for k in calls}
    names = list(calls)
    for turn in range(args.samples):
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            samples[name] += timed(calls[name], 1)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"backend {model.backend.name}, pixels fed as {model.preprocess.mode}", file=sys.stderr)
    overhead = measurements.table(["path", "median", "vs bare `invoke()`", "target"], [
        ["bare LiteRT `invoke()` (its own interpreter, opened from the file)", f"{med['bare']:.2f} ms", "1.00", ""],
        ["the same `invoke()` on the runtime's interpreter", f"{med['own']:.2f} ms", f"{med['own'] / med['bare']:.3f}", ""],
        [f"`predict` on a {width}x{height} BGR input", f"{med['small']:.2f} ms", f"{med['small'] / med['bare']:.3f}",
         "<= 1.05"],
        [f"`predict` on a {frame_720p.shape[1]}x{frame_720p.shape[0]} BGR frame (`{Path(args.frame).name}`)",
         f"{med['720p']:.2f} ms", f"{med['720p'] / med['bare']:.3f}", "<= 1.5"]])
    prepost = ", ".join(f"{k} {statistics.median(stages[k]):.2f}" for k in ("preprocess", "postprocess"))

    resize = {}
    for name, flag in (("bilinear", cv2.INTER_LINEAR), ("area", cv2.INTER_AREA)):
        resize[name] = statistics.median(timed(lambda f=flag: cv2.resize(frame_720p, (width, height), interpolation=f), 200))
    body = "\n\n".join([
        measurements.heading(measurements.command_line(), load_before, measurements.load_average()),
        f"{Path(args.model).name}, {args.threads} threads, {args.samples} calls of each kind taking turns one call "
        f"at a time.", overhead,
        f"720p pre- and post-processing (median ms): {prepost}.",
        f"Resize {frame_720p.shape[1]}x{frame_720p.shape[0]} -> {width}x{height} (median of 200 calls): "
        f"bilinear {resize['bilinear']:.2f} ms, area {resize['area']:.2f} ms.",
        raw_ssd_postprocess_ms()])
    measurements.publish(args.docs, SECTION, body)

    if args.video_repeats:  # `edgevision run` on a 720p file: stages overlapping (tools/bench_video.py)
        del model, bare  # free the cores' caches and memory for the runs in subprocesses
        load_before = measurements.load_average()
        result = bench_video.video_overlap(args.model, REFERENCE / "imagenet_labels.txt", args.video_frames,
                                           args.video_repeats, args.threads)
        bench_video.publish(args.docs, result, load_before)


def raw_ssd_postprocess_ms(anchors=2034, classes=90, seed=0) -> str:
    """Median time of `detection.from_raw` on a crowded synthetic frame (many overlapping boxes)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1, 0.9, (anchors, 2))
    sizes = rng.uniform(0.05, 0.4, (anchors, 2))
    anchor_boxes = np.concatenate([centres, sizes], axis=1).astype(np.float32)
    encodings = rng.normal(0, 0.5, (1, anchors, 4)).astype(np.float32)
    scores = rng.uniform(0, 0.02, (1, anchors, classes + 1)).astype(np.float32)
    hot = rng.random(anchors) < 0.5
    scores[0, hot, rng.integers(1, classes + 1, hot.sum())] = rng.uniform(0.5, 1.0, hot.sum())
    labels = [str(i) for i in range(classes)]
    transform = model_transform()
    found = []

    def run():
        found[:] = detection.from_raw(encodings, scores, anchor_boxes, labels, transform, threshold=0.5)

    times = timed(run, 5) and timed(run, 200)
    nms_boxes = detection.decode_boxes(encodings[0, hot], anchor_boxes[hot])
    nms_scores = scores[0, hot].max(axis=1)
    nms_classes = scores[0, hot].argmax(axis=1)
    nms_times = timed(lambda: detection.nms(nms_boxes, nms_scores, nms_classes), 200)
    return (f"Raw SSD post-processing, {anchors} anchors x {classes} classes, {hot.sum()} above threshold: "
            f"median {statistics.median(times):.2f} ms (NMS alone {statistics.median(nms_times):.2f} ms, "
            f"{len(found)} kept; target <= 1 ms).")


def model_transform():
    from edgevision.runtime.backends import TensorSpec
    from edgevision.runtime.preprocess import Preprocessor

    prep = Preprocessor(TensorSpec("x", (1, 320, 320, 3), np.dtype(np.float32)))
    return prep(np.zeros((720, 1280, 3), np.uint8))[1]


if __name__ == "__main__":
    main()
