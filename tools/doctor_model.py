"""Write the tiny model `edgevision doctor` runs through every runtime it finds.

    python tools/doctor_model.py        # rewrites edgevision/bench/doctor_model/

A 16 -> 8 (ReLU) -> 3 multilayer perceptron with fixed weights, as TFLite (float32) and ONNX, plus
`expected.json`: the input doctor feeds and the output computed here in float64 numpy. Both files are
checked against that output before they are written. Needs the [train] extra (TensorFlow, onnx).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "edgevision" / "bench" / "doctor_model"


def weights():
    rng = np.random.default_rng(15)
    w1 = rng.uniform(-1, 1, (16, 8)).astype(np.float32)
    b1 = rng.uniform(-0.5, 0.5, 8).astype(np.float32)
    w2 = rng.uniform(-1, 1, (8, 3)).astype(np.float32)
    b2 = rng.uniform(-0.5, 0.5, 3).astype(np.float32)
    return w1, b1, w2, b2


def test_input():
    return np.linspace(-1.0, 1.0, 16, dtype=np.float32).reshape(1, 16)


def reference_output(x, w1, b1, w2, b2):
    h = np.maximum(x.astype(np.float64) @ w1 + b1, 0.0)
    return h @ w2 + b2


def tflite_bytes(w1, b1, w2, b2) -> bytes:
    import tensorflow as tf

    class Mlp(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.nn.relu(x @ w1 + b1) @ w2 + b2}

    module = Mlp()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)
    return converter.convert()


def onnx_bytes(w1, b1, w2, b2) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    init = [numpy_helper.from_array(a, name) for a, name in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["h"]),
        helper.make_node("MatMul", ["h", "w2"], ["m2"]),
        helper.make_node("Add", ["m2", "b2"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "doctor_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="edgevision")
    model.ir_version = 8  # readable by every onnxruntime edgevision supports (>= 1.20)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main():
    params = weights()
    x = test_input()
    expected = reference_output(x, *params)
    files = {"tiny.tflite": tflite_bytes(*params), "tiny.onnx": onnx_bytes(*params)}

    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=files["tiny.tflite"])
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    got_tflite = interp.get_tensor(interp.get_output_details()[0]["index"])
    got_onnx = ort.InferenceSession(files["tiny.onnx"], providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    for name, got in (("tflite", got_tflite), ("onnx", got_onnx)):
        assert np.allclose(got, expected, rtol=0, atol=1e-4), (name, got, expected)

    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    (OUT / "expected.json").write_text(json.dumps(
        {"input": x.ravel().tolist(), "input_shape": list(x.shape), "output": expected.ravel().tolist()}, indent=1) + "\n")
    print({name: len(data) for name, data in files.items()})


if __name__ == "__main__":
    main()
