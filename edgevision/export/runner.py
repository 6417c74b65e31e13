"""Run an exported file on images the way a device does (TEMPORARY until edgevision.runtime lands)."""

from __future__ import annotations

import time

import numpy as np

from edgevision.export.calibration import normalise
from edgevision.metadata import ModelInfo


def run(path, images: np.ndarray, info: ModelInfo, threads: int = 2) -> tuple[np.ndarray, list[float]]:
    """Float scores [N, C] and per-image inference times (ms) of the model file at `path`."""
    inputs = normalise(images, info)
    scores, times = [], []
    if str(path).endswith(".onnx"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        for x in inputs:
            start = time.perf_counter()
            scores.append(session.run(None, {name: x[None]})[0][0])
            times.append((time.perf_counter() - start) * 1000)
        return np.array(scores), times
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    for x in inputs:
        if inp["dtype"] != np.float32:
            scale, zero_point = inp["quantization"]
            limits = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale + zero_point), limits.min, limits.max).astype(inp["dtype"])
        start = time.perf_counter()
        interpreter.set_tensor(inp["index"], x[None])
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])[0]
        times.append((time.perf_counter() - start) * 1000)
        if out["dtype"] != np.float32:
            scale, zero_point = out["quantization"]
            y = (y.astype(np.float32) - zero_point) * scale
        scores.append(y)
    return np.array(scores), times
