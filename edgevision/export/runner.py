"""Run an exported file on images exactly as a device does: through the runtime's backend and
its one pre-processing path (quantized input from the tensor's scale / zero point)."""

from __future__ import annotations

import time

import numpy as np

from edgevision.metadata import ModelInfo


def run(path, images: np.ndarray, info: ModelInfo, threads: int = 2) -> tuple[np.ndarray, list[float]]:
    """Real-valued output scores [N, C] and per-image inference times (ms) of the model at `path`.

    `images` are uint8 RGB at the model's input size, as `edgevision.data.load_images` returns them.
    """
    from edgevision.runtime.backends import open_backend
    from edgevision.runtime.classification import dequantize
    from edgevision.runtime.description import input_layout
    from edgevision.runtime.modelfile import read_model_file
    from edgevision.runtime.preprocess import Preprocessor

    backend = open_backend(read_model_file(path), threads=threads)
    spec, out = backend.inputs[0], backend.outputs[0]
    prepare = Preprocessor(spec, color_order=info.color_order, mean=info.mean, std=info.std,
                           layout=input_layout(spec.shape) or "NHWC")
    scores, times = [], []
    for image in images:
        tensor, _ = prepare(np.ascontiguousarray(image[..., ::-1]))  # the runtime takes BGR frames
        start = time.perf_counter()
        output = backend.invoke([tensor])[0]
        times.append((time.perf_counter() - start) * 1000)
        scores.append(dequantize(output, out.scale, out.zero_point).reshape(-1))
    return np.array(scores), times
