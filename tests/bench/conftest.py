"""Small model files for the bench tests, built without TensorFlow."""

import numpy as np
import pytest

from edgevision.metadata import ModelInfo, write_sidecar


def write_constant_onnx(path, labels, answer: int, size=(16, 16)):
    """A tiny ONNX classifier [1, H, W, 3] float -> softmax [1, C] that always answers `answer`.

    Its output does not depend on the image (weights zero, bias one-hot), so its accuracy on a
    dataset is exactly the share of that class: a test can know the right number in advance.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    h, w = size
    weights = np.zeros((h * w * 3, len(labels)), np.float32)
    bias = np.full(len(labels), -5.0, np.float32)
    bias[answer] = 5.0
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["input", "shape"], ["flat"]),
         helper.make_node("MatMul", ["flat", "weights"], ["logits0"]),
         helper.make_node("Add", ["logits0", "bias"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)],
        "constant_classifier",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, h, w, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, len(labels)])],
        initializer=[numpy_helper.from_array(np.array([1, h * w * 3], np.int64), "shape"),
                     numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    write_sidecar(path, ModelInfo(task="classify", input_size=size, labels=list(labels), format="onnx"))
    return path


@pytest.fixture
def constant_onnx(tmp_path):
    """(path, labels, answer): reversed synthetic:shapes labels, always answering "star"."""
    labels = ["star", "triangle", "square", "circle"]
    return write_constant_onnx(tmp_path / "constant.onnx", labels, answer=0), labels, 0


@pytest.fixture
def broken_tflite(tmp_path):
    path = tmp_path / "broken.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\xff" * 64)  # right magic, garbage tables
    return path
