"""Models edgevision does not run get one line saying what they are and what runs them."""

from pathlib import Path

import numpy as np
import pytest

from tests.runtime.tiny_models import constant_outputs_onnx, pooled_features_onnx


def _refused(cli, model, image, *words, extra=()):
    result = cli("predict", model, image, *extra)
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("edgevision predict:")]
    assert len(lines) == 1 and result.stdout == "", result.stderr
    for word in (Path(model).name, *words):
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def image(tmp_path):
    import cv2

    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    return path


def test_embedding_extractor_is_not_taken_for_a_classifier(cli, tmp_path, image):
    pytest.importorskip("onnx")
    model = pooled_features_onnx(tmp_path / "features.onnx", features=64)
    _refused(cli, model, image, "64 values", "global average pool", "embedding", "--labels")
    labels = tmp_path / "labels.txt"  # a 64-class model that pools its class maps (SqueezeNet-style)
    labels.write_text("\n".join(f"class {i}" for i in range(64)) + "\n")
    result = cli("predict", model, image, "--labels", labels, "--top-k", "1")
    assert result.returncode == 0 and "class " in result.stdout, result.stderr


@pytest.mark.parametrize("outputs,words", [
    ({"segmentation": np.zeros((1, 21, 16, 16))}, ("segmentation", "Image Segmenter")),
    ({"argmax": np.zeros((1, 16, 16))}, ("segmentation",)),
    ({"keypoints": np.zeros((1, 1, 17, 3))}, ("pose", "Pose Landmarker")),
    ({"heatmaps": np.zeros((1, 9, 9, 17)), "offsets": np.zeros((1, 9, 9, 34)),
      "fwd": np.zeros((1, 9, 9, 32)), "bwd": np.zeros((1, 9, 9, 32))}, ("pose",)),
    ({"boxes": np.zeros((1, 50, 4)), "classes": np.zeros((1, 50, 8))}, ("raw SSD", "anchors", "sidecar")),
    ({"a": np.zeros((1, 7)), "b": np.zeros((1, 3))}, ("neither one score vector",)),
], ids=["segmentation NCHW", "segmentation argmax", "MoveNet", "PoseNet", "raw SSD", "two vectors"])
def test_other_kinds_of_model_are_named(cli, tmp_path, image, outputs, words):
    pytest.importorskip("onnx")
    line = _refused(cli, constant_outputs_onnx(tmp_path / "other.onnx", outputs, size=16), image, *words)
    if "raw SSD" not in words:
        assert "sidecar" not in line  # no description can make edgevision run these


@pytest.fixture(scope="module")
def tflite_files(tmp_path_factory):
    """A feature extractor, a segmenter and the feature extractor compiled 'for the Edge TPU' (TensorFlow)."""
    pytest.importorskip("tensorflow")
    from tests.runtime import tiny_tflite

    folder = tmp_path_factory.mktemp("foreign_tflite")
    features = tiny_tflite.feature_extractor()
    (folder / "features.tflite").write_bytes(features)
    (folder / "features_edgetpu.tflite").write_bytes(tiny_tflite.with_custom_op(features, "edgetpu-custom-op"))
    (folder / "deeplab.tflite").write_bytes(tiny_tflite.segmenter())
    return folder


@pytest.mark.slow
def test_tflite_feature_extractor_segmenter_and_edge_tpu_file(cli, tflite_files, image):
    _refused(cli, tflite_files / "features.tflite", image, "1024 values", "embedding")
    _refused(cli, tflite_files / "deeplab.tflite", image, "segmentation", "33x33")
    line = _refused(cli, tflite_files / "features_edgetpu.tflite", image, "Edge TPU", "edgetpu-custom-op",
                    "features.tflite, next to it", "pycoral", "libedgetpu")
    assert "update ai-edge-litert" not in line


def test_a_pooled_imagenet_head_is_still_a_classifier(tmp_path, image, cli):
    pytest.importorskip("onnx")
    result = cli("predict", pooled_features_onnx(tmp_path / "squeezenet.onnx", features=1000), image, "--top-k", "1")
    assert result.returncode == 0, result.stderr


def test_mediapipe_task_bundle_is_pointed_to_the_model_inside(cli, reference, image, tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "classifier.task", "w") as bundle:
        bundle.write(reference / "mobilenet_v1_0.25_128_quant.tflite", "model.tflite")
    _refused(cli, tmp_path / "classifier.task", image, "MediaPipe Tasks bundle", "unzip", "model.tflite")
