"""Benchmark reports: the JSON document, CSV, a Markdown table, the recommendation, and the
merge of several devices' JSON files for `bench --compare`.

A bench report is `{"device": {...}, "results": [row, ...], ...}`; a compare report is
`{"devices": [{...}, ...], "results": [row + {"device": name}, ...]}`. Rows with
`status == "failed"` carry `error` and no measurements. Both are described in
edgevision/formats/bench.schema.json.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from edgevision import atomic, formats
from edgevision.errors import UserError

LATENCY_KEYS = ("mean", "std", "min", "p50", "p90", "p99", "max")
CSV_COLUMNS = ("device", "model", "format", "quantization", "threads", "status", "backend", "backend_version",
               "size_bytes", "gzip_bytes", "init_ms", "first_ms", *(f"latency_{k}_ms" for k in LATENCY_KEYS),
               "runs", "fps", "peak_rss_mb", "model_rss_mb", "accuracy", "accuracy_images", "accuracy_note", "error")


def label(row: dict) -> str:
    """How a row is named in tables and plots: file name and thread count."""
    threads = row.get("threads")
    return f"{Path(row['model']).name} · {threads} thread{'' if threads == 1 else 's'}"


def _threads(row) -> str:
    return f"{row['threads']} thread{'' if row['threads'] == 1 else 's'}"


def ok_rows(results) -> list[dict]:
    return [r for r in results if r.get("status", "ok") == "ok" and r.get("latency_ms", {}).get("p50") is not None]


def pareto_front(rows) -> list[dict]:
    """Rows no other row beats on both latency (p50, lower) and accuracy (higher), fastest first."""
    candidates = sorted((r for r in ok_rows(rows) if r.get("accuracy") is not None),
                        key=lambda r: (r["latency_ms"]["p50"], -r["accuracy"]))
    front, best = [], -1.0
    for row in candidates:
        if row["accuracy"] > best:
            front.append(row)
            best = row["accuracy"]
    return front


def recommend(results, max_drop: float) -> dict | None:
    """The fastest row (p50) whose accuracy is within `max_drop` of the best; the fastest if none has accuracy."""
    rows = ok_rows(results)
    if not rows:
        return None
    scored = [r for r in rows if r.get("accuracy") is not None]
    if scored:
        best = max(r["accuracy"] for r in scored)
        pick = min((r for r in scored if r["accuracy"] >= best - max_drop - 1e-12), key=lambda r: r["latency_ms"]["p50"])
        text = (f"{Path(pick['model']).name} at {_threads(pick)}: {pick['latency_ms']['p50']:.2f} ms p50 "
                f"({pick['fps']:.1f} FPS), "
                f"accuracy {pick['accuracy']:.3f} (best {best:.3f}, --max-drop {max_drop:g})")
    else:
        best = None
        pick = min(rows, key=lambda r: r["latency_ms"]["p50"])
        note = next((r["accuracy_note"] for r in rows if r.get("accuracy_note")), None)
        text = (f"{Path(pick['model']).name} at {_threads(pick)}: {pick['latency_ms']['p50']:.2f} ms p50 "
                f"({pick['fps']:.1f} FPS); accuracy not measured ({note or 'pass --data to weigh it'})")
    return {"model": pick["model"], "threads": pick["threads"], "best_accuracy": best, "max_drop": max_drop,
            "text": f"fastest within the accuracy budget: {text}"}


# ---- compare ------------------------------------------------------------------------------

def read_bench_json(path) -> dict:
    """A bench JSON document, checked; UserError (exit 2) for anything else."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; pass the bench.json files `edgevision bench --report DIR` wrote") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not a JSON file ({exc}); pass a bench.json from `edgevision bench`") from None
    if isinstance(doc, dict) and "devices" in doc and "results" in doc:
        raise UserError(f"{path} is a --compare report; pass the bench.json files it was made from")
    formats.validate("bench", doc, source=path)
    return doc


def merge(paths) -> dict:
    """One compare report from several devices' bench JSON files; device names made unique."""
    devices, results, used = [], [], set()
    for path in paths:
        doc = read_bench_json(path)
        device = dict(doc["device"])
        base = device.get("name") or Path(path).stem
        name, n = base, 1
        if name in used:
            name = f"{base} [{Path(path).parent.name or Path(path).stem}]"
        while name in used:
            n += 1
            name = f"{base} #{n}"
        used.add(name)
        device["name"], device["source"] = name, str(path)
        devices.append(device)
        results += [{**row, "device": name} for row in doc["results"]]
    return {"devices": devices, "results": results}


# ---- writers ------------------------------------------------------------------------------

def _fmt(value, digits=2):
    if value is None:
        return "–"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return str(value)


