"""`export_model`: one Keras model in, every requested file out, each checked against Keras."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgevision import atomic
from edgevision.errors import CheckFailed, UserError
from edgevision.export import calibration, embed, keepfloat, parity, report, runner, source
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
    saved_model: str | None  # None when no TFLite file is asked for
    evaluation: calibration.ImageSet | None
    reference: np.ndarray | None
    calibration: calibration.ImageSet | None = None
    artifacts: list = field(default_factory=list)
    stage: report.Stages = field(default_factory=report.Stages)
    converter: tflite_export.Converter | None = None  # one per export: converts the graph once


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _check_normalisation(ctx_model, info: ModelInfo, model_path: Path) -> None:
    """A model that rescales its own input (MobileNetV3) must be fed raw pixels (mean 0, std 1)."""
    layer = source.in_model_rescaling(ctx_model)
    identity = all(m == 0 for m in info.mean) and all(s == 1 for s in info.std)
    if layer and not identity:
        raise UserError(
            f"{model_path.with_suffix('.json')} records mean {list(info.mean)} / std {list(info.std)} but the model "
            f"rescales its input itself (layer '{layer}'): pixels would be normalised twice, which squeezes the "
            "int8 input range and collapses accuracy; set mean 0 and std 1 in the sidecar and retrain"
        )


def _describe(ctx: _Context, fmt: str, mode: str, input_q, output_q, extra: dict) -> ModelInfo:
    return dataclasses.replace(
        ctx.info,
        format=fmt,
        quantization=mode,
        input_quantization=input_q,
        output_quantization=output_q,
        source_model=str(ctx.model_path.resolve()),
        extra={**ctx.info.extra, **extra},
    )


def _calibration_note(ctx: _Context) -> dict:
    found = ctx.calibration
    return {"calibration": {"images": int(len(found.images)), "source": found.origin,
                            "per_class": {found.class_names[c]: int((found.labels == c).sum())
                                          for c in np.unique(found.labels)}}}


def _write(ctx: _Context, path: Path, data: bytes, description: ModelInfo) -> None:
    atomic.write_bytes(path, data)
    write_sidecar(path, description)


def _measure(ctx: _Context, path: Path, fmt: str, mode: str, note: dict | None = None) -> dict:
    """Size, parity and latency of one written artifact, as a report entry."""
    entry = report.size_entry(path, fmt, mode, fp32_bytes=4 * ctx.model.count_params())
    entry.update(note or {})
    if ctx.evaluation is None:
        entry.update(top1_agreement=None, accuracy=None, accuracy_drop=None, max_abs_diff=None,
                     latency_ms=None, passed=None, failures=[])
        return entry
    with ctx.stage("parity"):
        scores, times = runner.run(path, ctx.evaluation.images, ctx.info, threads=ctx.options.threads)
    measured = parity.compare(ctx.reference, scores, ctx.evaluation.labels, ctx.info.output_layout)
    if mode != "none":
        measured["max_abs_diff"] = measured["max_abs_diff"] if mode == "fp16" else None
    failures = parity.check({**measured, "max_abs_diff": measured["max_abs_diff"] or 0.0}, mode,
                            ctx.options.min_agreement)
    entry.update(measured, latency_ms=latency_stats(times[1:] or times)["p50"], passed=not failures,
                 failures=failures)
    return entry


def _export_tflite(ctx: _Context, mode: str) -> dict:
    options = ctx.options
    extra = {}
    representative = None
    if mode == "int8":
        representative = calibration.representative_dataset(ctx.calibration.images, ctx.info)
        extra = _calibration_note(ctx)
    _log(f"converting to TFLite {TAGS[mode]} ...")
    with ctx.stage(f"tflite {TAGS[mode]}"):
        flatbuffer = ctx.converter.convert(mode, options.io_dtype, representative, options.allow_float_fallback)
    return _finish_tflite(ctx, flatbuffer, mode, f"{ctx.model_path.stem}_{TAGS[mode]}.tflite", extra)


def _finish_tflite(ctx: _Context, flatbuffer: bytes, mode: str, name: str, extra: dict, note=None) -> dict:
    input_q, output_q = tflite_export.tensor_quantization(flatbuffer)
    if mode == "int8":
        extra = {**extra, "float_ops": tflite_export.float_ops(flatbuffer)}
    description = _describe(ctx, "tflite", mode, input_q, output_q, extra)
    path = ctx.out_dir / name
    _write(ctx, path, embed.embed_tflite(flatbuffer, description.to_dict()), description)
    return _measure(ctx, path, "tflite", mode, note)


def _export_onnx(ctx: _Context, mode: str, float_proto) -> dict:
    from edgevision.export import onnx as onnx_export

    extra = {"opset": ctx.options.opset}
    if mode == "none":
        proto = float_proto
    else:
        _log(f"quantizing ONNX ({TAGS[mode]}) with ONNX Runtime ...")
        images = None
        if mode == "int8":
            images = normalise(ctx.calibration.images, ctx.info)
            extra.update(_calibration_note(ctx))
        with ctx.stage(f"onnx {TAGS[mode]}"):
            proto = onnx_export.quantize(float_proto, mode, images)
    description = _describe(ctx, "onnx", mode, None, None, extra)
    embed.embed_onnx(proto, description.to_dict())
    path = ctx.out_dir / f"{ctx.model_path.stem}_onnx_{TAGS[mode]}.onnx"
    _write(ctx, path, proto.SerializeToString(), description)
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
    when an artifact fails its parity check.
    """
    options = options or ExportOptions()
    validate(options)
    started = time.perf_counter()
    stage = report.Stages()
    model_path, out_dir = Path(model_path), Path(out_dir)
    detector = _is_detector(model_path)
    with stage("load"):
        model = source.load_keras_model(model_path, unsafe=options.unsafe, outputs=2 if detector else 1)
    info = source.describe_source(model_path, model)
    if detector:
        from edgevision.export import detection

        return _raise_on_failure(detection.export_detector(model_path, out_dir, options, model, info), out_dir)
    _check_normalisation(model, info, model_path)
    plan = plan_artifacts(options)

    evaluation = reference = None
    if options.eval_data or info.extra.get("data"):
        with stage("keras reference"):
            evaluation = calibration.evaluation_set(info, model_path, options.eval_data, options.eval_count)
            reference = parity.keras_scores(model, evaluation.images, info)
    else:
        _log("warning: no held-out images (no --eval-data, none recorded with the model): parity not measured")

    calibration_images = None
    if any(mode == "int8" for _, mode in plan):
        with stage("calibration images"):
            calibration_images = calibration.calibration_set(info, model_path, options.calib_data,
                                                             options.calib_count)
        _log(f"calibrating on {len(calibration_images.images)} images from {calibration_images.origin}")

    with tempfile.TemporaryDirectory(prefix="edgevision-export-") as tmp:
        saved_model = None
        if any(fmt == "tflite" for fmt, _ in plan):  # ONNX converts from the Keras model itself
            _log("writing the inference graph ...")
            with stage("saved model"):
                saved_model = tflite_export.write_saved_model(model, Path(tmp) / "saved_model")
        ctx = _Context(model_path, out_dir, options, model, info, saved_model, evaluation, reference,
                       calibration_images, stage=stage, converter=tflite_export.Converter(saved_model))
        out_dir.mkdir(parents=True, exist_ok=True)
        float_onnx = None
        for fmt, mode in plan:
            if fmt == "tflite":
                ctx.artifacts.append(_export_tflite(ctx, mode))
            else:
                if float_onnx is None:
                    from edgevision.export import onnx as onnx_export

                    _log("converting to ONNX ...")
                    with stage("onnx fp32"):
                        float_onnx = onnx_export.convert(model, options.opset)
                ctx.artifacts.append(_export_onnx(ctx, mode, float_onnx))
        atomic.write_text(out_dir / "labels.txt", "".join(f"{label}\n" for label in info.labels))
        with stage("keep float"):
            extra_sections = keepfloat.run(ctx, _finish_tflite, _log)
        if not extra_sections:
            del stage.seconds["keep float"]

    result = report.build(ctx, extra_sections, seconds=time.perf_counter() - started, stages=stage)
    report.write(out_dir, result)
    return _raise_on_failure(result, out_dir)


def _is_detector(model_path: Path) -> bool:
    """The sidecar says task "detect" (a broken sidecar is reported by describe_source)."""
    from edgevision.metadata import read_sidecar

    try:
        info = read_sidecar(model_path)
    except ValueError:
        return False
    return info is not None and info.task == "detect"


def _raise_on_failure(result: dict, out_dir: Path) -> dict:
    failed = [a for a in result["artifacts"] if a["passed"] is False and not a.get("superseded_by")]
    if failed:
        names = ", ".join(f"{Path(a['path']).name} ({'; '.join(a['failures'])})" for a in failed)
        error = CheckFailed(f"{names}: files kept in {out_dir}, see export_report.md")
        error.report = result
        raise error
    return result

