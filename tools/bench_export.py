"""Export figures for the README (`## Export`), measured in one run on this machine.

    python tools/bench_export.py [--work DIR] [--runs 50] [--json]

1. A small CNN trained on synthetic:shapes: int8 TFLite size relative to fp32 and int8 top-1
   agreement with Keras on the validation split (targets: <= 0.30x, >= 99%).
2. MobileNetV2 1.0/224 (random weights: no download here; latency does not depend on them):
   wall time of a full export (TFLite fp32 + int8, ONNX fp32) through `export_model`, and the
   median fp32 vs int8 TFLite latency through the runtime's backend (XNNPACK) and metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgevision.export.pipeline import ExportOptions, export_model  # noqa: E402
from edgevision.metadata import ModelInfo, write_sidecar  # noqa: E402


def small_cnn_figures(work: Path) -> dict:
    import keras

    from edgevision.data import load_images
    from tests.export.conftest import small_cnn

    images, labels, names = load_images("synthetic:shapes", "train", 32)
    keras.utils.set_random_seed(0)
    model = small_cnn(len(names), width=32)
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit((images.astype(np.float32) - 127.5) / 127.5, labels, epochs=15, batch_size=32, verbose=0)
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


def latency_ms(path: Path, runs: int, threads: int = 2) -> dict:
    from edgevision.runtime.backends import open_backend
    from edgevision.runtime.metrics import latency_stats
    from edgevision.runtime.modelfile import read_model_file

    backend = open_backend(read_model_file(path), threads=threads)
    spec = backend.inputs[0]
    tensor = np.zeros([1 if d < 0 else d for d in spec.shape], spec.dtype)
    for _ in range(5):
        backend.invoke([tensor])
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        backend.invoke([tensor])
        samples.append((time.perf_counter() - start) * 1000)
    return latency_stats(samples)


def mobilenet_v2_figures(work: Path, runs: int) -> dict:
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
    options = ExportOptions(formats=("tflite", "onnx"), quantize=("none", "int8"), min_agreement=0.01, eval_count=20)
    report = export_model(path, work / "mnv2" / "out", options)
    wall = time.perf_counter() - start
    fp32 = latency_ms(work / "mnv2" / "out" / "model_fp32.tflite", runs)
    int8 = latency_ms(work / "mnv2" / "out" / "model_int8.tflite", runs)
    sizes = {f"{a['format']}_{a['quantization']}": a["size_bytes"] for a in report["artifacts"]}
    return {"export_wall_s": wall, "artifacts": sorted(sizes), "sizes": sizes,
            "fp32_p50_ms": fp32["p50"], "int8_p50_ms": int8["p50"], "int8_speedup": fp32["p50"] / int8["p50"],
            "threads": 2, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="folder for the models and exports (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        figures = {"small_cnn": small_cnn_figures(work), "mobilenet_v2_1.0_224": mobilenet_v2_figures(work, args.runs)}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        cnn, mnv2 = figures["small_cnn"], figures["mobilenet_v2_1.0_224"]
        print(f"small CNN ({cnn['params']} params): int8 {cnn['int8_size_ratio_to_fp32']:.2f}x fp32 size, "
              f"int8 top-1 agreement {cnn['int8_top1_agreement']:.1%} on {cnn['eval_images']} images")
        print(f"MobileNetV2 1.0/224: full export (TFLite fp32+int8, ONNX fp32) {mnv2['export_wall_s']:.0f} s; "
              f"TFLite p50 fp32 {mnv2['fp32_p50_ms']:.1f} ms, int8 {mnv2['int8_p50_ms']:.1f} ms "
              f"({mnv2['int8_speedup']:.2f}x), 2 threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
