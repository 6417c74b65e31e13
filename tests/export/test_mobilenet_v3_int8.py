"""MobileNetV3 int8 keeps a trained model's answers (users reported near-random int8 answers).

MobileNetV3 rescales 0..255 pixels to [-1, 1] inside the model. Recording a (pixel - 127.5) / 127.5
normalisation as well squeezes the input into a few int8 levels and the answers collapse; export
refuses such a sidecar (test_bad_input). Here: a MobileNetV3-Small genuinely trained in the test
(on a colour task it learns in three short epochs, ~95% accurate and confident) exports to int8
that agrees with Keras, with an identity normalisation and an int8 input spanning raw pixels.
"""

from pathlib import Path

import numpy as np
import pytest

from tests.export.conftest import batchnorm_from_data, input_dependent, save_with_sidecar

pytestmark = pytest.mark.slow  # training ~30 s, export ~15 s on 2 cores

NAME, SIZE, ALPHA = "mobilenet_v3_small", 32, 0.75
TINTS = {"red": (230, 40, 40), "green": (40, 200, 60), "blue": (40, 70, 230), "yellow": (230, 210, 40)}


def tinted(split: str, count: int, seed: int):
    """synthetic:shapes photos washed with one of four colours; the colour is the class."""
    from edgevision.data import load_images

    images, _, _ = load_images("synthetic:shapes", split, SIZE, seed=0, limit=count)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(TINTS), len(images))
    mix = rng.uniform(0.5, 0.8, (len(images), 1, 1, 1))
    colours = np.array(list(TINTS.values()), np.float32)[labels][:, None, None, :]
    return np.clip(images * (1 - mix) + colours * mix, 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="module")
def v3_export(tmp_path_factory):
    import cv2
    import keras

    from edgevision.export.pipeline import ExportOptions, export_model
    from edgevision.models.registry import build_model, get_spec

    folder = tmp_path_factory.mktemp("v3")
    images, labels = tinted("train", 600, 0)
    pixels = images.astype(np.float32)  # raw 0..255: the model rescales them itself
    keras.utils.set_random_seed(0)
    model = build_model(NAME, num_classes=len(TINTS), input_size=SIZE, alpha=ALPHA)
    input_dependent(model, pixels[:128])  # start from healthy activations: trains in 3 epochs, not 30
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", jit_compile=False)
    model.fit(pixels, labels, epochs=3, batch_size=32, verbose=0)
    batchnorm_from_data(model, pixels[:256])  # inference statistics of the trained weights

    held_out, held_labels = tinted("val", 200, 1)
    for i, (image, label) in enumerate(zip(held_out, held_labels, strict=True)):
        (folder / "held_out" / list(TINTS)[label]).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / "held_out" / list(TINTS)[label] / f"{i}.png"), image[..., ::-1])
    spec = get_spec(NAME)
    path = save_with_sidecar(model, folder, list(TINTS), mean=spec.mean[0], std=spec.std[0], data=None)
    options = ExportOptions(quantize=("none", "int8"), calib_data=str(folder / "held_out"),
                            eval_data=str(folder / "held_out"), calib_count=100)
    return export_model(path, folder / "out", options), folder / "out"


def test_int8_agrees_with_the_trained_keras_model(v3_export):
    report, _ = v3_export
    fp32, int8 = report["artifacts"]
    assert fp32["accuracy"] >= 0.85, "the Keras model must be genuinely trained (4 classes: chance is 0.25)"
    assert int8["passed"] is True and int8["top1_agreement"] >= 0.97, int8["failures"]
    assert int8["accuracy_drop"] <= 0.03
    assert report["evaluation"]["images"] == 200


def test_pixels_are_normalised_once_by_the_model_itself(v3_export):
    from edgevision.metadata import read_sidecar

    _, out = v3_export
    info = read_sidecar(out / "model_int8.tflite")
    assert list(info.mean) == [0, 0, 0] and list(info.std) == [1, 1, 1]
    # int8 input covers raw 0..255 pixels (scale ~1): normalised twice it would be ~1/128.
    assert 0.9 <= info.input_quantization["scale"] <= 1.1
    assert info.input_quantization["zero_point"] == -128


def test_runtime_names_the_colour_of_a_photo(v3_export):
    from edgevision.runtime import load

    _, out = v3_export
    model = load(out / "model_int8.tflite", threads=1)
    images, labels = tinted("test", 12, 2)
    answers = [model.predict(np.ascontiguousarray(image[..., ::-1])).top_k[0].label for image in images]
    right = sum(answer == list(TINTS)[label] for answer, label in zip(answers, labels, strict=True))
    assert right >= 10, answers
    assert Path(model.path).name == "model_int8.tflite"
