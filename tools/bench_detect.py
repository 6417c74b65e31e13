"""Detection figures for docs/measurements.md: run from the repository root.

    python tools/bench_detect.py --minutes 10 --out /tmp/bench_detect

1. numpy decode + NMS time over the anchors of a 320 px SSDLite (2,034 anchors), with the
   runtime's own functions, median of many runs (target <= 1 ms);
2. mAP@.5 and mAP@[.5:.95] on the synthetic:shapes-det test split after `edgevision train --task
   detect --time MINUTES` (the whole run, data generation and graph building included) on this
   machine (target mAP@.5 >= 0.9 in 10 minutes on 2 cores);
3. `edgevision export` of that model to TFLite fp32 and int8: mAP@.5 of each file on the
   validation split, the int8 drop against fp32 (target <= 0.02), sizes and latency.

Training and export run as the real CLI in fresh processes. Prints one JSON document with the
CPU load average: on a shared machine the training figure says more about the load than about
the model.

    python tools/bench_detect.py --real ../shared/reference/real --minutes 20 --out /tmp/bench_real_detect

instead trains on the real kit's Roboflow export `detection/drowsiness` from its MobileNetV2 ImageNet
file with the command a user types (`train --task detect --weights FILE --data DIR --time MINUTES`,
every other setting the default), exports TFLite float32 and int8 and reports mAP@.5 of both on
`validation/`, the int8 drop, the times and the load average before and after (`real_detection`,
callable from other tools; `--json-out FILE` also writes the document). `--docs FILE` writes the
table into the `detection` (or, with `--real`, the `real-detection`) section of docs/measurements.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from edgevision.models.registry import PRETEXT_BACKBONE  # noqa: E402
from tools import measurements  # noqa: E402

SECTION, REAL_SECTION = "detection", "real-detection"


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


def cli(*arguments) -> dict:
    """Run `edgevision ARGS --json` in a fresh process; its JSON summary plus the wall time."""
    command = [sys.executable, "-m", "edgevision", *arguments, "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"bench_detect: exit {result.returncode}: {' '.join(command)}")
    return {**json.loads(result.stdout), "wall_seconds": round(time.perf_counter() - started, 1)}


def train_figure(out: Path, args) -> dict:
    summary = cli("train", "--task", "detect", "--model", "ssdlite_mobilenet_v2", "--alpha", str(args.alpha),
                  "--input-size", str(args.input_size), "--data", args.data, "--weights", args.weights,
                  "--epochs", str(args.frozen_epochs), "--learning-rate", str(args.learning_rate),
                  "--fine-tune-learning-rate", str(args.fine_tune_learning_rate), "--batch-size", str(args.batch_size),
                  "--augment", args.augment, "--time", str(args.minutes), "--out", str(out), "--overwrite")
    return {"data": args.data, "weights": args.weights, "alpha": args.alpha, "input_size": args.input_size,
            "batch_size": args.batch_size, "learning_rate": args.learning_rate,
            "fine_tune_learning_rate": args.fine_tune_learning_rate, "frozen_epochs": args.frozen_epochs,
            "augment": args.augment,
            "time_limit_minutes": args.minutes, **run_facts(out),
            **{k: summary[k] for k in ("map50", "map50_95", "epochs", "seconds", "wall_seconds")}}


def run_facts(run: Path) -> dict:
    """Test images scored in the run's metrics.json, and the epochs of each training phase (history.json)."""
    phases = json.loads((run / "history.json").read_text()).get("phase", [])
    return {"test_images": json.loads((run / "metrics.json").read_text()).get("num_test_images"),
            "frozen_epochs_run": sum(1 for p in phases if p == 1), "fine_tune_epochs_run": sum(1 for p in phases if p == 2)}


