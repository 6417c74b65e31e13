"""Which layers lose the most to int8, and re-exporting with those layers left in float.

Uses TensorFlow's `tf.lite.experimental.QuantizationDebugger`: it runs the float and the
quantized version of every layer on the calibration images and reports, per quantized tensor,
the RMS error relative to its quantization step (`rmse / scale`; above ~0.3 is suspicious, as
in TensorFlow's selective-quantization guide).
"""

from __future__ import annotations

import csv
import io
import math

from edgevision.export import tflite


def _converter(saved_model_dir, representative, io_dtype: str | None, custom_op: str | None = None):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.allow_custom_ops = custom_op is not None  # a detector's TFLite_Detection_PostProcess
    if io_dtype is not None:
        dtype = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[io_dtype]
        converter.inference_input_type = dtype
        converter.inference_output_type = dtype
    return converter


def layer_errors(saved_model_dir, representative, top: int = 10, custom_op: str | None = None) -> list[dict]:
    """The `top` quantized tensors with the largest `rmse / scale`, worst first (`custom_op`: the one
    custom op the graph holds, if any)."""
    import tensorflow as tf

    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=_converter(saved_model_dir, representative, None, custom_op), debug_dataset=representative
    )
    debugger.run()
    buffer = io.StringIO()
    debugger.layer_statistics_dump(buffer)
    rows = []
    for row in csv.DictReader(io.StringIO(buffer.getvalue())):
        scale = float(row["scale"] or 0)
        mse = float(row["mean_squared_error"] or 0)
        if scale <= 0 or math.isnan(mse):
            continue
        rows.append({
            "layer": row["tensor_name"],
            "op": row["op_name"],
            "rmse_over_scale": math.sqrt(mse) / scale,
            "max_abs_error": float(row["max_abs_error"]),
        })
    rows.sort(key=lambda r: r["rmse_over_scale"], reverse=True)
    return rows[:top]


def convert_keeping_float(saved_model_dir, representative, layers: list[str], io_dtype: str,
                          output_dtype: str | None = None, custom_op: str | None = None) -> bytes:
    """int8 conversion with the named layers (tensor names from `layer_errors`) left in float.

    Calibrates once, then quantizes with those nodes denylisted: the same call the debugger's
    `get_nondebug_quantized_model` makes, but keeping the requested input type and the output
    type (`output_dtype`, default `io_dtype`; a custom op's float outputs stay float32).
    """
    import tensorflow as tf
    from tensorflow.lite.python import convert

    converter = _converter(saved_model_dir, representative, None, custom_op)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True
    calibrated = converter.convert()
    dtypes = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}
    quantized = convert.mlir_quantize(
        calibrated, fully_quantize=io_dtype != "float32", input_data_type=dtypes[io_dtype],
        output_data_type=dtypes[output_dtype or io_dtype], denylisted_nodes=list(layers),
    )
    return quantized if custom_op is None else tflite.float_custom_outputs(quantized, custom_op)
