"""Benchmark and diagnostics: device information, latency/accuracy measurement, reports, `doctor`.

    from edgevision.bench import benchmark, compare
    doc, paths, note = benchmark(["m_fp32.tflite", "m_int8.tflite"], "bench/", threads=[1, 2])
    doc["recommendation"]["text"]   # the fastest model within max_drop of the best accuracy
"""

from __future__ import annotations


def benchmark(models, report_dir, threads=None, runs=100, warmup=10, max_seconds=20.0, data=None,
              split="test", limit=None, labels=None, max_drop=0.01, progress=None):
    """Measure `models` at each thread count and write the report folder -> (doc, paths, note)."""
    from edgevision.bench import outputs, report, runner
    from edgevision.bench.progress import Progress

    threads = list(threads) if threads else runner.default_threads()
    settings = runner.Settings(runs=runs, warmup=warmup, max_seconds=max_seconds, data=data, split=split, limit=limit,
                               labels=str(labels) if labels else None)
    doc = runner.run_benchmark(list(models), threads, settings, progress or Progress(len(models) * len(threads)))
    doc["recommendation"] = report.recommend(doc["results"], max_drop)
    paths, note = outputs.write_report(doc, report_dir)
    return doc, paths, note


def compare(result_files, report_dir, max_drop=0.01):
    """Merge several devices' bench.json files into one report folder -> (doc, paths, note)."""
    from edgevision.bench import outputs, report

    doc = report.merge(result_files)
    doc["recommendations"] = []
    for device in doc["devices"]:
        rec = report.recommend([r for r in doc["results"] if r["device"] == device["name"]], max_drop)
        if rec:
            doc["recommendations"].append({**rec, "device": device["name"]})
    paths, note = outputs.write_report(doc, report_dir)
    return doc, paths, note
