"""Keras -> TFLite: fp32, fp16, dynamic range and full-integer int8, built-in ops only.

Conversion goes through a SavedModel written once per export (`keras.Model.export`), so every
mode converts the same graph, and a `Converter` reads it once and converts its graph once for
float32 and int8 (int8 calibrates and quantizes the float32 flatbuffer). The converter's own checks are turned into one-line errors that
name the ops a user has to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from edgevision.errors import UserError


def write_saved_model(model, directory) -> str:
    """Export the inference graph of `model` as a SavedModel in `directory`."""
    model.export(str(directory), format="tf_saved_model", verbose=False)
    return str(directory)


def _ops_named_in(message: str) -> list[str]:
    """TF op names (`tf.Erf`, `Erf`) a converter error mentions."""
    names = re.findall(r"\btf\.([A-Z][A-Za-z0-9]+)", message)
    if not names:
        names = re.findall(r"'([A-Z][A-Za-z0-9]+)' op", message)
    return sorted(set(names))


class Converter:
    """Every TFLite mode of one SavedModel, converting the graph as few times as possible.

    The SavedModel is read once (one `TFLiteConverter`, reconfigured per mode), and int8 does not
    convert the graph again: it calibrates the float32 flatbuffer and quantizes it with the MLIR
    quantizer, the same two steps `TFLiteConverter` runs after its own float conversion
    (`add_intermediate_tensors`, `Calibrator.calibrate`, `mlir_quantize`, buffer de-duplication).
    """

    def __init__(self, saved_model_dir):
        self.saved_model_dir = str(saved_model_dir)
        self._converter = None
        self._float32: bytes | None = None

    def _configured(self, quantize: str):
        import tensorflow as tf

        if self._converter is None:
            self._converter = tf.lite.TFLiteConverter.from_saved_model(self.saved_model_dir)
        converter = self._converter
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.target_spec.supported_types = [tf.float16] if quantize == "fp16" else []
        converter.optimizations = [] if quantize == "none" else [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = None
        return converter

    def _run(self, quantize: str) -> bytes:
        try:
            return self._configured(quantize).convert()
        except Exception as exc:  # the converter raises ConverterError and friends with long messages
            raise explain_conversion_error(exc, quantize) from exc

    def float32(self) -> bytes:
        if self._float32 is None:
            self._float32 = _builtins_only(self._run("none"))
        return self._float32

    def convert(self, quantize="none", io_dtype="int8", representative=None, allow_float_fallback=False) -> bytes:
        """The flatbuffer in `quantize` mode (none|fp16|dynamic|int8); see the module's `convert`."""
        if quantize == "none":
            return self.float32()
        if quantize in ("fp16", "dynamic"):
            return _builtins_only(self._run(quantize))
        if quantize != "int8":
            raise ValueError(f"unknown quantization {quantize!r}")
        if representative is None:
            raise ValueError("int8 quantization needs a representative dataset")
        flatbuffer = self._int8(representative, io_dtype)
        if not allow_float_fallback:
            require_integer(flatbuffer)
        return flatbuffer

    def _int8(self, representative, io_dtype: str) -> bytes:
        import tensorflow as tf
        from tensorflow.lite.python import convert as tf_convert
        from tensorflow.lite.python.optimize import calibrator

        dtype = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[io_dtype]
        try:
            calibrated = calibrator.Calibrator(calibrator.add_intermediate_tensors(self.float32())).calibrate(
                representative)
            quantized = tf_convert.mlir_quantize(calibrated, input_data_type=dtype, output_data_type=dtype)
        except Exception as exc:
            raise explain_conversion_error(exc, "int8") from exc
        return bytes(tf_convert.deduplicate_readonly_buffers(quantized))


class CustomOpConverter:
    """Every TFLite mode of a SavedModel holding one custom op (a detector's TFLite_Detection_PostProcess):
    built-in ops plus that op, nothing else. int8 quantizes the network and keeps float32 outputs,
    which the custom op dequantizes its inputs into (as in the TF Object Detection API)."""

    def __init__(self, saved_model_dir, custom_op: str):
        self.saved_model_dir = str(saved_model_dir)
        self.custom_op = custom_op

    def convert(self, quantize="none", io_dtype="int8", representative=None, allow_float_fallback=False) -> bytes:
        import tensorflow as tf

        converter = tf.lite.TFLiteConverter.from_saved_model(self.saved_model_dir)
        converter.allow_custom_ops = True  # for the one custom op only: checked below
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            converter.representative_dataset = representative
            ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if allow_float_fallback:
                ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
            converter.target_spec.supported_ops = ops
            converter.inference_input_type = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[io_dtype]
        try:
            flatbuffer = converter.convert()
        except Exception as exc:
            raise explain_conversion_error(exc, quantize) from exc
        custom = custom_ops(flatbuffer)
        if custom != [self.custom_op]:
            raise UserError(f"the TFLite model has custom ops {custom or 'none'}, expected only "
                            f"{self.custom_op}: the post-processing did not fuse (report this)")
        if quantize == "int8" and not allow_float_fallback:
            require_integer(flatbuffer, allowed=("CUSTOM", self.custom_op))
        return flatbuffer


