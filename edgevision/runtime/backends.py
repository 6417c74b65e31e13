"""Inference backends behind one small interface: LiteRT (TFLite) and ONNX Runtime.

    backend = open_backend(model_file, threads=2)
    backend.inputs[0]   # TensorSpec(name, shape, dtype, scale, zero_point)
    outputs = backend.invoke([tensor])

LiteRT comes from `ai_edge_litert`, else `tflite_runtime`, else `tensorflow.lite`, in that
order, so TensorFlow is only imported on a machine that has nothing lighter.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from edgevision.errors import MissingPackage, UserError


class TensorSpec(NamedTuple):
    name: str
    shape: tuple[int, ...]  # -1 for a dimension the model leaves open
    dtype: np.dtype
    scale: float | None = None  # quantization: real = scale * (q - zero_point); None when not quantized
    zero_point: int | None = None

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.scale > 0 and self.dtype.kind in "iu"


def default_threads() -> int:
    """The cores this process may use (its CPU affinity), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def open_backend(model_file, threads: int | None = None):
    """A LiteRTBackend or OnnxBackend for a validated `ModelFile`."""
    threads = default_threads() if threads is None else int(threads)
    if threads < 1:
        raise UserError(f"--threads {threads}: use 1 or more")
    if model_file.format == "tflite":
        return LiteRTBackend(model_file, threads)
    return OnnxBackend(model_file, threads)


def litert_interpreter_class():
    """(Interpreter class, module name) from the lightest LiteRT package installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai_edge_litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite_runtime"
    except ImportError:
        pass
    try:
        from tensorflow.lite import Interpreter  # last resort: a full TensorFlow install

        return Interpreter, "tensorflow.lite"
    except ImportError:
        raise MissingPackage(
            "ai_edge_litert", "no TFLite interpreter is installed: `pip install ai-edge-litert` (or use the .onnx model)"
        ) from None


class LiteRTBackend:
    """A TFLite model on the LiteRT interpreter with the XNNPACK CPU delegate (its default)."""

    format = "tflite"

    def __init__(self, model_file, threads: int):
        interpreter_class, self.name = litert_interpreter_class()
        self.threads = threads
        try:
            self.interpreter = interpreter_class(model_content=model_file.data, num_threads=threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(
                f"{model_file.path}: LiteRT cannot load this model ({first}): "
                "re-export it with `edgevision export` or update ai-edge-litert"
            ) from None
        self._in = [d["index"] for d in self.interpreter.get_input_details()]
        self._out = [d["index"] for d in self.interpreter.get_output_details()]
        self.inputs = [_litert_spec(d) for d in self.interpreter.get_input_details()]
        self.outputs = [_litert_spec(d) for d in self.interpreter.get_output_details()]
        self.signature_outputs = _signature_outputs(self.interpreter, self.outputs)

    def fit_input(self, shape) -> None:
        """Size an input the model leaves open (shape_signature -1) to `shape`, e.g. from input_size."""
        detail = self.interpreter.get_input_details()[0]
        if tuple(int(d) for d in detail["shape"]) != tuple(shape):
            self.interpreter.resize_tensor_input(detail["index"], list(shape))
            self.interpreter.allocate_tensors()

    def invoke(self, arrays) -> list[np.ndarray]:
        interp = self.interpreter
        for index, array in zip(self._in, arrays, strict=True):
            interp.set_tensor(index, array)
        interp.invoke()
        return [interp.get_tensor(i) for i in self._out]


def _litert_spec(detail) -> TensorSpec:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    quantized = scale and np.dtype(detail["dtype"]).kind in "iu"
    shape = tuple(int(d) for d in detail.get("shape_signature", detail["shape"]))
    return TensorSpec(
        name=detail["name"], shape=shape, dtype=np.dtype(detail["dtype"]),
        scale=float(scale) if quantized else None, zero_point=int(zero_point) if quantized else None,
    )


def _signature_outputs(interpreter, outputs) -> list[str | None]:
    """Each output's signature name (e.g. "detection_boxes"), None where the model has no signature."""
    names = [None] * len(outputs)
    try:
        signatures = interpreter.get_signature_list()
        if len(signatures) != 1:
            return names
        runner_outputs = interpreter.get_signature_runner(next(iter(signatures))).get_output_details()
    except (ValueError, RuntimeError, AttributeError):
        return names
    by_tensor = {detail["name"]: key for key, detail in runner_outputs.items()}
    return [by_tensor.get(spec.name) for spec in outputs]


# ONNX Runtime's default int8 matrix products on x86 CPUs without VNNI (AVX2, AVX-512 before
# Cascade Lake/Zen 4) use VPMADDUBSW, which saturates each pair of u8 x s8 products at int16 and
# changes int8 models' answers. This option makes those CPUs use exact u8 x u8 products; ARM and
# VNNI x86 CPUs ignore it.
EXACT_INT8_PRODUCTS = {"session.x64quantprecision": "1"}


def onnx_session_options(threads: int, exact_int8: bool = True):
    """`onnxruntime.SessionOptions` edgevision runs every ONNX model with."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    for key, value in (EXACT_INT8_PRODUCTS if exact_int8 else {}).items():
        options.add_session_config_entry(key, value)
    return options


def open_onnx_session(data: bytes, threads: int):
    """An ONNX Runtime session asking for exact int8 products, or, for the graphs ONNX Runtime
    cannot rewrite that way (1.32 fails on MobileNetV3's shared int8 initializers: "Attempt to
    replace the existing tensor"), one with its default products."""
    import onnxruntime as ort

    for exact in (True, False):
        try:
            return ort.InferenceSession(data, sess_options=onnx_session_options(threads, exact_int8=exact),
                                        providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a bad model fails again without the option, and that error is raised
            if not exact:
                raise


_ONNX_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8, "tensor(int8)": np.int8, "tensor(int32)": np.int32,
    "tensor(int64)": np.int64, "tensor(bool)": np.bool_,
}


class OnnxBackend:
    """An ONNX model on ONNX Runtime's CPU provider, `threads` intra-op threads."""

    format = "onnx"
    name = "onnxruntime"

    def __init__(self, model_file, threads: int):
        try:
            import onnxruntime  # noqa: F401 - installed? (open_onnx_session uses it)
        except ImportError:
            raise MissingPackage(
                "onnxruntime", "ONNX Runtime is not installed: `pip install onnxruntime` (or use the .tflite model)"
            ) from None
        self.threads = threads
        try:
            self.session = open_onnx_session(model_file.data, threads)
        except Exception as exc:  # ORT raises its own exception types for every kind of bad model
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(
                f"{model_file.path}: ONNX Runtime cannot load this model ({first[:200]}): "
                "re-export it with `edgevision export`"
            ) from None
        self.inputs = [_onnx_spec(i) for i in self.session.get_inputs()]
        self.outputs = [_onnx_spec(o) for o in self.session.get_outputs()]
        self._in_names = [i.name for i in self.inputs]
        self.signature_outputs = [o.name for o in self.outputs]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def fit_input(self, shape) -> None:
        """ONNX Runtime takes any size an open dimension allows, call by call."""

    def invoke(self, arrays) -> list[np.ndarray]:
        return self.session.run(None, dict(zip(self._in_names, arrays, strict=True)))


def _onnx_spec(node) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in node.shape)
    dtype = _ONNX_DTYPES.get(node.type)
    if dtype is None:
        raise UserError(f"model tensor {node.name!r} has type {node.type}, which edgevision cannot feed or read")
    return TensorSpec(name=node.name, shape=shape, dtype=np.dtype(dtype))
