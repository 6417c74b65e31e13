"""`export_report.json` / `.md` and the terminal table: size, gzip size and the task's measurement per
artifact, in the columns the task (`export.tasks`) names."""

from __future__ import annotations

import gzip
import time
from contextlib import contextmanager
from pathlib import Path

from edgevision import atomic
from edgevision.export import tasks
from edgevision.runtime.backends import EXACT_INT8_PRODUCTS

ONNX_EXACT_OPTION = ", ".join(f"{key}={value}" for key, value in EXACT_INT8_PRODUCTS.items())


class Stages:
    """Wall seconds per export stage, summed over repeats: the report's `stage_seconds`."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def rounded(self) -> dict[str, float]:
        return {name: round(seconds, 2) for name, seconds in self.seconds.items()}

    def line(self, seconds: dict[str, float] | None = None) -> str:
        """`load 3.3 s, saved model 9.6 s, ...`, slowest first."""
        seconds = self.seconds if seconds is None else seconds
        return ", ".join(f"{n} {s:.1f} s" for n, s in sorted(seconds.items(), key=lambda i: -i[1]))


def size_entry(path: Path, fmt: str, quantization: str, fp32_bytes: int) -> dict:
    """Raw and gzip size (what a phone downloads: pruned zeros compress) and the ratio to float32 weights."""
    data = Path(path).read_bytes()
    return {
        "path": str(path),
        "format": fmt,
        "quantization": quantization,
        "size_bytes": len(data),
        "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0)),
        "size_ratio": len(data) / fp32_bytes if fp32_bytes else None,
        "map50": None,
    }


def build(ctx, sections: dict, seconds: float, stages: Stages | None = None) -> dict:
    """export_report.json: the keys every task writes, then the task's own, in the task's order."""
    evaluation = ctx.evaluation
    artifacts = ctx.artifacts
    rescued = {a["path"] for a in artifacts if a.get("kept_float") and a["passed"]}
    if rescued:  # the plain int8 file failed but a keep-float re-export of it passed
        for a in artifacts:
            if a["format"] == "tflite" and a["quantization"] == "int8" and not a.get("kept_float") and not a["passed"]:
                a["superseded_by"] = sorted(rescued)[0]
    passed = all(a["passed"] is not False or a.get("superseded_by") for a in artifacts)
    from edgevision.export.onnx import int8_saturates_here

    onnx_int8 = any(a["format"] == "onnx" and a["quantization"] == "int8" for a in artifacts)
    fields = {
        "source": str(ctx.model_path.resolve()),
        "passed": passed,
        "fp32_weight_bytes": 4 * ctx.model.count_params(),
        "evaluation": None if evaluation is None else {"images": int(len(evaluation.images)), "source": evaluation.origin},
        "calibration": None if ctx.calibration is None else {"images": int(len(ctx.calibration.images)),
                                                               "source": ctx.calibration.origin},
        "seconds": round(seconds, 1),
        "stage_seconds": None if stages is None else stages.rounded(),
        "artifacts": artifacts,
        "onnx_int8_saturating_cpu": int8_saturates_here() if onnx_int8 else None,
        **ctx.task.report_fields(ctx.options, ctx.reference, ctx.graph),
    }
    return {**{key: fields[key] for key in ctx.task.report_keys}, **sections}


def format_value(value, kind):
    if kind == "passed":
        return {True: "yes", False: "NO", None: "-"}[value]
    if value is None:
        return "-"
    if kind == "name":
        return Path(value).name
    if kind == "map":
        return f"{value:.3f}"
    if kind == "bytes":
        return f"{value / 1e6:.2f} MB" if value >= 1e5 else f"{value / 1e3:.1f} kB"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "points":
        return f"{100 * value:.1f} pt"  # accuracy points lost (negative: gained)
    if kind == "ratio":
        return f"{value:.2f}x"
    if kind == "float":
        return f"{value:.2g}"
    if kind == "ms":
        return f"{value:.2f}"
    return str(value)


def _task(result: dict):
    return tasks.by_name(result.get("task", "classify"))


def rows(result: dict) -> list[list[str]]:
    """One row of the task's columns per artifact."""
    columns = _task(result).columns
    return [[format_value(a.get(c.key), c.kind) for c in columns] for a in result["artifacts"]]


