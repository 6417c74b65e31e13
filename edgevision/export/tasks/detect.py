"""Export of an SSD detector (sidecar task "detect", layout "ssd_raw"): TFLite and ONNX files with the
post-processing inside (`ssd_postprocess`), each measured by COCO mAP against the Keras model.

Every file is run as a device runs it (the runtime's `load(...).predict`) on held-out images:
the validation split of the training data recorded in the sidecar, or `--eval-data`. The Keras
reference goes through the runtime's decoding and the same (class-agnostic, best class per anchor)
NMS in numpy, so a difference in mAP is the conversion's, not the post-processing's.
Checks: float32 files within FLOAT_MAX_MAP_DIFF of Keras (mAP@.5 and mAP@[.5:.95]); the others
lose at most `--max-map-drop` mAP@.5 (default 0.05; the project's goal is MAP_DROP_GOAL).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgevision.errors import UserError
from edgevision.export import calibration, ssd_postprocess
from edgevision.export import tflite as tflite_export
from edgevision.export.tasks.interface import Column, KeepFloat, Task
from edgevision.metadata import ModelInfo
from edgevision.runtime.detection import BOX_CODER_SCALES
from edgevision.runtime.preprocess import normalise

FLOAT_MAX_MAP_DIFF = 0.01
MAP_DROP_GOAL = 0.02
COLUMNS = (
    Column("file", "path", "name"), Column("size", "size_bytes", "bytes"), Column("gzip", "gzip_bytes", "bytes"),
    Column("ratio", "size_ratio", "ratio"), Column("mAP@.5", "map50", "map"), Column("mAP@[.5:.95]", "map50_95", "map"),
    Column("mAP@.5 drop", "map50_drop", "map"), Column("ms", "latency_ms", "ms"), Column("passed", "passed", "passed"),
)
REPORT_KEYS = ("source", "task", "passed", "fp32_weight_bytes", "evaluation", "calibration", "keras", "max_map_drop",
               "map_drop_goal", "postprocess", "seconds", "artifacts")
# --keep-float: the network's layers go back to float, the post-processing op stays, outputs stay float32
KEEP_FLOAT = KeepFloat(Column("mAP@.5", "map50", "map"), "map50_gain", ssd_postprocess.CUSTOM_OP, "float32")


class Graph(NamedTuple):
    """What converting and measuring a detector needs besides the Keras model."""

    anchors: np.ndarray  # [A, 4], as the sidecar records them
    post: ssd_postprocess.PostProcess


def prepare(model_path, model, info: ModelInfo) -> Graph:
    """The anchors and post-processing the sidecar describes, checked against the model's outputs."""
    if info.output_layout != "ssd_raw" or not info.anchors:
        raise UserError(f"{model_path.with_suffix('.json')} describes no raw SSD outputs with anchors: "
                        "export the model.keras written by `edgevision train --task detect`")
    anchors = np.asarray(info.anchors, np.float32).reshape(-1, 4)
    shapes = [tuple(o.shape) for o in model.outputs]
    if len(shapes) != 2 or shapes[0][1] != len(anchors) or shapes[1][-1] != len(info.labels) + 1:
        raise UserError(f"{model_path} outputs {shapes} do not match its sidecar ({len(anchors)} anchors, "
                        f"{len(info.labels)} classes): export the model with the sidecar written beside it")
    return Graph(anchors, ssd_postprocess.PostProcess(num_classes=len(info.labels),
                                                      box_scales=tuple(info.box_scales or BOX_CODER_SCALES)))


def calibration_note(found: calibration.BoxedImages) -> dict:
    return {"images": int(len(found.images)), "source": found.origin}


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


def _truth(evaluation: calibration.BoxedImages) -> list:
    return list(zip(evaluation.boxes, evaluation.classes, strict=True))


def reference(model, evaluation: calibration.BoxedImages, info: ModelInfo, graph: Graph) -> dict:
    """Keras' COCO mAP on the held-out images (`coco_eval.coco_map`)."""
    import sys

    from edgevision.data.detection.coco_eval import coco_map

    keras_map = coco_map(_truth(evaluation), keras_detections(model, evaluation.images, info, *graph))
    print(f"Keras model: mAP@.5 {keras_map['map50']:.3f}, mAP@[.5:.95] {keras_map['map50_95']:.3f} "
          f"on {len(evaluation.images)} images", file=sys.stderr, flush=True)
    return keras_map


def measure(path, evaluation, keras_map: dict, info: ModelInfo, graph: Graph, mode: str, threads: int):
    """mAP@.5, mAP@[.5:.95] and the mAP@.5 lost against Keras of one file, and its inference times."""
    from edgevision.data.detection.coco_eval import coco_map

    found, times = artifact_detections(path, evaluation.images, graph.post, threads)
    measured = coco_map(_truth(evaluation), found)
    return {"map50": measured["map50"], "map50_95": measured["map50_95"],
            "map50_drop": keras_map["map50"] - measured["map50"]}, times


