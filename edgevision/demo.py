"""`edgevision demo`: the whole pipeline on `synthetic:shapes`, with no download.

Train a small MobileNetV2 (alpha 0.35, 96 px), export fp32 and int8 TFLite and ONNX with the
parity report, predict on a few generated images, run the video pipeline on a generated clip
with the overlay saved to a video file, benchmark every artifact, and write one HTML page
linking all of it. Every step calls the same code as its own command.
"""

from __future__ import annotations

import html
import sys
import time
from pathlib import Path

from edgevision import atomic
from edgevision.errors import UserError

DATA = "synthetic:shapes"
MODEL, ALPHA, INPUT_SIZE = "mobilenet_v2", 0.35, 96
EPOCHS, FINE_TUNE_EPOCHS = 2, 1
PREDICT_IMAGES = 8
CLIP_FRAMES_PER_IMAGE, CLIP_IMAGES, CLIP_SIZE, CLIP_FPS = 12, 10, 320, 15
BENCH_THREADS = (1, 2)
STEPS = ("train", "export", "predict", "video", "bench", "report")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_demo(out, overwrite: bool = False) -> dict:
    """Run every step into `out`; returns {"report": path, "summary": [five lines], ...}."""
    out = Path(out).expanduser().resolve()
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out} is not empty: pass --overwrite to replace the demo there, or pick another --out")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seconds = {}

    def step(n, name, what):
        _log(f"[{n}/{len(STEPS)}] {name}: {what} ({time.perf_counter() - started:.0f} s so far)")
        seconds[name] = time.perf_counter()

    def done(name):
        seconds[name] = time.perf_counter() - seconds[name]

    step(1, "train", f"{MODEL} alpha {ALPHA} at {INPUT_SIZE} px on {DATA}, {EPOCHS}+{FINE_TUNE_EPOCHS} epochs")
    trained = _train(out / "train")
    done("train")
    step(2, "export", "TFLite fp32 + int8 and ONNX fp32 + int8, checked against the Keras model")
    exported = _export(out / "train" / "model.keras", out / "export")
    done("export")
    artifacts = {(a["format"], a["quantization"]): Path(a["path"]) for a in exported["artifacts"]}
    int8_tflite = artifacts[("tflite", "int8")]
    step(3, "predict", f"{PREDICT_IMAGES} generated test images with {int8_tflite.name}")
    predictions = _predict(int8_tflite, out / "predict")
    done("predict")
    step(4, "video", f"a generated {CLIP_SIZE} px clip through `run` with {int8_tflite.name}")
    video = _video(int8_tflite, out / "video")
    done("video")
    step(5, "bench", f"{len(artifacts)} artifacts at {', '.join(map(str, BENCH_THREADS))} threads, with accuracy")
    bench = _bench(list(artifacts.values()), out / "bench")
    done("bench")
    step(6, "report", "one HTML page linking everything")
    summary = _summary(trained, exported, bench, video)
    report = out / "index.html"
    steps_done = {k: v for k, v in seconds.items() if k != "report"}  # the page cannot time its own writing
    atomic.write_text(report, _page(out, trained, exported, predictions, video, bench, summary, steps_done))
    done("report")
    total = time.perf_counter() - started
    _log(f"demo finished in {total:.0f} s")
    return {"report": str(report), "summary": summary, "seconds": round(total, 1),
            "step_seconds": {k: round(v, 1) for k, v in seconds.items()}}


def _train(run_dir: Path) -> dict:
    from edgevision.models.registry import PRETEXT_BACKBONE
    from edgevision.train.classify import TrainConfig, train_classifier

    if not PRETEXT_BACKBONE.is_file():
        raise UserError(f"the demo's pretrained backbone {PRETEXT_BACKBONE} is missing: run the demo from a clone "
                        "of the repository (pip install -e .), or rebuild it with tools/pretrain_backbone.py")
    config = TrainConfig(model=MODEL, data=DATA, out=str(run_dir), alpha=ALPHA, input_size=INPUT_SIZE,
                         weights=str(PRETEXT_BACKBONE), epochs=EPOCHS, fine_tune_epochs=FINE_TUNE_EPOCHS, seed=0)
    summary = train_classifier(config, overwrite=True, log=_log)
    if summary.get("interrupted"):
        raise KeyboardInterrupt
    return summary


