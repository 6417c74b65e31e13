"""Export figures for docs/measurements.md (`## Export`), measured in one run on this machine.

    python tools/bench_export.py [--work DIR] [--runs 50] [--json] [--docs docs/measurements.md]

1. A small CNN trained on synthetic:shapes: int8 TFLite size relative to fp32 and int8 top-1
   agreement with Keras on the validation split (targets: <= 0.30x, >= 99%).
2. MobileNetV2 1.0/224 (random weights: no download here; latency does not depend on them):
   wall time of a full export (TFLite fp32 + int8, ONNX fp32 + int8; 200 calibration images,
   parity on 20) through `export_model` with its per-stage seconds, and fp32 vs int8 TFLite
   latency through the runtime's backend (XNNPACK): both files open at once, invoked in turns
   with the same threads, medians compared, so machine load hits both alike.
The load average before and after is printed: the machine may be shared. `--docs FILE` also
writes the table into its section of docs/measurements.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgevision.export.pipeline import ExportOptions, export_model  # noqa: E402
from edgevision.export.report import Stages  # noqa: E402
from edgevision.metadata import ModelInfo, write_sidecar  # noqa: E402
from tools import measurements  # noqa: E402

SECTION = "export"


def small_cnn_figures(work: Path) -> dict:
    import keras

    from edgevision.data import load_images
    from tests.export.conftest import small_cnn

    images, labels, names = load_images("synthetic:shapes", "train", 32)
    keras.utils.set_random_seed(0)
    model = small_cnn(len(names))  # the recipe of tests/export/conftest.py's trained_model (~75% accurate)
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit((images.astype(np.float32) - 127.5) / 127.5, labels, epochs=12, batch_size=32, verbose=0)
    path = work / "cnn" / "model.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    write_sidecar(path, ModelInfo(task="classify", input_size=(32, 32), labels=names,
                                  extra={"data": {"source": "synthetic:shapes", "seed": 0}}))
    report = export_model(path, work / "cnn" / "out", ExportOptions(quantize=("none", "int8"), min_agreement=0.9))
    fp32, int8 = report["artifacts"]
    return {"params": model.count_params(), "fp32_bytes": fp32["size_bytes"], "int8_bytes": int8["size_bytes"],
            "int8_size_ratio_to_fp32": int8["size_bytes"] / fp32["size_bytes"],
            "int8_top1_agreement": int8["top1_agreement"], "keras_accuracy": fp32["accuracy"],
            "int8_accuracy": int8["accuracy"], "eval_images": report["evaluation"]["images"]}


def paired_latency_ms(paths: list[Path], runs: int, threads: int = 2) -> list[dict]:
    """Latency statistics of each model, invoked in turns (one call each per round) on the same threads."""
    from edgevision.runtime.backends import open_backend
    from edgevision.runtime.metrics import latency_stats
    from edgevision.runtime.modelfile import read_model_file

    backends = [open_backend(read_model_file(path), threads=threads) for path in paths]
    tensors = [np.zeros([1 if d < 0 else d for d in b.inputs[0].shape], b.inputs[0].dtype) for b in backends]
    for backend, tensor in zip(backends, tensors, strict=True):
        for _ in range(5):
            backend.invoke([tensor])
    samples = [[] for _ in backends]
    for _ in range(runs):
        for backend, tensor, taken in zip(backends, tensors, samples, strict=True):
            start = time.perf_counter()
            backend.invoke([tensor])
            taken.append((time.perf_counter() - start) * 1000)
    return [latency_stats(taken) for taken in samples]


def mobilenet_v2_figures(work: Path, runs: int, threads: int) -> dict:
    from edgevision.models.registry import build_model, get_spec

    spec = get_spec("mobilenet_v2")
    model = build_model("mobilenet_v2", num_classes=1000, input_size=224, alpha=1.0)
    path = work / "mnv2" / "model.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    write_sidecar(path, ModelInfo(task="classify", input_size=(224, 224), labels=[f"class_{i}" for i in range(1000)],
                                  mean=spec.mean, std=spec.std,
                                  extra={"data": {"source": "synthetic:shapes", "seed": 0}}))
    start = time.perf_counter()
    options = ExportOptions(formats=("tflite", "onnx"), quantize=("none", "int8"), min_agreement=0.01, eval_count=20,
                            threads=threads)
    report = export_model(path, work / "mnv2" / "out", options)
    wall = time.perf_counter() - start
    out = work / "mnv2" / "out"
    fp32, int8 = paired_latency_ms([out / "model_fp32.tflite", out / "model_int8.tflite"], runs, threads)
    sizes = {f"{a['format']}_{a['quantization']}": a["size_bytes"] for a in report["artifacts"]}
    return {"export_wall_s": round(wall, 1), "stage_seconds": report["stage_seconds"],
            "calibration_images": report["calibration"]["images"], "eval_images": report["evaluation"]["images"],
            "sizes": sizes, "int8_size_ratio_to_fp32": sizes["tflite_int8"] / sizes["tflite_none"],
            "fp32_p50_ms": fp32["p50"], "int8_p50_ms": int8["p50"], "int8_speedup": fp32["p50"] / int8["p50"],
            "threads": threads, "runs": runs}


def figures_table(figures: dict) -> str:
    """The figures against their targets, as docs/measurements.md shows them."""
    mnv2 = figures["mobilenet_v2_1.0_224"]
    rows = [
        [f"full export of MobileNetV2 1.0/224 (TFLite fp32 + int8, ONNX fp32 + int8, {mnv2['calibration_images']} "
         f"calibration images, parity on {mnv2['eval_images']})", f"{mnv2['export_wall_s']:.1f} s", "< 60 s"],
        ["where the time goes", Stages().line(mnv2["stage_seconds"]), ""],
        ["int8 / fp32 TFLite size, MobileNetV2 1.0/224", f"{mnv2['int8_size_ratio_to_fp32']:.2f}x", "<= 0.30x"],
    ]
    cnn = figures.get("small_cnn")
    if cnn:
        rows.append([f"int8 / fp32 TFLite size, small CNN ({cnn['params'] / 1000:.0f}k params)",
                     f"{cnn['int8_size_ratio_to_fp32']:.2f}x ({cnn['int8_bytes'] / 1000:.0f} kB / "
                     f"{cnn['fp32_bytes'] / 1000:.0f} kB)", "<= 0.30x"])
    rows.append([f"MobileNetV2 1.0/224 TFLite latency p50, {mnv2['threads']} threads, {mnv2['runs']} runs each in turns",
                 f"fp32 {mnv2['fp32_p50_ms']:.1f} ms, int8 {mnv2['int8_p50_ms']:.1f} ms: int8 "
                 f"{mnv2['int8_speedup']:.2f}x faster", "int8 ~2x faster"])
    if cnn:
        rows.append([f"int8 top-1 agreement with Keras, small CNN trained 12 epochs ({cnn['keras_accuracy']:.0%} "
                     f"accurate), {cnn['eval_images']} val images", f"{cnn['int8_top1_agreement']:.1%}", ">= 99%"])
    return measurements.table(["what", "measured", "target"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="folder for the models and exports (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-small-cnn", action="store_true", help="MobileNetV2 figures only")
    parser.add_argument("--json", action="store_true")
    measurements.add_docs_option(parser)
    args = parser.parse_args()
    measurements.require(args.docs, SECTION)
    figures = {"cpus": os.cpu_count(), "load_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        if not args.skip_small_cnn:
            figures["small_cnn"] = small_cnn_figures(work)
        figures["mobilenet_v2_1.0_224"] = mobilenet_v2_figures(work, args.runs, args.threads)
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    body = (f"{measurements.heading(measurements.command_line(), figures['load_before'][0], figures['load_after'][0])}"
            f"\n\n{figures_table(figures)}")
    if args.json:
        print(json.dumps(figures, indent=2))
    measurements.publish(args.docs, SECTION, body, file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
