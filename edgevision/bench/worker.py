"""One measurement in a fresh process: `python -m edgevision.bench.worker JOB_JSON OUT_JSON`.

Loads one model at one thread count through the runtime (`edgevision.runtime.load`), times
init, the first inference and the steady state (perf_counter around the backend's invoke
only, warm-up excluded, bounded by a run count and a time budget) with the runtime's one
metrics tracker, reads this process's peak RSS, then (if asked) measures top-1 accuracy
through `predict`, exactly as a user's program would classify. Writes the result as JSON;
progress goes to stderr as `@edgevision-progress [phase, done, total]` lines for the parent.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from edgevision import atomic
from edgevision.bench import device
from edgevision.bench.runner import PROGRESS_PREFIX


def report_progress(phase: str, done: int, total: int):
    sys.stderr.write(f"{PROGRESS_PREFIX}{json.dumps([phase, done, total])}\n")
    sys.stderr.flush()


def import_backend_library(path: Path):
    """Import the interpreter library before the baseline RSS, so the model's own cost is what the delta shows."""
    candidates = ("onnxruntime",) if path.suffix.lower() == ".onnx" else (
        "ai_edge_litert.interpreter", "tflite_runtime.interpreter")
    for module in candidates:
        try:
            importlib.import_module(module)
            return
        except ImportError:
            continue


def time_steady_state(invoke, settings: dict, tracker) -> None:
    """Warm-up (not recorded), then timed invokes until `runs` or `max_seconds` is reached (at least one)."""
    warmup, runs, budget = settings["warmup"], settings["runs"], settings["max_seconds"]
    start = time.perf_counter()
    for i in range(warmup):
        invoke()
        report_progress("warm-up", i + 1, warmup)
        if time.perf_counter() - start > budget / 2:
            break
    for i in range(runs):
        t0 = time.perf_counter()
        invoke()
        tracker.add("invoke", (time.perf_counter() - t0) * 1000)
        tracker.frame()
        report_progress("runs", i + 1, runs)
        if time.perf_counter() - start > budget:
            break


def measure_latency(model_path: Path, threads: int, settings: dict) -> tuple[dict, object]:
    from edgevision.runtime import load
    from edgevision.runtime.metrics import MetricsTracker, latency_stats, peak_rss_mb, rss_mb

    import_backend_library(model_path)
    baseline_rss = rss_mb()
    t0 = time.perf_counter()
    model = load(model_path, threads=threads, labels=settings.get("labels"))
    init_ms = (time.perf_counter() - t0) * 1000
    invoke = model_invoker(model)
    t0 = time.perf_counter()
    invoke()
    first_ms = (time.perf_counter() - t0) * 1000
    tracker = MetricsTracker()
    time_steady_state(invoke, settings, tracker)
    samples = tracker.samples("invoke")
    stats = latency_stats(samples)
    peak = peak_rss_mb()
    backend, info = model.backend, model.info
    return {
        "backend": backend.name,
        "backend_version": backend_version(backend.name),
        "quantization": info.quantization,
        "task": info.task,
        "input_size": list(info.input_size),
        "init_ms": init_ms,
        "first_ms": first_ms,
        "latency_ms": stats,
        "runs": len(samples),
        "fps": 1000.0 / stats["mean"] if stats["mean"] else None,
        "peak_rss_mb": peak,
        "baseline_rss_mb": baseline_rss,
        "model_rss_mb": peak - baseline_rss if peak is not None and baseline_rss is not None else None,
        "samples_ms": [round(s, 4) for s in samples],
    }, model


def model_invoker(model):
    """A no-argument callable running the backend's invoke on a fixed, already pre-processed input."""
    import numpy as np

    h, w = model.info.input_size
    frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    tensor, _ = model.preprocess(frame)
    backend = model.backend
    return lambda: backend.invoke([tensor])


def backend_version(name: str | None) -> str | None:
    """Version of the package behind a runtime backend name ("ai_edge_litert", "tensorflow.lite", ...)."""
    module = (name or "").split(".")[0]
    return device.distribution_version(*device.RUNTIME_DISTRIBUTIONS.get(module, (module,))) if module else None