def float_custom_outputs(flatbuffer: bytes, custom_op: str) -> bytes:
    """The model with the QUANTIZE ops that re-quantize `custom_op`'s float outputs taken out, so the
    graph (and its signature) outputs are the op's own float32 tensors, under the same names.

    TF's denylisting re-export (`mlir_quantize`) adds them whatever output type it is asked for: a
    detector's TFLite_Detection_PostProcess outputs would come out int8, boxes in steps of 1/43 of
    the image and at most 9 boxes counted.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = _model_object(flatbuffer)
    for subgraph in model.subgraphs:
        produced_by_custom = {i for op in subgraph.operators or []
                              if model.operatorCodes[op.opcodeIndex].customCode == custom_op.encode()
                              for i in op.outputs}
        replaced = {}  # graph output tensor -> the custom op's float tensor it quantized
        for op in subgraph.operators or []:
            if (flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) == "QUANTIZE"
                    and op.inputs[0] in produced_by_custom and op.outputs[0] in subgraph.outputs):
                replaced[op.outputs[0]] = op.inputs[0]
        if not replaced:
            continue
        subgraph.operators = [op for op in subgraph.operators if op.outputs[0] not in replaced]
        subgraph.outputs = [replaced.get(i, i) for i in subgraph.outputs]
        for quantized, original in replaced.items():
            subgraph.tensors[original].name = subgraph.tensors[quantized].name
        for signature in model.signatureDefs or []:
            for output in signature.outputs or []:
                output.tensorIndex = replaced.get(output.tensorIndex, output.tensorIndex)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def require_integer(flatbuffer: bytes, allowed: tuple[str, ...] = ()) -> None:
    """UserError naming the ops of an int8 model that still compute in float (the quantizer quietly
    leaves ops without an int8 kernel in float), `allowed` ones aside."""
    floating = [op for op in float_ops(flatbuffer) if op not in allowed]
    if floating:
        raise UserError(
            f"op(s) {', '.join(floating)} cannot be integer-quantized: pass --allow-float-fallback to keep "
            "them in float (slower on int8-only accelerators), or replace those layers"
        )


def convert(
    saved_model_dir,
    quantize: str = "none",
    io_dtype: str = "int8",
    representative: Callable[[], Iterable] | None = None,
    allow_float_fallback: bool = False,
) -> bytes:
    """Convert the SavedModel to a TFLite flatbuffer in `quantize` mode (none|fp16|dynamic|int8).

    int8: `representative` yields `[float32 batch]` lists pre-processed as in training; the input and
    output tensors get `io_dtype`. Without `allow_float_fallback` every op must be integer.
    Several modes of one model: use one `Converter`, which converts the graph once.
    """
    return Converter(saved_model_dir).convert(quantize, io_dtype, representative, allow_float_fallback)


def _builtins_only(flatbuffer: bytes) -> bytes:
    flex = flex_ops(flatbuffer)
    if flex:
        raise UserError(f"the TFLite model would need TensorFlow (Flex) ops {', '.join(flex)}: replace those layers with built-in ones")
    return flatbuffer


def explain_conversion_error(exc: Exception, quantize: str) -> Exception:
    message = str(exc)
    ops = _ops_named_in(message)
    if ops and ("not supported" in message or "Flex" in message or "select" in message.lower()):
        return UserError(
            f"the model uses TensorFlow op(s) {', '.join(ops)} that the built-in TFLite runtime cannot run "
            "(they would need Flex / SELECT_TF_OPS): replace those layers with built-in ones"
        )
    if quantize == "int8" and ("quantiz" in message.lower() or "int8" in message.lower()):
        named = f" {', '.join(ops)}" if ops else ""
        first = message.strip().splitlines()[0][:200] if message.strip() else type(exc).__name__
        return UserError(
            f"op(s){named or ' in the model'} cannot be integer-quantized ({first}): pass --allow-float-fallback "
            "to keep them in float"
        )
    return exc


def _model_object(flatbuffer: bytes):
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))


def _op_names(model) -> list[str]:
    from tensorflow.lite.tools import flatbuffer_utils

    names = []
    for subgraph in model.subgraphs:
        for op in subgraph.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            if code.customCode:
                names.append(code.customCode.decode())
            else:
                names.append(flatbuffer_utils.opcode_to_name(model, op.opcodeIndex))
    return names


def flex_ops(flatbuffer: bytes) -> list[str]:
    """Names of Flex (TensorFlow) ops in a TFLite model; the stock LiteRT interpreter cannot run them."""
    return sorted({n for n in _op_names(_model_object(flatbuffer)) if n.startswith("Flex")})


def custom_ops(flatbuffer: bytes) -> list[str]:
    """Names of the custom ops of a TFLite model (e.g. TFLite_Detection_PostProcess), Flex ops included."""
    model = _model_object(flatbuffer)
    return sorted({model.operatorCodes[op.opcodeIndex].customCode.decode()
                   for subgraph in model.subgraphs for op in subgraph.operators or []
                   if model.operatorCodes[op.opcodeIndex].customCode})


def float_ops(flatbuffer: bytes) -> list[str]:
    """Ops of a quantized model that still compute in float (their inputs are float32 activations)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = _model_object(flatbuffer)
    found = set()
    for subgraph in model.subgraphs:
        for op in subgraph.operators or []:
            name = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)
            if name in ("QUANTIZE", "DEQUANTIZE"):
                continue
            inputs = [subgraph.tensors[i] for i in op.inputs if i >= 0]
            activations = [t for t in inputs if model.buffers[t.buffer].data is None]
            if any(t.type == schema.TensorType.FLOAT32 for t in activations):
                found.add(name)
    return sorted(found)


def tensor_quantization(flatbuffer: bytes) -> tuple[dict | None, dict | None]:
    """{"dtype", "scale", "zero_point"} of the input and output tensors (None when float)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)

    def describe(detail):
        scale, zero_point = detail["quantization"]
        if detail["dtype"].__name__ not in ("int8", "uint8") or scale == 0:
            return None
        return {"dtype": detail["dtype"].__name__, "scale": float(scale), "zero_point": int(zero_point)}

    return describe(interpreter.get_input_details()[0]), describe(interpreter.get_output_details()[0])