def _export(model_path: Path, out_dir: Path) -> dict:
    from edgevision.errors import CheckFailed
    from edgevision.export.pipeline import ExportOptions, export_model

    options = ExportOptions(formats=("tflite", "onnx"), quantize=("none", "int8"))
    try:
        return export_model(model_path, out_dir, options)
    except CheckFailed as failed:  # the demo goes on and shows the failure in its report
        _log(f"      warning: {failed}")
        return failed.report


def _predict(model_path: Path, out_dir: Path) -> list[dict]:
    import cv2

    from edgevision.data import load_images
    from edgevision.runtime import load, overlay

    images, labels, class_names = load_images(DATA, "test", INPUT_SIZE, seed=0, limit=PREDICT_IMAGES)
    model = load(model_path)
    found = []
    for i, (rgb, label) in enumerate(zip(images, labels, strict=True)):
        bgr = cv2.resize(rgb[:, :, ::-1], (256, 256), interpolation=cv2.INTER_NEAREST)
        result = model.predict(bgr, top_k=1)
        name = f"shape_{i}_{class_names[label]}.png"
        atomic.write_bytes(out_dir / name, cv2.imencode(".png", overlay.draw(bgr, result))[1].tobytes())
        best = result.top_k[0]
        found.append({"image": name, "truth": class_names[label], "label": best.label, "score": best.score})
    right = sum(f["truth"] == f["label"] for f in found)
    _log(f"      {right}/{len(found)} right: " + ", ".join(f"{f['label']} {f['score']:.2f}" for f in found))
    return found


