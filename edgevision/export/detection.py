"""Export of an SSD detector (sidecar task "detect", layout "ssd_raw"): TFLite and ONNX files with the
post-processing inside (`ssd_postprocess`), each measured by COCO mAP against the Keras model.

Every artifact is run as a device runs it (the runtime's `load(...).predict`) on held-out images:
the validation split of the training data recorded in the sidecar, or `--eval-data`. The Keras
reference goes through the same decoding and the same (class-agnostic, best class per anchor)
NMS in numpy, so a difference in mAP is the conversion's, not the post-processing's.
Modes: float32 ("none"), fp16 (float16 weights) and dynamic (int8 weights, float activations) for
TFLite; float32, dynamic and int8 for ONNX; int8 (full integer, calibrated) for both.
Checks: float32 files within FLOAT_MAX_MAP_DIFF of Keras (mAP@.5 and mAP@[.5:.95]); the others
lose at most `--max-map-drop` mAP@.5 (default 0.05; the project's goal is MAP_DROP_GOAL).
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgevision import atomic
from edgevision.errors import UserError
from edgevision.export import calibration, embed, pipeline, report, ssd_postprocess, tflite_metadata
from edgevision.export import tflite as tflite_export
from edgevision.metadata import ModelInfo, write_sidecar
from edgevision.runtime.detection import BOX_CODER_SCALES
from edgevision.runtime.preprocess import normalise

FLOAT_MAX_MAP_DIFF = 0.01
MAP_DROP_GOAL = 0.02
COLUMNS = ("file", "size", "gzip", "ratio", "mAP@.5", "mAP@[.5:.95]", "mAP@.5 drop", "ms", "passed")


@dataclass
class DetectionSet:
    images: np.ndarray  # uint8 [N, H, W, 3] RGB at the model's input size
    boxes: list  # per image [K, 4] xmin, ymin, xmax, ymax pixels
    classes: list  # per image [K] class ids (no background)
    origin: str


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _recorded(info: ModelInfo, model_path) -> tuple[str, int]:
    data = info.extra.get("data") or {}
    if not data.get("source"):
        raise UserError(f"{Path(model_path).with_suffix('.json')} does not record the training data: "
                        "pass --calib-data and --eval-data (a COCO, VOC or YOLO dataset)")
    return str(data["source"]), int(data.get("seed", 0))


def _load(source: str, splits, info: ModelInfo, seed: int, limit: int | None) -> DetectionSet:
    from edgevision.data.detection import load_detection

    images, boxes, classes = [], [], []
    for split in splits:
        left = None if limit is None else limit - sum(len(i) for i in images)
        if left is not None and left <= 0:
            break
        found = load_detection(source, split, tuple(info.input_size), seed, left)
        if list(found.class_names) != list(info.labels) and len(found.images):
            raise UserError(f"{source} has classes {found.class_names}, the model {info.labels}: "
                            "evaluate on data with the model's classes")
        images.append(np.asarray(found.images))
        boxes += list(found.boxes)
        classes += list(found.classes)
    images = np.concatenate(images) if images else np.zeros((0, *info.input_size, 3), np.uint8)
    if len(images) == 0:
        raise UserError(f"{source} holds no usable images for {'/'.join(splits)}: add annotated images")
    return DetectionSet(images, boxes, classes, f"{source} ({'+'.join(splits)})")


def evaluation_set(info, model_path, eval_data, limit) -> DetectionSet:
    if eval_data:
        return _load(str(eval_data), ("train", "val", "test"), info, 0, limit)
    source, seed = _recorded(info, model_path)
    return _load(source, ("val",), info, seed, limit)


def calibration_set(info, model_path, calib_data, count) -> DetectionSet:
    if calib_data:
        return _load(str(calib_data), ("train", "val", "test"), info, 0, count)
    source, seed = _recorded(info, model_path)
    return _load(source, ("train",), info, seed, count)


def keras_detections(model, images: np.ndarray, info: ModelInfo, anchors, post) -> list:
    """The Keras model's detections per image, decoded and suppressed as the exported graphs do."""
    from edgevision.data.detection.coco_eval import detections_from_raw

    encodings, scores = model.predict(normalise(images, info), batch_size=16, verbose=0)
    # class_agnostic: the post-processing op's fast mode suppresses across classes
    return [detections_from_raw(enc, score, anchors, images.shape[1:3], post.box_scales, post.score_threshold,
                                post.iou_threshold, post.max_detections, class_agnostic=True)
            for enc, score in zip(encodings, scores, strict=True)]


