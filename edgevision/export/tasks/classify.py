"""Export of a classifier (sidecar task "classify"): every file measured by top-1 agreement with
the Keras model (and accuracy where the images are labelled) on held-out images.

Checks: float32 files agree on at least `parity.FLOAT_MIN_AGREEMENT` of the images and their
probabilities differ by at most `parity.FLOAT_MAX_DIFF`; the others reach `--min-agreement`.
"""

from __future__ import annotations

import numpy as np

from edgevision.errors import UserError
from edgevision.export import calibration, parity, runner, source
from edgevision.export import tflite as tflite_export
from edgevision.export.tasks.interface import Column, KeepFloat, Task
from edgevision.metadata import ModelInfo

COLUMNS = (
    Column("file", "path", "name"), Column("size", "size_bytes", "bytes"), Column("gzip", "gzip_bytes", "bytes"),
    Column("ratio", "size_ratio", "ratio"), Column("agreement", "top1_agreement", "pct"),
    Column("accuracy", "accuracy", "pct"), Column("drop", "accuracy_drop", "points"),
    Column("max diff", "max_abs_diff", "float"), Column("ms", "latency_ms", "ms"), Column("passed", "passed", "passed"),
)
REPORT_KEYS = ("source", "passed", "fp32_weight_bytes", "evaluation", "calibration", "min_agreement", "seconds",
               "stage_seconds", "artifacts", "onnx_int8_saturating_cpu")


def prepare(model_path, model, info: ModelInfo) -> None:
    """A model that rescales its own input (MobileNetV3) must be fed raw pixels (mean 0, std 1)."""
    layer = source.in_model_rescaling(model)
    identity = all(m == 0 for m in info.mean) and all(s == 1 for s in info.std)
    if layer and not identity:
        raise UserError(
            f"{model_path.with_suffix('.json')} records mean {list(info.mean)} / std {list(info.std)} but the model "
            f"rescales its input itself (layer '{layer}'): pixels would be normalised twice, which squeezes the "
            "int8 input range and collapses accuracy; set mean 0 and std 1 in the sidecar and retrain"
        )


def calibration_note(found: calibration.ImageSet) -> dict:
    return {"images": int(len(found.images)), "source": found.origin,
            "per_class": {found.class_names[c]: int((found.labels == c).sum()) for c in np.unique(found.labels)}}


def reference(model, evaluation: calibration.ImageSet, info: ModelInfo, graph) -> np.ndarray:
    """Keras' output scores on the held-out images."""
    return parity.keras_scores(model, evaluation.images, info)


def measure(path, evaluation, keras_scores, info: ModelInfo, graph, mode: str, threads: int) -> tuple[dict, list]:
    """Agreement with Keras, accuracy and largest probability difference of one file, and its inference times."""
    scores, times = runner.run(path, evaluation.images, info, threads=threads)
    measured = parity.compare(keras_scores, scores, evaluation.labels, info.output_layout)
    if mode != "none":  # quantized probabilities differ by design: reported for fp16 only
        measured["max_abs_diff"] = measured["max_abs_diff"] if mode == "fp16" else None
    return measured, times


def check(measured: dict, mode: str, keras_scores, options) -> list[str]:
    return parity.check({**measured, "max_abs_diff": measured["max_abs_diff"] or 0.0}, mode, options.min_agreement)


def saved_model(model, graph, directory) -> str:
    return tflite_export.write_saved_model(model, directory)


def tflite_converter(saved_model_dir, graph) -> tflite_export.Converter:
    return tflite_export.Converter(saved_model_dir)


def tflite_extra(flatbuffer: bytes, mode: str) -> dict:
    return {"float_ops": tflite_export.float_ops(flatbuffer)} if mode == "int8" else {}


def tflite_metadata(data: bytes, description: ModelInfo) -> bytes:
    return data


def onnx_graph(model, opset: int, graph):
    from edgevision.export import onnx as onnx_export

    return onnx_export.convert(model, opset)


def onnx_artifact(float_proto, mode: str, calibration_inputs, graph):
    """The float graph, or ONNX Runtime's quantization of it (`calibration_inputs`: normalised images, int8)."""
    from edgevision.export import onnx as onnx_export

    return float_proto if mode == "none" else onnx_export.quantize(float_proto, mode, calibration_inputs)


def sidecar(graph) -> dict:
    return {}


def artifact_extra(graph) -> dict:
    return {}


def report_fields(options, keras_scores, graph) -> dict:
    return {"min_agreement": options.min_agreement}


def reference_row(result: dict) -> None:
    return None


def evaluation_line(result: dict) -> str:
    return (f"Parity measured on {result['evaluation']['images']} held-out images from "
            f"{result['evaluation']['source']}.")


def check_lines(result: dict) -> list[str]:
    return []


TASK = Task(
    name="classify", outputs=1, prepare=prepare, evaluation_set=calibration.evaluation_set,
    calibration_set=calibration.calibration_set, calibration_note=calibration_note, reference=reference,
    measure=measure, blank=("top1_agreement", "accuracy", "accuracy_drop", "max_abs_diff"), check=check,
    saved_model=saved_model, tflite_converter=tflite_converter, tflite_extra=tflite_extra,
    tflite_metadata=tflite_metadata, onnx_graph=onnx_graph, onnx_artifact=onnx_artifact, sidecar=sidecar,
    artifact_extra=artifact_extra, report_fields=report_fields, report_keys=REPORT_KEYS, columns=COLUMNS,
    reference_row=reference_row, title="", evaluation_line=evaluation_line, check_lines=check_lines,
    keep_float=KeepFloat(Column("agreement", "top1_agreement", "pct"), "agreement_gain", None, None),
)
