"""What an export writes: model files that run, sidecars, labels.txt, embedded descriptions, the report."""

import json
from pathlib import Path

import numpy as np
import pytest

from edgevision.export import embed
from edgevision.metadata import read_sidecar
from tests.formats_check import assert_valid

# These share one export of a model trained for ~45 s (session fixture): slow as a group.
pytestmark = pytest.mark.slow

REPORT_KEYS = {"path", "format", "quantization", "size_bytes", "gzip_bytes", "size_ratio", "top1_agreement",
               "accuracy", "accuracy_drop", "max_abs_diff", "map50", "passed"}


def _artifact(report, fmt, quantization):
    return next(a for a in report["artifacts"] if a["format"] == fmt and a["quantization"] == quantization)


def test_every_artifact_has_its_files_and_report_entry(exported):
    report, out = exported
    names = sorted(Path(a["path"]).name for a in report["artifacts"])
    assert names == ["model_fp32.tflite", "model_int8.tflite", "model_onnx_fp32.onnx", "model_onnx_int8.onnx"]
    for artifact in report["artifacts"]:
        assert REPORT_KEYS <= set(artifact)
        path = Path(artifact["path"])
        assert path.is_file() and path.with_suffix(".json").is_file()
        assert artifact["size_bytes"] == path.stat().st_size
    assert (out / "labels.txt").read_text().split() == ["circle", "square", "triangle", "star"]
    on_disk = assert_valid("export_report", out / "export_report.json")
    for artifact in on_disk["artifacts"]:
        assert_valid("sidecar", Path(artifact["path"]).with_suffix(".json"))
    assert on_disk["artifacts"] == json.loads(json.dumps(report["artifacts"]))
    assert "| model_int8.tflite |" in (out / "export_report.md").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_float_exports_match_keras(exported, trained_model):
    import keras

    from edgevision.export import calibration
    from edgevision.runtime.preprocess import normalise
    from tests.numerics import classifier_float32_agreement

    report, _ = exported
    # the float32 bound on the very images the report's evaluation used (tests/numerics.py)
    info = read_sidecar(trained_model)
    images = calibration.evaluation_set(info, trained_model, None, 200).images  # the fixture's eval_count
    assert len(images) == report["evaluation"]["images"]
    tolerance, may_flip = classifier_float32_agreement(keras.saving.load_model(trained_model, compile=False),
                                                       normalise(images, info))
    assert tolerance < 0.01 and may_flip <= 2  # tight enough to catch a conversion mistake
    for fmt in ("tflite", "onnx"):
        artifact = _artifact(report, fmt, "none")
        assert artifact["passed"] is True
        assert artifact["top1_agreement"] >= 1 - may_flip / len(images)
        assert artifact["max_abs_diff"] <= tolerance


def test_int8_tflite_keeps_the_trained_models_answers_at_a_third_of_the_size(exported):
    report, _ = exported
    int8, fp32 = _artifact(report, "tflite", "int8"), _artifact(report, "tflite", "none")
    assert int8["top1_agreement"] >= 0.97
    assert int8["accuracy"] > 0.5, "the fixture model must be genuinely trained (4 classes: chance is 0.25)"
    assert int8["size_bytes"] <= 0.35 * fp32["size_bytes"]
    assert report["calibration"]["images"] == 100


def test_int8_onnx_is_qdq_and_agrees(exported):
    import onnx

    report, _ = exported
    artifact = _artifact(report, "onnx", "int8")
    model = onnx.load(artifact["path"])
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in model.graph.node}
    assert artifact["top1_agreement"] >= 0.95


def test_int8_tflite_sidecar_and_embedded_copy_describe_the_tensors(exported):
    from ai_edge_litert.interpreter import Interpreter

    report, _ = exported
    path = Path(_artifact(report, "tflite", "int8")["path"])
    info = read_sidecar(path)
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    assert detail["dtype"] == np.int8
    assert info.input_quantization == {"dtype": "int8", "scale": float(detail["quantization"][0]),
                                       "zero_point": int(detail["quantization"][1])}
    assert info.output_quantization["dtype"] == "int8"
    assert (info.format, info.quantization, info.labels[0]) == ("tflite", "int8", "circle")
    assert info.source_model.endswith("model.keras")
    assert info.extra["calibration"]["images"] == 100
    assert embed.read_tflite(path.read_bytes()) == info.to_dict()


def test_onnx_has_dynamic_batch_opset_17_and_embedded_description(exported):
    import onnx
    import onnxruntime as ort

    report, _ = exported
    path = Path(_artifact(report, "onnx", "none")["path"])
    model = onnx.load(str(path))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert embed.read_onnx(model) == read_sidecar(path).to_dict()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = np.zeros((3, 32, 32, 3), np.float32)
    assert session.run(None, {session.get_inputs()[0].name: batch})[0].shape == (3, 4)


def test_report_says_where_the_time_went(exported):
    report, out = exported
    stages = report["stage_seconds"]
    assert {"load", "saved model", "tflite fp32", "tflite int8", "onnx fp32", "onnx int8", "parity"} <= set(stages)
    assert all(seconds >= 0 for seconds in stages.values())
    assert sum(stages.values()) <= report["seconds"] + 0.5
    assert f"export took {report['seconds']:.1f} s: " in (out / "export_report.md").read_text()