def artifact_detections(path, images: np.ndarray, post, threads: int) -> tuple[list, list[float]]:
    """Detections per image from an exported file run by the runtime, and inference times (ms)."""
    from edgevision.runtime import load

    model = load(path, threads=threads)
    found, times = [], []
    for image in images:
        result = model.predict(np.ascontiguousarray(image[..., ::-1]), threshold=post.score_threshold)
        dets = result.detections
        found.append((np.array([d.box for d in dets], np.float32).reshape(-1, 4),
                      np.array([d.score for d in dets], np.float32), np.array([d.index for d in dets], np.int64)))
        times.append(result.timings_ms["inference"])
    return found, times


def convert_tflite(saved_model_dir: str, mode: str, io_dtype: str, representative, allow_float_fallback: bool) -> bytes:
    """The TFLite flatbuffer: built-in ops plus TFLite_Detection_PostProcess, nothing else."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.allow_custom_ops = True  # for TFLite_Detection_PostProcess only: checked below
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        converter.representative_dataset = representative
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if allow_float_fallback:
            ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
        converter.target_spec.supported_ops = ops
        converter.inference_input_type = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[io_dtype]
        # outputs stay float32: the post-processing op dequantizes its inputs, as in the TF OD API
    try:
        flatbuffer = converter.convert()
    except Exception as exc:
        raise tflite_export.explain_conversion_error(exc, mode) from exc
    custom = tflite_export.custom_ops(flatbuffer)
    if custom != [ssd_postprocess.CUSTOM_OP]:
        raise UserError(f"the TFLite detector has custom ops {custom or 'none'}, expected only "
                        f"{ssd_postprocess.CUSTOM_OP}: the post-processing did not fuse (report this)")
    if mode == "int8" and not allow_float_fallback:
        floating = [op for op in tflite_export.float_ops(flatbuffer) if op not in ("CUSTOM", ssd_postprocess.CUSTOM_OP)]
        if floating:
            raise UserError(f"op(s) {', '.join(floating)} cannot be integer-quantized: pass "
                            "--allow-float-fallback to keep them in float, or replace those layers")
    return flatbuffer


def convert_onnx(raw, anchors, post, mode: str, calib_images=None):
    """The ONNX detector with decoding and NonMaxSuppression inside, from the converted network
    `raw` (`onnx.convert(model, opset, batch=1)`); int8 quantizes the network (ONNX Runtime static
    QDQ) before the float post-processing is appended."""
    from edgevision.export import onnx as onnx_export

    if mode != "none":
        raw = onnx_export.quantize(raw, mode, calib_images)
    proto = ssd_postprocess.append_onnx_postprocess(raw, anchors, post)
    onnx_export.check(proto)
    return proto


def _describe(info, model_path, fmt, mode, input_q, extra) -> ModelInfo:
    return dataclasses.replace(
        info, format=fmt, quantization=mode, output_layout="ssd_postprocessed", anchors=None, box_scales=None,
        input_quantization=input_q, output_quantization=None, source_model=str(Path(model_path).resolve()),
        extra={**info.extra, **extra},
    )


def _check(entry: dict, keras_map: dict | None, max_map_drop: float) -> list[str]:
    if keras_map is None:
        return []
    failures = []
    drop50 = keras_map["map50"] - entry["map50"]
    if entry["quantization"] == "none":
        for key, name in (("map50", "mAP@.5"), ("map50_95", "mAP@[.5:.95]")):
            diff = abs(keras_map[key] - entry[key])
            if diff > FLOAT_MAX_MAP_DIFF:
                failures.append(f"{name} {entry[key]:.3f} differs from Keras {keras_map[key]:.3f} by "
                                f"{diff:.3f} > {FLOAT_MAX_MAP_DIFF}")
    elif drop50 > max_map_drop:
        failures.append(f"mAP@.5 drop {drop50:.3f} > {max_map_drop}")
    return failures


def export_detector(model_path, out_dir, options, model, info: ModelInfo) -> dict:
    """Write the requested detector files, their sidecars, labels.txt and the report; return the report."""
    from edgevision.data.detection.coco_eval import coco_map
    from edgevision.runtime.metrics import latency_stats

    started = time.perf_counter()
    model_path, out_dir = Path(model_path), Path(out_dir)
    if info.output_layout != "ssd_raw" or not info.anchors:
        raise UserError(f"{model_path.with_suffix('.json')} describes no raw SSD outputs with anchors: "
                        "export the model.keras written by `edgevision train --task detect`")
    anchors = np.asarray(info.anchors, np.float32).reshape(-1, 4)
    shapes = [tuple(o.shape) for o in model.outputs]
    if len(shapes) != 2 or shapes[0][1] != len(anchors) or shapes[1][-1] != len(info.labels) + 1:
        raise UserError(f"{model_path} outputs {shapes} do not match its sidecar ({len(anchors)} anchors, "
                        f"{len(info.labels)} classes): export the model with the sidecar written beside it")
    post = ssd_postprocess.PostProcess(num_classes=len(info.labels),
                                       box_scales=tuple(info.box_scales or BOX_CODER_SCALES))
    plan = pipeline.plan_artifacts(options)
    if options.keep_float:
        _log("warning: --keep-float is not available for detectors yet: ignored")

    evaluation = keras_map = None
    if options.eval_data or info.extra.get("data"):
        evaluation = evaluation_set(info, model_path, options.eval_data, options.eval_count)
        truth = list(zip(evaluation.boxes, evaluation.classes, strict=True))
        keras_map = coco_map(truth, keras_detections(model, evaluation.images, info, anchors, post))
        _log(f"Keras model: mAP@.5 {keras_map['map50']:.3f}, mAP@[.5:.95] {keras_map['map50_95']:.3f} "
             f"on {len(evaluation.images)} images")
    else:
        _log("warning: no held-out images (no --eval-data, none recorded with the model): mAP not measured")
    calib = None
    if any(mode == "int8" for _, mode in plan):
        calib = calibration_set(info, model_path, options.calib_data, options.calib_count)
        _log(f"calibrating on {len(calib.images)} images from {calib.origin}")

    out_dir.mkdir(parents=True, exist_ok=True)
    artifacts = []
    with tempfile.TemporaryDirectory(prefix="edgevision-export-") as tmp:
        saved_model = raw_onnx = None
        for fmt, mode in plan:
            extra = {"postprocess": post.to_dict()}
            if calib is not None and mode == "int8":
                extra["calibration"] = {"images": int(len(calib.images)), "source": calib.origin}
            input_q = None
            if fmt == "tflite":
                if saved_model is None:
                    _log("writing the inference graph with TFLite_Detection_PostProcess ...")
                    saved_model = ssd_postprocess.write_tflite_saved_model(model, anchors, post, Path(tmp) / "sm")
                _log(f"converting to TFLite {pipeline.TAGS[mode]} ...")
                representative = (calibration.representative_dataset(calib.images, info) if mode == "int8"
                                  else None)
                flatbuffer = convert_tflite(saved_model, mode, options.io_dtype, representative,
                                            options.allow_float_fallback)
                input_q, _ = tflite_export.tensor_quantization(flatbuffer)
                description = _describe(info, model_path, fmt, mode, input_q, extra)
                path = out_dir / f"{model_path.stem}_{pipeline.TAGS[mode]}.tflite"
                data = embed.embed_tflite(flatbuffer, description.to_dict())
                data = tflite_metadata.add_detector_metadata(data, description)  # for MediaPipe Tasks
            else:
                _log(f"converting to ONNX {pipeline.TAGS[mode]} ...")
                images = normalise(calib.images, info) if mode == "int8" else None
                if raw_onnx is None:
                    from edgevision.export import onnx as onnx_export

                    raw_onnx = onnx_export.convert(model, options.opset, batch=1)
                proto = convert_onnx(raw_onnx, anchors, post, mode, images)
                description = _describe(info, model_path, fmt, mode, None, {**extra, "opset": options.opset})
                embed.embed_onnx(proto, description.to_dict())
                path = out_dir / f"{model_path.stem}_onnx_{pipeline.TAGS[mode]}.onnx"
                data = proto.SerializeToString()
            atomic.write_bytes(path, data)
            write_sidecar(path, description)
            artifacts.append(_measure(path, fmt, mode, model, evaluation, keras_map, post, options,
                                      coco_map, latency_stats))
    atomic.write_text(out_dir / "labels.txt", "".join(f"{label}\n" for label in info.labels))
    result = {
        "source": str(model_path.resolve()),
        "task": "detect",
        "passed": all(a["passed"] is not False for a in artifacts),
        "fp32_weight_bytes": 4 * model.count_params(),
        "evaluation": None if evaluation is None else {"images": int(len(evaluation.images)),
                                                       "source": evaluation.origin},
        "calibration": None if calib is None else {"images": int(len(calib.images)), "source": calib.origin},
        "keras": None if keras_map is None else {"map50": keras_map["map50"], "map50_95": keras_map["map50_95"]},
        "max_map_drop": options.max_map_drop,
        "map_drop_goal": MAP_DROP_GOAL,
        "postprocess": post.to_dict(),
        "seconds": round(time.perf_counter() - started, 1),
        "artifacts": artifacts,
    }
    atomic.write_json(out_dir / "export_report.json", result)
    atomic.write_text(out_dir / "export_report.md", markdown(result))
    return result


def _measure(path, fmt, mode, model, evaluation, keras_map, post, options, coco_map, latency_stats) -> dict:
    entry = report.size_entry(path, fmt, mode, fp32_bytes=4 * model.count_params())
    entry.update(top1_agreement=None, accuracy=None, accuracy_drop=None, max_abs_diff=None, map50_95=None,
                 map50_drop=None, latency_ms=None, passed=None, failures=[])
    if evaluation is None:
        return entry
    found, times = artifact_detections(path, evaluation.images, post, options.threads)
    measured = coco_map(list(zip(evaluation.boxes, evaluation.classes, strict=True)), found)
    entry.update(map50=measured["map50"], map50_95=measured["map50_95"],
                 map50_drop=keras_map["map50"] - measured["map50"],
                 latency_ms=latency_stats(times[1:] or times)["p50"])
    failures = _check(entry, keras_map, options.max_map_drop)
    entry.update(passed=not failures, failures=failures)
    return entry


def _fmt_map(value):
    return "-" if value is None else f"{value:.3f}"


def rows(result: dict) -> list[list[str]]:
    out = []
    for a in result["artifacts"]:
        out.append([
            Path(a["path"]).name, report.format_value(a["size_bytes"], "bytes"), report.format_value(a["gzip_bytes"], "bytes"),
            report.format_value(a["size_ratio"], "ratio"), _fmt_map(a["map50"]), _fmt_map(a["map50_95"]),
            _fmt_map(a["map50_drop"]), report.format_value(a["latency_ms"], "ms"),
            {True: "yes", False: "NO", None: "-"}[a["passed"]],
        ])
    return out


def table(result: dict) -> str:
    keras_row = ["Keras (reference)", "-", "-", "-", _fmt_map((result["keras"] or {}).get("map50")),
                 _fmt_map((result["keras"] or {}).get("map50_95")), "-", "-", "-"]
    body = [list(COLUMNS), keras_row, *rows(result)]
    widths = [max(len(r[i]) for r in body) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in body)


def markdown(result: dict) -> str:
    lines = [f"# Export report: {Path(result['source']).name} (detector)", ""]
    if result["evaluation"]:
        lines.append(f"COCO mAP (pycocotools) on {result['evaluation']['images']} held-out images from "
                     f"{result['evaluation']['source']}; Keras: mAP@.5 {_fmt_map(result['keras']['map50'])}, "
                     f"mAP@[.5:.95] {_fmt_map(result['keras']['map50_95'])}.")
    if result["calibration"]:
        lines.append(f"int8 calibrated on {result['calibration']['images']} images from "
                     f"{result['calibration']['source']}.")
    post = result["postprocess"]
    lines.append(f"Post-processing in the graph: best class per anchor, class-agnostic NMS at IoU "
                 f"{post['iou_threshold']}, scores >= {post['score_threshold']}, at most {post['max_detections']} "
                 f"boxes. Checks: float files within {FLOAT_MAX_MAP_DIFF} mAP of Keras; int8 mAP@.5 drop at most "
                 f"{result['max_map_drop']} (goal {result['map_drop_goal']}).")
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(result)]
    for a in result["artifacts"]:
        if a.get("failures"):
            lines.append(f"\n**{Path(a['path']).name} failed:** {'; '.join(a['failures'])}")
    return "\n".join(lines) + "\n"
