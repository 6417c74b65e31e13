"""Keras -> ONNX (through Keras' own exporter, which uses tf2onnx), plus ONNX Runtime quantization.

The graph has a dynamic batch dimension and opset >= 17, passes `onnx.checker` and is opened
in ONNX Runtime before it is written. int8 uses ONNX Runtime's static QDQ quantization with the
same calibration images as TFLite; dynamic quantizes the weights only.

int8: int8 activations and per-channel int8 weights (S8S8), MinMax ranges, softmax in float.
Measured on MobileNetV2s trained on hymenoptera, on a VNNI CPU, against the alternatives: uint8
weights (U8U8) changed up to 2 more of 153 answers, 7-bit weights (reduce_range) 5-8 more, and
the calibration method (Entropy, Percentile) and count (50-245) moved nothing (ReLU6 bounds most
ranges). On x86 CPUs without VNNI, ONNX Runtime's default int8 kernel (VPMADDUBSW) saturates
pairs of u8 x s8 products at int16 and changes answers: the file stays S8S8 and is run with exact
products (`runtime.backends.EXACT_INT8_PRODUCTS`), which any other program running it on such a
CPU must ask for too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edgevision.errors import UserError

DEFAULT_OPSET = 17
INPUT_NAME = "input"
# Calibration images per ONNX Runtime run: ranges are min/max over all images either way (same
# file), but batches of 16 calibrate MobileNetV2/224 about 1.5x faster than one image at a time.
CALIBRATION_BATCH = 16


def convert(model, opset: int = DEFAULT_OPSET, batch: int | None = None):
    """The float32 `onnx.ModelProto` of `model`, input NHWC float32 with a dynamic batch dimension
    (or `batch` fixed, as detectors with their single-image post-processing need)."""
    import onnx
    import tensorflow as tf

    if opset < DEFAULT_OPSET:
        raise UserError(f"ONNX opset {opset} is too old: use {DEFAULT_OPSET} or newer")
    _, height, width, channels = model.inputs[0].shape
    signature = [tf.TensorSpec([batch, height, width, channels], tf.float32, name=INPUT_NAME)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        model.export(str(path), format="onnx", verbose=False, opset_version=opset, input_signature=signature)
        proto = onnx.load(str(path))
    check(proto)
    return proto


def check(proto) -> None:
    """`onnx.checker` and an ONNX Runtime session must both accept the model."""
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(proto)
    ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


class _Calibration:
    """onnxruntime.quantization.CalibrationDataReader over pre-processed float32 images."""

    def __init__(self, name: str, batches):
        self._name, self._batches = name, iter(batches)

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {self._name: batch}

    def rewind(self):  # not needed for one pass, but part of the reader protocol
        raise NotImplementedError


def quantize(proto, mode: str, calibration: np.ndarray | None = None):
    """ONNX Runtime quantization of a float model: "int8" (static QDQ, per-channel S8S8) or "dynamic"."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        source, prepared, target = (Path(tmp) / n for n in ("float.onnx", "prepared.onnx", "quant.onnx"))
        onnx.save(proto, str(source))
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        if mode == "dynamic":
            quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8)
        elif mode == "int8":
            if calibration is None or len(calibration) == 0:
                raise ValueError("int8 quantization needs calibration images")
            name = proto.graph.input[0].name
            batch = CALIBRATION_BATCH if _dynamic_batch(proto) else 1
            # The final softmax stays float: its [0, 1] output needs no int8 and near-ties would collapse.
            softmax = [node.name for node in onnx.load(str(prepared)).graph.node if node.op_type == "Softmax"]
            quantize_static(
                str(prepared), str(target),
                _Calibration(name, (calibration[i:i + batch] for i in range(0, len(calibration), batch))),
                quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                nodes_to_exclude=softmax,
            )
        else:
            raise ValueError(f"ONNX export does not support quantization {mode!r}")
        quantized = onnx.load(str(target))
    check(quantized)
    return quantized


def int8_saturates_here() -> bool:
    """True on an x86 CPU without VNNI, where ONNX Runtime's default int8 pair sums saturate (see above)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: unknown, say nothing
        return False
    return not any(flag in flags.split() for flag in ("avx512_vnni", "avx_vnni"))


def _dynamic_batch(proto) -> bool:
    first = proto.graph.input[0].type.tensor_type.shape.dim[0]
    return bool(first.dim_param) or not first.HasField("dim_value")
