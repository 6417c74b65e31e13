"""`export_model`: one Keras model in, every requested file out, each checked against Keras.

What differs per task (its data, reference, measurement, checks, graphs) comes from the task's
`tasks.Task`, picked by the sidecar's `task`; the steps here are the same for every task.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgevision import atomic
from edgevision.errors import CheckFailed, UserError
from edgevision.export import calibration, embed, keepfloat, report, source, tasks
from edgevision.export import tflite as tflite_export
from edgevision.export.options import ONNX_QUANTIZATIONS, TAGS, ExportOptions, validate
from edgevision.metadata import ModelInfo, write_sidecar
from edgevision.runtime.metrics import latency_stats
from edgevision.runtime.preprocess import normalise


@dataclass
class _Context:
    model_path: Path
    out_dir: Path
    options: ExportOptions
    model: object
    info: ModelInfo
    task: tasks.Task
    graph: object  # the task's `prepare` result
    saved_model: str | None  # None when no TFLite file is asked for
    evaluation: object | None  # the task's held-out images
    reference: object | None  # the task's reference (Keras) outputs on them
    calibration: object | None = None
    artifacts: list = field(default_factory=list)
    stage: report.Stages = field(default_factory=report.Stages)
    converter: object | None = None  # one per export: converts the graph as few times as it can


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _describe(ctx: _Context, fmt: str, mode: str, input_q, output_q, extra: dict) -> ModelInfo:
    fields = {"format": fmt, "quantization": mode, "input_quantization": input_q, "output_quantization": output_q,
              "source_model": str(ctx.model_path.resolve()), "extra": {**ctx.info.extra, **extra}}
    return dataclasses.replace(ctx.info, **{**fields, **ctx.task.sidecar(ctx.graph)})


def _base_extra(ctx: _Context, mode: str) -> dict:
    extra = ctx.task.artifact_extra(ctx.graph)
    if mode == "int8":
        extra["calibration"] = ctx.task.calibration_note(ctx.calibration)
    return extra


def _write(path: Path, data: bytes, description: ModelInfo) -> None:
    atomic.write_bytes(path, data)
    write_sidecar(path, description)


def _measure(ctx: _Context, path: Path, fmt: str, mode: str, note: dict | None = None) -> dict:
    """Size, the task's measurement and latency of one written artifact, as a report entry."""
    entry = report.size_entry(path, fmt, mode, fp32_bytes=4 * ctx.model.count_params())
    entry.update(note or {})
    entry.update(dict.fromkeys(ctx.task.blank))
    if ctx.evaluation is None:
        entry.update(latency_ms=None, passed=None, failures=[])
        return entry
    with ctx.stage("parity"):
        measured, times = ctx.task.measure(path, ctx.evaluation, ctx.reference, ctx.info, ctx.graph, mode,
                                           ctx.options.threads)
    failures = ctx.task.check(measured, mode, ctx.reference, ctx.options)
    entry.update(measured, latency_ms=latency_stats(times[1:] or times)["p50"], passed=not failures,
                 failures=failures)
    return entry


def _export_tflite(ctx: _Context, mode: str) -> dict:
    options = ctx.options
    representative = None
    if mode == "int8":
        representative = calibration.representative_dataset(ctx.calibration.images, ctx.info)
    _log(f"converting to TFLite {TAGS[mode]} ...")
    with ctx.stage(f"tflite {TAGS[mode]}"):
        flatbuffer = ctx.converter.convert(mode, options.io_dtype, representative, options.allow_float_fallback)
    return _finish_tflite(ctx, flatbuffer, mode, f"{ctx.model_path.stem}_{TAGS[mode]}.tflite", _base_extra(ctx, mode))


def _finish_tflite(ctx: _Context, flatbuffer: bytes, mode: str, name: str, extra: dict, note=None) -> dict:
    input_q, output_q = tflite_export.tensor_quantization(flatbuffer)
    description = _describe(ctx, "tflite", mode, input_q, output_q, {**extra, **ctx.task.tflite_extra(flatbuffer, mode)})
    path = ctx.out_dir / name
    data = ctx.task.tflite_metadata(embed.embed_tflite(flatbuffer, description.to_dict()), description)
    _write(path, data, description)
    return _measure(ctx, path, "tflite", mode, note)


