"""A small SSDLite detector for the export tests: untrained but deterministic. Its BatchNorm
statistics are set from one batch of pictures (untrained, the activations would shrink to ~1e-9)
and its class head is random, so scores spread over (0, 1) and depend on the picture: boxes above
0.5 in different places, which is what the plumbing checks need. Plus the sidecar training writes."""

import re
from pathlib import Path

import numpy as np

DATA = "synthetic:shapes-det:200"
SIZE = 128
ALPHA = 0.35


def build_detector(folder: Path, seed: int = 0, data: str | None = DATA) -> Path:
    """Save `model.keras` + `model.json` (task detect, ssd_raw, anchors) into `folder`."""
    import keras

    from edgevision.metadata import ModelInfo, write_sidecar
    from edgevision.models.ssdlite import anchor_boxes, build_ssdlite_mobilenet_v2
    from edgevision.runtime.detection import BOX_CODER_SCALES

    keras.utils.set_random_seed(seed)
    labels = ["circle", "square", "triangle", "star"]
    model = build_ssdlite_mobilenet_v2(num_classes=len(labels), input_size=(SIZE, SIZE), alpha=ALPHA)
    anchors = anchor_boxes((SIZE, SIZE))
    info = ModelInfo(
        task="detect", input_size=(SIZE, SIZE), labels=labels, output_layout="ssd_raw",
        architecture="ssdlite_mobilenet_v2", alpha=ALPHA, anchors=np.round(anchors, 6).tolist(),
        box_scales=tuple(BOX_CODER_SCALES),
        extra={} if data is None else {"data": {"source": data, "seed": 0, "split": [0.8, 0.1, 0.1]}},
    )
    _settle_batchnorm(model, info, data or DATA)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if re.fullmatch(r"class_predictor_\d", layer.name):
            kernel, bias = layer.get_weights()
            std = 1.5 / np.sqrt(kernel.shape[2])
            layer.set_weights([rng.normal(0, std, kernel.shape).astype(np.float32), np.full_like(bias, -2.5)])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.keras"
    model.save(path)
    write_sidecar(path, info)
    return path


def _settle_batchnorm(model, info, data: str) -> None:
    """Moving mean/variance of every BatchNorm := the statistics of one batch of training pictures."""
    import keras

    from edgevision.data.detection import load_detection
    from edgevision.runtime.preprocess import normalise

    images = load_detection(data, "train", (SIZE, SIZE), 0, 32).images
    norms = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(normalise(images, info), training=True)
    for layer, momentum in zip(norms, saved, strict=True):
        layer.momentum = momentum


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
