"""Detector models end to end (tiny ONNX files with known outputs): both SSD layouts, predict --json."""

import json

import numpy as np
import pytest

from edgevision.metadata import ModelInfo, write_sidecar
from edgevision.runtime import Detector, load
from tests.runtime.tiny_models import constant_outputs_onnx

pytest.importorskip("onnx")

BOXES = [[[0.1, 0.2, 0.5, 0.6], [0.5, 0.5, 1.0, 1.0]]]  # ymin, xmin, ymax, xmax
FRAME = np.zeros((100, 200, 3), np.uint8)


def test_tf2_ordered_postprocessed_detector_without_description(tmp_path):
    path = constant_outputs_onnx(tmp_path / "ssd.onnx", {
        "detection_scores": [[0.9, 0.3]], "detection_boxes": BOXES, "num_detections": [2],
        "detection_classes": [[1, 0]]})
    model = load(path, threads=1, labels=["background", "person", "cat"])  # background line dropped
    assert isinstance(model, Detector) and model.info.output_layout == "ssd_postprocessed"
    found = model.predict(FRAME, threshold=0.2).detections
    assert [(d.index, d.label) for d in found] == [(1, "cat"), (0, "person")]
    assert found[0].box == pytest.approx((40, 10, 120, 50))


def test_raw_detector_with_anchors_from_its_sidecar_and_predict_json(tmp_path, cli):
    anchors = [[0.3, 0.3, 0.2, 0.2], [0.31, 0.31, 0.2, 0.2], [0.7, 0.7, 0.4, 0.4]]
    scores = [[[0.1, 0.8, 0.1, 0.0], [0.1, 0.7, 0.0, 0.2], [0.2, 0.0, 0.0, 0.9]]]
    path = constant_outputs_onnx(tmp_path / "raw.onnx", {"box_encodings": np.zeros((1, 3, 4)), "class_scores": scores})
    write_sidecar(path, ModelInfo(task="detect", input_size=(16, 16), labels=["circle", "square", "triangle"],
                                  output_layout="ssd_raw", anchors=anchors, box_scales=(10, 10, 5, 5)))
    _write_png(tmp_path / "frame.png")
    result = cli("predict", path, tmp_path / "frame.png", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["task"] == "detect"
    found = doc["results"][0]["detections"]
    assert [(d["index"], d["label"]) for d in found] == [(2, "triangle"), (0, "circle")]  # anchor 1 suppressed
    assert found[0]["score"] == pytest.approx(0.9)
    assert found[0]["box"] == pytest.approx([100.0, 50.0, 180.0, 90.0])  # 200x100 frame
    assert found[1]["box"] == pytest.approx([40.0, 20.0, 80.0, 40.0])


def _write_png(path):
    import cv2

    assert cv2.imwrite(str(path), FRAME)
