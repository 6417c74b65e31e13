"""Tiny hand-built ONNX models (no TensorFlow): known answers for backend and CLI tests."""

import numpy as np


def colour_classifier_onnx(path, layout="NHWC", size=8, dtype="float32", embedded=None):
    """3 classes "red", "green", "blue": softmax(10 * mean colour) of an RGB input in [-1, 1].

    layout NHWC or NCHW; dtype float32 or uint8 (uint8: the model dequantizes with scale
    1/127.5, zero point 127.5 ... i.e. (q - 127.5) / 127.5, as our int8 exports describe).
    `embedded`: a JSON string stored under metadata_props "edgevision".
    """
    import onnx
    from onnx import TensorProto, helper

    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.UINT8
    shape = [1, size, size, 3] if layout == "NHWC" else [1, 3, size, size]
    axes = [1, 2] if layout == "NHWC" else [2, 3]
    nodes, inits = [], [helper.make_tensor("axes", TensorProto.INT64, [2], axes),
                        helper.make_tensor("w", TensorProto.FLOAT, [3, 3], (10 * np.eye(3)).ravel().tolist())]
    x = "image"
    if dtype == "uint8":
        inits += [helper.make_tensor("scale", TensorProto.FLOAT, [], [1 / 127.5]),
                  helper.make_tensor("zp", TensorProto.FLOAT, [], [127.5])]
        nodes += [helper.make_node("Cast", ["image"], ["xf"], to=TensorProto.FLOAT),
                  helper.make_node("Sub", ["xf", "zp"], ["xs"]), helper.make_node("Mul", ["xs", "scale"], ["xn"])]
        x = "xn"
    nodes += [helper.make_node("ReduceMean", [x, "axes"], ["m"], keepdims=0),
              helper.make_node("MatMul", ["m", "w"], ["logits"]),
              helper.make_node("Softmax", ["logits"], ["scores"], axis=1)]
    graph = helper.make_graph(nodes, "colours", [helper.make_tensor_value_info("image", elem, shape)],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    if embedded is not None:
        helper.set_model_props(model, {"edgevision": embedded})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def solid_bgr(bgr, height=60, width=80):
    return np.full((height, width, 3), bgr, np.uint8)


def constant_outputs_onnx(path, outputs: dict, size=16):
    """A model whose named outputs are the given constant arrays (plus 0 * mean(input)), in order."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("ReduceMean", ["image"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"])]
    inits = [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])]
    outs = []
    for name, value in outputs.items():
        value = np.asarray(value, np.float32)
        inits.append(numpy_helper.from_array(value, f"{name}_const"))
        nodes.append(helper.make_node("Add", [f"{name}_const", "z"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(nodes, "constant", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                                 [1, size, size, 3])], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(path))
    return path
