"""What `export` can be asked for: the options, their allowed values and their one check.

Light on purpose (no numpy, no TensorFlow): the command line builds its choices from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgevision.errors import UserError
from edgevision.metadata import QUANTIZATIONS

FORMATS = ("tflite", "onnx")
ONNX_QUANTIZATIONS = ("none", "dynamic", "int8")
# File-name tag of each quantization mode: model_fp32.tflite, model_int8.tflite, ...
TAGS = {"none": "fp32", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}
IO_DTYPES = ("int8", "uint8", "float32")  # int8 TFLite input/output tensors


@dataclass
class ExportOptions:
    formats: tuple[str, ...] = ("tflite",)
    quantize: tuple[str, ...] = ("none",)
    io_dtype: str = "int8"
    calib_data: str | None = None
    calib_count: int = 200
    eval_data: str | None = None
    eval_count: int | None = 500
    min_agreement: float = 0.97
    max_map_drop: float = 0.05  # detectors: largest int8 mAP@.5 loss against Keras
    allow_float_fallback: bool = False
    keep_float: tuple[str, ...] = ()  # ("auto",) or layer names
    unsafe: bool = False
    opset: int = 17
    threads: int = 2


def validate(options: ExportOptions) -> None:
    """UserError (exit 2) for an option the export cannot honour."""
    for fmt in options.formats:
        if fmt not in FORMATS:
            raise UserError(f"unknown format {fmt!r}: use one or more of {', '.join(FORMATS)}")
    for mode in options.quantize:
        if mode not in QUANTIZATIONS:
            raise UserError(f"unknown quantization {mode!r}: use one or more of {', '.join(QUANTIZATIONS)}")
    if options.io_dtype not in IO_DTYPES:
        raise UserError(f"unknown --io-dtype {options.io_dtype!r}: use {', '.join(IO_DTYPES)}")
    if not 0 < options.min_agreement <= 1:
        raise UserError(f"--min-agreement {options.min_agreement} must be in (0, 1]")
    if not 0 <= options.max_map_drop <= 1:
        raise UserError(f"--max-map-drop {options.max_map_drop} must be in [0, 1]")
    if options.calib_count < 1:
        raise UserError(f"--calib-count {options.calib_count} must be at least 1")
