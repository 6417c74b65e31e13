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


def echo_onnx(path, *, layout="NHWC", batch="N", size=8, dtype="float32", output_shape=None, gain=1.0,
              softmax=False, extra_outputs=0, quantized_output=False):
    """Echoes its input: outputs [gain * mean R, gain * mean G, gain * mean B, 0] (+ `extra_outputs` zeros).

    As a "classifier" its softmax scores s give back what it was fed: x_c = log(s_c / s_3) / gain,
    so a test reads the normalisation and channel order straight from the scores. `batch` is the
    input's first dimension: a symbolic name ("N"), -1 (unknown) or 1. `output_shape`: a reshape of
    the [batch, 4] scores, e.g. [4] or [1, 1, 1, 4] (-1 keeps the batch open). `softmax`: output
    probabilities instead of raw values. dtype uint8: a uint8 input without quantization parameters.
    `quantized_output`: the scores leave through QuantizeLinear (scale 1/256, uint8), as tf2onnx
    writes a quantized TFLite classifier's output.
    """
    import onnx
    from onnx import TensorProto, helper

    n = 4 + extra_outputs
    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.UINT8
    dim = None if batch == -1 else batch
    shape = [dim, size, size, 3] if layout == "NHWC" else [dim, 3, size, size]
    axes = [1, 2] if layout == "NHWC" else [2, 3]
    weights = np.zeros((3, n), np.float32)
    weights[[0, 1, 2], [0, 1, 2]] = gain
    inits = [helper.make_tensor("axes", TensorProto.INT64, [2], axes),
             helper.make_tensor("w", TensorProto.FLOAT, [3, n], weights.ravel().tolist())]
    nodes, x = [], "image"
    if dtype != "float32":
        nodes.append(helper.make_node("Cast", ["image"], ["xf"], to=TensorProto.FLOAT))
        x = "xf"
    nodes += [helper.make_node("ReduceMean", [x, "axes"], ["m"], keepdims=0),
              helper.make_node("MatMul", ["m", "w"], ["logits"])]
    last = "logits"
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
        last = "probs"
    out_shape = [dim, n]
    if output_shape is not None:
        inits.append(helper.make_tensor("shape", TensorProto.INT64, [len(output_shape)], list(output_shape)))
        nodes.append(helper.make_node("Reshape", [last, "shape"], ["scores"]))
        out_shape = [dim if d == -1 else d for d in output_shape]
    else:
        nodes.append(helper.make_node("Identity", [last], ["scores"]))
    out_elem = TensorProto.FLOAT
    if quantized_output:
        nodes[-1].output[0] = "real_scores"
        inits += [helper.make_tensor("out_scale", TensorProto.FLOAT, [], [1 / 256]),
                  helper.make_tensor("out_zp", TensorProto.UINT8, [], [0])]
        nodes.append(helper.make_node("QuantizeLinear", ["real_scores", "out_scale", "out_zp"], ["scores"]))
        out_elem = TensorProto.UINT8
    graph = helper.make_graph(nodes, "echo", [helper.make_tensor_value_info("image", elem, shape)],
                              [helper.make_tensor_value_info("scores", out_elem, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def echoed(scores, gain=1.0):
    """What `echo_onnx` was fed (mean R, G, B) from its softmax scores ({index: score})."""
    return [float(np.log(scores[c] / scores[3]) / gain) for c in range(3)]


def pooled_features_onnx(path, features=64, size=8):
    """An embedding extractor: 1x1 conv to `features` channels, global average pool, [N, features]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(0).normal(size=(features, 3, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["image", "w"], ["c"]), helper.make_node("GlobalAveragePool", ["c"], ["p"]),
             helper.make_node("Flatten", ["p"], ["embedding"])]
    graph = helper.make_graph(nodes, "features", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                                 ["N", 3, size, size])],
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", features])],
                              [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def int8_pair_sum_onnx(path, channels=16, outputs=4):
    """A QDQ int8 1x1 convolution whose pair sums overflow int16 in a u8 x s8 kernel.

    Every weight is 127 (scale 1/127) and an input of ones quantizes to 127 (scale 1/127), so
    each output is exactly `channels`. ONNX Runtime's VPMADDUBSW kernel (x86 without VNNI) adds
    128 to the activations and sums products in pairs: 255 * 127 * 2 = 64,770 > 32,767.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    unit = np.float32(1 / 127)
    nodes = [helper.make_node("QuantizeLinear", ["x", "unit", "zero"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "unit", "zero"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zero"], ["wd"], axis=0),
             helper.make_node("Conv", ["xd", "wd"], ["y"]),
             helper.make_node("QuantizeLinear", ["y", "y_scale", "zero"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "y_scale", "zero"], ["out"])]
    inits = [numpy_helper.from_array(unit, "unit"), numpy_helper.from_array(np.int8(0), "zero"),
             numpy_helper.from_array(np.full((outputs, channels, 1, 1), 127, np.int8), "w"),
             numpy_helper.from_array(np.full(outputs, unit, np.float32), "w_scale"),
             numpy_helper.from_array(np.zeros(outputs, np.int8), "w_zero"),
             numpy_helper.from_array(np.float32(channels / 127), "y_scale")]
    graph = helper.make_graph(nodes, "pair_sums", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 1, 1])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, outputs, 1, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
