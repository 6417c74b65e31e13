"""When int8 falls short: name the layers that lose the most, and keep them in float if asked.

`--keep-float auto` leaves the 1, 3, then 8 worst layers in float, stopping at the first
re-export that passes the task's check (`--min-agreement`, or `--max-map-drop` for a detector);
`--keep-float NAME,...` keeps the named layers. Every attempt is reported with the measurement
(agreement, or mAP@.5), size and latency it buys over plain int8.
"""

from __future__ import annotations

from edgevision.export import calibration, debugger

AUTO_STEPS = (1, 3, 8)


def _int8_tflite(ctx):
    return next((a for a in ctx.artifacts if a["format"] == "tflite" and a["quantization"] == "int8"
                 and not a.get("kept_float")), None)


def run(ctx, finish_tflite, log) -> dict:
    """Report sections `quantization_debugger` and `keep_float` (empty dict when not needed)."""
    baseline = _int8_tflite(ctx)
    wanted = ctx.options.keep_float
    if baseline is None or (baseline["passed"] is not False and not wanted):
        return {}
    how = ctx.task.keep_float
    representative = calibration.representative_dataset(ctx.calibration.images, ctx.info)
    log("measuring per-layer int8 error (QuantizationDebugger) ...")
    worst = debugger.layer_errors(ctx.saved_model, representative, top=max(AUTO_STEPS), custom_op=how.custom_op)
    sections = {"quantization_debugger": {"artifact": baseline["path"], "metric": "rmse / scale",
                                          "layers": worst}}
    if not wanted:
        return sections
    if list(wanted) == ["auto"]:
        counts = sorted({min(n, len(worst)) for n in AUTO_STEPS})
        candidates = [[w["layer"] for w in worst[:n]] for n in counts]
    else:
        candidates = [list(wanted)]
    attempts = []
    for layers in candidates:
        log(f"re-exporting int8 with {len(layers)} layer(s) in float ...")
        flatbuffer = debugger.convert_keeping_float(ctx.saved_model, representative, layers, ctx.options.io_dtype,
                                                    how.output_dtype, how.custom_op)
        name = f"{ctx.model_path.stem}_int8_keepfloat.tflite"
        extra = {**ctx.task.artifact_extra(ctx.graph), "kept_float": layers}
        entry = finish_tflite(ctx, flatbuffer, "int8", name, extra, {"kept_float": layers})
        attempts.append(_gain(entry, baseline, layers, how.measure.key, how.gain))
        ctx.artifacts = [a for a in ctx.artifacts if a["path"] != entry["path"]] + [entry]
        if entry["passed"] is not False:
            break
    sections["keep_float"] = {"baseline": baseline["path"], "attempts": attempts}
    return sections


def _gain(entry: dict, baseline: dict, layers: list[str], measure: str, gain: str) -> dict:
    def delta(key):
        if entry.get(key) is None or baseline.get(key) is None:
            return None
        return entry[key] - baseline[key]

    return {
        "layers": layers,
        measure: entry[measure],
        gain: delta(measure),
        "size_bytes": entry["size_bytes"],
        "size_increase_bytes": delta("size_bytes"),
        "latency_ms": entry["latency_ms"],
        "latency_increase_ms": delta("latency_ms"),
        "passed": entry["passed"],
    }