def check(entry: dict, mode: str, keras_map: dict | None, options) -> list[str]:
    """Reasons a file fails: float32 off Keras' mAP by more than FLOAT_MAX_MAP_DIFF, others losing
    more than `options.max_map_drop` mAP@.5."""
    if keras_map is None:
        return []
    failures = []
    drop50 = keras_map["map50"] - entry["map50"]
    if mode == "none":
        for key, name in (("map50", "mAP@.5"), ("map50_95", "mAP@[.5:.95]")):
            diff = abs(keras_map[key] - entry[key])
            if diff > FLOAT_MAX_MAP_DIFF:
                failures.append(f"{name} {entry[key]:.3f} differs from Keras {keras_map[key]:.3f} by "
                                f"{diff:.3f} > {FLOAT_MAX_MAP_DIFF}")
    elif drop50 > options.max_map_drop:
        failures.append(f"mAP@.5 drop {drop50:.3f} > {options.max_map_drop}")
    return failures


def saved_model(model, graph: Graph, directory) -> str:
    """The inference graph with TFLite_Detection_PostProcess appended, as a SavedModel."""
    return ssd_postprocess.write_tflite_saved_model(model, graph.anchors, graph.post, Path(directory))


def tflite_converter(saved_model_dir, graph: Graph) -> tflite_export.CustomOpConverter:
    return tflite_export.CustomOpConverter(saved_model_dir, ssd_postprocess.CUSTOM_OP)


def tflite_extra(flatbuffer: bytes, mode: str) -> dict:
    return {}


def tflite_metadata(data: bytes, description: ModelInfo) -> bytes:
    """TFLite Metadata for MediaPipe Tasks' ObjectDetector."""
    from edgevision.export import tflite_metadata as metadata

    return metadata.add_detector_metadata(data, description)


def onnx_graph(model, opset: int, graph: Graph):
    """The network without post-processing, batch 1 (the post-processing is appended per mode)."""
    from edgevision.export import onnx as onnx_export

    return onnx_export.convert(model, opset, batch=1)


def onnx_artifact(raw, mode: str, calibration_inputs, graph: Graph):
    """The ONNX detector with decoding and NonMaxSuppression inside; int8 quantizes the network
    (ONNX Runtime static QDQ) before the float post-processing is appended."""
    from edgevision.export import onnx as onnx_export

    if mode != "none":
        raw = onnx_export.quantize(raw, mode, calibration_inputs)
    proto = ssd_postprocess.append_onnx_postprocess(raw, graph.anchors, graph.post)
    onnx_export.check(proto)
    return proto


def sidecar(graph: Graph) -> dict:
    """Exported detectors hold their post-processing: four outputs, no anchors, float outputs."""
    return {"output_layout": "ssd_postprocessed", "anchors": None, "box_scales": None, "output_quantization": None}


def artifact_extra(graph: Graph) -> dict:
    return {"postprocess": graph.post.to_dict()}


def report_fields(options, keras_map: dict | None, graph: Graph) -> dict:
    return {
        "task": "detect",
        "keras": None if keras_map is None else {"map50": keras_map["map50"], "map50_95": keras_map["map50_95"]},
        "max_map_drop": options.max_map_drop,
        "map_drop_goal": MAP_DROP_GOAL,
        "postprocess": graph.post.to_dict(),
    }


def reference_row(result: dict) -> dict:
    return result["keras"] or {}


def evaluation_line(result: dict) -> str:
    keras = result["keras"]
    return (f"COCO mAP (pycocotools) on {result['evaluation']['images']} held-out images from "
            f"{result['evaluation']['source']}; Keras: mAP@.5 {keras['map50']:.3f}, "
            f"mAP@[.5:.95] {keras['map50_95']:.3f}.")


def check_lines(result: dict) -> list[str]:
    post = result["postprocess"]
    return [f"Post-processing in the graph: best class per anchor, class-agnostic NMS at IoU "
            f"{post['iou_threshold']}, scores >= {post['score_threshold']}, at most {post['max_detections']} "
            f"boxes. Checks: float files within {FLOAT_MAX_MAP_DIFF} mAP of Keras; int8 mAP@.5 drop at most "
            f"{result['max_map_drop']} (goal {result['map_drop_goal']})."]


TASK = Task(
    name="detect", outputs=2, prepare=prepare, evaluation_set=calibration.boxed_evaluation_set,
    calibration_set=calibration.boxed_calibration_set, calibration_note=calibration_note, reference=reference,
    measure=measure, blank=("top1_agreement", "accuracy", "accuracy_drop", "max_abs_diff", "map50_95", "map50_drop"),
    check=check, saved_model=saved_model, tflite_converter=tflite_converter, tflite_extra=tflite_extra,
    tflite_metadata=tflite_metadata, onnx_graph=onnx_graph, onnx_artifact=onnx_artifact, sidecar=sidecar,
    artifact_extra=artifact_extra, report_fields=report_fields, report_keys=REPORT_KEYS, columns=COLUMNS,
    reference_row=reference_row, title=" (detector)", evaluation_line=evaluation_line, check_lines=check_lines,
    keep_float=KEEP_FLOAT,
)