def table(result: dict) -> str:
    """A fixed-width table for the terminal: the task's columns, its reference row, then the notes."""
    task = _task(result)
    body = [[c.title for c in task.columns]]
    reference = task.reference_row(result)
    if reference is not None:
        body.append(["Keras (reference)"] + [format_value(reference.get(c.key), c.kind) for c in task.columns[1:]])
    body += rows(result)
    widths = [max(len(r[i]) for r in body) for i in range(len(task.columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(lines + near_tie_lines(result) + onnx_int8_lines(result) + _time_lines(result))


def near_tie_lines(result: dict) -> list[str]:
    """One line per quantized file that disagrees with Keras: how many of those images were near-ties."""
    from edgevision.export.parity import NEAR_TIE_MARGIN

    lines = []
    for a in result["artifacts"]:
        if a.get("disagreements") and a["quantization"] != "none":
            lines.append(f"{Path(a['path']).name}: {a['near_ties']} of its {a['disagreements']} disagreements with "
                         f"Keras are near-ties (Keras' own top two within {NEAR_TIE_MARGIN:g})")
    return lines


def onnx_int8_lines(result: dict) -> list[str]:
    """How ONNX int8 files must be run: x86 CPUs without VNNI need ONNX Runtime's exact int8 products."""
    if result.get("onnx_int8_saturating_cpu") is None:  # no ONNX int8 file
        return []
    here = " (this CPU is one)" if result["onnx_int8_saturating_cpu"] else ""
    return [f"ONNX int8 parity measured with the session option {ONNX_EXACT_OPTION}, as edgevision runs every ONNX "
            f"model ONNX Runtime can apply it to (not MobileNetV3's): without it, ONNX Runtime's int8 products saturate on x86 CPUs without VNNI{here} and answers change"]


def _time_lines(result: dict) -> list[str]:
    if not result.get("stage_seconds"):
        return []
    return [f"export took {result['seconds']:.1f} s: {Stages().line(result['stage_seconds'])}"]


def markdown(result: dict) -> str:
    task = _task(result)
    titles = [c.title for c in task.columns]
    lines = [f"# Export report: {Path(result['source']).name}{task.title}", ""]
    if result["evaluation"]:
        lines.append(task.evaluation_line(result))
    if result["calibration"]:
        lines.append(f"int8 calibrated on {result['calibration']['images']} images from "
                     f"{result['calibration']['source']}.")
    lines += task.check_lines(result)
    lines += ["", "| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(result)]
    lines += ["", *near_tie_lines(result)] if near_tie_lines(result) else []
    lines += ["", *onnx_int8_lines(result)] if onnx_int8_lines(result) else []
    lines += ["", *_time_lines(result)] if result.get("stage_seconds") else []
    for a in result["artifacts"]:
        if a.get("failures"):
            lines.append(f"\n**{Path(a['path']).name} failed:** {'; '.join(a['failures'])}")
    debug = result.get("quantization_debugger")
    if debug:
        lines += ["", "## Layers with the largest int8 error", "", "| layer | op | rmse / scale |", "|---|---|---|"]
        lines += [f"| {w['layer']} | {w['op']} | {w['rmse_over_scale']:.3f} |" for w in debug["layers"]]
    keep = result.get("keep_float")
    if keep:
        measure, gain = task.keep_float.measure, task.keep_float.gain
        lines += ["", "## Layers kept in float", "", f"| layers | {measure.title} | gain | size | latency ms |",
                  "|---|---|---|---|---|"]
        for t in keep["attempts"]:
            lines.append(f"| {len(t['layers'])} | {format_value(t[measure.key], measure.kind)} | "
                         f"{format_value(t[gain], measure.kind)} | {format_value(t['size_bytes'], 'bytes')} | "
                         f"{format_value(t['latency_ms'], 'ms')} |")
    return "\n".join(lines) + "\n"


def write(out_dir: Path, result: dict) -> None:
    atomic.write_json(out_dir / "export_report.json", result)
    atomic.write_text(out_dir / "export_report.md", markdown(result))
