"""SSD post-processing inside the exported graph: decode the box encodings against the anchors,
keep the best class of each anchor, non-maximum suppression, and the four standard outputs
(boxes [1, K, 4] normalised ymin, xmin, ymax, xmax; classes [1, K]; scores [1, K]; count [1]),
as TF Object Detection API models have them.

- TFLite: the `TFLite_Detection_PostProcess` custom op that the stock LiteRT interpreter ships.
  It is emitted as the TF OD API's TFLite exporter does: a `tf.function` whose
  `experimental_implements` signature names the op and its attributes, which the converter
  legalises to the op. It fuses only when the Keras model is frozen to constants and the graph
  goes through `tf.saved_model.save` + `TFLiteConverter.from_saved_model` (from concrete
  functions the function is inlined and the op lost; with Keras variables kept int8 calibration
  fails on READ_VARIABLE).
- ONNX: the same steps written as ONNX operators (NonMaxSuppression for the suppression),
  appended to the converted Keras graph.

Both use the op's "fast" mode: each anchor takes its best foreground class, and one
class-agnostic NMS runs over all anchors (`max_classes_per_detection` 1). Classes come out
0-based over the foreground classes (the background column 0 is skipped).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from edgevision.runtime.detection import BOX_CODER_SCALES

CUSTOM_OP = "TFLite_Detection_PostProcess"
OUTPUT_NAMES = ("detection_boxes", "detection_classes", "detection_scores", "num_detections")


@dataclass(frozen=True)
class PostProcess:
    num_classes: int  # foreground classes (the model's class scores have one more column, background)
    box_scales: tuple[float, float, float, float] = BOX_CODER_SCALES  # y, x, h, w
    max_detections: int = 100
    score_threshold: float = 0.05  # low, so COCO evaluation sees low-score boxes; the runtime thresholds again
    iou_threshold: float = 0.6  # the TF OD API's ssdlite_mobilenet_v2 config

    def to_dict(self) -> dict:
        return {**asdict(self), "box_scales": list(self.box_scales), "op": "fast class-agnostic NMS"}


def implements_signature(post: PostProcess) -> str:
    """The `experimental_implements` text that the TFLite converter turns into the custom op."""
    y, x, h, w = (float(s) for s in post.box_scales)
    attrs = [
        ("max_detections", f"i: {int(post.max_detections)}"),
        ("max_classes_per_detection", "i: 1"),
        ("use_regular_nms", "b: false"),
        ("nms_score_threshold", f"f: {post.score_threshold:f}"),
        ("nms_iou_threshold", f"f: {post.iou_threshold:f}"),
        ("y_scale", f"f: {y:f}"), ("x_scale", f"f: {x:f}"), ("h_scale", f"f: {h:f}"), ("w_scale", f"f: {w:f}"),
        ("num_classes", f"i: {int(post.num_classes)}"),
    ]
    return " ".join([f'name: "{CUSTOM_OP}"'] + [f'attr {{ key: "{k}" value {{ {v} }} }}' for k, v in attrs])


def write_tflite_saved_model(model, anchors: np.ndarray, post: PostProcess, directory) -> str:
    """A SavedModel of the frozen Keras detector followed by the post-processing function.

    `model` outputs (box encodings [1, N, 4], class scores [1, N, C+1]); `anchors` [N, 4] as
    (ycenter, xcenter, h, w). As in TF OD API TF2 exports, the serving signature returns the op's
    outputs reversed: output_0 count, output_1 scores, output_2 classes, output_3 boxes (the
    converted file then holds them in the TF2 tensor order scores, boxes, count, classes), so code
    written for those models (pycoral's `detect.get_objects`, ...) reads ours unchanged.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    _, height, width, channels = model.inputs[0].shape
    spec = tf.TensorSpec([1, height, width, channels], tf.float32, name="image")

    def raw(image):
        encodings, scores = model(image, training=False)
        return encodings, scores

    frozen = convert_variables_to_constants_v2(tf.function(raw, autograph=False).get_concrete_function(spec))
    anchor_values = np.asarray(anchors, np.float32).reshape(-1, 4)

    # Only a placeholder for TensorFlow: the converter replaces the whole function by the custom op,
    # whose outputs come in this order: boxes, classes, scores, count.
    @tf.function(experimental_implements=implements_signature(post), autograph=False)
    def postprocess(box_encodings, class_predictions, anchors):
        zero = tf.constant(0.0, tf.float32)
        return zero, zero, zero, zero

    class Detector(tf.Module):
        @tf.function(input_signature=[spec], autograph=False)
        def serve(self, image):
            encodings, scores = frozen(image)
            boxes, classes, found, count = postprocess(encodings, scores, tf.constant(anchor_values))
            return count, found, classes, boxes

    module = Detector()
    tf.saved_model.save(module, str(directory), signatures=module.serve.get_concrete_function())
    return str(directory)


def onnx_postprocess(anchors: np.ndarray, post: PostProcess, opset_imports, ir_version: int):
    """An ONNX model: inputs `box_encodings` [1, N, 4] and `class_scores` [1, N, C+1] -> OUTPUT_NAMES."""
    from onnx import TensorProto, helper, numpy_helper

    anchors = np.asarray(anchors, np.float32).reshape(-1, 4)
    n, k, c = len(anchors), int(post.max_detections), int(post.num_classes)
    consts = {
        "scales": np.asarray(post.box_scales, np.float32),
        "anchor_centres": anchors[:, :2], "anchor_sizes": anchors[:, 2:],
        "half": np.float32(0.5), "shape_n4": np.array([n, 4], np.int64), "shape_n": np.array([n], np.int64),
        "shape_m": np.array([-1], np.int64), "axis0": np.array([0], np.int64), "axis1": np.array([1], np.int64),
        "i0": np.array([0], np.int64), "i1": np.array([1], np.int64), "i2": np.array([2], np.int64),
        "i3": np.array([3], np.int64), "i4": np.array([4], np.int64), "big": np.array([c + 1], np.int64),
        "k": np.array([k], np.int64), "zero2": np.array([0], np.int64),
        "iou": np.array([post.iou_threshold], np.float32), "score": np.array([post.score_threshold], np.float32),
    }
    init = [numpy_helper.from_array(np.asarray(v), name=f"pp/{name}") for name, v in consts.items()]

    public = {"box_encodings", "class_scores", *OUTPUT_NAMES}  # the graph's inputs and outputs

    def node(op, inputs, outputs, **attrs):  # internal names get a "pp/" prefix
        return helper.make_node(op, [i if i in public else f"pp/{i}" for i in inputs],
                                [o if o in public else f"pp/{o}" for o in outputs], **attrs)

    opset = next((o.version for o in opset_imports if o.domain in ("", "ai.onnx")), 17)
    if opset >= 18:  # ReduceMax takes its axes as an input from opset 18 on
        reduce_max = node("ReduceMax", ["foreground", "i2"], ["best"], keepdims=0)
    else:
        reduce_max = node("ReduceMax", ["foreground"], ["best"], axes=[2], keepdims=0)
    nodes = [
        # decode: centre-size encodings against the anchors (Faster R-CNN box coder)
        node("Reshape", ["box_encodings", "shape_n4"], ["enc"]),
        node("Div", ["enc", "scales"], ["t"]),
        node("Slice", ["t", "i0", "i2", "axis1"], ["t_centre"]),
        node("Slice", ["t", "i2", "i4", "axis1"], ["t_size"]),
        node("Mul", ["t_centre", "anchor_sizes"], ["shift"]),
        node("Add", ["shift", "anchor_centres"], ["centre"]),
        node("Exp", ["t_size"], ["grow"]),
        node("Mul", ["grow", "anchor_sizes"], ["size"]),
        node("Mul", ["size", "half"], ["half_size"]),
        node("Sub", ["centre", "half_size"], ["corner_min"]),
        node("Add", ["centre", "half_size"], ["corner_max"]),
        node("Concat", ["corner_min", "corner_max"], ["boxes"], axis=1),  # [N, 4] ymin, xmin, ymax, xmax
        # best foreground class per anchor
        node("Slice", ["class_scores", "i1", "big", "i2"], ["foreground"]),  # [1, N, C]
        reduce_max,  # [1, N]
        node("ArgMax", ["foreground"], ["best_class"], axis=2, keepdims=0),  # [1, N] int64
        node("Unsqueeze", ["best", "axis1"], ["nms_scores"]),  # [1, 1, N]: one class, so NMS is class-agnostic
        node("Unsqueeze", ["boxes", "axis0"], ["nms_boxes"]),
        node("NonMaxSuppression", ["nms_boxes", "nms_scores", "k", "iou", "score"], ["selected"],
             center_point_box=0),  # [M, 3] (batch, class, anchor)
        node("Slice", ["selected", "i2", "i3", "axis1"], ["selected_col"]),
        node("Reshape", ["selected_col", "shape_m"], ["picked"]),
        node("Reshape", ["best", "shape_n"], ["flat_scores"]),
        node("Gather", ["flat_scores", "picked"], ["picked_scores"], axis=0),
        node("Shape", ["picked"], ["m"]),
        node("TopK", ["picked_scores", "m"], ["sorted_scores", "rank"], axis=0, largest=1, sorted=1),
        node("Gather", ["picked", "rank"], ["kept"], axis=0),
        node("Gather", ["boxes", "kept"], ["kept_boxes"], axis=0),
        node("Reshape", ["best_class", "shape_n"], ["flat_classes"]),
        node("Gather", ["flat_classes", "kept"], ["kept_classes_int"], axis=0),
        node("Cast", ["kept_classes_int"], ["kept_classes"], to=TensorProto.FLOAT),
        # pad to K rows, add the batch dimension
        node("Sub", ["k", "m"], ["missing"]),
        node("Concat", ["zero2", "missing"], ["pads_1d"], axis=0),
        node("Concat", ["zero2", "zero2", "missing", "zero2"], ["pads_2d"], axis=0),
        node("Pad", ["kept_boxes", "pads_2d"], ["padded_boxes"]),
        node("Pad", ["kept_classes", "pads_1d"], ["padded_classes"]),
        node("Pad", ["sorted_scores", "pads_1d"], ["padded_scores"]),
        node("Unsqueeze", ["padded_boxes", "axis0"], ["detection_boxes"]),
        node("Unsqueeze", ["padded_classes", "axis0"], ["detection_classes"]),
        node("Unsqueeze", ["padded_scores", "axis0"], ["detection_scores"]),
        node("Cast", ["m"], ["num_detections"], to=TensorProto.FLOAT),
    ]
    float_ = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "ssd_postprocess",
        [helper.make_tensor_value_info("box_encodings", float_, [1, n, 4]),
         helper.make_tensor_value_info("class_scores", float_, [1, n, c + 1])],
        [helper.make_tensor_value_info("detection_boxes", float_, [1, k, 4]),
         helper.make_tensor_value_info("detection_classes", float_, [1, k]),
         helper.make_tensor_value_info("detection_scores", float_, [1, k]),
         helper.make_tensor_value_info("num_detections", float_, [1])],
        initializer=init,
    )
    return helper.make_model(graph, opset_imports=list(opset_imports), ir_version=ir_version)


def append_onnx_postprocess(raw_model, anchors: np.ndarray, post: PostProcess):
    """The raw ONNX detector (outputs box encodings, class scores, in that order) with the
    post-processing appended: one model with the four standard outputs."""
    from onnx import compose

    outputs = [o.name for o in raw_model.graph.output]
    if len(outputs) != 2:
        raise ValueError(f"the raw detector has outputs {outputs}, expected box encodings and class scores")
    tail = onnx_postprocess(anchors, post, raw_model.opset_import, raw_model.ir_version)
    return compose.merge_models(raw_model, tail, io_map=[(outputs[0], "box_encodings"),
                                                         (outputs[1], "class_scores")])
