"""The real MobileNetV2 ImageNet weights file goes into the SSDLite backbone, every array of it."""

from collections import Counter

import numpy as np
import pytest

WEIGHTS = "real/weights/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
PARAMETERS = 2_257_984  # keras.applications.MobileNetV2(include_top=False), alpha 1.0
FILE_NAMES = {"Conv2D": "conv2d", "DepthwiseConv2D": "depthwise_conv2d", "BatchNormalization": "batch_normalization"}


def _file_arrays(path):
    """{layer key: [arrays]} read with h5py, as Keras 3 wrote them (layers/<key>/vars/<i>)."""
    import h5py

    with h5py.File(path, "r") as f:
        return {key: [np.asarray(group["vars"][str(i)]) for i in range(len(group["vars"]))]
                for key, group in f["layers"].items() if "vars" in group and len(group["vars"])}


@pytest.mark.slow
def test_imagenet_file_loads_into_the_ssdlite_backbone(reference):
    import keras

    from edgevision.models.registry import build_model

    path = reference / WEIGHTS
    model = build_model("ssdlite_mobilenet_v2", num_classes=2, input_size=96, alpha=1.0, weights=str(path))
    backbone = model.get_layer("backbone")
    stored = _file_arrays(path)
    # Keras 3 names each layer in the file after its class, numbered in the model's layer order
    seen, compared = Counter(), 0
    for layer in backbone.layers:
        if not layer.weights:
            continue
        base = FILE_NAMES[type(layer).__name__]
        key = base if seen[base] == 0 else f"{base}_{seen[base]}"
        seen[base] += 1
        arrays = stored.pop(key)
        assert len(arrays) == len(layer.weights), layer.name
        for variable, array in zip(layer.weights, arrays, strict=True):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), array, err_msg=layer.name)
            compared += array.size
    assert not stored, f"arrays of the file left unloaded: {sorted(stored)[:5]}"
    assert compared == PARAMETERS
    fresh = build_model("ssdlite_mobilenet_v2", num_classes=2, input_size=96, alpha=1.0, weights=None)
    first = backbone.get_layer("Conv1").get_weights()[0]
    assert not np.array_equal(first, fresh.get_layer("backbone").get_layer("Conv1").get_weights()[0])
