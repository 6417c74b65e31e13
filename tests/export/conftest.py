"""Fixtures for the export tests: a genuinely trained tiny classifier and one export of it."""

from pathlib import Path

import numpy as np
import pytest

DATA = "synthetic:shapes"
SIZE = 32


def small_cnn(num_classes, size=SIZE, width=16):
    """Four 3x3 conv layers and a max-pooled head: learns synthetic:shapes to ~75% in ~45 s on 2 cores."""
    import keras

    layers = keras.layers
    return keras.Sequential([
        keras.Input((size, size, 3)),
        layers.Conv2D(width, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(2 * width, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(4 * width, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(4 * width, 3, padding="same", activation="relu"),
        layers.GlobalMaxPooling2D(),
        layers.Dense(num_classes, activation="softmax"),
    ])


def save_with_sidecar(model, folder: Path, labels, mean=127.5, std=127.5, data=DATA, name="model.keras") -> Path:
    """Save `model` and write the sidecar train would write next to it."""
    from edgevision.metadata import ModelInfo, write_sidecar

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    model.save(path)
    size = tuple(int(s) for s in model.inputs[0].shape[1:3])
    write_sidecar(path, ModelInfo(
        task="classify", input_size=size, labels=list(labels), mean=(mean,) * 3, std=(std,) * 3,
        extra={} if data is None else {"data": {"source": data, "seed": 0, "split": [0.8, 0.1, 0.1]}},
    ))
    return path


def _layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


def batchnorm_from_data(model, images: np.ndarray) -> None:
    """Set every BatchNormalization's moving statistics to those of `images` (one training-mode
    pass with momentum 0), so inference normalises as training did."""
    import keras

    norms = [layer for layer in _layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(images, training=True)
    for layer, momentum in zip(norms, momenta, strict=True):
        layer.momentum = momentum


def input_dependent(model, images: np.ndarray) -> None:
    """Give a random-weight classifier answers that depend on its input (data-dependent init).

    Random weights shrink the activations layer after layer (features ~1e-18 at the head), so
    every image gets the same answer. Set the BatchNorm statistics from `images`, then centre the
    last layer's logits over `images` and scale them to a spread of about 2.
    """
    import keras

    batchnorm_from_data(model, images)
    head = next(layer for layer in reversed(model.layers) if getattr(layer, "kernel", None) is not None)
    # The head's latest call is this model's (GoogLeNet's inference model re-calls the training model's head).
    head_input = head._inbound_nodes[-1].input_tensors[0]
    features = keras.Model(model.inputs, head_input).predict(images, verbose=0).reshape(len(images), -1)
    kernel, _ = head.get_weights()
    weights = kernel.reshape(-1, kernel.shape[-1])
    centre = features.mean(axis=0)
    scale = 2.0 / float(((features - centre) @ weights).std())
    head.set_weights([kernel * scale, -(centre @ weights) * scale])


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """A small CNN fitted on synthetic:shapes (a real model, not random weights), with its sidecar."""
    import keras

    from edgevision.data import load_images

    images, labels, names = load_images(DATA, "train", SIZE)
    keras.utils.set_random_seed(0)
    model = small_cnn(len(names))
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit((images.astype(np.float32) - 127.5) / 127.5, labels, epochs=12, batch_size=32, verbose=0)
    return save_with_sidecar(model, tmp_path_factory.mktemp("trained"), names)


@pytest.fixture(scope="session")
def exported(trained_model, tmp_path_factory):
    """One export of the trained model: TFLite fp32 + int8 and ONNX fp32 + int8 (report, out folder)."""
    from edgevision.export.pipeline import ExportOptions, export_model

    out = tmp_path_factory.mktemp("exported")
    # ONNX Runtime's QDQ int8 of this small model agrees 96-97% (TFLite int8 ~98.5%): threshold 0.95 here.
    options = ExportOptions(formats=("tflite", "onnx"), quantize=("none", "int8"), calib_count=100, eval_count=200,
                            min_agreement=0.95)
    return export_model(trained_model, out, options), out
