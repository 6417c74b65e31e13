import json

import pytest

from edgevision.metadata import ModelInfo, write_sidecar
from edgevision.runtime import load
from tests.runtime.tiny_models import colour_classifier_onnx, solid_bgr

onnx = pytest.importorskip("onnx")

RED, GREEN, BLUE = (0, 0, 255), (0, 255, 0), (255, 0, 0)  # BGR


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_onnx_classifier_sees_colours_in_rgb_order(tmp_path, layout):
    path = colour_classifier_onnx(tmp_path / "colours.onnx", layout=layout)
    model = load(path, threads=1, labels=["red", "green", "blue"])
    assert model.backend.name == "onnxruntime" and model.description_source == "inferred"
    for bgr, label in ((RED, "red"), (GREEN, "green"), (BLUE, "blue")):
        best = model.predict(solid_bgr(bgr)).top_k[0]
        assert best.label == label and best.score > 0.99


def test_sidecar_describes_colour_order_labels_and_uint8_quantization(tmp_path):
    path = colour_classifier_onnx(tmp_path / "colours.onnx", dtype="uint8")
    info = ModelInfo(task="classify", input_size=(8, 8), labels=["r", "g", "b"], color_order="BGR",
                     mean=(127.5,) * 3, std=(127.5,) * 3,
                     input_quantization={"dtype": "uint8", "scale": 1 / 127.5, "zero_point": 128})
    write_sidecar(path, info)
    model = load(path, threads=1)
    assert model.description_source == "sidecar"
    # Told the model wants BGR, the runtime feeds BGR: a red frame reads as "b" in this RGB-built model.
    assert model.predict(solid_bgr(RED)).top_k[0].label == "b"


def test_embedded_description_is_read_when_there_is_no_sidecar(tmp_path):
    info = ModelInfo(task="classify", input_size=(8, 8), labels=["rouge", "vert", "bleu"])
    path = colour_classifier_onnx(tmp_path / "colours.onnx", embedded=json.dumps(info.to_dict()))
    model = load(path, threads=1)
    assert model.description_source == "embedded"
    assert model.predict(solid_bgr(GREEN)).top_k[0].label == "vert"


def test_float_model_without_description_uses_caller_mean_and_std(tmp_path):
    path = colour_classifier_onnx(tmp_path / "colours.onnx")
    # mean 0, std 1 puts inputs at 0..255: still "blue" wins on a blue frame, with full confidence.
    model = load(path, threads=1, labels=["red", "green", "blue"], mean=0, std=1)
    assert model.info.mean == (0.0, 0.0, 0.0)
    assert model.predict(solid_bgr(BLUE)).top_k[0].label == "blue"