def csv_text(doc: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    default_device = (doc.get("device") or {}).get("name")
    for row in doc["results"]:
        flat = {k: row.get(k) for k in CSV_COLUMNS}
        flat["device"] = row.get("device", default_device)
        flat["status"] = row.get("status", "ok")
        for k in LATENCY_KEYS:
            flat[f"latency_{k}_ms"] = (row.get("latency_ms") or {}).get(k)
        writer.writerow(flat)
    return out.getvalue()


def device_line(device: dict) -> str:
    parts = [device.get("cpu_model") or "unknown CPU", f"{device.get('cpu_cores')} cores", device.get("architecture")]
    if device.get("cpu_max_freq_mhz") or device.get("cpu_freq_mhz"):
        parts.append(f"{device.get('cpu_max_freq_mhz') or device.get('cpu_freq_mhz')} MHz")
    if device.get("governor"):
        parts.append(f"governor {device['governor']}")
    parts += [device.get("os"), f"Python {device.get('python')}"]
    line = ", ".join(str(p) for p in parts if p)
    if device.get("board"):
        line = f"{device['board']}: {line}"
    thermal = device.get("thermal") or {}
    if thermal.get("max_temperature_c") is not None:
        line += f"; CPU up to {thermal['max_temperature_c']} °C"
    if thermal.get("throttled"):
        line += "; THROTTLED during the run (numbers are pessimistic)"
    return line


def results_table(results) -> list[list[str]]:
    """Header and rows of the per-model table (shared by Markdown and HTML)."""
    header = ["model", "format", "quant", "threads", "backend", "size MB", "gzip MB", "init ms", "first ms",
              "p50 ms", "p90 ms", "mean ± std ms", "FPS", "peak RSS MB", "accuracy"]
    rows = [header]
    for r in results:
        name = Path(r["model"]).name
        if r.get("status", "ok") == "failed":
            rows.append([name, r.get("format") or "–", "–", str(r.get("threads", "–")), "–", _fmt(_mb(r.get("size_bytes"))),
                         "–", f"failed: {r.get('error')}", *["–"] * 7])
            continue
        lat = r["latency_ms"]
        backend = " ".join(x for x in (r.get("backend"), r.get("backend_version")) if x) or "–"
        rows.append([name, r.get("format") or "–", r.get("quantization") or "–", str(r["threads"]), backend,
                     _fmt(_mb(r.get("size_bytes"))), _fmt(_mb(r.get("gzip_bytes"))), _fmt(r.get("init_ms"), 1),
                     _fmt(r.get("first_ms")), _fmt(lat["p50"]), _fmt(lat["p90"]),
                     f"{_fmt(lat['mean'])} ± {_fmt(lat['std'])}", _fmt(r.get("fps"), 1), _fmt(r.get("peak_rss_mb"), 1),
                     _fmt(r.get("accuracy"), 3)])
    return rows


def compare_table(doc: dict) -> list[list[str]]:
    """(model, threads) down, devices across: p50 ms, FPS and accuracy of each device side by side."""
    names = [d["name"] for d in doc["devices"]]
    header = ["model", "threads"] + [f"{k} ({n})" for n in names for k in ("p50 ms", "FPS", "accuracy")]
    keys = []
    for r in doc["results"]:
        key = (Path(r["model"]).name, r.get("threads"))
        if key not in keys:
            keys.append(key)
    rows = [header]
    for name, threads in keys:
        line = [name, str(threads)]
        for device in names:
            row = next((r for r in doc["results"] if r["device"] == device and Path(r["model"]).name == name
                        and r.get("threads") == threads), None)
            if row is None:
                line += ["–"] * 3
            elif row.get("status", "ok") == "failed":
                line += ["failed", "–", "–"]
            else:
                line += [_fmt(row["latency_ms"]["p50"]), _fmt(row.get("fps"), 1), _fmt(row.get("accuracy"), 3)]
        rows.append(line)
    return rows


def _mb(n):
    return None if n is None else n / 1e6


def markdown_table(table) -> str:
    def esc(cell):
        return str(cell).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(c) for c in table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in table[1:]]
    return "\n".join(lines)


def markdown_text(doc: dict) -> str:
    if "devices" in doc:
        parts = ["# edgevision bench: device comparison", ""]
        parts += [f"- **{d['name']}**: {device_line(d)}" for d in doc["devices"]]
        parts += ["", markdown_table(compare_table(doc)), ""]
        for rec in doc.get("recommendations", []):
            parts.append(f"- {rec['device']}: {rec['text']}")
        return "\n".join(parts).rstrip() + "\n"
    settings = doc.get("settings", {})
    parts = ["# edgevision bench", "", f"Device: {device_line(doc['device'])}", ""]
    if settings:
        parts += [f"Runs: up to {settings.get('runs')} after {settings.get('warmup')} warm-up, "
                  f"at most {settings.get('max_seconds')} s per model and thread count; latency is "
                  "perf_counter around invoke only.", ""]
    parts += [markdown_table(results_table(doc["results"])), ""]
    if doc.get("recommendation"):
        parts.append(f"**Recommendation**: {doc['recommendation']['text']}")
    return "\n".join(parts).rstrip() + "\n"


def write_tables(doc: dict, out_dir) -> list[Path]:
    """bench.json, bench.csv and bench.md in `out_dir` (created if missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "bench.json", out_dir / "bench.csv", out_dir / "bench.md"]
    atomic.write_json(paths[0], doc)
    atomic.write_text(paths[1], csv_text(doc))
    atomic.write_text(paths[2], markdown_text(doc))
    return paths
