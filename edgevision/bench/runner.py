"""Run the benchmark: one fresh process per (model, thread count), results gathered into a report.

Each measurement runs in its own process (`edgevision.bench.worker`) because that is the only
honest peak RSS: a process's peak never goes down, so measuring a second model in the same
process would report the first one's peak. It also keeps a model that crashes the
interpreter from taking the others with it: it becomes a failed row with its reason.
"""

from __future__ import annotations

import datetime
import gzip
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

from edgevision import __version__
from edgevision.bench import device
from edgevision.bench.progress import Progress

PROGRESS_PREFIX = "@edgevision-progress "


@dataclass
class Settings:
    runs: int = 100
    warmup: int = 10
    max_seconds: float = 20.0
    data: str | None = None
    split: str = "test"
    limit: int | None = None
    labels: str | None = None  # label file for models without a description (as `predict --labels`)


def default_threads() -> list[int]:
    """1, 2, 4, ... up to the cores this process may use (that count itself included)."""
    from edgevision.runtime.backends import default_threads as usable_cores

    cores = usable_cores()
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return counts + [cores]


def file_facts(path: Path) -> dict:
    """Size, gzip size (what a download or an app bundle costs) and format, from the file alone."""
    data = path.read_bytes()
    fmt = {".tflite": "tflite", ".onnx": "onnx"}.get(path.suffix.lower())
    return {"size_bytes": len(data), "gzip_bytes": len(gzip.compress(data, compresslevel=9)), "format": fmt}


def failed_row(path, threads, error: str, facts=None) -> dict:
    return {"model": str(path), "format": (facts or {}).get("format"), "quantization": None, "threads": threads,
            "status": "failed", "error": error, "size_bytes": (facts or {}).get("size_bytes"),
            "gzip_bytes": (facts or {}).get("gzip_bytes")}


def measure_in_subprocess(path, threads: int, settings: Settings, with_accuracy: bool, progress: Progress) -> dict:
    """The worker's measurement dict, or {"status": "failed", "error": ...} if it failed or crashed."""
    job = {"model": str(path), "threads": threads, "settings": asdict(settings), "accuracy": with_accuracy}
    timeout = 300 + 2 * settings.max_seconds + (900 if with_accuracy else 0)
    with tempfile.TemporaryDirectory(prefix="edgevision-bench-") as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        proc = subprocess.Popen([sys.executable, "-m", "edgevision.bench.worker", json.dumps(job), str(out)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, errors="replace", env=env)
        timed_out = threading.Event()
        killer = threading.Timer(timeout, lambda: (timed_out.set(), proc.kill()))
        killer.start()
        tail = deque(maxlen=20)
        try:
            for line in proc.stderr:
                if line.startswith(PROGRESS_PREFIX):
                    phase, done, total = json.loads(line[len(PROGRESS_PREFIX):])
                    progress.update(phase, done, total)
                elif line.strip():
                    tail.append(line.rstrip())
            code = proc.wait()
        finally:
            killer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if out.is_file():
            return json.loads(out.read_text())
    if code < 0:
        reason = f"the benchmark process was killed by signal {-code}"
        if timed_out.is_set():
            reason += f" after the time limit of {timeout:.0f} s"
    else:
        reason = f"the benchmark process exited with code {code}"
    last = next((line for line in reversed(tail) if line.strip()), None)
    return {"status": "failed", "error": f"{reason}: {last}" if last else reason}


def run_benchmark(models, threads_list, settings: Settings, progress: Progress | None = None) -> dict:
    """Measure every model at every thread count; the report dict (DESIGN.md bench schema)."""
    progress = progress or Progress(len(models) * len(threads_list))
    info = device.device_info()
    snapshots = [device.thermal_snapshot()]
    results = []
    for model in models:
        path = Path(model)
        if not path.is_file():
            progress.start_job(path.name)
            results.append(failed_row(path, threads_list[0], f"{path}: no such model file: check the path"))
            progress.finish_job(f"failed: {results[-1]['error']}")
            progress.job += len(threads_list) - 1
            continue
        facts = file_facts(path)
        accuracy = None
        for i, threads in enumerate(threads_list):
            progress.start_job(f"{path.name} · {threads} thread{'s' if threads > 1 else ''}")
            measured = measure_in_subprocess(path, threads, settings, bool(settings.data) and i == 0, progress)
            snapshots.append(device.thermal_snapshot())
            if measured.get("status") == "failed":
                results.append(failed_row(path, threads, measured["error"], facts))
                progress.finish_job(f"failed: {measured['error']}")
                progress.job += len(threads_list) - i - 1  # the other thread counts would fail the same way
                break
            if i == 0 and settings.data:
                accuracy = {k: measured.get(k) for k in ("accuracy", "accuracy_images", "accuracy_note")}
            row = {"model": str(path), "format": facts["format"], "quantization": measured.get("quantization"),
                   "threads": threads, "status": "ok", **facts, "accuracy": None, **measured, **(accuracy or {})}
            results.append(row)
            lat = row["latency_ms"]
            acc = f", accuracy {row['accuracy']:.3f}" if row.get("accuracy") is not None else ""
            progress.finish_job(f"p50 {lat['p50']:.2f} ms, {row['fps']:.1f} FPS, peak RSS "
                                f"{row['peak_rss_mb']:.0f} MB{acc}")
    temps = [s["temperature_c"] for s in snapshots if s["temperature_c"] is not None]
    info["thermal"] = {
        "before": snapshots[0],
        "after": snapshots[-1],
        "max_temperature_c": max(temps) if temps else None,
        "throttled": any(device.throttled_between(a, b) for a, b in itertools.pairwise(snapshots))
        if any(s["throttle"] for s in snapshots) else None,
    }
    return {
        "device": info,
        "results": results,
        "settings": {**asdict(settings), "threads": list(threads_list)},
        "edgevision_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
