"""Detectors written by `edgevision export` (TFLite with TFLite_Detection_PostProcess, ONNX with
NonMaxSuppression) run through `predict` and `run` with no flags: boxes, labels, same answers."""

import json

import cv2
import numpy as np
import pytest

from tests.detector_models import DATA, SIZE
from tests.formats_check import assert_valid
from tests.numerics import assert_same_detections

pytestmark = pytest.mark.slow


@pytest.fixture
def pictures(tmp_path):
    """Three synthetic:shapes-det validation pictures, enlarged to 256x192 as a camera frame would differ."""
    from edgevision.data.detection import load_detection

    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, image in enumerate(load_detection(DATA, "val", SIZE, 0, 3).images):
        cv2.imwrite(str(folder / f"shapes_{i}.png"), cv2.resize(image[..., ::-1], (256, 192)))
    return sorted(folder.glob("*.png"))


def _predict(cli, model, pictures):
    result = cli("predict", model, *pictures, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["task"] == "detect"
    return [r["detections"] for r in doc["results"]]


def test_predict_gives_the_same_boxes_from_tflite_and_onnx(exported_detector, pictures, cli):
    import keras

    from edgevision.metadata import read_sidecar
    from tests.export.test_detector_export import float32_tolerances

    _, out, model_path = exported_detector
    tflite = _predict(cli, out / "model_fp32.tflite", pictures)
    onnx = _predict(cli, out / "model_onnx_fp32.onnx", pictures)
    # float32 rounding apart (tests/numerics.py), on the pictures as the model sees them, boxes in 256 px
    seen = np.stack([cv2.resize(cv2.imread(str(p)), (SIZE, SIZE), interpolation=cv2.INTER_AREA)[..., ::-1]
                     for p in pictures])
    score_tol, box_tol = float32_tolerances(keras.saving.load_model(model_path, compile=False), seen,
                                            read_sidecar(model_path), 256)
    assert sum(len(found) for found in tflite) >= 2  # the default threshold 0.5 leaves boxes to compare
    for a, b in zip(tflite, onnx, strict=True):
        for d in a:
            xmin, ymin, xmax, ymax = d["box"]
            assert d["label"] in ("circle", "square", "triangle", "star")
            assert 0 <= xmin < xmax <= 256 and 0 <= ymin < ymax <= 192  # pixels of the 256x192 picture
        assert_same_detections([(d["label"], d["score"], d["box"]) for d in a],
                               [(d["label"], d["score"], d["box"]) for d in b], score_tol, box_tol, threshold=0.5)
    int8 = _predict(cli, out / "model_int8.tflite", pictures)  # int8 input, float post-processing: runs as is
    assert all(d["label"] in ("circle", "square", "triangle", "star") for found in int8 for d in found)


def test_run_draws_detections_of_an_exported_detector(exported_detector, pictures, cli, tmp_path):
    _, out, _ = exported_detector
    for name in ("model_int8.tflite", "model_onnx_fp32.onnx"):
        saved = tmp_path / f"{name}.mp4"
        result = cli("run", "--model", out / name, "--source", pictures[0].parent, "--save", saved, "--json",
                     timeout=120)
        assert result.returncode == 0, result.stderr
        summary = assert_valid("run_metrics", json.loads(result.stdout))
        assert summary["task"] == "detect" and summary["frames"] == 3
        assert saved.is_file() and saved.stat().st_size > 0
        assert set(summary["label_counts"]) <= {"circle", "square", "triangle", "star"}
    assert summary["label_counts"]  # the float ONNX file finds shapes at the default threshold