def export_figure(model: Path, out: Path, keep_float: bool = False) -> dict:
    """float32 and int8 TFLite files of `model`, with `--keep-float auto` also the int8 file whose
    worst layer(s) stay in float."""
    report = cli("export", str(model), "--format", "tflite", "--quantize", "none,int8", "--out", str(out),
                 *(("--keep-float", "auto") if keep_float else ()))
    files = {(a["quantization"], bool(a.get("kept_float"))): a for a in report["artifacts"]}
    fp32, int8 = files["none", False], files["int8", False]
    kept = files.get(("int8", True))
    return {
        **({"keepfloat_layers": len(kept["kept_float"]), "keepfloat_map50": kept["map50"],
            "keepfloat_map50_95": kept["map50_95"], "keepfloat_bytes": kept["size_bytes"],
            "keepfloat_p50_ms": kept["latency_ms"]} if kept else {}),
        "evaluation_images": report["evaluation"]["images"], "keras_map50": report["keras"]["map50"],
        "keras_map50_95": report["keras"]["map50_95"],
        "fp32_bytes": fp32["size_bytes"], "int8_bytes": int8["size_bytes"],
        "fp32_map50": fp32["map50"], "int8_map50": int8["map50"],
        "int8_map50_drop_vs_fp32": round(fp32["map50"] - int8["map50"], 4),
        "fp32_map50_95": fp32["map50_95"], "int8_map50_95": int8["map50_95"],
        "fp32_kb": round(fp32["size_bytes"] / 1024), "int8_kb": round(int8["size_bytes"] / 1024),
        "fp32_p50_ms": fp32["latency_ms"], "int8_p50_ms": int8["latency_ms"],
        "export_seconds": report["seconds"]}


REAL_DATA = "detection/drowsiness"
REAL_WEIGHTS = "weights/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"


