"""Phase 1 on cached backbone features gives what training the whole frozen-backbone model gave."""

import keras
import numpy as np
import pytest

from edgevision.models import build_model
from edgevision.models.registry import PRETEXT_BACKBONE
from edgevision.train import features

CLASSIFIERS = [
    ("mobilenet_v1", dict(alpha=0.25, input_size=96)),
    ("mobilenet_v2", dict(alpha=0.35, input_size=96)),
    ("mobilenet_v3_small", dict(input_size=96)),
    ("mobilenet_v3_large", dict(input_size=96)),
    ("xception", dict(input_size=71)),
    ("googlenet", dict(input_size=96)),
]


@pytest.mark.parametrize(("name", "kw"), CLASSIFIERS, ids=[c[0] for c in CLASSIFIERS])
def test_head_on_features_is_the_model(name, kw):
    model = build_model(name, num_classes=3, **kw)
    head = features.head_model(model)
    x = np.random.default_rng(0).uniform(-1, 1, (2, *[kw["input_size"]] * 2, 3)).astype("float32")
    whole = keras.ops.convert_to_numpy(model(x, training=False))
    split = keras.ops.convert_to_numpy(head(model.get_layer("backbone")(x, training=False), training=False))
    # The same float32 operations on the same values, in the same order.
    np.testing.assert_allclose(split, whole, rtol=1e-5, atol=1e-6)
    assert {id(w) for w in head.trainable_weights} <= {id(w) for w in model.weights}


def test_a_model_with_auxiliary_heads_trains_end_to_end():
    model = build_model("googlenet", num_classes=3, input_size=96, training_heads=True)
    assert features.head_model(model) is None


@pytest.mark.slow
def test_cached_phase_one_trains_the_head_as_end_to_end_training_did(tmp_path, monkeypatch):
    from edgevision.train.classify import TrainConfig, train_classifier

    def train(out):
        config = TrainConfig(model="mobilenet_v2", data="synthetic:shapes:240", out=str(out), alpha=0.35,
                             input_size=96, weights=str(PRETEXT_BACKBONE), epochs=2, fine_tune_epochs=0)
        train_classifier(config, log=lambda *a: None)
        return keras.models.load_model(out / "model.keras").get_layer("predictions").get_weights()[0]

    if not PRETEXT_BACKBONE.is_file():
        pytest.skip(f"{PRETEXT_BACKBONE} is missing")
    start = build_model("mobilenet_v2", num_classes=4, alpha=0.35, input_size=96,
                        weights=str(PRETEXT_BACKBONE)).get_layer("predictions").get_weights()[0]
    cached = train(tmp_path / "cached")
    monkeypatch.setattr(features, "head_model", lambda model: None)
    end_to_end = train(tmp_path / "end_to_end")
    # Same batches in the same order: the two runs differ only by float32 rounding in the backbone,
    # far below what training moved the weights (a different batch order differs by as much).
    moved = np.abs(end_to_end - start).mean()
    assert np.abs(cached - end_to_end).mean() < 0.01 * moved
