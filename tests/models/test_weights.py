"""Weights from local files: our own .weights.h5 and keras.applications' .h5 downloads."""

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

from edgevision.errors import UserError
from edgevision.models import build_model

TINY = dict(alpha=0.35, input_size=96)


def images(n=2, size=96, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


def save_like_keras_applications(model, path):
    """Write weights the way keras.applications' download files are written (legacy HDF5)."""
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def test_saved_weights_file_rebuilds_the_same_model(tmp_path):
    model = build_model("mobilenet_v2", num_classes=4, **TINY)
    path = tmp_path / "trained.weights.h5"
    model.save_weights(path)
    again = build_model("mobilenet_v2", num_classes=4, weights=str(path), **TINY)
    fresh = build_model("mobilenet_v2", num_classes=4, **TINY)
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), model.get_weights(), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True))


def test_backbone_weights_file_starts_a_new_head(tmp_path):
    source = build_model("mobilenet_v2", num_classes=4, **TINY)
    path = tmp_path / "backbone.weights.h5"
    source.get_layer("backbone").save_weights(path)
    model = build_model("mobilenet_v2", num_classes=7, weights=path, **TINY)
    x = images()
    assert np.allclose(model.get_layer("backbone")(x), source.get_layer("backbone")(x), atol=1e-6)


def test_weights_file_of_another_configuration_is_a_user_error(tmp_path):
    path = tmp_path / "other.weights.h5"
    build_model("mobilenet_v2", num_classes=4, **TINY).save_weights(path)
    with pytest.raises(UserError) as err:
        build_model("mobilenet_v2", num_classes=4, alpha=0.5, input_size=96, weights=path)
    assert "other.weights.h5 does not fit" in str(err.value) and "\n" not in str(err.value)


def test_keras_applications_file_without_top_fills_the_backbone(tmp_path):
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, alpha=0.35, input_shape=(96, 96, 3))
    path = tmp_path / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    save_like_keras_applications(reference, path)
    model = build_model("mobilenet_v2", num_classes=3, weights=path, **TINY)
    x = images()
    assert np.allclose(model.get_layer("backbone")(x), reference(x), atol=1e-5)
    assert model.output_shape == (None, 3)


@pytest.mark.slow
def test_keras_applications_file_with_top_keeps_the_imagenet_classifier(tmp_path):
    reference = keras.applications.MobileNetV2(include_top=True, weights=None, alpha=0.35, input_shape=(96, 96, 3))
    path = tmp_path / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5"
    save_like_keras_applications(reference, path)
    model = build_model("mobilenet_v2", weights=path, **TINY)
    x = images()
    assert np.allclose(model(x, training=False), reference(x, training=False), atol=1e-5)


def test_googlenet_takes_only_its_own_weights_files(tmp_path):
    path = tmp_path / "googlenet.h5"
    path.write_bytes(b"not used")
    with pytest.raises(UserError) as err:
        build_model("googlenet", input_size=64, weights=path)
    assert ".weights.h5" in str(err.value)
