"""When int8 falls short: name the layers that lose the most, and keep them in float if asked.

`--keep-float auto` leaves the 1, 3, then 8 worst layers in float, stopping at the first
re-export that reaches `--min-agreement`; `--keep-float NAME,...` keeps the named layers.
Every attempt is reported with the agreement, size and latency it buys over plain int8.
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
    representative = calibration.representative_dataset(ctx.calibration.images, ctx.info)
    log("measuring per-layer int8 error (QuantizationDebugger) ...")
    worst = debugger.layer_errors(ctx.saved_model, representative, top=max(AUTO_STEPS))
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
        flatbuffer = debugger.convert_keeping_float(ctx.saved_model, representative, layers, ctx.options.io_dtype)
        name = f"{ctx.model_path.stem}_int8_keepfloat.tflite"
        entry = finish_tflite(ctx, flatbuffer, "int8", name, {"kept_float": layers}, {"kept_float": layers})
        attempts.append(_gain(entry, baseline, layers))
        ctx.artifacts = [a for a in ctx.artifacts if a["path"] != entry["path"]] + [entry]
        if entry["passed"] is not False:
            break
    sections["keep_float"] = {"baseline": baseline["path"], "attempts": attempts}
    return sections


def _gain(entry: dict, baseline: dict, layers: list[str]) -> dict:
    def delta(key):
        if entry.get(key) is None or baseline.get(key) is None:
            return None
        return entry[key] - baseline[key]

    return {
        "layers": layers,
        "top1_agreement": entry["top1_agreement"],
        "agreement_gain": delta("top1_agreement"),
        "size_bytes": entry["size_bytes"],
        "size_increase_bytes": delta("size_bytes"),
        "latency_ms": entry["latency_ms"],
        "latency_increase_ms": delta("latency_ms"),
        "passed": entry["passed"],
    }