def _export_onnx(ctx: _Context, mode: str, float_proto) -> dict:
    _log(f"converting to ONNX {TAGS[mode]} ...")
    images = normalise(ctx.calibration.images, ctx.info) if mode == "int8" else None
    with ctx.stage(f"onnx {TAGS[mode]}"):
        proto = ctx.task.onnx_artifact(float_proto, mode, images, ctx.graph)
    description = _describe(ctx, "onnx", mode, None, None, {**_base_extra(ctx, mode), "opset": ctx.options.opset})
    embed.embed_onnx(proto, description.to_dict())
    path = ctx.out_dir / f"{ctx.model_path.stem}_onnx_{TAGS[mode]}.onnx"
    _write(path, proto.SerializeToString(), description)
    return _measure(ctx, path, "onnx", mode)


def plan_artifacts(options: ExportOptions) -> list[tuple[str, str]]:
    """(format, mode) pairs to write: every combination but the ONNX modes that do not exist."""
    plan = []
    for fmt in options.formats:
        for mode in options.quantize:
            if fmt == "onnx" and mode not in ONNX_QUANTIZATIONS:
                _log(f"warning: ONNX has no {mode} export here (use {', '.join(ONNX_QUANTIZATIONS)}): skipped")
                continue
            plan.append((fmt, mode))
    if not plan:
        raise UserError("nothing to export: pick a --format/--quantize combination that exists")
    return plan


def export_model(model_path, out_dir, options: ExportOptions | None = None) -> dict:
    """Export `model_path` (a .keras file with its sidecar) into `out_dir`; returns the report.

    Raises UserError on bad input and CheckFailed (after writing everything, report included)
    when an artifact fails its check.
    """
    options = options or ExportOptions()
    validate(options)
    started = time.perf_counter()
    stage = report.Stages()
    model_path, out_dir = Path(model_path), Path(out_dir)
    task = tasks.of_model(model_path)
    with stage("load"):
        model = source.load_keras_model(model_path, unsafe=options.unsafe, outputs=task.outputs)
    info = source.describe_source(model_path, model)
    graph = task.prepare(model_path, model, info)
    plan = plan_artifacts(options)

    evaluation = reference = None
    if options.eval_data or info.extra.get("data"):
        with stage("keras reference"):
            evaluation = task.evaluation_set(info, model_path, options.eval_data, options.eval_count)
            reference = task.reference(model, evaluation, info, graph)
    else:
        _log("warning: no held-out images (no --eval-data, none recorded with the model): nothing measured")

    calibration_images = None
    if any(mode == "int8" for _, mode in plan):
        with stage("calibration images"):
            calibration_images = task.calibration_set(info, model_path, options.calib_data, options.calib_count)
        _log(f"calibrating on {len(calibration_images.images)} images from {calibration_images.origin}")

    with tempfile.TemporaryDirectory(prefix="edgevision-export-") as tmp:
        saved_model = None
        if any(fmt == "tflite" for fmt, _ in plan):  # ONNX converts from the Keras model itself
            _log("writing the inference graph ...")
            with stage("saved model"):
                saved_model = task.saved_model(model, graph, Path(tmp) / "saved_model")
        ctx = _Context(model_path, out_dir, options, model, info, task, graph, saved_model, evaluation, reference,
                       calibration_images, stage=stage, converter=task.tflite_converter(saved_model, graph))
        out_dir.mkdir(parents=True, exist_ok=True)
        float_onnx = None
        for fmt, mode in plan:
            if fmt == "tflite":
                ctx.artifacts.append(_export_tflite(ctx, mode))
            else:
                if float_onnx is None:
                    _log("converting to ONNX ...")
                    with stage("onnx fp32"):
                        float_onnx = task.onnx_graph(model, options.opset, graph)
                ctx.artifacts.append(_export_onnx(ctx, mode, float_onnx))
        atomic.write_text(out_dir / "labels.txt", "".join(f"{label}\n" for label in info.labels))
        with stage("keep float"):
            extra_sections = keepfloat.run(ctx, _finish_tflite, _log)
        if not extra_sections:
            del stage.seconds["keep float"]

    result = report.build(ctx, extra_sections, seconds=time.perf_counter() - started, stages=stage)
    report.write(out_dir, result)
    return _raise_on_failure(result, out_dir)


def _raise_on_failure(result: dict, out_dir: Path) -> dict:
    failed = [a for a in result["artifacts"] if a["passed"] is False and not a.get("superseded_by")]
    if failed:
        names = ", ".join(f"{Path(a['path']).name} ({'; '.join(a['failures'])})" for a in failed)
        error = CheckFailed(f"{names}: files kept in {out_dir}, see export_report.md")
        error.report = result
        raise error
    return result
