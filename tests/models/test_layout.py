"""Every classifier is `image` -> nested `backbone` -> head, so transfer learning can freeze it."""

import numpy as np
import pytest

from edgevision.models import build_model, inference_model
from edgevision.models.googlenet import LOSS_WEIGHTS


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("mobilenet_v1", dict(alpha=0.25, input_size=64)),
        ("mobilenet_v2", dict(alpha=0.35, input_size=64)),
        ("mobilenet_v3_small", dict(alpha=0.75, input_size=64)),
        ("googlenet", dict(input_size=64)),
    ],
)
def test_transfer_learning_model_has_a_freezable_backbone_and_a_new_head(name, kwargs):
    model = build_model(name, num_classes=5, **kwargs)
    assert model.output_shape == (None, 5)
    backbone = model.get_layer("backbone")
    backbone_ids = {id(w) for w in backbone.weights}
    assert len(backbone_ids & {id(w) for w in model.trainable_weights}) > 0
    backbone.trainable = False
    head = {id(w) for w in model.trainable_weights}
    assert head and not head & backbone_ids
    probabilities = model(np.zeros((1, *model.input_shape[1:]), "float32"), training=False)
    assert np.allclose(np.asarray(probabilities).sum(), 1.0, atol=1e-4)


def test_without_top_the_backbone_itself_is_returned():
    backbone = build_model("mobilenet_v2", alpha=0.35, input_size=96, include_top=False)
    assert backbone.name == "backbone"
    assert backbone.output_shape == (None, 3, 3, 1280)


def test_mobilenet_v3_rescales_pixels_itself():
    model = build_model("mobilenet_v3_small", alpha=0.75, input_size=64, num_classes=2)
    layer_types = [type(layer).__name__ for layer in model.get_layer("backbone").layers]
    assert "Rescaling" in layer_types


@pytest.mark.slow
def test_googlenet_training_model_trains_and_gives_its_inference_model():
    training = build_model("googlenet", num_classes=3, input_size=64, training_heads=True)
    assert [o.shape[-1] for o in training.outputs] == [3, 3, 3]
    training.compile(
        optimizer="sgd", loss=["sparse_categorical_crossentropy"] * 3, loss_weights=list(LOSS_WEIGHTS), run_eagerly=True
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 64, 64, 3)).astype("float32")
    y = rng.integers(0, 3, 4)
    before = training.get_layer("predictions").get_weights()[0].copy()
    training.fit(x, (y, y, y), epochs=1, verbose=0)
    assert not np.allclose(before, training.get_layer("predictions").get_weights()[0])

    inference = inference_model(training)
    assert len(inference.outputs) == 1
    assert not any(layer.name.startswith("aux") for layer in inference.layers)
    assert np.allclose(inference(x, training=False), training(x, training=False)[0], atol=1e-6)
    plain = build_model("googlenet", num_classes=3, input_size=64)
    assert inference.count_params() == plain.count_params() < training.count_params()