def _names(label) -> set[str]:
    """Ways a dataset folder may name a label: 'tench, Tinca tinca' -> {'tench, tinca tinca', 'tench', 'tinca tinca'}."""
    text = str(label).strip().lower().replace("_", " ")
    return {text, *(part.strip() for part in text.split(",") if part.strip())}


def target_indices(class_names, model_labels, num_outputs: int) -> tuple[list[int] | None, str]:
    """The model's output index for each dataset class, and how they were matched.

    By name when the model has labels (a label's comma-separated synonyms count, `_` = space);
    by position only for an unlabelled model with exactly one output per class. Otherwise
    None: an accuracy computed from a guessed mapping would be a wrong number.
    """
    if model_labels:
        names = [_names(label) for label in model_labels]
        targets = [next((i for i, n in enumerate(names) if cls.lower().replace("_", " ") in n), None)
                   for cls in class_names]
        if None not in targets:
            return targets, "classes matched to the model's labels by name"
        missing = [c for c, t in zip(class_names, targets, strict=True) if t is None]
        return None, (f"dataset class(es) {', '.join(missing[:3])} are not among the model's labels: "
                      "pass --labels FILE with the model's class names")
    if num_outputs == len(class_names):
        return list(range(num_outputs)), "the model has no labels: classes matched by position"
    return None, (f"the model has no labels and {num_outputs} outputs for {len(class_names)} dataset classes: "
                  "pass --labels FILE")


def measure_accuracy(model, settings: dict) -> dict:
    """Top-1 accuracy on the `split` of `data` through `predict` (BGR frames, as a camera gives them)."""
    import numpy as np

    from edgevision.data import SPLITS, load_images

    info = model.info
    if info.task != "classify":
        return {"accuracy": None, "accuracy_images": 0, "accuracy_note": f"accuracy is top-1 for classifiers; "
                                                                          f"this is a {info.task} model"}
    seed = (info.extra or {}).get("data", {}).get("seed", 0)
    splits = SPLITS if settings["split"] == "all" else (settings["split"],)
    parts = [load_images(settings["data"], split, image_size=tuple(info.input_size), seed=seed,
                         limit=settings.get("limit")) for split in splits]
    class_names = parts[0][2]
    images = np.concatenate([p[0] for p in parts])[:settings.get("limit")]
    labels = np.concatenate([p[1] for p in parts])[:settings.get("limit")]
    num_outputs = int(np.prod([d for d in model.output_specs[0].shape if d > 0]))
    targets, how = target_indices(class_names, getattr(model, "labels", None) or info.labels, num_outputs)
    if targets is None:
        return {"accuracy": None, "accuracy_images": 0, "accuracy_note": how}
    correct = 0
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        top = model.predict(image[..., ::-1]).top_k
        correct += int(bool(top) and top[0].index == targets[int(label)])
        report_progress("accuracy", i + 1, len(images))
    return {"accuracy": correct / len(images) if len(images) else None, "accuracy_images": int(len(images)),
            "accuracy_note": f"top-1 on {' + '.join(splits)} of {settings['data']}; {how}"}


def one_line(exc: Exception) -> str:
    from edgevision.errors import UserError

    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return message if isinstance(exc, UserError) else f"{type(exc).__name__}: {message}"


def main(argv) -> int:
    job, out = json.loads(argv[0]), Path(argv[1])
    try:
        result, model = measure_latency(Path(job["model"]), job["threads"], job["settings"])
        if job["accuracy"]:
            try:
                result.update(measure_accuracy(model, job["settings"]))
            except Exception as exc:  # the latency is still worth reporting; the note says why accuracy is missing
                result.update({"accuracy": None, "accuracy_images": 0, "accuracy_note": one_line(exc)})
        result["status"] = "ok"
    except Exception as exc:  # reported as the failed row's reason; the parent carries on with the next model
        result = {"status": "failed", "error": one_line(exc)}
    atomic.write_json(out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
