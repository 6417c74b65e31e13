"""`edgevision predict` as a user runs it: answers, JSON contract, annotated copies, bad input."""

import json

import cv2
import pytest

V2 = "mobilenet_v2_1.0_224_quant.tflite"
V1 = "mobilenet_v1_0.25_128_quant.tflite"


def test_predict_json_gives_the_reference_answers(cli, reference, tmp_path):
    result = cli("predict", reference / V2, reference / "cat.bmp", reference / "parrot.jpg",
                 "--labels", reference / "imagenet_labels.txt", "--top-k", "3", "--json",
                 "--save-dir", tmp_path / "annotated")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["model"].endswith(V2) and doc["task"] == "classify"
    cat, parrot = doc["results"]
    assert cat["image"].endswith("cat.bmp") and len(cat["top_k"]) == 3
    assert (cat["top_k"][0]["index"], cat["top_k"][0]["label"]) == (286, "Egyptian cat")
    assert 0.65 < cat["top_k"][0]["score"] < 0.95
    assert (parrot["top_k"][0]["index"], parrot["top_k"][0]["label"]) == (89, "macaw")
    assert parrot["top_k"][0]["score"] > 0.9
    assert doc["metrics"]["frames"] == 2 and doc["metrics"]["stages"]["inference"]["count"] == 2
    for name in ("cat.bmp", "parrot.jpg"):
        annotated = cv2.imread(str(tmp_path / "annotated" / name))
        original = cv2.imread(str(reference / name))
        assert annotated.shape == original.shape and (annotated != original).any()


def test_predict_text_output_with_the_small_model_and_labels_packed_in_it(cli, reference):
    result = cli("predict", reference / V1, reference / "parrot.jpg", "--top-k", "1", "--threads", "1")
    assert result.returncode == 0, result.stderr
    assert "89 macaw" in result.stdout  # labels from the zip the model carries, no --labels needed


def _assert_one_line_exit_2(result, *words):
    assert result.returncode == 2, (result.returncode, result.stderr)
    message = [line for line in result.stderr.splitlines() if line.startswith("edgevision predict:")]
    assert len(message) == 1, result.stderr
    for word in words:
        assert word in message[0], message[0]
    assert result.stdout == ""


@pytest.fixture
def image(reference):
    return reference / "cat.bmp"


def test_missing_model(cli, image, tmp_path):
    _assert_one_line_exit_2(cli("predict", tmp_path / "nope.tflite", image), "nope.tflite", "no such model file")


def test_empty_model(cli, image, tmp_path):
    (tmp_path / "empty.tflite").write_bytes(b"")
    _assert_one_line_exit_2(cli("predict", tmp_path / "empty.tflite", image), "empty.tflite", "empty", "re-export")


def test_random_bytes_model(cli, image, tmp_path):
    (tmp_path / "junk.tflite").write_bytes(bytes(range(256)) * 40)
    _assert_one_line_exit_2(cli("predict", tmp_path / "junk.tflite", image), "junk.tflite", "neither", "re-export")


def test_tflite_named_onnx_and_onnx_named_tflite(cli, reference, image, tmp_path):
    (tmp_path / "model.onnx").write_bytes((reference / V1).read_bytes())
    _assert_one_line_exit_2(cli("predict", tmp_path / "model.onnx", image), "model.onnx", "really a TFLite", "rename")
    pytest.importorskip("onnx")
    from tests.runtime.tiny_models import colour_classifier_onnx

    colour_classifier_onnx(tmp_path / "colours.tflite")
    _assert_one_line_exit_2(cli("predict", tmp_path / "colours.tflite", image), "colours.tflite", "really an ONNX",
                            "rename it to colours.onnx")


def test_truncated_onnx(cli, image, tmp_path):
    pytest.importorskip("onnx")
    from tests.runtime.tiny_models import colour_classifier_onnx

    data = colour_classifier_onnx(tmp_path / "full.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    _assert_one_line_exit_2(cli("predict", tmp_path / "cut.onnx", image), "cut.onnx", "corrupted")


def test_truncated_tflite(cli, reference, image, tmp_path):
    (tmp_path / "cut.tflite").write_bytes((reference / V1).read_bytes()[:200_000])
    _assert_one_line_exit_2(cli("predict", tmp_path / "cut.tflite", image), "cut.tflite", "truncated", "re-export")


@pytest.mark.parametrize("shape", [[1, 10], [1, 8, 8], [1, 8, 8, 1], [1, 2, 8, 8, 3]],
                         ids=["vector", "3-D", "one-channel", "5-D"])
def test_model_whose_input_is_not_an_image(cli, image, tmp_path, shape):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(tmp_path / "odd.onnx"))
    _assert_one_line_exit_2(cli("predict", tmp_path / "odd.onnx", image), "odd.onnx", "not one 4-D 3-channel image")


def test_unreadable_and_missing_images(cli, reference, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    _assert_one_line_exit_2(cli("predict", reference / V1, tmp_path / "broken.jpg"), "broken.jpg", "not a readable image")
    _assert_one_line_exit_2(cli("predict", reference / V1, tmp_path / "absent.png"), "absent.png", "no such image")


def test_bad_mean_and_missing_labels_file(cli, reference, image, tmp_path):
    _assert_one_line_exit_2(cli("predict", reference / V1, image, "--mean", "1,2"), "--mean")
    _assert_one_line_exit_2(cli("predict", reference / V1, image, "--labels", tmp_path / "l.txt"), "l.txt", "label file")


def test_keras_model_is_pointed_to_export(cli, image, tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "model.keras", "w") as keras_file:
        keras_file.writestr("config.json", "{}")
    _assert_one_line_exit_2(cli("predict", tmp_path / "model.keras", image), "model.keras", "edgevision export")


PETS = "real/detectors/pets_ssd_mobilenet_v1_0.75_tf1"


def test_pets_detector_reads_its_tf_object_detection_api_label_map(cli, reference):
    result = cli("predict", reference / PETS / "detect.tflite", reference / "cat.bmp",
                 "--labels", reference / PETS / "pet_label_map.pbtxt", "--json")
    assert result.returncode == 0, result.stderr
    best = json.loads(result.stdout)["results"][0]["detections"][0]
    assert (best["index"], best["label"]) == (0, "Abyssinian")  # class index 0 is the map's id 1
    assert best["score"] > 0.5
    expected = [181, 40, 338, 219]  # within 3 px (1% of the photo): int8 kernels may round differently per CPU
    assert all(abs(a - b) <= 3 for a, b in zip(best["box"], expected, strict=True)), best["box"]


def test_output_closed_early_ends_quietly_with_the_sigpipe_status(reference):
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    images = [str(reference / "cat.bmp")] * 40  # more output than a pipe holds
    process = subprocess.Popen([sys.executable, "-m", "edgevision", "predict", str(reference / V1), *images,
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # the reader goes away before anything is written (`| head -0`)
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 128 + signal.SIGPIPE, stderr
    assert "error" not in stderr.lower(), stderr