def real_detection(reference: Path, out: Path, minutes: float = 20.0) -> dict:
    """The drowsiness walk-through: train with the defaults for `minutes`, export float32 + int8,
    mAP@.5 of both files on the validation split (pycocotools)."""
    reference = Path(reference)
    data, weights = reference / REAL_DATA, reference / REAL_WEIGHTS
    for path in (data, weights):
        if not path.exists():
            sys.exit(f"bench_detect: {path} not found: pass --real the folder holding the real kit (README there)")
    load_before = [round(x, 2) for x in os.getloadavg()]
    run = Path(out) / "run"
    command = ["train", "--task", "detect", "--model", "ssdlite_mobilenet_v2", "--weights", str(weights),
               "--data", str(data), "--time", f"{minutes:g}", "--out", str(run), "--overwrite"]
    summary = cli(*command)
    exported = export_figure(run / "model.keras", Path(out) / "export", keep_float=True)
    return {
        **{k: v for k, v in exported.items() if k.startswith("keepfloat_")},
        "int8_p50_ms": exported["int8_p50_ms"],
        "command": "edgevision " + " ".join(command),
        "data": str(data), "cpus": os.cpu_count(), "load_average_before": load_before,
        "training": {**{k: summary[k] for k in ("input_size", "map50", "map50_95", "epochs", "seconds", "wall_seconds")},
                     **run_facts(run), "test_split_from_train": not (data / "test").is_dir(), "time_limit_minutes": minutes},
        "validation_images": exported["evaluation_images"],
        "keras_map50": exported["keras_map50"], "keras_map50_95": exported["keras_map50_95"],
        "float32_map50": exported["fp32_map50"], "float32_bytes": exported["fp32_bytes"],
        "int8_bytes": exported["int8_bytes"],
        "int8_map50": exported["int8_map50"], "int8_map50_drop": exported["int8_map50_drop_vs_fp32"],
        "float32_map50_95": exported["fp32_map50_95"], "int8_map50_95": exported["int8_map50_95"],
        "float32_kb": exported["fp32_kb"], "int8_kb": exported["int8_kb"],
        "export_seconds": exported["export_seconds"],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def synthetic_table(result: dict) -> str:
    """The synthetic figures against their targets, as docs/measurements.md shows them."""
    nms = result["decode_nms"]
    rows = [[f"numpy decode + NMS, {nms['anchors']:,} anchors (320 px), runtime's functions",
             f"{nms['median_ms']:.2f} ms median (p90 {nms['p90_ms']:.2f} ms)", "<= 1 ms"]]
    if "training" in result:
        run, export = result["training"], result["export"]
        drop = export["int8_map50_drop_vs_fp32"]
        rows += [[f"mAP@.5 / mAP@[.5:.95] on the {run['test_images']} test images of {run['data']} after "
                  f"`--time {run['time_limit_minutes']:g}` (data generation and graph building included)",
                  f"{run['map50']:.3f} / {run['map50_95']:.3f} ({run['epochs']} epochs, {run['seconds']:.1f} s)",
                  "mAP@.5 >= 0.9 in <= 10 min"],
                 [f"int8 TFLite mAP@.5 vs fp32 TFLite, {export['evaluation_images']} validation images",
                  f"{export['int8_map50']:.3f} vs {export['fp32_map50']:.3f} "
                  f"(int8 {abs(drop):.3f} {'better' if drop < 0 else 'lower'})", "within 0.02"]]
    return measurements.table(["figure", "measured", "target"], rows)


def real_table(result: dict) -> str:
    """The real-data walk-through against its targets, as docs/measurements.md shows them."""
    run = result["training"]
    split = "carved out of `train/`" if run["test_split_from_train"] else "`test/`"
    return measurements.table(["figure", "measured", "target"], [
        [f"epochs in `--time {run['time_limit_minutes']:g}` (data loading included)",
         f"{run['epochs']} ({run['frozen_epochs_run']} frozen + {run['fine_tune_epochs_run']} fine-tuning), "
         f"{run['seconds']:,.1f} s", ""],
        ["mAP@.5 / mAP@[.5:.95], Keras model", f"{result['keras_map50']:.3f} / {result['keras_map50_95']:.3f}",
         "mAP@.5 >= 0.90"],
        [f"mAP@.5 / mAP@[.5:.95], TFLite float32 ({result['float32_bytes'] / 1e6:.1f} MB)",
         f"{result['float32_map50']:.3f} / {result['float32_map50_95']:.3f}", ""],
        [f"mAP@.5 / mAP@[.5:.95], TFLite int8 ({result['int8_bytes'] / 1e6:.1f} MB)",
         f"{result['int8_map50']:.3f} / {result['int8_map50_95']:.3f}",
         f"within 0.02 of float32 (drop {result['int8_map50_drop']:.3f})"],
        *([[f"mAP@.5 / mAP@[.5:.95], TFLite int8 with `--keep-float auto` ({result['keepfloat_layers']} layer(s) "
            f"in float, {result['keepfloat_bytes'] / 1e6:.1f} MB, {result['keepfloat_p50_ms']:.2f} ms against "
            f"{result['int8_p50_ms']:.2f} ms)",
            f"{result['keepfloat_map50']:.3f} / {result['keepfloat_map50_95']:.3f}", "mAP@.5 >= 0.90"]]
          if "keepfloat_map50" in result else []),
        [f"`metrics.json` test split ({run['test_images']} images {split})", f"{run['map50']:.3f} / {run['map50_95']:.3f}",
         ""]])


def real_section(result: dict, command: str) -> str:
    """The `real-detection` section: the command that measured it, then the table."""
    return (f"{measurements.heading(command, result['load_average_before'][0], result['load_average_after'][0])}"
            f"\n\n{real_table(result)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None, help="training time (default 10; 20 with --real)")
    parser.add_argument("--out", default="/tmp/bench_detect")
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--input-size", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--data", default="synthetic:shapes-det:4000")
    parser.add_argument("--weights", default=str(PRETEXT_BACKBONE),
                        help="backbone weights: none | imagenet | PATH (default: the project's pretext backbone)")
    parser.add_argument("--frozen-epochs", type=int, default=1,
                        help="with pretrained weights: epochs of heads on the frozen backbone before fine-tuning")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam rate of the frozen-backbone epochs")
    parser.add_argument("--fine-tune-learning-rate", type=float, default=1e-3,
                        help="fine-tuning's starting rate (the pretext backbone adapts far more than ImageNet's may)")
    parser.add_argument("--augment", default="flip", choices=("full", "flip", "none"),
                        help="training augmentation (default flip: 3,200 generated images need no more)")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--real", metavar="DIR", help="the real kit folder (../shared/reference/real): run the "
                        "drowsiness walk-through instead of the synthetic figures")
    parser.add_argument("--json-out", metavar="FILE", help="also write the JSON document to FILE")
    measurements.add_docs_option(parser)
    args = parser.parse_args()
    measurements.require(args.docs, REAL_SECTION if args.real else SECTION)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.real:
        result = real_detection(Path(args.real), Path(args.out), args.minutes or 20.0)
        _print(result, args.json_out)
        measurements.publish(args.docs, REAL_SECTION, real_section(result, measurements.command_line()), file=sys.stderr)
        return
    result = {"load_average": list(os.getloadavg()), "cpus": os.cpu_count(), "decode_nms": decode_nms_ms()}
    args.minutes = args.minutes or 10.0
    if not args.skip_training:
        run = Path(args.out) / "run"
        result["training"] = train_figure(run, args)
        result["export"] = export_figure(run / "model.keras", Path(args.out) / "export")
    result["load_average_after"] = list(os.getloadavg())
    _print(result, args.json_out)
    heading = measurements.heading(measurements.command_line(), round(result["load_average"][0], 1),
                                   round(result["load_average_after"][0], 1))
    measurements.publish(args.docs, SECTION, f"{heading}\n\n{synthetic_table(result)}", file=sys.stderr)


def _print(result: dict, json_out):
    text = json.dumps(result, indent=2)
    print(text)
    if json_out:
        Path(json_out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
