"""Does `edgevision run` overlap its stages? Throughput on a 720p video file against 1 / (slowest stage).

Builds a 1280x720 clip panning over the reference cat photo, runs
`edgevision run --source clip.mp4 --save out.mp4 --json` on it a few times and, per run, compares
the measured throughput (frames / wall time) with 1 / (mean time of the slowest stage) taken from
the same run's metrics. Stages that add up instead of overlapping give a ratio far below 1.
Target: median ratio >= 0.90.

    python tools/bench_video.py [--model M] [--frames 150] [--repeats 3] [--threads N] [--docs docs/measurements.md]

`tools/bench_runtime.py` runs it too, as its video figure (`--video-repeats 0` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
sys.path.insert(0, str(ROOT))

from tests.runtime.video_clips import pan_frames, write_video  # noqa: E402
from tools import measurements  # noqa: E402

SECTION = "video"

# Stages that run one after the other in the same thread form one pipeline step: the source's
# reader decodes and pre-processes, the main loop infers and post-processes, the render thread draws.
THREAD_STEPS = {"capture": ("capture", "preprocess"), "predict": ("inference", "postprocess"),
                "render": ("render",)}


def measure(model, labels, clip, out, threads):
    cmd = [sys.executable, "-m", "edgevision", "run", "--model", str(model), "--source", str(clip),
           "--save", str(out), "--json"]
    if labels:
        cmd += ["--labels", str(labels)]
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        sys.exit(f"bench_video: run failed: {proc.stderr.strip()}")
    summary = json.loads(proc.stdout)
    means = {name: st["mean"] for name, st in summary["stages"].items()}
    slowest = max(means, key=means.get)
    steps = {name: sum(means[s] for s in stages) for name, stages in THREAD_STEPS.items()}
    slowest_step = max(steps, key=steps.get)
    fps = summary["fps"]["overall"]
    return {
        "fps": fps, "stage_means_ms": means, "slowest_stage": slowest,
        "ratio_vs_slowest_stage": fps * means[slowest] / 1000.0,
        "slowest_thread_step": slowest_step, "ratio_vs_slowest_thread_step": fps * steps[slowest_step] / 1000.0,
        "sequential_fps": 1000.0 / sum(means.values()),
    }


def video_overlap(model, labels=None, frames=150, repeats=3, threads=None, log=print) -> dict:
    """Run the figure: print one line per run and the medians; returns the medians and the per-run ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_video(Path(tmp) / "clip_720p.mp4",
                           pan_frames(REFERENCE / "cat_720p.jpg", frames, size=(1280, 720)), fps=30)
        runs = [measure(model, labels, clip, Path(tmp) / "out.mp4", threads) for _ in range(repeats)]

    for i, r in enumerate(runs):
        stages = "  ".join(f"{k} {v:.1f}" for k, v in r["stage_means_ms"].items())
        log(f"run {i + 1}: {r['fps']:.1f} FPS | mean ms: {stages} | slowest stage {r['slowest_stage']}: "
            f"ratio {r['ratio_vs_slowest_stage']:.2f} | slowest thread step {r['slowest_thread_step']}: "
            f"ratio {r['ratio_vs_slowest_thread_step']:.2f} | stages in sequence would give "
            f"{r['sequential_fps']:.1f} FPS")
    result = {"frames": frames, "runs": [r["ratio_vs_slowest_stage"] for r in runs],
              "ratio": statistics.median(r["ratio_vs_slowest_stage"] for r in runs),
              "step_ratio": statistics.median(r["ratio_vs_slowest_thread_step"] for r in runs),
              "fps": statistics.median(r["fps"] for r in runs),
              "sequential_fps": statistics.median(r["sequential_fps"] for r in runs)}
    log(f"run on a 720p video, median of {len(runs)} runs of {frames} frames: {result['fps']:.1f} FPS "
        f"(stages in sequence: {result['sequential_fps']:.1f}); throughput / (1 / slowest stage) = "
        f"{result['ratio']:.2f} (target >= 0.90); vs slowest thread step = {result['step_ratio']:.2f}")
    return result


def figures_table(result: dict) -> str:
    """The medians as docs/measurements.md shows them."""
    runs = " ".join(f"{ratio:.2f}" for ratio in result["runs"])
    return measurements.table(
        ["runs", "FPS (median)", "stages in sequence would give", "throughput / (1 / slowest stage)", "target"],
        [[f"{len(result['runs'])} x {result['frames']} frames", f"{result['fps']:.1f}",
          f"{result['sequential_fps']:.1f}", f"{result['ratio']:.2f} (runs: {runs})", ">= 0.90"]])


def publish(docs, result: dict, load_before: float) -> None:
    """Print the table (and with `docs` write it into the `video` section) under the running command."""
    heading = measurements.heading(measurements.command_line(), load_before, measurements.load_average())
    measurements.publish(docs, SECTION, f"{heading}\n\n{figures_table(result)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REFERENCE / "mobilenet_v2_1.0_224_quant.tflite")
    parser.add_argument("--labels", type=Path, default=REFERENCE / "imagenet_labels.txt")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int)
    measurements.add_docs_option(parser)
    args = parser.parse_args()
    measurements.require(args.docs, SECTION)
    if not args.model.is_file():
        sys.exit(f"bench_video: {args.model} not found (the reference models live in ../shared/reference)")
    load_before = measurements.load_average()
    result = video_overlap(args.model, args.labels if args.labels.is_file() else None, args.frames,
                           args.repeats, args.threads)
    publish(args.docs, result, load_before)
    return 0 if result["ratio"] >= 0.90 else 1


if __name__ == "__main__":
    sys.exit(main())
