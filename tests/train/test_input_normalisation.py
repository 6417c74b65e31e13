"""One normalisation for every stage: the training pipelines (classification and detection), the
export's int8 calibration and the runtime's look-up table give a model the same floats for the same
uint8 picture, in the colour order its description names (RGB or BGR)."""

from types import SimpleNamespace

import numpy as np
import pytest

from edgevision.metadata import NORMALIZATIONS, ModelInfo

SIZE = 16  # 256 pixels: every value 0..255 once per channel
IMAGENET_MEAN, IMAGENET_STD = NORMALIZATIONS["imagenet"]  # R, G, B: unequal, so a channel mix-up shows


def _picture() -> np.ndarray:
    """uint8 RGB [SIZE, SIZE, 3]; each channel holds all 256 values, in a different order per channel."""
    values = np.arange(256)
    channels = [values, values[::-1], np.roll(values, 85)]
    return np.stack(channels, axis=-1).reshape(SIZE, SIZE, 3).astype(np.uint8)


def _info(color_order: str) -> ModelInfo:
    # the description holds mean and std in the model's channel order
    flip = (lambda v: tuple(v[::-1])) if color_order == "BGR" else tuple
    return ModelInfo(task="classify", input_size=(SIZE, SIZE), labels=["a", "b"], color_order=color_order,
                     mean=flip(IMAGENET_MEAN), std=flip(IMAGENET_STD))


def _float32_tolerance(info: ModelInfo) -> float:
    """How far (pixel - mean) / std computed in float32 may be from the table's once-rounded float64
    value: mean and std rounded to float32, the subtraction and the division each add at most half a
    float32 epsilon of their operands (all below (255 + mean) / std after the division), the table's
    own rounding one more half: 2.5 epsilons of that bound, rounded up to 3."""
    bound = (255 + max(abs(m) for m in info.mean)) / min(info.std)
    return 3 * float(np.finfo(np.float32).eps) * bound


def _runtime(picture, info):
    """The runtime's pre-processing as `runtime.load` builds it from a description, fed the BGR frame."""
    from edgevision.runtime.backends import TensorSpec
    from edgevision.runtime.preprocess import Preprocessor

    spec = TensorSpec("image", (1, SIZE, SIZE, 3), np.dtype(np.float32))
    prep = Preprocessor(spec, color_order=info.color_order, mean=info.mean, std=info.std)
    tensor, _ = prep(np.ascontiguousarray(picture[..., ::-1]))  # BGR, as OpenCV reads it
    return tensor[0].copy()


def _classification_training(picture, info):
    from edgevision.train.inputs import make_dataset

    x, _ = next(iter(make_dataset(picture[None], np.zeros(1, np.int64), 1, info)))
    return x.numpy()[0]


def _detection_training(picture, info):
    from edgevision.train.detect import make_detection_dataset

    split = SimpleNamespace(images=picture[None], boxes=[np.array([[2.0, 2.0, 9.0, 9.0]], np.float32)],
                            classes=[np.array([0])])
    anchors = np.array([[0.35, 0.35, 0.45, 0.45], [0.7, 0.7, 0.5, 0.5]], np.float32)
    x, _ = next(iter(make_detection_dataset(split, 1, info, (SIZE, SIZE), anchors)))
    return x.numpy()[0]


def _export_calibration(picture, info):
    from edgevision.export.calibration import representative_dataset

    (x,) = next(representative_dataset(picture[None], info)())
    return x[0]


@pytest.mark.parametrize("color_order", ["RGB", "BGR"])
def test_training_export_and_runtime_feed_the_model_the_same_floats(color_order):
    picture, info = _picture(), _info(color_order)
    in_model_order = picture[..., ::-1] if color_order == "BGR" else picture
    expected = (in_model_order.astype(np.float64) - np.asarray(info.mean)) / np.asarray(info.std)
    tolerance = _float32_tolerance(info)
    assert tolerance < 1e-5  # far below the smallest step between two pixel values, 1 / 58.4
    paths = {"runtime": _runtime, "classification training": _classification_training,
             "detection training": _detection_training, "export calibration": _export_calibration}
    for name, path in paths.items():
        got = path(picture, info)
        assert got.dtype == np.float32 and got.shape == (SIZE, SIZE, 3), name
        np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance, err_msg=name)