def _clip(path: Path) -> None:
    """A video of generated test shapes, each drifting across the frame for a moment."""
    import cv2
    import numpy as np

    from edgevision.data import load_images
    from edgevision.runtime.sinks import VideoFileSink

    images, _, _ = load_images(DATA, "test", CLIP_SIZE // 2, seed=1, limit=CLIP_IMAGES)
    sink = VideoFileSink(path, fps=CLIP_FPS)
    ok = False
    try:
        for rgb in images:
            background = cv2.resize(rgb[:, :, ::-1], (CLIP_SIZE * 2, CLIP_SIZE * 2), interpolation=cv2.INTER_LINEAR)
            for t in np.linspace(0, 1, CLIP_FRAMES_PER_IMAGE):
                offset = int(t * CLIP_SIZE * 0.25)
                sink.write(np.ascontiguousarray(background[offset:offset + CLIP_SIZE * 3 // 2,
                                                           offset:offset + CLIP_SIZE * 3 // 2]))
        ok = True
    finally:
        sink.close(ok=ok)


def _video(model_path: Path, out_dir: Path) -> dict:
    from edgevision.runtime import load
    from edgevision.runtime.run_loop import Pipeline
    from edgevision.runtime.sinks import VideoFileSink
    from edgevision.runtime.sources import open_source

    clip, annotated = out_dir / "clip.mp4", out_dir / "annotated.mp4"
    _clip(clip)
    model = load(model_path)
    source = open_source(clip)
    sink = VideoFileSink(annotated, fps=source.fps)
    pipeline = Pipeline(model, source, [sink], model_path=model_path)
    ok = False
    try:
        pipeline.run()
        ok = True
    finally:
        source.close()
        sink.close(ok=ok)
    summary = pipeline.summary()
    atomic.write_json(out_dir / "metrics.json", summary)
    _log(f"      {summary['frames']} frames at {summary['fps']['overall']:.1f} FPS -> {annotated.name}")
    return summary


def _bench(models: list[Path], out_dir: Path) -> dict:
    from edgevision.bench import benchmark

    doc, _, _ = benchmark(models, out_dir, threads=BENCH_THREADS, runs=50, warmup=5, max_seconds=5.0, data=DATA)
    return doc


def _kb(n) -> str:
    return f"{n / 1024:.0f} KB"


def _summary(trained: dict, exported: dict, bench: dict, video: dict) -> list[str]:
    by_kind = {(a["format"], a["quantization"]): a for a in exported["artifacts"]}
    fp32, int8 = by_kind[("tflite", "none")], by_kind[("tflite", "int8")]
    rows = [r for r in bench["results"] if r.get("status") == "ok"]
    threads = max((r["threads"] for r in rows), default=1)
    latency = ", ".join(f"{Path(r['model']).name} {r['latency_ms']['p50']:.2f} ms"
                        for r in rows if r["threads"] == threads)
    slowest = max(((k, v["mean"]) for k, v in video["stages"].items()), key=lambda kv: kv[1], default=("-", 0))
    return [
        f"accuracy: Keras {trained['test_accuracy']:.1%} on {DATA} test; int8 TFLite {int8['accuracy']:.1%} "
        f"(top-1 agreement {int8['top1_agreement']:.1%})",
        f"sizes: fp32 TFLite {_kb(fp32['size_bytes'])}, int8 TFLite {_kb(int8['size_bytes'])} "
        f"({int8['size_ratio']:.2f}x), ONNX {_kb(by_kind[('onnx', 'none')]['size_bytes'])}",
        f"latency p50 at {threads} thread{'s' if threads > 1 else ''}: {latency or 'not measured'}",
        f"video: {video['frames']} frames at {video['fps']['overall']:.1f} FPS "
        f"(slowest stage {slowest[0]} {slowest[1]:.2f} ms)",
        (bench.get("recommendation") or {}).get("text", "no artifact could be measured"),
    ]




def _page(out: Path, trained, exported, predictions, video, bench, summary, seconds) -> str:
    def link(path, text=None):
        rel = Path(path).resolve().relative_to(out)
        return f'<a href="{html.escape(str(rel))}">{html.escape(text or str(rel))}</a>'

    tiles = "".join(
        f'<figure><img src="predict/{html.escape(p["image"])}" width="160"><figcaption>'
        f'{html.escape(p["label"])} {p["score"]:.2f} (truth {html.escape(p["truth"])})</figcaption></figure>'
        for p in predictions
    )
    artifact_rows = "".join(
        f"<tr><td>{link(a['path'], Path(a['path']).name)}</td><td>{a['size_bytes']:,}</td>"
        f"<td>{a['top1_agreement'] if a['top1_agreement'] is None else format(a['top1_agreement'], '.3f')}</td>"
        f"<td>{'pass' if a['passed'] else 'FAIL'}</td></tr>"
        for a in exported["artifacts"]
    )
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>edgevision demo</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}
figure{{display:inline-block;margin:.3em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em}}pre{{background:#f4f4f4;padding:1em}}</style></head>
<body><h1>edgevision demo</h1>
<pre>{html.escape(chr(10).join(summary))}</pre>
<p>Steps: {html.escape(timing)}.</p>
<h2>1. Training</h2>
<p>{MODEL} alpha {ALPHA} at {INPUT_SIZE} px on <code>{DATA}</code>: test accuracy {trained['test_accuracy']:.1%}.
{link(out / 'train' / 'model.keras')} · {link(out / 'train' / 'metrics.json')} ·
{link(out / 'train' / 'history.json')}</p>
<img src="train/training_curves.png" width="480"> <img src="train/confusion_matrix.png" width="360">
<h2>2. Export</h2>
<table><tr><th>file</th><th>bytes</th><th>top-1 agreement</th><th>check</th></tr>{artifact_rows}</table>
<p>{link(out / 'export' / 'export_report.md')} · {link(out / 'export' / 'export_report.json')}</p>
<h2>3. Predictions (int8 TFLite)</h2>{tiles}
<h2>4. Video</h2>
<p>{link(out / 'video' / 'clip.mp4', 'input clip')} → {link(out / 'video' / 'annotated.mp4', 'annotated video')}:
{video['frames']} frames at {video['fps']['overall']:.1f} FPS · {link(out / 'video' / 'metrics.json')}</p>
<h2>5. Benchmark</h2>
<p>{link(out / 'bench' / 'bench.html', 'benchmark report with plots')} · {link(out / 'bench' / 'bench.md')} ·
{link(out / 'bench' / 'bench.csv')}</p>
</body></html>
"""
